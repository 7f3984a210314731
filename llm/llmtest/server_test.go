package llmtest_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"iter"
	"math"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/santhosh-tekuri/jsonschema/v5"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

const (
	legacyModel = "@cf/meta/llama-3.1-8b-instruct"
	chatModel   = "@cf/openai/gpt-oss-120b"
	runLegacy   = "/accounts/acc/ai/run/" + legacyModel
	v1Chat      = "/accounts/acc/ai/v1/chat/completions"
)

var (
	reqIDPattern   = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	neuronsPattern = regexp.MustCompile(`^[0-9]+\.[0-9]{2}$`)
	logIDPattern   = regexp.MustCompile(`^[0-9ABCDEFGHJKMNPQRSTVWXYZ]{26}$`)
)

// send posts body to path with plain net/http and returns the response and its body.
func send(t *testing.T, srv *llmtest.Server, method, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, srv.URL()+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, b
}

func post(t *testing.T, srv *llmtest.Server, path, body string, header ...string) (*http.Response, []byte) {
	t.Helper()
	return send(t, srv, http.MethodPost, path, body, header...)
}

func decode[T any](t *testing.T, b []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return v
}

type envelope struct {
	Result   json.RawMessage `json:"result"`
	Success  bool            `json:"success"`
	Errors   []apiError      `json:"errors"`
	Messages []string        `json:"messages"`
}

type apiError struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// events splits an event-stream body into its data payloads, failing on anything that is
// not "data: <payload>\n\n".
func events(t *testing.T, body []byte) []string {
	t.Helper()
	var out []string
	rest := string(body)
	for rest != "" {
		ev, after, ok := strings.Cut(rest, "\n\n")
		if !ok || !strings.HasPrefix(ev, "data: ") || strings.Contains(ev, "\n") {
			t.Fatalf("malformed event stream at %q", rest)
		}
		out = append(out, strings.TrimPrefix(ev, "data: "))
		rest = after
	}
	return out
}

// recordedBody returns the status and body of the recorded exchange whose file name ends
// with suffix (testdata/recorded, provenance in llm/testdata/recorded/README.md).
func recordedBody(t *testing.T, suffix string) (int, string) {
	t.Helper()
	matches, err := filepath.Glob(filepath.Join("testdata/recorded", "*"+suffix))
	if err != nil || len(matches) != 1 {
		t.Fatalf("recorded fixture *%s: %d matches, %v", suffix, len(matches), err)
	}
	data, err := os.ReadFile(matches[0])
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Response struct {
			Status int    `json:"status"`
			Body   string `json:"body"`
		} `json:"response"`
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		t.Fatal(err)
	}
	return rec.Response.Status, rec.Response.Body
}

func TestRoutesAnswerInTheirFamily(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	chatBody := `{"model":"` + legacyModel + `","messages":[{"role":"user","content":"hi"}]}`
	embedBody := `{"model":"@cf/baai/bge-small-en-v1.5","input":["a"]}`
	tests := []struct {
		name, path, body string
		header           []string
		enveloped        bool
		reqID            bool   // cf-ai-req-id expected
		gateway          bool   // cf-aig-* expected
		object           string // "object" of the (unwrapped) result; "" for legacy
	}{
		{"native legacy", runLegacy, `{"prompt":"hi"}`, nil, true, true, false, ""},
		{"native chat-style model", "/accounts/acc/ai/run/" + chatModel, `{"messages":[{"role":"user","content":"hi"}]}`, nil, true, true, false, "chat.completion"},
		{"openai chat", v1Chat, chatBody, nil, false, false, false, "chat.completion"},
		{"openai embeddings", "/accounts/acc/ai/v1/embeddings", embedBody, nil, false, false, false, "list"},
		{"gateway native", "/v1/acc/gw/workers-ai/" + legacyModel, `{"prompt":"hi"}`, nil, true, true, true, ""},
		{"gateway chat", "/v1/acc/gw/workers-ai/v1/chat/completions", chatBody, nil, false, false, true, "chat.completion"},
		{"gateway embeddings", "/v1/acc/gw/workers-ai/v1/embeddings", embedBody, nil, false, false, true, "list"},
		{"generic openai chat, any model", "/v1/chat/completions", `{"model":"my-local-model","messages":[{"role":"user","content":"hi"}]}`, nil, false, false, false, "chat.completion"},
		{"generic openai embeddings, any model", "/v1/embeddings", `{"model":"nomic-embed","input":"a"}`, nil, false, false, false, "list"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, srv, tt.path, tt.body, tt.header...)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d: %s", resp.StatusCode, body)
			}
			if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
			if n := resp.Header.Get("cf-ai-neurons"); !neuronsPattern.MatchString(n) {
				t.Errorf("cf-ai-neurons %q, want a decimal with two places", n)
			}
			if id := resp.Header.Get("cf-ai-req-id"); tt.reqID != reqIDPattern.MatchString(id) {
				t.Errorf("cf-ai-req-id %q, want present=%v", id, tt.reqID)
			}
			if id := resp.Header.Get("cf-aig-log-id"); tt.gateway != logIDPattern.MatchString(id) {
				t.Errorf("cf-aig-log-id %q, want present=%v", id, tt.gateway)
			}
			result := body
			if tt.enveloped {
				env := decode[envelope](t, body)
				if !env.Success || env.Errors == nil || env.Messages == nil || len(env.Errors) != 0 {
					t.Fatalf("envelope %s", body)
				}
				result = env.Result
			} else if bytes.Contains(body, []byte(`"success"`)) {
				t.Fatalf("OpenAI-compatible reply is enveloped: %s", body)
			}
			got := decode[map[string]json.RawMessage](t, result)
			var object string
			_ = json.Unmarshal(got["object"], &object)
			if object != tt.object {
				t.Errorf("object %q, want %q in %s", object, tt.object, result)
			}
			if tt.object == "" {
				var text string
				if err := json.Unmarshal(got["response"], &text); err != nil || !strings.HasPrefix(text, "test model:") {
					t.Errorf("legacy response %s, want the test model's text", got["response"])
				}
				if got["usage"] == nil {
					t.Errorf("legacy result has no usage: %s", result)
				}
			}
		})
	}
}

func TestChatCompletionShape(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Text("hello"),
		llmtest.Text("hello"),
	))
	defer srv.Close()

	resp, body := post(t, srv, "/accounts/acc/ai/run/"+chatModel, `{"messages":[{"role":"user","content":"hi"}]}`)
	env := decode[envelope](t, body)
	run := decode[map[string]any](t, env.Result)
	if run["id"] != "chatcmpl-"+resp.Header.Get("cf-ai-req-id") {
		t.Errorf("/ai/run chat id %v, want chatcmpl-<cf-ai-req-id> as the live gpt-oss answers", run["id"])
	}

	_, body = post(t, srv, v1Chat, `{"model":"`+chatModel+`","messages":[{"role":"user","content":"hi"}]}`)
	v1 := decode[struct {
		ID      string `json:"id"`
		Created int64  `json:"created"`
		Model   string `json:"model"`
		Choices []struct {
			Index   int `json:"index"`
			Message struct {
				Role    string  `json:"role"`
				Content *string `json:"content"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage map[string]any `json:"usage"`
	}](t, body)
	if !strings.HasPrefix(v1.ID, "id-") || v1.Created == 0 || v1.Model != chatModel {
		t.Errorf("id %q created %d model %q", v1.ID, v1.Created, v1.Model)
	}
	if len(v1.Choices) != 1 || v1.Choices[0].Message.Role != "assistant" || v1.Choices[0].Message.Content == nil ||
		*v1.Choices[0].Message.Content != "hello" || v1.Choices[0].FinishReason != "stop" {
		t.Errorf("choices %+v", v1.Choices)
	}
	for _, k := range []string{"prompt_tokens", "completion_tokens", "total_tokens", "neurons", "prompt_tokens_details"} {
		if _, ok := v1.Usage[k]; !ok {
			t.Errorf("usage has no %s: %v", k, v1.Usage)
		}
	}
}

func TestErrorsMatchRecordedBodies(t *testing.T) {
	tests := []struct {
		name    string
		opts    []llmtest.ServerOption
		path    string
		body    string
		fixture string
	}{
		{"unknown model is 400/7000", nil, "/accounts/REDACTED/ai/run/@cf/black-forest-labs/does-not-exist", `{"prompt":"x"}`,
			"ai-run-unknown-model-400-7000.json"},
		{"bad token is 401/10000", []llmtest.ServerOption{llmtest.WithToken("good")}, v1Chat, `{}`,
			"ai-v1-chat-401-10000-bad-token.json"},
		{"unknown sub-path is 400 with 7003 and 7000", nil, "/accounts/xxx/ai/v1", `{}`,
			"issue1630-400-7003-7000-bare-v1-path.json"},
		{"wrong account is 404/7003", []llmtest.ServerOption{llmtest.WithAccount("REDACTED")},
			"/accounts/$%7BCLOUDFLARE_ACCOUNT_ID%7D/ai/v1/chat/completions", `{"model":"` + legacyModel + `"}`,
			"issue18552-404-7003-unexpanded-account.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(nil, tt.opts...)
			defer srv.Close()
			resp, body := post(t, srv, tt.path, tt.body, "Authorization", "Bearer bad")
			wantStatus, wantBody := recordedBody(t, tt.fixture)
			if resp.StatusCode != wantStatus || string(body) != wantBody {
				t.Errorf("got %d %s\nwant %d %s", resp.StatusCode, body, wantStatus, wantBody)
			}
			if id := resp.Header.Get("cf-ai-req-id"); id != "" {
				t.Errorf("router error carries cf-ai-req-id %q; the service sends none (llm/testdata/recorded/README.md)", id)
			}
		})
	}
}

func TestTokenIsChecked(t *testing.T) {
	srv := llmtest.NewServer(nil, llmtest.WithToken("s3cret"))
	defer srv.Close()
	tests := []struct {
		name   string
		path   string
		header []string
		status int
		code   int
	}{
		{"missing token", runLegacy, nil, 401, 10000},
		{"wrong token", runLegacy, []string{"Authorization", "Bearer nope"}, 401, 10000},
		{"right token", runLegacy, []string{"Authorization", "Bearer s3cret"}, 200, 0},
		{"gateway route checks too", "/v1/acc/gw/workers-ai/" + legacyModel, []string{"Authorization", "Bearer nope"}, 401, 10000},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, srv, tt.path, `{"prompt":"hi"}`, tt.header...)
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.status, body)
			}
			if tt.code != 0 {
				if env := decode[envelope](t, body); len(env.Errors) != 1 || env.Errors[0].Code != tt.code {
					t.Errorf("errors %+v, want code %d", env.Errors, tt.code)
				}
			}
		})
	}

	// The generic OpenAI-compatible server answers in OpenAI's error shape.
	resp, body := post(t, srv, "/v1/chat/completions", `{"model":"m","messages":[]}`)
	var oe struct {
		Error struct {
			Message string `json:"message"`
		} `json:"error"`
	}
	if resp.StatusCode != 401 || json.Unmarshal(body, &oe) != nil || oe.Error.Message == "" {
		t.Errorf("generic /v1 without token: %d %s", resp.StatusCode, body)
	}
}

func TestUnknownModel(t *testing.T) {
	t.Run("on /ai/v1 the model in the body is checked", func(t *testing.T) {
		srv := llmtest.NewServer(nil)
		defer srv.Close()
		resp, body := post(t, srv, v1Chat, `{"model":"@cf/nobody/nothing","messages":[{"role":"user","content":"x"}]}`)
		if env := decode[envelope](t, body); resp.StatusCode != 400 || len(env.Errors) != 1 || env.Errors[0].Code != 7000 {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("the test model id is always served", func(t *testing.T) {
		srv := llmtest.NewServer(nil)
		defer srv.Close()
		resp, body := post(t, srv, "/accounts/acc/ai/run/"+llmtest.DefaultTestModelID, `{"prompt":"x"}`)
		if resp.StatusCode != 200 {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("a handler may answer any model", func(t *testing.T) {
		srv := llmtest.NewServer(func(model string, _ []byte) llmtest.Reply { return llmtest.Text("from " + model) })
		defer srv.Close()
		resp, body := post(t, srv, "/accounts/acc/ai/run/my/custom-model", `{"prompt":"x"}`)
		if env := decode[envelope](t, body); resp.StatusCode != 200 || !bytes.Contains(env.Result, []byte(`"from my/custom-model"`)) {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
}

func TestWrongAccountIsRefusedOnEveryAccountRoute(t *testing.T) {
	srv := llmtest.NewServer(nil, llmtest.WithAccount("acc"))
	defer srv.Close()
	for _, path := range []string{
		"/accounts/other/ai/run/" + legacyModel,
		"/accounts/other/ai/v1/chat/completions",
		"/v1/other/gw/workers-ai/" + legacyModel,
	} {
		resp, body := post(t, srv, path, `{"prompt":"x"}`)
		env := decode[envelope](t, body)
		want := "Could not route to /client/v4" + path + ", perhaps your object identifier is invalid?"
		if resp.StatusCode != 404 || len(env.Errors) != 1 || env.Errors[0].Code != 7003 || env.Errors[0].Message != want {
			t.Errorf("%s: %d %s", path, resp.StatusCode, body)
		}
	}
	if resp, body := post(t, srv, runLegacy, `{"prompt":"x"}`); resp.StatusCode != 200 {
		t.Errorf("right account: %d %s", resp.StatusCode, body)
	}
}

func TestAnythingElseHasNoRoute(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	for _, tt := range []struct{ method, path string }{
		{http.MethodGet, runLegacy},
		{http.MethodPost, "/accounts/acc/ai/v2/chat"},
		{http.MethodPost, "/"},
	} {
		resp, body := send(t, srv, tt.method, tt.path, `{}`)
		env := decode[envelope](t, body)
		codes := []int{}
		for _, e := range env.Errors {
			codes = append(codes, e.Code)
		}
		if resp.StatusCode != 400 || !slices.Equal(codes, []int{7003, 7000}) || string(env.Result) != "null" {
			t.Errorf("%s %s: %d %s", tt.method, tt.path, resp.StatusCode, body)
		}
	}
}

// The batch API is emulated only for models the catalog marks as batch-capable, like the
// service; other models are refused with 5006 (batch_test.go covers the queue itself).
func TestBatchQueueRefusesModelsWithoutBatchSupport(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	resp, body := post(t, srv, runLegacy+"?queueRequest=true", `{"requests":[{"prompt":"x"}]}`)
	if env := decode[envelope](t, body); resp.StatusCode != 400 || len(env.Errors) != 1 || env.Errors[0].Code != 5006 {
		t.Errorf("%d %s", resp.StatusCode, body)
	}
}

func TestScriptAnswersInOrderThenRunsOut(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Text("one"), llmtest.Model(), llmtest.Text("three")))
	defer srv.Close()
	var got []string
	for range 3 {
		_, body := post(t, srv, runLegacy, `{"prompt":"hi"}`)
		var res struct {
			Response string `json:"response"`
		}
		_ = json.Unmarshal(decode[envelope](t, body).Result, &res)
		got = append(got, res.Response)
	}
	if got[0] != "one" || !strings.HasPrefix(got[1], "test model:") || got[2] != "three" {
		t.Errorf("answers %q", got)
	}

	resp, body := post(t, srv, runLegacy, `{"prompt":"hi"}`)
	env := decode[envelope](t, body)
	if resp.StatusCode != 400 || len(env.Errors) != 1 || !strings.Contains(env.Errors[0].Message, "script ran out: it has 3 replies and this is request 4") {
		t.Errorf("past the end: %d %s", resp.StatusCode, body)
	}
	reqs := srv.Requests()
	var marks []bool
	var statuses []int
	for _, r := range reqs {
		marks = append(marks, r.OutOfScript)
		statuses = append(statuses, r.Status)
	}
	if !slices.Equal(marks, []bool{false, false, false, true}) || !slices.Equal(statuses, []int{200, 200, 200, 400}) {
		t.Errorf("OutOfScript %v, Status %v", marks, statuses)
	}
}

func TestFail(t *testing.T) {
	tests := []struct {
		name     string
		reply    llmtest.Reply
		path     string
		status   int
		wantBody string // with REQID for the request id
		header   map[string]string
	}{
		{
			name:     "model error: AiError prefix, request id, result {}",
			reply:    llmtest.Fail(429, 3040, "Capacity temporarily exceeded, please try again.").WithRetryAfter("7"),
			path:     runLegacy,
			status:   429,
			wantBody: `{"errors":[{"message":"AiError: AiError: Capacity temporarily exceeded, please try again. (REQID)","code":3040}],"success":false,"result":{},"messages":[]}`,
			header:   map[string]string{"Retry-After": "7", "Content-Type": "application/json"},
		},
		{
			name:     "router error: result null, no request id",
			reply:    llmtest.Fail(401, 10000, "Authentication error"),
			path:     runLegacy,
			status:   401,
			wantBody: `{"result":null,"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[]}`,
		},
		{
			name:     "generic /v1 answers OpenAI's error shape",
			reply:    llmtest.Fail(503, 3040, "busy"),
			path:     "/v1/chat/completions",
			status:   503,
			wantBody: `{"error":{"message":"busy","type":"server_error","code":3040}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(llmtest.Script(tt.reply))
			defer srv.Close()
			resp, body := post(t, srv, tt.path, `{"model":"m","prompt":"x"}`)
			want := strings.ReplaceAll(tt.wantBody, "REQID", resp.Header.Get("cf-ai-req-id"))
			if resp.StatusCode != tt.status || string(body) != want {
				t.Errorf("got %d %s\nwant %d %s", resp.StatusCode, body, tt.status, want)
			}
			for k, v := range tt.header {
				if got := resp.Header.Get(k); got != v {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if resp.Header.Get("cf-ai-neurons") != "" {
				t.Error("an error carries cf-ai-neurons; the service sends it on 2xx only")
			}
		})
	}
}

func TestFailMatchesRecorded3030(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Fail(400, 3030, "5000 is too large, max width is 2048")))
	defer srv.Close()
	resp, body := post(t, srv, runLegacy, `{}`)
	status, want := recordedBody(t, "ai-run-flux-2-klein-4b-3030-width.json")
	want = strings.ReplaceAll(want, "c191bd0d-dfdd-4826-9683-8b2bbfc742bb", resp.Header.Get("cf-ai-req-id"))
	if resp.StatusCode != status || string(body) != want {
		t.Errorf("got %d %s\nwant %d %s", resp.StatusCode, body, status, want)
	}
}

func TestLegacyStream(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Text("Hello brave new world").WithUsage(llm.Usage{PromptTokens: 3, CompletionTokens: 4, TotalTokens: 7}),
		llmtest.Calls(llm.ToolCall{Name: "weather", Arguments: json.RawMessage(`{"city": "Oslo", "days": 3}`)}),
	))
	defer srv.Close()

	resp, body := post(t, srv, runLegacy, `{"prompt":"hi","stream":true}`)
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	evs := events(t, body)
	if evs[len(evs)-1] != "[DONE]" {
		t.Fatalf("last event %q, want [DONE]", evs[len(evs)-1])
	}
	var text strings.Builder
	for _, e := range evs[:len(evs)-2] {
		c := decode[struct {
			Response string `json:"response"`
			P        string `json:"p"`
		}](t, []byte(e))
		if c.P == "" {
			t.Errorf("chunk %s has no p padding", e)
		}
		text.WriteString(c.Response)
	}
	if text.String() != "Hello brave new world" || len(evs) != 4+2 {
		t.Errorf("text %q in %d events", text.String(), len(evs))
	}
	if tail := evs[len(evs)-2]; tail != `{"response":"","usage":{"prompt_tokens":3,"completion_tokens":4,"total_tokens":7}}` {
		t.Errorf("tail %s", tail)
	}

	_, body = post(t, srv, runLegacy, `{"prompt":"hi","stream":true}`)
	evs = events(t, body)
	type call struct {
		ID       string `json:"id"`
		Index    int    `json:"index"`
		Function struct {
			Name      string `json:"name"`
			Arguments string `json:"arguments"`
		} `json:"function"`
	}
	var args strings.Builder
	var start call
	for i, e := range evs[:len(evs)-2] {
		c := decode[struct {
			ToolCalls []call `json:"tool_calls"`
		}](t, []byte(e))
		if len(c.ToolCalls) != 1 || c.ToolCalls[0].Index != 0 {
			t.Fatalf("event %s", e)
		}
		if i == 0 {
			start = c.ToolCalls[0]
		}
		args.WriteString(c.ToolCalls[0].Function.Arguments)
	}
	if start.Function.Name != "weather" || start.ID == "" || len(evs) < 5 {
		t.Errorf("start chunk %+v; %d events: want a start chunk and argument pieces", start, len(evs))
	}
	if args.String() != `{"city":"Oslo","days":3}` {
		t.Errorf("assembled arguments %s", args.String())
	}
}

func TestChatStream(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Text("Hi there"),
		llmtest.Calls(llm.ToolCall{ID: "call_9", Name: "f", Arguments: json.RawMessage(`{"a":1}`)}),
	))
	defer srv.Close()
	type chunk struct {
		Object  string `json:"object"`
		Choices []struct {
			Delta struct {
				Role      string `json:"role"`
				Content   string `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Index    int    `json:"index"`
					Function struct {
						Name      string `json:"name"`
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"delta"`
			FinishReason *string `json:"finish_reason"`
		} `json:"choices"`
		Usage *llmUsage `json:"usage"`
	}
	read := func() []chunk {
		resp, body := post(t, srv, v1Chat, `{"model":"`+chatModel+`","stream":true,"messages":[{"role":"user","content":"x"}]}`)
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Fatalf("Content-Type %q", ct)
		}
		evs := events(t, body)
		if evs[len(evs)-1] != "[DONE]" {
			t.Fatalf("no [DONE]: %q", evs)
		}
		var out []chunk
		for _, e := range evs[:len(evs)-1] {
			out = append(out, decode[chunk](t, []byte(e)))
		}
		return out
	}

	cs := read()
	var text strings.Builder
	for _, c := range cs {
		if c.Object != "chat.completion.chunk" {
			t.Errorf("object %q", c.Object)
		}
		for _, ch := range c.Choices {
			text.WriteString(ch.Delta.Content)
		}
	}
	if cs[0].Choices[0].Delta.Role != "assistant" || text.String() != "Hi there" {
		t.Errorf("role %q text %q", cs[0].Choices[0].Delta.Role, text.String())
	}
	fin, use := cs[len(cs)-2], cs[len(cs)-1]
	if fin.Choices[0].FinishReason == nil || *fin.Choices[0].FinishReason != "stop" {
		t.Errorf("finish chunk %+v", fin)
	}
	if len(use.Choices) != 0 || use.Usage == nil || use.Usage.TotalTokens == 0 {
		t.Errorf("usage chunk %+v, want empty choices and usage", use)
	}

	cs = read()
	var args strings.Builder
	var id, name string
	for _, c := range cs {
		for _, ch := range c.Choices {
			for _, tc := range ch.Delta.ToolCalls {
				id, name = max(id, tc.ID), max(name, tc.Function.Name)
				args.WriteString(tc.Function.Arguments)
			}
		}
	}
	if id != "call_9" || name != "f" || args.String() != `{"a":1}` {
		t.Errorf("tool call id %q name %q args %q", id, name, args.String())
	}
	if fr := cs[len(cs)-2].Choices[0].FinishReason; fr == nil || *fr != "tool_calls" {
		t.Errorf("finish_reason %v, want tool_calls", fr)
	}
}

type llmUsage struct {
	PromptTokens     int     `json:"prompt_tokens"`
	CompletionTokens int     `json:"completion_tokens"`
	TotalTokens      int     `json:"total_tokens"`
	Neurons          float64 `json:"neurons"`
}

func TestTestModelStreamsThroughTheServer(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	_, plain := post(t, srv, runLegacy, `{"prompt":"stream me"}`)
	var want struct {
		Response string `json:"response"`
	}
	_ = json.Unmarshal(decode[envelope](t, plain).Result, &want)

	_, body := post(t, srv, runLegacy, `{"prompt":"stream me","stream":true}`)
	evs := events(t, body)
	var text strings.Builder
	for _, e := range evs[:len(evs)-2] {
		text.WriteString(decode[struct {
			Response string `json:"response"`
		}](t, []byte(e)).Response)
	}
	if text.String() != want.Response || evs[len(evs)-1] != "[DONE]" || want.Response == "" {
		t.Errorf("streamed %q, generated %q", text.String(), want.Response)
	}
}

func TestCutAfter(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Text("a b c d e").CutAfter(2),
		llmtest.Text("a b").CutAfter(100),
		llmtest.Text("whole").CutAfter(10),
		llmtest.SSE(`{"response":"x"}`, `{"response":"y"}`, "[DONE]").CutAfter(1),
	))
	defer srv.Close()
	stream := `{"prompt":"hi","stream":true}`

	_, body := post(t, srv, runLegacy, stream)
	if evs := events(t, body); len(evs) != 2 || slices.Contains(evs, "[DONE]") {
		t.Errorf("CutAfter(2): %q", evs)
	}
	_, body = post(t, srv, runLegacy, stream)
	if evs := events(t, body); len(evs) != 3 || slices.Contains(evs, "[DONE]") {
		t.Errorf("CutAfter past the end keeps every event but [DONE]: %q", evs)
	}
	_, body = post(t, srv, runLegacy, `{"prompt":"hi"}`)
	if len(body) != 10 || json.Valid(body) {
		t.Errorf("CutAfter(10) on JSON: %q", body)
	}
	_, body = post(t, srv, runLegacy, stream)
	if evs := events(t, body); !slices.Equal(evs, []string{`{"response":"x"}`}) {
		t.Errorf("CutAfter(1) on SSE: %q", evs)
	}
}

func TestReplyOptions(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Text("x").WithUsage(llm.Usage{PromptTokens: 5, CompletionTokens: 7, Neurons: 1.239}).
			WithFinishReason("length").WithHeader("X-Test", "yes"),
		llmtest.Text("x").WithContentType("text/plain"),
		llmtest.JSON(map[string]any{"custom": 1}),
		llmtest.JSON(map[string]any{"custom": 1}),
		llmtest.Raw("audio/mpeg", []byte{0xff, 0xfb, 0x90}),
		llmtest.SSE(`{"a":1}`, "[DONE]"),
	))
	defer srv.Close()
	body := `{"model":"` + legacyModel + `","messages":[{"role":"user","content":"x"}]}`

	resp, b := post(t, srv, v1Chat, body)
	got := decode[struct {
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
		Usage llmUsage `json:"usage"`
	}](t, b)
	if got.Choices[0].FinishReason != "length" || got.Usage != (llmUsage{5, 7, 12, 1.239}) ||
		resp.Header.Get("cf-ai-neurons") != "1.24" || resp.Header.Get("X-Test") != "yes" {
		t.Errorf("options not applied: %s, headers %v", b, resp.Header)
	}

	if resp, _ = post(t, srv, v1Chat, body); resp.Header.Get("Content-Type") != "text/plain" {
		t.Errorf("Content-Type %q", resp.Header.Get("Content-Type"))
	}
	if _, b = post(t, srv, runLegacy, `{}`); !bytes.Equal(b, []byte(`{"result":{"custom":1},"success":true,"errors":[],"messages":[]}`)) {
		t.Errorf("JSON on /ai/run: %s", b)
	}
	if _, b = post(t, srv, v1Chat, body); !bytes.Equal(b, []byte(`{"custom":1}`)) {
		t.Errorf("JSON on /ai/v1: %s", b)
	}
	if resp, b = post(t, srv, runLegacy, `{}`); resp.Header.Get("Content-Type") != "audio/mpeg" || !bytes.Equal(b, []byte{0xff, 0xfb, 0x90}) {
		t.Errorf("Raw: %q %x", resp.Header.Get("Content-Type"), b)
	}
	if _, b = post(t, srv, runLegacy, `{}`); string(b) != "data: {\"a\":1}\n\ndata: [DONE]\n\n" {
		t.Errorf("SSE: %q", b)
	}
}

func TestLatencyEndsWhenTheClientGivesUp(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Text("late").WithLatency(time.Hour)))
	defer srv.Close()
	ctx, cancel := context.WithCancel(t.Context())
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, srv.URL()+runLegacy, strings.NewReader(`{"prompt":"x"}`))
	done := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		done <- err
	}()
	for len(srv.Requests()) == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("request answered despite an hour of latency")
	}
	srv.Close() // returns only when the handler has stopped waiting
	if r := srv.Requests(); r[0].Status != 0 {
		t.Errorf("Status %d for an unanswered request", r[0].Status)
	}
}

func compileSchema(t *testing.T, schema string) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	c.Draft = jsonschema.Draft2020
	if err := c.AddResource("mem://s.json", strings.NewReader(schema)); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("mem://s.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJSONModeAnswerValidatesAgainstTheSchema(t *testing.T) {
	const schema = `{"type":"object","properties":{"animal":{"type":"string","minLength":2},"legs":{"type":"integer","minimum":1,"maximum":8}},"required":["animal","legs"],"additionalProperties":false}`
	sch := compileSchema(t, schema)
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	validate := func(name string, doc []byte) {
		t.Helper()
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			t.Fatalf("%s: %s is not JSON: %v", name, doc, err)
		}
		if err := sch.Validate(v); err != nil {
			t.Errorf("%s: %s does not validate: %v", name, doc, err)
		}
	}

	// Native legacy: "response" is the object itself, even when the
	// request also asked to stream.
	for _, stream := range []string{"false", "true"} {
		resp, body := post(t, srv, runLegacy, `{"prompt":"an animal","stream":`+stream+`,"response_format":{"type":"json_schema","json_schema":`+schema+`}}`)
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Fatalf("stream=%s: Content-Type %q: JSON mode answers JSON", stream, ct)
		}
		var res struct {
			Response json.RawMessage `json:"response"`
		}
		_ = json.Unmarshal(decode[envelope](t, body).Result, &res)
		validate("native stream="+stream, res.Response)
	}

	// OpenAI wrapper {name, schema}: content is a JSON string, as the live gpt-oss answers.
	_, body := post(t, srv, v1Chat, `{"model":"`+chatModel+`","messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_schema","json_schema":{"name":"animal","strict":true,"schema":`+schema+`}}}`)
	cc := decode[struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}](t, body)
	validate("openai wrapper", []byte(cc.Choices[0].Message.Content))
}

func TestOfferedToolsAreCalled(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	const params = `{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`

	// Legacy flat tools on /ai/run: response null, flat calls with object arguments.
	_, body := post(t, srv, runLegacy, `{"messages":[{"role":"user","content":"weather?"}],"tools":[{"name":"weather","description":"d","parameters":`+params+`}]}`)
	var legacy struct {
		Response  json.RawMessage `json:"response"`
		ToolCalls []struct {
			Name      string          `json:"name"`
			Arguments json.RawMessage `json:"arguments"`
		} `json:"tool_calls"`
	}
	_ = json.Unmarshal(decode[envelope](t, body).Result, &legacy)
	if string(legacy.Response) != "null" || len(legacy.ToolCalls) != 1 || legacy.ToolCalls[0].Name != "weather" ||
		!bytes.HasPrefix(legacy.ToolCalls[0].Arguments, []byte(`{"city":`)) {
		t.Errorf("legacy tool call: %s", body)
	}

	// OpenAI tools on /ai/v1: string arguments, ids, finish_reason tool_calls.
	tools := `"tools":[{"type":"function","function":{"name":"weather","description":"d","parameters":` + params + `}}]`
	_, body = post(t, srv, v1Chat, `{"model":"`+chatModel+`","messages":[{"role":"user","content":"weather?"}],`+tools+`}`)
	type completion struct {
		Choices []struct {
			Message struct {
				Content   *string `json:"content"`
				ToolCalls []struct {
					ID       string `json:"id"`
					Type     string `json:"type"`
					Function struct {
						Name      string `json:"name"`
						Arguments string `json:"arguments"`
					} `json:"function"`
				} `json:"tool_calls"`
			} `json:"message"`
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	c := decode[completion](t, body).Choices[0]
	if c.FinishReason != "tool_calls" || c.Message.Content != nil || len(c.Message.ToolCalls) != 1 {
		t.Fatalf("openai tool call: %s", body)
	}
	tc := c.Message.ToolCalls[0]
	if tc.ID == "" || tc.Type != "function" || tc.Function.Name != "weather" || !json.Valid([]byte(tc.Function.Arguments)) {
		t.Errorf("tool call %+v", tc)
	}

	// The follow-up turn carries the call and its result; the model then answers in text.
	follow := fmt.Sprintf(`{"model":%q,"messages":[{"role":"user","content":"weather?"},`+
		`{"role":"assistant","content":null,"tool_calls":[{"id":%q,"type":"function","function":{"name":"weather","arguments":%q}}]},`+
		`{"role":"tool","tool_call_id":%q,"content":"sunny"}],%s}`, chatModel, tc.ID, tc.Function.Arguments, tc.ID, tools)
	_, body = post(t, srv, v1Chat, follow)
	c = decode[completion](t, body).Choices[0]
	if c.FinishReason != "stop" || c.Message.Content == nil || !strings.Contains(*c.Message.Content, "sunny") {
		t.Errorf("follow-up: %s", body)
	}
}

func TestBadChatInputIs5006(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	for _, tt := range []struct{ name, body, want string }{
		{"neither prompt nor messages", `{}`, "required properties at '/' are 'prompt'"},
		{"not JSON", `{`, "Bad input"},
		{"http image URL", `{"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png"}}]}]}`, "data: URL"},
		{"unknown role", `{"messages":[{"role":"robot","content":"x"}]}`, `role "robot"`},
		{"tool result for no call", `{"messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"c1","content":"r"}]}`, "test model"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, srv, runLegacy, tt.body)
			env := decode[envelope](t, body)
			if resp.StatusCode != 400 || len(env.Errors) != 1 || env.Errors[0].Code != 5006 ||
				!strings.HasPrefix(env.Errors[0].Message, "AiError: AiError: ") || !strings.Contains(env.Errors[0].Message, tt.want) {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestVisionInputReachesTheModel(t *testing.T) {
	var got []llm.Request
	var mu sync.Mutex
	srv := llmtest.NewServer(nil, llmtest.WithModel(modelFunc(func(req llm.Request) {
		mu.Lock()
		got = append(got, req)
		mu.Unlock()
	})))
	defer srv.Close()
	img := base64.StdEncoding.EncodeToString([]byte("\x89PNG fake"))
	post(t, srv, v1Chat, `{"model":"@cf/meta/llama-4-scout-17b-16e-instruct","max_completion_tokens":50,"tool_choice":{"type":"function","function":{"name":"f"}},`+
		`"messages":[{"role":"user","content":[{"type":"text","text":"what is this?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,`+img+`"}}]}]}`)
	if len(got) != 1 {
		t.Fatalf("model called %d times", len(got))
	}
	want := llm.Request{
		Messages:   []llm.Message{{Role: llm.RoleUser, Content: "what is this?", Images: []llm.Image{{Data: []byte("\x89PNG fake"), MIME: "image/png"}}}},
		MaxTokens:  50,
		ToolChoice: "f",
	}
	if diff := cmp.Diff(want, got[0]); diff != "" {
		t.Errorf("request (-want +got):\n%s", diff)
	}
}

// modelFunc is an llm.Model that records requests and answers "ok".
type modelFunc func(llm.Request)

func (f modelFunc) Generate(_ context.Context, req llm.Request) (*llm.Response, error) {
	f(req)
	return &llm.Response{Text: "ok"}, nil
}

func (f modelFunc) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) {
		r, _ := f.Generate(ctx, req)
		yield(llm.Delta{Text: r.Text}, nil)
	}
}

func TestEmbeddings(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()

	resp, body := post(t, srv, "/accounts/acc/ai/run/@cf/baai/bge-base-en-v1.5", `{"text":["alpha","beta"]}`)
	var res struct {
		Shape   []int       `json:"shape"`
		Data    [][]float32 `json:"data"`
		Pooling string      `json:"pooling"`
	}
	_ = json.Unmarshal(decode[envelope](t, body).Result, &res)
	if resp.StatusCode != 200 || !slices.Equal(res.Shape, []int{2, 768}) || len(res.Data) != 2 || len(res.Data[1]) != 768 || res.Pooling != "mean" {
		t.Fatalf("shape %v pooling %q: %.200s", res.Shape, res.Pooling, body)
	}
	if diff := cmp.Diff(llmtest.Embed([]string{"alpha", "beta"}, 768), res.Data); diff != "" {
		t.Errorf("vectors differ from Embed:\n%.500s", diff)
	}
	var norm float64
	for _, x := range res.Data[0] {
		norm += float64(x) * float64(x)
	}
	if math.Abs(norm-1) > 1e-3 {
		t.Errorf("|v|² = %v, want a unit vector", norm)
	}

	// A single string is one text; the default dimension is 384 for uncatalogued sizes.
	_, body = post(t, srv, "/accounts/acc/ai/run/@cf/baai/bge-small-en-v1.5", `{"text":"alpha"}`)
	_ = json.Unmarshal(decode[envelope](t, body).Result, &res)
	if !slices.Equal(res.Shape, []int{1, 384}) {
		t.Errorf("single text: shape %v", res.Shape)
	}

	// /ai/v1/embeddings: a list without usage, as the live service answers.
	_, body = post(t, srv, "/accounts/acc/ai/v1/embeddings", `{"model":"@cf/baai/bge-small-en-v1.5","input":["a","b"]}`)
	list := decode[map[string]json.RawMessage](t, body)
	if _, ok := list["usage"]; ok || string(list["object"]) != `"list"` || string(list["model"]) != `"@cf/baai/bge-small-en-v1.5"` {
		t.Errorf("list: %.300s", body)
	}
	items := decode[[]struct {
		Object    string    `json:"object"`
		Embedding []float32 `json:"embedding"`
		Index     int       `json:"index"`
	}](t, list["data"])
	if len(items) != 2 || items[1].Index != 1 || items[1].Object != "embedding" || len(items[1].Embedding) != 384 {
		t.Errorf("items: %.300s", list["data"])
	}

	texts, _ := json.Marshal(slices.Repeat([]string{"t"}, 101))
	for _, tt := range []struct{ name, path, body, want string }{
		{"more than 100 texts", "/accounts/acc/ai/run/@cf/baai/bge-small-en-v1.5", `{"text":` + string(texts) + `}`, "maxItems"},
		{"missing text", "/accounts/acc/ai/run/@cf/baai/bge-small-en-v1.5", `{"input":"x"}`, "required properties at '/' are 'text'"},
		{"bad pooling", "/accounts/acc/ai/run/@cf/baai/bge-small-en-v1.5", `{"text":"x","pooling":"max"}`, "pooling"},
		{"chat model on /ai/v1/embeddings", "/accounts/acc/ai/v1/embeddings", `{"model":"` + legacyModel + `","input":"x"}`, "not an embeddings model"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, srv, tt.path, tt.body)
			env := decode[envelope](t, body)
			if resp.StatusCode != 400 || len(env.Errors) != 1 || env.Errors[0].Code != 5006 || !strings.Contains(env.Errors[0].Message, tt.want) {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		})
	}
}

func TestRerankOrdersByWordOverlap(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	const contexts = `[{"text":"Cooking pasta at home"},{"text":"Testing tools for Go"},{"text":"Go is fast"},{"text":"go testing tools, the complete guide"}]`
	type ranked struct {
		ID    int     `json:"id"`
		Score float64 `json:"score"`
	}
	read := func(body string) []ranked {
		resp, b := post(t, srv, "/accounts/acc/ai/run/@cf/baai/bge-reranker-base", body)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		var res struct {
			Response []ranked `json:"response"`
		}
		_ = json.Unmarshal(decode[envelope](t, b).Result, &res)
		return res.Response
	}
	got := read(`{"query":"go testing tools","contexts":` + contexts + `}`)
	want := []ranked{{1, 1}, {3, 1}, {2, 1.0 / 3}, {0, 0}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("ranking (-want +got):\n%s", diff)
	}
	if got := read(`{"query":"go testing tools","contexts":` + contexts + `,"top_k":2}`); len(got) != 2 || got[0].ID != 1 {
		t.Errorf("top_k 2: %+v", got)
	}
	resp, body := post(t, srv, "/accounts/acc/ai/run/@cf/baai/bge-reranker-base", `{"query":"x"}`)
	if env := decode[envelope](t, body); resp.StatusCode != 400 || env.Errors[0].Code != 5006 {
		t.Errorf("missing contexts: %d %s", resp.StatusCode, body)
	}
}

func TestImageToText(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	_, body := post(t, srv, "/accounts/acc/ai/run/@cf/llava-hf/llava-1.5-7b-hf", `{"image":[1,2,3],"prompt":"what is it?"}`)
	var res struct {
		Description string `json:"description"`
	}
	_ = json.Unmarshal(decode[envelope](t, body).Result, &res)
	if res.Description != " test model: image of 3 bytes; prompt: what is it?" {
		t.Errorf("description %q", res.Description)
	}
}

func decodePNG(t *testing.T, b []byte) {
	t.Helper()
	img, format, err := image.Decode(bytes.NewReader(b))
	if err != nil || format != "png" || img.Bounds().Dx() != 8 {
		t.Errorf("image: format %q, err %v", format, err)
	}
}

func TestTextToImage(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()

	t.Run("flux-1-schnell answers base64 PNG in JSON", func(t *testing.T) {
		_, body := post(t, srv, "/accounts/acc/ai/run/@cf/black-forest-labs/flux-1-schnell", `{"prompt":"a cat","steps":4}`)
		var res struct {
			Image string `json:"image"`
		}
		_ = json.Unmarshal(decode[envelope](t, body).Result, &res)
		png, err := base64.StdEncoding.DecodeString(res.Image)
		if err != nil {
			t.Fatalf("image is not base64: %v", err)
		}
		decodePNG(t, png)
	})
	t.Run("flux-1-schnell refuses extra fields", func(t *testing.T) {
		resp, body := post(t, srv, "/accounts/acc/ai/run/@cf/black-forest-labs/flux-1-schnell", `{"prompt":"a cat","seed":1}`)
		if env := decode[envelope](t, body); resp.StatusCode != 400 || env.Errors[0].Code != 5006 || !strings.Contains(env.Errors[0].Message, "'/seed'") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	t.Run("sdxl answers raw PNG bytes", func(t *testing.T) {
		resp, body := post(t, srv, "/accounts/acc/ai/run/@cf/stabilityai/stable-diffusion-xl-base-1.0", `{"prompt":"a cat"}`)
		if ct := resp.Header.Get("Content-Type"); resp.StatusCode != 200 || ct != "image/png" {
			t.Fatalf("%d %q", resp.StatusCode, ct)
		}
		decodePNG(t, body)
	})
	t.Run("flux-2 refuses JSON", func(t *testing.T) {
		resp, body := post(t, srv, "/accounts/acc/ai/run/@cf/black-forest-labs/flux-2-klein-4b", `{"prompt":"a cat"}`)
		if env := decode[envelope](t, body); resp.StatusCode != 400 || env.Errors[0].Code != 5006 ||
			!strings.Contains(env.Errors[0].Message, "required properties at '/' are 'multipart'") {
			t.Errorf("%d %s", resp.StatusCode, body)
		}
	})
	form := func(fields ...string) (string, string) {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		for i := 0; i+1 < len(fields); i += 2 {
			_ = w.WriteField(fields[i], fields[i+1])
		}
		_ = w.Close()
		return b.String(), w.FormDataContentType()
	}
	t.Run("flux-2 answers a multipart request", func(t *testing.T) {
		body, ct := form("prompt", "a cat", "width", "1024", "height", "768")
		resp, b := post(t, srv, "/accounts/acc/ai/run/@cf/black-forest-labs/flux-2-klein-4b", body, "Content-Type", ct)
		var res struct {
			Image string `json:"image"`
		}
		_ = json.Unmarshal(decode[envelope](t, b).Result, &res)
		png, _ := base64.StdEncoding.DecodeString(res.Image)
		if resp.StatusCode != 200 {
			t.Fatalf("%d %s", resp.StatusCode, b)
		}
		decodePNG(t, png)
	})
	t.Run("flux-2 width over 2048 is 3030", func(t *testing.T) {
		body, ct := form("prompt", "a cat", "width", "5000", "height", "1080")
		resp, b := post(t, srv, "/accounts/acc/ai/run/@cf/black-forest-labs/flux-2-klein-4b", body, "Content-Type", ct)
		env := decode[envelope](t, b)
		want := "AiError: AiError: 5000 is too large, max width is 2048 (" + resp.Header.Get("cf-ai-req-id") + ")"
		if resp.StatusCode != 400 || env.Errors[0].Code != 3030 || env.Errors[0].Message != want {
			t.Errorf("%d %s", resp.StatusCode, b)
		}
	})
}

func TestGatewayHeadersAndCache(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Text("first"), llmtest.Text("second")))
	defer srv.Close()
	path := "/v1/acc/gw/workers-ai/" + legacyModel
	ttl := []string{"cf-aig-cache-ttl", "60"}

	r1, b1 := post(t, srv, path, `{"prompt":"same"}`, ttl...)
	r2, b2 := post(t, srv, path, `{"prompt":"same"}`, ttl...)
	r3, b3 := post(t, srv, path, `{"prompt":"same"}`, "cf-aig-cache-ttl", "60", "cf-aig-skip-cache", "true")

	statuses := []string{r1.Header.Get("cf-aig-cache-status"), r2.Header.Get("cf-aig-cache-status"), r3.Header.Get("cf-aig-cache-status")}
	if !slices.Equal(statuses, []string{"MISS", "HIT", "MISS"}) {
		t.Errorf("cache statuses %v", statuses)
	}
	if !bytes.Equal(b1, b2) || !bytes.Contains(b1, []byte(`"first"`)) || !bytes.Contains(b3, []byte(`"second"`)) {
		t.Errorf("bodies: %s / %s / %s; a HIT must replay the first answer without using the script", b1, b2, b3)
	}
	ids := map[string]bool{}
	for _, r := range []*http.Response{r1, r2, r3} {
		id := r.Header.Get("cf-aig-log-id")
		if !logIDPattern.MatchString(id) {
			t.Errorf("cf-aig-log-id %q is not a 26-character ULID", id)
		}
		ids[id] = true
	}
	if len(ids) != 3 {
		t.Errorf("log ids are not distinct: %v", ids)
	}

	// Without cf-aig-cache-ttl nothing is cached.
	srv2 := llmtest.NewServer(nil)
	defer srv2.Close()
	post(t, srv2, path, `{"prompt":"x"}`)
	if r, _ := post(t, srv2, path, `{"prompt":"x"}`); r.Header.Get("cf-aig-cache-status") != "MISS" {
		t.Error("a request without cf-aig-cache-ttl was served from cache")
	}
}

func TestGatewayFeedback(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	resp, _ := post(t, srv, "/v1/acc/gw/workers-ai/"+legacyModel, `{"prompt":"x"}`)
	logID := resp.Header.Get("cf-aig-log-id")
	feedback := func(gw, id, body string) (*http.Response, []byte) {
		return send(t, srv, http.MethodPatch, "/accounts/acc/ai-gateway/gateways/"+gw+"/logs/"+id, body)
	}

	resp, body := feedback("gw", logID, `{"feedback":1,"score":90,"metadata":{"user":"u1"}}`)
	env := decode[envelope](t, body)
	got := decode[map[string]any](t, env.Result)
	if resp.StatusCode != 200 || !env.Success || got["id"] != logID || got["feedback"] != 1.0 || got["score"] != 90.0 {
		t.Errorf("feedback: %d %s", resp.StatusCode, body)
	}
	if id := resp.Header.Get("cf-aig-log-id"); id != "" {
		t.Errorf("the feedback call itself was logged as gateway traffic: %s", id)
	}
	for _, tt := range []struct {
		name, gw, id, body string
		status             int
	}{
		{"unknown log id", "gw", "01HZXTEST0ZZZZZZZZZZZZZZZZ", `{"feedback":1}`, 404},
		{"log of another gateway", "other", logID, `{"feedback":1}`, 404},
		{"score out of range", "gw", logID, `{"score":101}`, 400},
		{"feedback not ±1", "gw", logID, `{"feedback":2}`, 400},
	} {
		if resp, body := feedback(tt.gw, tt.id, tt.body); resp.StatusCode != tt.status || decode[envelope](t, body).Success {
			t.Errorf("%s: %d %s", tt.name, resp.StatusCode, body)
		}
	}
}

func TestRequestsAreRecordedWithCredentialsRedacted(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	post(t, srv, runLegacy, `{"prompt":"one"}`, "Authorization", "Bearer top-secret", "X-Other", "kept")
	post(t, srv, "/v1/acc/gw/workers-ai/v1/chat/completions", `{"model":"`+legacyModel+`","messages":[{"role":"user","content":"two"}]}`,
		"Authorization", "Bearer top-secret", "cf-aig-authorization", "Bearer gw-secret")
	post(t, srv, "/nowhere", `{}`)

	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests recorded", len(reqs))
	}
	if r := reqs[0]; r.Method != "POST" || r.Path != runLegacy || r.Model != legacyModel || string(r.Body) != `{"prompt":"one"}` ||
		r.Header.Get("Authorization") != "Bearer [REDACTED]" || r.Header.Get("X-Other") != "kept" || r.Status != 200 {
		t.Errorf("first: %+v", r)
	}
	if r := reqs[1]; r.Model != legacyModel || r.Header.Get("cf-aig-authorization") != "Bearer [REDACTED]" {
		t.Errorf("second: model %q, headers %v", r.Model, r.Header)
	}
	if r := reqs[2]; r.Path != "/nowhere" || r.Model != "" || r.Status != 400 {
		t.Errorf("third: %+v", r)
	}
	for _, r := range reqs {
		if strings.Contains(fmt.Sprint(r.Header), "secret") {
			t.Errorf("a token survived in %v", r.Header)
		}
	}
	// The copy is the caller's own.
	reqs[0].Body[0] = 'X'
	if srv.Requests()[0].Body[0] != '{' {
		t.Error("Requests returned the server's own body slice")
	}
}

func TestConcurrentRequests(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	const n = 24
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make(chan string, n)
	for i := range n {
		wg.Go(func() {
			path, body := runLegacy, fmt.Sprintf(`{"prompt":"q%d","stream":%v}`, i, i%2 == 0)
			if i%3 == 0 {
				path, body = "/v1/acc/gw/workers-ai/v1/embeddings", `{"model":"@cf/baai/bge-small-en-v1.5","input":"x"}`
			}
			req, _ := http.NewRequest(http.MethodPost, srv.URL()+path, strings.NewReader(body))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				errs <- err.Error()
				return
			}
			defer resp.Body.Close()
			_, _ = io.Copy(io.Discard, resp.Body)
			if resp.StatusCode != 200 {
				errs <- fmt.Sprintf("request %d: status %d", i, resp.StatusCode)
			}
			ids[i] = resp.Header.Get("cf-ai-req-id") + resp.Header.Get("cf-aig-log-id")
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
	if got := len(srv.Requests()); got != n {
		t.Errorf("%d requests recorded, want %d", got, n)
	}
	slices.Sort(ids)
	if len(slices.Compact(ids)) != n {
		t.Error("request or log ids repeat across concurrent requests")
	}
}

func TestClientIsConfiguredForTheServer(t *testing.T) {
	srv := llmtest.NewServer(nil, llmtest.WithToken("tok"), llmtest.WithAccount("acct"))
	defer srv.Close()
	if _, err := srv.Client(); err != nil {
		t.Fatal(err)
	}
}

// gpt-oss and Kimi K2 answer "stream": true on /ai/run with an empty JSON result instead
// of an event stream; the emulator does the same when its test model answers.
func TestStreamIgnoredByGPTOSSAndKimi(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	const streamBody = `{"stream":true,"messages":[{"role":"user","content":"hi"}]}`
	for _, model := range []string{"@cf/openai/gpt-oss-120b", "@cf/openai/gpt-oss-20b", "@cf/moonshotai/kimi-k2.6"} {
		t.Run(model, func(t *testing.T) {
			resp, body := post(t, srv, "/accounts/acc/ai/run/"+model, streamBody)
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
				t.Errorf("%d %s, want 200 application/json", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if want := `{"result":{},"success":true,"errors":[],"messages":[]}`; string(body) != want {
				t.Errorf("body %s, want %s", body, want)
			}
			// Without "stream" the model answers as usual.
			_, body = post(t, srv, "/accounts/acc/ai/run/"+model, `{"messages":[{"role":"user","content":"hi"}]}`)
			if !bytes.Contains(body, []byte("test model:")) {
				t.Errorf("non-stream answer %s, want the test model's text", body)
			}
		})
	}
	for _, tc := range []struct{ name, path, body string }{
		{"other chat-style models stream", "/accounts/acc/ai/run/@cf/qwen/qwen3-30b-a3b-fp8", streamBody},
		{"/ai/v1 streams gpt-oss", v1Chat, `{"model":"@cf/openai/gpt-oss-120b","stream":true,"messages":[{"role":"user","content":"hi"}]}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, _ := post(t, srv, tc.path, tc.body)
			if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
				t.Errorf("Content-Type %q, want an event stream", ct)
			}
		})
	}
	t.Run("a scripted reply streams as asked", func(t *testing.T) {
		scripted := llmtest.NewServer(llmtest.Script(llmtest.Text("scripted")))
		defer scripted.Close()
		resp, _ := post(t, scripted, "/accounts/acc/ai/run/@cf/openai/gpt-oss-120b", streamBody)
		if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
			t.Errorf("Content-Type %q, want an event stream", ct)
		}
	})
}

// Every route is served under /client/v4 too, so a client configured with Cloudflare's
// documented base URL needs only the host swapped.
func TestRoutesUnderClientV4(t *testing.T) {
	srv := llmtest.NewServer(nil, llmtest.WithAccount("acc"))
	defer srv.Close()
	for _, tc := range []struct{ path, body string }{
		{"/client/v4/accounts/acc/ai/run/" + legacyModel, `{"prompt":"hi"}`},
		{"/client/v4/accounts/acc/ai/v1/chat/completions", `{"model":"` + legacyModel + `","messages":[{"role":"user","content":"hi"}]}`},
		{"/client/v4/accounts/acc/ai/v1/embeddings", `{"model":"@cf/baai/bge-small-en-v1.5","input":"hi"}`},
		{"/client/v4/v1/acc/gw/workers-ai/" + legacyModel, `{"prompt":"hi"}`},
	} {
		if resp, body := post(t, srv, tc.path, tc.body); resp.StatusCode != 200 {
			t.Errorf("%s: %d %s", tc.path, resp.StatusCode, body)
		}
	}
	// Errors name the path once with /client/v4, as the service does.
	resp, body := post(t, srv, "/client/v4/accounts/other/ai/run/"+legacyModel, `{"prompt":"x"}`)
	env := decode[envelope](t, body)
	want := "Could not route to /client/v4/accounts/other/ai/run/" + legacyModel + ", perhaps your object identifier is invalid?"
	if resp.StatusCode != 404 || len(env.Errors) != 1 || env.Errors[0].Message != want {
		t.Errorf("wrong account: %d %s", resp.StatusCode, body)
	}
	_, body = post(t, srv, "/client/v4/accounts/acc/ai/v2/chat", `{}`)
	if env := decode[envelope](t, body); len(env.Errors) != 2 || strings.Contains(env.Errors[0].Message, "client") {
		t.Errorf("no route: %s, want the path echoed without /client/v4", body)
	}

	c, err := llm.NewClient(llm.WithBaseURL(srv.URL()+"/client/v4"), llm.WithAccount("acc", "tok"))
	if err != nil {
		t.Fatal(err)
	}
	resp2, err := c.Model(legacyModel).Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}})
	if err != nil || !strings.HasPrefix(resp2.Text, "test model:") {
		t.Fatalf("client with the documented base URL: %v, %v", resp2, err)
	}
	if got := srv.Requests(); got[len(got)-1].Path != "/client/v4/accounts/acc/ai/run/"+legacyModel {
		t.Errorf("path %s", got[len(got)-1].Path)
	}
}
