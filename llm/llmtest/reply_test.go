package llmtest_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// TestParseScript drives a server with a parsed script through gowai's client: text with
// reasoning, a tool call, an error with Retry-After, a JSON result, a cut stream and the
// built-in model, in that order.
func TestParseScript(t *testing.T) {
	const script = `
{"text": "Hello there", "reasoning": "A greeting.", "usage": {"prompt_tokens": 7, "completion_tokens": 2}}
{"calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}]}
{"error": {"status": 400, "code": 5006, "message": "Bad input: no"}, "retry_after": "2", "headers": {"X-Test": "yes"}}
{"json": {"response": "from json"}}
{"text": "one two three four five", "cut_after": 2}
{"model": true, "latency": "1ms"}
`
	h, err := llmtest.ParseScript(strings.NewReader(script))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(h)
	defer srv.Close()
	c, err := srv.Client(llm.WithRetry(llm.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Model("@cf/meta/llama-3.1-8b-instruct")
	req := llm.Request{Messages: []llm.Message{llm.User("hi")}}

	resp, err := c.Model("@cf/qwen/qwen3-30b-a3b-fp8").Generate(t.Context(), req)
	if err != nil || resp.Text != "Hello there" || resp.Reasoning != "A greeting." || resp.Usage.PromptTokens != 7 {
		t.Fatalf("reply 1: %+v, %v", resp, err)
	}
	resp, err = m.Generate(t.Context(), req)
	if err != nil || len(resp.ToolCalls) != 1 || resp.ToolCalls[0].Name != "get_weather" || string(resp.ToolCalls[0].Arguments) != `{"city":"Paris"}` {
		t.Fatalf("reply 2: %+v, %v", resp, err)
	}
	_, err = m.Generate(t.Context(), req)
	if e, ok := errors.AsType[*llm.Error](err); !ok || e.Status != 400 || e.Code != 5006 {
		t.Fatalf("reply 3: %v", err)
	}
	resp, err = m.Generate(t.Context(), req)
	if err != nil || resp.Text != "from json" {
		t.Fatalf("reply 4: %+v, %v", resp, err)
	}
	var streamErr error
	for _, err := range m.Stream(t.Context(), req) {
		if err != nil {
			streamErr = err
		}
	}
	if streamErr == nil {
		t.Fatal("reply 5: a stream cut before [DONE] ended without an error")
	}
	resp, err = m.Generate(t.Context(), req)
	if err != nil || !strings.HasPrefix(resp.Text, "test model:") {
		t.Fatalf("reply 6: %+v, %v", resp, err)
	}
	reqs := srv.Requests()
	if len(reqs) != 6 {
		t.Fatalf("%d requests, want 6", len(reqs))
	}
	if reqs[2].Status != 400 {
		t.Errorf("reply 3 status %d", reqs[2].Status)
	}
}

// TestParseScriptArray checks the JSON array form and the headers of an error reply.
func TestParseScriptArray(t *testing.T) {
	h, err := llmtest.ParseScript(strings.NewReader(`[{"error": {"status": 429, "code": 3040, "message": "Capacity temporarily exceeded"}, "retry_after": "3"}]`))
	if err != nil {
		t.Fatal(err)
	}
	srv := llmtest.NewServer(h)
	defer srv.Close()
	resp, err := http.Post(srv.URL()+"/accounts/a/ai/run/@cf/meta/llama-3.1-8b-instruct", "application/json", strings.NewReader(`{"prompt":"x"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Errors []struct {
			Code int `json:"code"`
		} `json:"errors"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" || len(body.Errors) != 1 || body.Errors[0].Code != 3040 {
		t.Errorf("status %d, Retry-After %q, errors %+v", resp.StatusCode, resp.Header.Get("Retry-After"), body.Errors)
	}
}

// TestParseScriptRejects checks that a bad script is refused with an error naming the reply.
func TestParseScriptRejects(t *testing.T) {
	for _, c := range []struct{ script, want string }{
		{`{"text": "a"}` + "\n" + `{"txt": "b"}`, `reply 2: json: unknown field "txt"`},
		{`{"text": "a", "json": {}}`, "reply 1: a reply needs exactly one of"},
		{`{}`, "reply 1: a reply needs exactly one of"},
		{`{"error": {"status": 42}}`, "reply 1: error.status 42 is not an HTTP status"},
		{`{"calls": [{"arguments": {}}]}`, "reply 1: calls[0]: name is required"},
		{`{"calls": [{"name": "f", "arguments": [1]}]}`, "reply 1: calls[0]: arguments are not a JSON object"},
		{`{"model": true, "latency": "soon"}`, `reply 1: latency "soon" is not a duration`},
		{`[{"text": "a"}`, "llmtest: script:"},
		{`{"text": "a"} nonsense`, "reply 2:"},
	} {
		_, err := llmtest.ParseScript(strings.NewReader(c.script))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseScript(%s): %v, want an error containing %q", c.script, err, c.want)
		}
	}
}

// TestNewHandler serves the emulator from a handler on a server of the test's own, and
// sees each request in the request log.
func TestNewHandler(t *testing.T) {
	var (
		mu   sync.Mutex
		seen []llmtest.Recorded
	)
	h := llmtest.NewHandler(nil, llmtest.WithToken("tok"), llmtest.WithRequestLog(func(r llmtest.Recorded) {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, r)
	}))
	ts := httptest.NewServer(h)
	defer ts.Close()
	c, err := llm.NewClient(llm.WithBaseURL(ts.URL+"/client/v4"), llm.WithAccount("acc", "tok"))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}})
	if err != nil || !strings.HasPrefix(resp.Text, "test model:") {
		t.Fatalf("%+v, %v", resp, err)
	}
	r, err := http.Post(ts.URL+"/accounts/acc/ai/v1/chat/completions", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	mu.Lock()
	defer mu.Unlock()
	if len(seen) != 2 {
		t.Fatalf("log saw %d requests, want 2", len(seen))
	}
	if seen[0].Model != "@cf/meta/llama-3.1-8b-instruct" || seen[0].Status != 200 || seen[0].Method != "POST" ||
		seen[0].Path != "/client/v4/accounts/acc/ai/run/@cf/meta/llama-3.1-8b-instruct" {
		t.Errorf("first request logged as %+v", seen[0])
	}
	if seen[1].Status != 401 {
		t.Errorf("a request without the token logged with status %d, want 401", seen[1].Status)
	}
	if seen[0].Body != nil || seen[0].Header != nil {
		t.Errorf("the handler kept the request's body or headers")
	}
}
