package agent

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gowai/gowai/llm"
)

// The tags qwen3 puts around a tool call it writes as text instead of as a tool call.
const (
	openTag  = "<tool_call>"
	closeTag = "</tool_call>"
)

// reply makes one model call and returns the reply with the calls it asks for and the text
// that goes with them. When streaming, text deltas are sent as they arrive, except text that
// may turn out to be a tool call written as text, which is held back until the reply is
// complete and sent only if it was not a call.
func (r *run) reply(ctx context.Context, final bool) (resp *llm.Response, calls []llm.ToolCall, content string, pre prepared, err error) {
	if r.parent != nil {
		// A sub-agent's calls are the caller's spending too.
		for _, p := range r.ancestors() {
			if err := p.overOwnBudget(0); err != nil {
				return nil, nil, "", prepared{}, fmt.Errorf("the calling agent's budget: %w", err)
			}
		}
	}
	req, pre, err := r.request(ctx, final)
	if err != nil {
		return nil, nil, "", pre, err
	}
	offered := len(req.Tools) > 0
	var g gate
	if r.emit == nil {
		resp, err = r.a.model.Generate(ctx, req)
	} else {
		g.holdCalls = offered
		resp, err = r.stream(ctx, req, &g)
	}
	if err != nil {
		return nil, nil, "", pre, err
	}
	calls, content = resp.ToolCalls, resp.Text
	if len(calls) == 0 && offered {
		calls, content = textCalls(resp.Text, r.names)
	}
	if s := g.rest(); s != "" && len(calls) == 0 {
		if err := r.send(Event{Kind: EventTextDelta, Text: s}); err != nil {
			return nil, nil, "", pre, err
		}
	}
	return resp, calls, content, pre, nil
}

// prepared is what the history policy did to a request before it was sent.
type prepared struct {
	compaction Compaction
	usage      llm.Usage // of the model calls the policy made (a summary), charged to the run
}

// prepare fits req's messages into the model's context window with the history policy, and
// charges the run for what that cost. Result.Messages is not changed: when the policy
// shaped the conversation, the run keeps sending its shape, with the messages added since,
// so that what it summarised is summarised once.
func (r *run) prepare(ctx context.Context, req *llm.Request) (prepared, error) {
	msgs, c, u, err := r.fit(ctx, req.Messages, req.Tools)
	if err != nil {
		return prepared{compaction: c, usage: u}, err
	}
	if len(msgs) != len(req.Messages) || len(msgs) > 0 && &msgs[0] != &req.Messages[0] {
		r.sent, r.sentUpTo = msgs, len(r.res.Messages)
	}
	req.Messages = msgs
	return prepared{compaction: c, usage: u}, nil
}

// fit runs the history policy on msgs and charges the run for the model calls it made.
func (r *run) fit(ctx context.Context, msgs []llm.Message, defs []llm.ToolDef) ([]llm.Message, Compaction, llm.Usage, error) {
	out, c, u, err := r.a.history.fit(ctx, r.a.model, msgs, defs)
	if u != (llm.Usage{}) {
		if cerr := r.charge(u); cerr != nil && err == nil {
			err = cerr
		}
	}
	return out, c, u, err
}

// stream gathers a streamed reply into a Response, sending text deltas through g.
func (r *run) stream(ctx context.Context, req llm.Request, g *gate) (*llm.Response, error) {
	resp := &llm.Response{}
	var reasoning strings.Builder
	for d, err := range r.a.model.Stream(ctx, req) {
		if err != nil {
			// A stream's truncation leaves out the text its deltas carried; the run keeps it.
			if cut, ok := errors.AsType[*llm.TruncatedToolCallError](err); ok && cut.Response != nil && cut.Response.Text == "" {
				cut.Response.Text, cut.Response.Reasoning = g.text.String(), reasoning.String()
			}
			return nil, err
		}
		reasoning.WriteString(d.Reasoning)
		resp.ToolCalls = append(resp.ToolCalls, d.ToolCalls...)
		if d.FinishReason != "" {
			resp.FinishReason = d.FinishReason
		}
		if d.Usage != nil {
			resp.Usage = *d.Usage
		}
		if s := g.add(d.Text); s != "" {
			if err := r.send(Event{Kind: EventTextDelta, Text: s}); err != nil {
				return nil, err
			}
		}
	}
	resp.Text, resp.Reasoning = g.text.String(), reasoning.String()
	return resp, nil
}

// gate decides how much of a streamed reply's text can be shown yet. With holdCalls set, it
// holds back a reply that starts with '{' (it may be a bare JSON tool call) and everything
// from a "<tool_call>" tag on, including a partial tag at the end.
type gate struct {
	holdCalls bool
	text      strings.Builder
	shown     int // bytes of text already handed out
}

// add appends s and returns the text that can now be shown.
func (g *gate) add(s string) string {
	g.text.WriteString(s)
	all := g.text.String()
	end := len(all)
	if g.holdCalls {
		end = g.safeEnd(all)
	}
	if end <= g.shown {
		return ""
	}
	out := all[g.shown:end]
	g.shown = end
	return out
}

func (g *gate) safeEnd(all string) int {
	if t := strings.TrimLeft(all, " \t\r\n"); t == "" || t[0] == '{' {
		return g.shown
	}
	if i := strings.Index(all, openTag); i >= 0 {
		return i
	}
	for k := min(len(openTag)-1, len(all)); k > 0; k-- {
		if strings.HasSuffix(all, openTag[:k]) {
			return len(all) - k
		}
	}
	return len(all)
}

// rest returns the text held back so far and marks it shown.
func (g *gate) rest() string {
	all := g.text.String()
	out := all[g.shown:]
	g.shown = len(all)
	return out
}

// textCalls recognises tool calls a model wrote as text instead of as tool calls, as some
// Workers AI models do: qwen3's <tool_call>{"name":..,"arguments":{..}}</tool_call> blocks anywhere in the
// text, and gpt-oss's bare {"name":..,"arguments":{..}} as the whole reply when the name is
// an offered tool. It returns the calls (with no ids) and the text outside them. Text that
// has a malformed block is left as it is: it is an answer, not a call.
func textCalls(text string, offered map[string]bool) ([]llm.ToolCall, string) {
	if !strings.Contains(text, openTag) {
		if c, ok := parseCall(text); ok && offered[c.Name] {
			return []llm.ToolCall{c}, ""
		}
		return nil, text
	}
	var calls []llm.ToolCall
	var rest strings.Builder
	for s := text; s != ""; {
		before, after, found := strings.Cut(s, openTag)
		rest.WriteString(before)
		if !found {
			break
		}
		// A reply cut off by max_tokens may lack the closing tag.
		body, next, _ := strings.Cut(after, closeTag)
		c, ok := parseCall(body)
		if !ok {
			return nil, text
		}
		calls = append(calls, c)
		s = next
	}
	return calls, strings.TrimSpace(rest.String())
}

// parseCall reads one call written as {"name":..,"arguments":..}; some models write
// "parameters" for "arguments", or the arguments as a string holding the object.
func parseCall(s string) (llm.ToolCall, bool) {
	var w struct {
		Name       string          `json:"name"`
		Arguments  json.RawMessage `json:"arguments"`
		Parameters json.RawMessage `json:"parameters"`
	}
	s = strings.TrimSpace(s)
	if !strings.HasPrefix(s, "{") || json.Unmarshal([]byte(s), &w) != nil || w.Name == "" {
		return llm.ToolCall{}, false
	}
	args := w.Arguments
	if args == nil {
		args = w.Parameters
	}
	args = bytes.TrimSpace(args)
	if len(args) > 0 && args[0] == '"' {
		var inner string
		if json.Unmarshal(args, &inner) != nil {
			return llm.ToolCall{}, false
		}
		args = bytes.TrimSpace([]byte(inner))
	}
	if len(args) == 0 || string(args) == "null" {
		args = []byte("{}")
	}
	var buf bytes.Buffer
	if args[0] != '{' || json.Compact(&buf, args) != nil {
		return llm.ToolCall{}, false
	}
	return llm.ToolCall{Name: w.Name, Arguments: buf.Bytes()}, true
}
