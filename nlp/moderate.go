package nlp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/gowai/gowai/llm"
)

// LlamaGuard3 is Meta's Llama Guard 3 safety classifier.
const LlamaGuard3 = "@cf/meta/llama-guard-3-8b"

// Category is a Llama Guard 3 hazard category, "S1" to "S14".
type Category string

// categoryNames are the hazard categories of Llama Guard 3's model card
// (https://huggingface.co/meta-llama/Llama-Guard-3-8B).
var categoryNames = map[Category]string{
	"S1": "Violent Crimes", "S2": "Non-Violent Crimes", "S3": "Sex-Related Crimes",
	"S4": "Child Sexual Exploitation", "S5": "Defamation", "S6": "Specialized Advice",
	"S7": "Privacy", "S8": "Intellectual Property", "S9": "Indiscriminate Weapons",
	"S10": "Hate", "S11": "Suicide & Self-Harm", "S12": "Sexual Content",
	"S13": "Elections", "S14": "Code Interpreter Abuse",
}

// Name is what the category covers ("Violent Crimes" for S1); the code itself for a
// category Llama Guard 3 does not define.
func (c Category) Name() string {
	if n, ok := categoryNames[c]; ok {
		return n
	}
	return string(c)
}

// String is the code and the name: "S1 (Violent Crimes)".
func (c Category) String() string {
	if n, ok := categoryNames[c]; ok {
		return string(c) + " (" + n + ")"
	}
	return string(c)
}

// Verdict is a safety classifier's judgement of a conversation's last turn.
type Verdict struct {
	Safe       bool
	Categories []Category // the hazard categories violated; empty when Safe
	Usage      llm.Usage
}

// Moderate judges a user's text with a safety classifier (LlamaGuard3).
func Moderate(ctx context.Context, c *llm.Client, model, text string) (*Verdict, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("nlp: moderate: empty text")
	}
	return ModerateChat(ctx, c, model, []llm.Message{llm.User(text)})
}

// ModerateChat judges the last turn of a conversation of user and assistant messages: a
// user's prompt, or the assistant's answer to it. Other roles, images and tool calls are
// refused before sending. Both of the model's reply shapes are read: the text "safe" or
// "unsafe\nS1,S10", and the object {safe, categories} it gives in JSON mode.
func ModerateChat(ctx context.Context, c *llm.Client, model string, msgs []llm.Message) (*Verdict, error) {
	if model == "" {
		return nil, errors.New("nlp: moderate: empty model id")
	}
	if len(msgs) == 0 {
		return nil, errors.New("nlp: moderate: no messages")
	}
	type wireMsg struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	wire := make([]wireMsg, len(msgs))
	for i, m := range msgs {
		if m.Role != llm.RoleUser && m.Role != llm.RoleAssistant {
			return nil, fmt.Errorf("nlp: moderate: message %d has role %q; Llama Guard takes user and assistant messages", i, m.Role)
		}
		if len(m.Images) > 0 || len(m.ToolCalls) > 0 {
			return nil, fmt.Errorf("nlp: moderate: message %d carries images or tool calls; only text is judged", i)
		}
		wire[i] = wireMsg{Role: string(m.Role), Content: m.Content}
	}
	reply, err := c.RunTask(ctx, model, map[string]any{"messages": wire}, nil)
	if err != nil {
		return nil, fmt.Errorf("nlp: moderate: %w", err)
	}
	v, err := decodeVerdict(reply.Data)
	if err != nil {
		return nil, fmt.Errorf("nlp: moderate %s: %w", model, err)
	}
	v.Usage = reply.Usage
	return v, nil
}

// decodeVerdict reads {response: "safe" | "unsafe\nS1,S2"} or {response: {safe,
// categories}}.
func decodeVerdict(data []byte) (*Verdict, error) {
	var r struct {
		Response json.RawMessage `json:"response"`
	}
	if err := json.Unmarshal(data, &r); err != nil || len(r.Response) == 0 {
		return nil, fmt.Errorf("reply has no verdict: %.200s", data)
	}
	var text string
	if json.Unmarshal(r.Response, &text) == nil {
		lines := strings.Fields(strings.ReplaceAll(text, ",", " "))
		if len(lines) == 0 {
			return nil, fmt.Errorf("empty verdict: %.200s", data)
		}
		switch strings.ToLower(lines[0]) {
		case "safe":
			return &Verdict{Safe: true}, nil
		case "unsafe":
			v := &Verdict{}
			for _, c := range lines[1:] {
				v.Categories = append(v.Categories, Category(strings.ToUpper(c)))
			}
			return v, nil
		}
		return nil, fmt.Errorf("verdict %q is neither safe nor unsafe", text)
	}
	var obj struct {
		Safe       *bool    `json:"safe"`
		Categories []string `json:"categories"`
	}
	if err := json.Unmarshal(r.Response, &obj); err != nil || obj.Safe == nil {
		return nil, fmt.Errorf("verdict is neither text nor {safe, categories}: %.200s", r.Response)
	}
	v := &Verdict{Safe: *obj.Safe}
	for _, c := range obj.Categories {
		v.Categories = append(v.Categories, Category(strings.TrimSpace(c)))
	}
	return v, nil
}
