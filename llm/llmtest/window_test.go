package llmtest_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// topLevelKeys returns the keys of a JSON object in the order they were written.
func topLevelKeys(t *testing.T, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not an object: %s", b)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

func TestOversizeRequestsGetTheServices413(t *testing.T) {
	fixture, err := os.ReadFile("../testdata/workers-ai/error-413-context-window.response.json")
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	// 7,968 tokens of window; 32,000 bytes are 8,000 tokens at four bytes a token.
	big := strings.Repeat("a", 32_000)
	msgRe := regexp.MustCompile(`^AiError: Ai: The estimated number of input and maximum output tokens \((\d+)\) exceeded this model context window limit \(7968\)\. \((` + reqIDPattern.String()[1:len(reqIDPattern.String())-1] + `)\)$`)
	for _, tc := range []struct{ path, body string }{
		{runLegacy, fmt.Sprintf(`{"messages":[{"role":"user","content":%q}]}`, big)},
		{v1Chat, fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}],"max_tokens":10}`, legacyModel, big)},
	} {
		resp, body := send(t, srv, "POST", tc.path, tc.body)
		if resp.StatusCode != http.StatusRequestEntityTooLarge {
			t.Fatalf("%s: status %d, body %s", tc.path, resp.StatusCode, body)
		}
		if got, want := topLevelKeys(t, body), topLevelKeys(t, fixture); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("%s: keys %v, want those of the service's reply %v", tc.path, got, want)
		}
		var e struct {
			Result  json.RawMessage
			Success *bool
			Errors  []struct {
				Code    int
				Message string
			}
			Messages []string
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Fatal(err)
		}
		if string(e.Result) != "null" || e.Success == nil || *e.Success || len(e.Errors) != 1 || e.Errors[0].Code != 5021 || e.Messages == nil {
			t.Errorf("%s: body %s", tc.path, body)
		}
		m := msgRe.FindStringSubmatch(e.Errors[0].Message)
		if m == nil {
			t.Fatalf("%s: message %q", tc.path, e.Errors[0].Message)
		}
		if m[2] != resp.Header.Get("cf-ai-req-id") {
			t.Errorf("%s: request id %s in the message, %s in the header", tc.path, m[2], resp.Header.Get("cf-ai-req-id"))
		}
	}

}

func TestWindowCountsTheServiceDefaultMaxTokens(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	// 7,700 tokens of input leave 268: enough for the default 256, not for 300.
	content := strings.Repeat("a", (7700-2)*4)
	for _, tc := range []struct {
		extra string
		want  int
	}{
		{``, http.StatusOK},
		{`,"max_tokens":268`, http.StatusOK},
		{`,"max_tokens":269`, http.StatusRequestEntityTooLarge},
		{`,"max_tokens":300`, http.StatusRequestEntityTooLarge},
	} {
		resp, body := send(t, srv, "POST", runLegacy, fmt.Sprintf(`{"messages":[{"role":"user","content":%q}]%s}`, content, tc.extra))
		if resp.StatusCode != tc.want {
			t.Errorf("max_tokens %q: status %d, want %d (%s)", tc.extra, resp.StatusCode, tc.want, body)
		}
	}
	// Models without a known window, and generic OpenAI-compatible servers, take anything.
	huge := strings.Repeat("a", 2_000_000)
	for _, tc := range []struct{ path, body string }{
		{"/accounts/acc/ai/run/@cf/meta/llama-3.2-1b-instruct", fmt.Sprintf(`{"messages":[{"role":"user","content":%q}]}`, huge)},
		{"/v1/chat/completions", fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":%q}]}`, legacyModel, huge)},
	} {
		if resp, body := send(t, srv, "POST", tc.path, tc.body); resp.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d (%s)", tc.path, resp.StatusCode, body)
		}
	}
}

// Whatever the client fits to a window, the emulator admits: its estimate is lower.
func TestRequestsTheClientFitsAreAdmitted(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	img := llm.Image{Data: onePixelPNG(t), MIME: "image/png"}
	models := []string{legacyModel, "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "@cf/google/gemma-3-12b-it", "@cf/meta/llama-4-scout-17b-16e-instruct"}
	for _, model := range models {
		info, _ := llm.LookupModel(model)
		for _, text := range []string{strings.Repeat("a", 10), strings.Repeat("é", 5000), strings.Repeat("word ", 1000)} {
			for _, openAI := range []bool{false, true} {
				msgs := []llm.Message{
					llm.System("be brief"), llm.User(text),
					{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "c1", Name: "lookup", Arguments: json.RawMessage(`{"q":"x"}`)}}},
					llm.ToolResult("c1", "found it"),
				}
				if info.Vision {
					msgs = append(msgs, llm.User("and this", img))
				}
				req := llm.Request{
					Messages: msgs,
					Tools:    []llm.ToolDef{{Name: "lookup", Description: "finds things", Parameters: json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}}}`)}},
				}
				if info.JSONMode {
					req.Format = &llm.Format{Schema: json.RawMessage(`{"type":"object","properties":{"answer":{"type":"string"}}}`)}
				}
				// Pad the input until only the minimum answer is left.
				pad := (info.ContextWindow - llm.EstimateTokens(req) - llm.MinAnswerTokens) * llm.EstimateBytesPerToken
				if pad > 0 {
					msgs[1].Content += strings.Repeat("z", pad)
				}
				m := c.Model(model)
				if openAI {
					m = c.OpenAIModel(model)
				}
				if _, err := m.Generate(t.Context(), req); err != nil {
					t.Errorf("%s, %d bytes: %v", m, len(msgs[1].Content), err)
				}
			}
		}
	}
	rs := srv.Requests()
	if len(rs) != 2*3*len(models) {
		t.Fatalf("%d requests, want %d", len(rs), 2*3*len(models))
	}
	for _, r := range rs {
		if sent := maxTokensOf(t, r.Body); sent != llm.MinAnswerTokens {
			t.Errorf("%s: max_tokens %d, want the client to have lowered it to %d", r.Model, sent, llm.MinAnswerTokens)
		}
	}
}

func maxTokensOf(t *testing.T, body []byte) int {
	t.Helper()
	var b struct {
		MaxTokens int `json:"max_tokens"`
	}
	if err := json.Unmarshal(body, &b); err != nil {
		t.Fatal(err)
	}
	return b.MaxTokens
}

func TestPromptCacheReusesTheSharedPrefix(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	m := c.Model(chatModel)
	tools := []llm.ToolDef{{Name: "lookup", Description: "finds things", Parameters: json.RawMessage(`{"type":"object"}`)}}
	first := []llm.Message{llm.System(strings.Repeat("You are a careful assistant. ", 40)), llm.User("What is the capital of France?")}
	second := append(append([]llm.Message(nil), first...), llm.Assistant("Paris."), llm.User("And of Italy?"))
	gen := func(key string, msgs []llm.Message, tools []llm.ToolDef) llm.Usage {
		t.Helper()
		r, err := m.Generate(t.Context(), llm.Request{Messages: msgs, Tools: tools, SessionAffinity: key})
		if err != nil {
			t.Fatal(err)
		}
		return r.Usage
	}
	if u := gen("run-1", first, tools); u.CachedTokens != 0 {
		t.Errorf("first request of a key: %d cached tokens, want 0", u.CachedTokens)
	}
	u := gen("run-1", second, tools)
	// The system prompt alone is over a thousand bytes.
	if u.CachedTokens < 250 || u.CachedTokens > u.PromptTokens {
		t.Errorf("second request of a key: %d cached of %d prompt tokens, want the shared prefix", u.CachedTokens, u.PromptTokens)
	}
	if u := gen("run-2", second, tools); u.CachedTokens != 0 {
		t.Errorf("another key: %d cached tokens, want 0", u.CachedTokens)
	}
	if u := gen("", second, tools); u.CachedTokens != 0 {
		t.Errorf("no key: %d cached tokens, want 0", u.CachedTokens)
	}
	// Changing the tools or the system prompt changes the prefix: nothing is reused.
	if u := gen("run-1", second, nil); u.CachedTokens != 0 {
		t.Errorf("tools changed: %d cached tokens, want 0", u.CachedTokens)
	}
	other := append([]llm.Message{llm.System("You are terse.")}, second[1:]...)
	if u := gen("run-1", other, nil); u.CachedTokens != 0 {
		t.Errorf("system prompt changed: %d cached tokens, want 0", u.CachedTokens)
	}
	// The same request again is all cached but for the envelope around the messages.
	if u := gen("run-1", other, nil); u.CachedTokens == 0 || u.CachedTokens > u.PromptTokens {
		t.Errorf("repeated request: %d cached of %d prompt tokens", u.CachedTokens, u.PromptTokens)
	}
	// On /ai/v1/chat/completions too, and the key is per model.
	v1 := c.OpenAIModel(chatModel)
	for i, want := range []bool{false, true} {
		r, err := v1.Generate(t.Context(), llm.Request{Messages: first, SessionAffinity: "v1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Usage.CachedTokens > 0; got != want {
			t.Errorf("v1 request %d: %d cached tokens", i, r.Usage.CachedTokens)
		}
	}
	r, err := c.Model("@cf/meta/llama-3.3-70b-instruct-fp8-fast").Generate(t.Context(), llm.Request{Messages: first, SessionAffinity: "v1"})
	if err != nil {
		t.Fatal(err)
	}
	if r.Usage.CachedTokens != 0 {
		t.Errorf("another model with the same key: %d cached tokens, want 0", r.Usage.CachedTokens)
	}
}

// The session-affinity key goes through AI Gateway as the x-session-affinity header, on
// both of its Workers AI routes, and the prompt cache behind it reuses the prefix.
func TestPromptCacheThroughAIGateway(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client(llm.WithGateway("my-gateway"))
	if err != nil {
		t.Fatal(err)
	}
	msgs := []llm.Message{llm.System(strings.Repeat("You are a careful assistant. ", 40)), llm.User("What is the capital of France?")}
	for _, m := range []llm.Model{c.Model(chatModel), c.OpenAIModel(chatModel)} {
		for i, want := range []bool{false, true} {
			r, err := m.Generate(t.Context(), llm.Request{Messages: msgs, SessionAffinity: fmt.Sprintf("gw-%v", m)})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Usage.CachedTokens > 0; got != want {
				t.Errorf("%v, request %d: %d cached tokens", m, i+1, r.Usage.CachedTokens)
			}
		}
	}
	reqs := srv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests", len(reqs))
	}
	for i, r := range reqs {
		if !strings.Contains(r.Path, "/my-gateway/workers-ai/") || !strings.HasPrefix(r.Header.Get("X-Session-Affinity"), "gw-") {
			t.Errorf("request %d: %s with x-session-affinity %q; want the gateway route with the key", i+1, r.Path, r.Header.Get("X-Session-Affinity"))
		}
	}
}

// onePixelPNG returns a valid one-pixel PNG.
func onePixelPNG(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, image.NewGray(image.Rect(0, 0, 1, 1))); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
