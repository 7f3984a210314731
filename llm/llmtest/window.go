package llmtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/gowai/gowai/llm"
)

// serviceDefaultMaxTokens is the max_tokens Workers AI assumes when a request sends none.
const serviceDefaultMaxTokens = 256

// emulatedImageTokens is what the emulator counts for an image against a context window.
const emulatedImageTokens = 256

// promptCache is the emulated prompt cache: what each session-affinity key sent last.
type promptCache struct {
	mu   sync.Mutex
	last map[string]cachedPrompt
}

// cachedPrompt is the prompt a key sent last, as the bytes it was sent in.
type cachedPrompt struct {
	model    string
	tools    []byte
	messages []json.RawMessage
}

// admit runs the checks the service makes before a model sees a request, and notes what
// the prompt cache reused in ex.cachedTokens. refused reports that out is the answer.
//
// Context windows: on /ai/run and /ai/v1/chat/completions, a catalogued text-generation
// model with a known window refuses a request whose estimated input (inputTokens) plus
// max_tokens (256 when the body sends none, as the service assumes) exceeds the window,
// with HTTP 413 and code 5021 in the body the service sends
// (llm/testdata/workers-ai/error-413-context-window.response.json).
//
// Prompt cache: a request on those routes with an x-session-affinity header is compared
// with the previous admitted request that carried the same key for the same model. When
// the tool definitions are byte-identical, the leading messages that are byte-identical to
// the previous request's (and the tools) are counted as cached, at the four bytes a token
// the emulator reports prompt_tokens with.
func (s *Server) admit(ex *exchange) (out output, refused bool) {
	if ex.route != routeRun && ex.route != routeV1Chat {
		return output{}, false
	}
	if out, refused := s.checkWindow(ex); refused {
		return out, true
	}
	if key := ex.r.Header.Get("X-Session-Affinity"); key != "" {
		ex.cachedTokens = s.prompts.reuse(key, ex.model, ex.body)
	}
	return output{}, false
}

// checkWindow refuses a request too large for the model's context window.
func (s *Server) checkWindow(ex *exchange) (output, bool) {
	info, ok := llm.LookupModel(ex.model)
	if !ok || info.Task != llm.TaskTextGeneration || info.ContextWindow <= 0 {
		return output{}, false
	}
	req, _, err := parseChatRequest(ex.body)
	if err != nil {
		return output{}, false // the model's own validation reports it
	}
	maxTokens := req.MaxTokens
	if maxTokens <= 0 {
		maxTokens = serviceDefaultMaxTokens
	}
	total := inputTokens(req) + maxTokens
	if total <= info.ContextWindow {
		return output{}, false
	}
	out := routerError(ex, http.StatusRequestEntityTooLarge, 5021, fmt.Sprintf(
		"AiError: Ai: The estimated number of input and maximum output tokens (%d) exceeded this model context window limit (%d). (%s)",
		total, info.ContextWindow, ex.reqID))
	out.header.Set("cf-ai-req-id", ex.reqID)
	return out, true
}

// inputTokens is the emulator's estimate of a request's input tokens: four bytes of text a
// token, two tokens around each message and tool, and emulatedImageTokens an image. It is
// below llm.EstimateTokens for every request, so that a request the client fitted to a
// window is always admitted.
func inputTokens(req llm.Request) int {
	n := 0
	for _, m := range req.Messages {
		b := len(m.Content) + len(m.ToolCallID)
		for _, c := range m.ToolCalls {
			b += len(c.ID) + len(c.Name) + len(c.Arguments)
		}
		n += 2 + estimateTokens(b) + len(m.Images)*emulatedImageTokens
	}
	for _, t := range req.Tools {
		n += 2 + estimateTokens(len(t.Name)+len(t.Description)+len(t.Parameters))
	}
	if req.Format != nil {
		n += estimateTokens(len(req.Format.Schema))
	}
	return n
}

// reuse records the prompt of body under key and returns the tokens of the prefix it
// shares with the prompt key sent before.
func (c *promptCache) reuse(key, model string, body []byte) int {
	var w struct {
		Messages []json.RawMessage `json:"messages"`
		Tools    json.RawMessage   `json:"tools"`
	}
	if json.Unmarshal(body, &w) != nil || len(w.Messages) == 0 {
		return 0
	}
	next := cachedPrompt{model: model, tools: w.Tools, messages: w.Messages}
	c.mu.Lock()
	prev, seen := c.last[key]
	if c.last == nil {
		c.last = make(map[string]cachedPrompt)
	}
	c.last[key] = next
	c.mu.Unlock()
	if !seen || prev.model != model || !bytes.Equal(prev.tools, next.tools) {
		return 0
	}
	n := 0
	for i, m := range next.messages {
		if i >= len(prev.messages) || !bytes.Equal(m, prev.messages[i]) {
			break
		}
		n += len(m)
	}
	if n == 0 {
		return 0
	}
	return estimateTokens(n + len(next.tools))
}
