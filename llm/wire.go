package llm

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// wireUsage accepts every usage spelling seen on the wire: OpenAI's prompt/completion
// tokens with prompt_tokens_details.cached_tokens and Cloudflare's neurons, and the
// {input_tokens, output_tokens} form some models and the Responses API use.
type wireUsage struct {
	PromptTokens        int     `json:"prompt_tokens"`
	CompletionTokens    int     `json:"completion_tokens"`
	TotalTokens         int     `json:"total_tokens"`
	InputTokens         int     `json:"input_tokens"`
	OutputTokens        int     `json:"output_tokens"`
	Neurons             float64 `json:"neurons"`
	PromptTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	InputTokensDetails *struct {
		CachedTokens int `json:"cached_tokens"`
	} `json:"input_tokens_details"`
}

func (w *wireUsage) usage() Usage {
	if w == nil {
		return Usage{}
	}
	u := Usage{
		PromptTokens:     w.PromptTokens,
		CompletionTokens: w.CompletionTokens,
		TotalTokens:      w.TotalTokens,
		Neurons:          w.Neurons,
	}
	if u.PromptTokens == 0 {
		u.PromptTokens = w.InputTokens
	}
	if u.CompletionTokens == 0 {
		u.CompletionTokens = w.OutputTokens
	}
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	switch {
	case w.PromptTokensDetails != nil:
		u.CachedTokens = w.PromptTokensDetails.CachedTokens
	case w.InputTokensDetails != nil:
		u.CachedTokens = w.InputTokensDetails.CachedTokens
	}
	return u
}

// normalizeArguments turns tool-call arguments in any wire form (a JSON object, a string
// holding a JSON object, null or empty) into the text of a JSON object.
func normalizeArguments(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" || string(raw) == `""` {
		return json.RawMessage("{}"), nil
	}
	if raw[0] == '"' {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("tool call arguments: %w", err)
		}
		raw = bytes.TrimSpace([]byte(s))
		if len(raw) == 0 {
			return json.RawMessage("{}"), nil
		}
	}
	if raw[0] != '{' || !json.Valid(raw) {
		return nil, fmt.Errorf("tool call arguments are not a JSON object: %.200s", raw)
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, fmt.Errorf("tool call arguments: %w", err)
	}
	return buf.Bytes(), nil
}

// ensureToolCallIDs makes every id in calls non-empty and unique, so that each tool result
// answers exactly one call. Legacy native tool calls carry no id at all: they get "call_1",
// "call_2", ... And the service can send one id twice in a reply (Kimi named two calls
// "functions.list_toolbox_tools:0"): the first keeps it, the later ones get "_2", "_3", ...
// appended. Ids are never taken from another call of the reply, so the result depends
// only on the calls.
func ensureToolCallIDs(calls []ToolCall) {
	if len(calls) == 1 {
		if calls[0].ID == "" {
			calls[0].ID = "call_1"
		}
		return
	}
	sent := make(map[string]bool, len(calls))
	for _, c := range calls {
		sent[c.ID] = true
	}
	given := make(map[string]bool, len(calls))
	unused := func(id string) bool { return !given[id] && !sent[id] }
	n := 0
	for i := range calls {
		id := calls[i].ID
		switch {
		case id == "":
			for n++; !unused("call_" + strconv.Itoa(n)); n++ {
			}
			id = "call_" + strconv.Itoa(n)
		case given[id]:
			k := 2
			for !unused(id + "_" + strconv.Itoa(k)) {
				k++
			}
			id += "_" + strconv.Itoa(k)
		}
		calls[i].ID = id
		given[id] = true
	}
}

// normalizeFinishReason maps the service's non-OpenAI values onto OpenAI's.
func normalizeFinishReason(s string) string {
	switch s {
	case "model_length", "max_tokens":
		return "length"
	}
	return s
}
