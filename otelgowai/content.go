package otelgowai

import (
	"encoding/json"
	"strings"

	"github.com/gowai/gowai/llm"
	"go.opentelemetry.io/otel/attribute"
)

// part is one part of a message in the conventions' JSON form of gen_ai.input.messages and
// gen_ai.output.messages.
type part struct {
	Type      string          `json:"type"`
	Content   string          `json:"content,omitempty"`
	ID        string          `json:"id,omitempty"`
	Name      string          `json:"name,omitempty"`
	Arguments json.RawMessage `json:"arguments,omitempty"`
	Response  any             `json:"response,omitempty"` // a string, set (even "") on every tool_call_response: the conventions require it
	MIMEType  string          `json:"mime_type,omitempty"`
	Size      int             `json:"size,omitempty"`
}

type message struct {
	Role         string `json:"role"`
	Parts        []part `json:"parts"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// parts turns a message into parts. An image is an "image" part with its media type and
// size: its bytes are not recorded (a "blob" part would have to carry them, and megabytes in
// a span attribute can make an exporter drop the whole batch).
func parts(m llm.Message) []part {
	var ps []part
	if m.Role == llm.RoleTool {
		return append(ps, part{Type: "tool_call_response", ID: m.ToolCallID, Response: m.Content})
	}
	if m.Content != "" {
		ps = append(ps, part{Type: "text", Content: m.Content})
	}
	for _, img := range m.Images {
		ps = append(ps, part{Type: "image", MIMEType: img.MIME, Size: len(img.Data)})
	}
	for _, c := range m.ToolCalls {
		ps = append(ps, toolCallPart(c))
	}
	return ps
}

func toolCallPart(c llm.ToolCall) part {
	p := part{Type: "tool_call", ID: c.ID, Name: c.Name}
	if json.Valid(c.Arguments) {
		p.Arguments = c.Arguments
	}
	return p
}

// inputContent is the request's content: system instructions, messages and tool definitions.
func inputContent(r *llm.Request) []attribute.KeyValue {
	var system []part
	msgs := make([]message, 0, len(r.Messages))
	for _, m := range r.Messages {
		if m.Role == llm.RoleSystem {
			system = append(system, part{Type: "text", Content: m.Content})
			continue
		}
		msgs = append(msgs, message{Role: string(m.Role), Parts: parts(m)})
	}
	attrs := []attribute.KeyValue{attribute.String(keyInputMessages, marshal(msgs))}
	if len(system) > 0 {
		attrs = append(attrs, attribute.String(keySystemInstruction, marshal(system)))
	}
	if len(r.Tools) > 0 {
		type def struct {
			Type        string          `json:"type"`
			Name        string          `json:"name"`
			Description string          `json:"description,omitempty"`
			Parameters  json.RawMessage `json:"parameters,omitempty"`
		}
		defs := make([]def, len(r.Tools))
		for i, t := range r.Tools {
			defs[i] = def{Type: "function", Name: t.Name, Description: t.Description}
			if json.Valid(t.Parameters) {
				defs[i].Parameters = t.Parameters
			}
		}
		attrs = append(attrs, attribute.String(keyToolDefinitions, marshal(defs)))
	}
	return attrs
}

// outputContent is the reply as gen_ai.output.messages.
func outputContent(r *llm.Response) attribute.KeyValue {
	m := message{Role: string(llm.RoleAssistant), FinishReason: r.FinishReason, Parts: []part{}}
	if r.Reasoning != "" {
		m.Parts = append(m.Parts, part{Type: "reasoning", Content: r.Reasoning})
	}
	if r.Text != "" {
		m.Parts = append(m.Parts, part{Type: "text", Content: r.Text})
	}
	for _, c := range r.ToolCalls {
		m.Parts = append(m.Parts, toolCallPart(c))
	}
	return attribute.String(keyOutputMessages, marshal([]message{m}))
}

// marshal encodes values that always encode, leaving <, > and & as they are: the text is
// read in a trace viewer, not embedded in HTML.
func marshal(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return ""
	}
	return strings.TrimSuffix(b.String(), "\n")
}
