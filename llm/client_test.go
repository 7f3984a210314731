package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

// rtFunc is an in-memory http.RoundTripper: retry tests run inside a synctest bubble,
// where real network I/O is not allowed.
type rtFunc func(*http.Request) (*http.Response, error)

func (f rtFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// canned is one reply of a scripted round tripper.
type canned struct {
	status int
	header map[string]string
	body   string
}

// scripted answers with the replies in order and records every request.
type scripted struct {
	mu      sync.Mutex
	replies []canned
	reqs    []*http.Request
	bodies  []string
	times   []time.Time
}

func (s *scripted) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, _ := io.ReadAll(r.Body)
	s.reqs = append(s.reqs, r)
	s.bodies = append(s.bodies, string(b))
	s.times = append(s.times, time.Now())
	if len(s.replies) == 0 {
		return nil, errors.New("script ran out")
	}
	c := s.replies[0]
	s.replies = s.replies[1:]
	h := http.Header{"Content-Type": {"application/json"}}
	for k, v := range c.header {
		h.Set(k, v)
	}
	return &http.Response{StatusCode: c.status, Header: h, Body: io.NopCloser(strings.NewReader(c.body)), Request: r}, nil
}

func (s *scripted) count() int { s.mu.Lock(); defer s.mu.Unlock(); return len(s.reqs) }

const okText = `{"result":{"response":"hello","usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}},"success":true,"errors":[],"messages":[]}`

func errBody(code int, msg string) string {
	return fmt.Sprintf(`{"errors":[{"message":%q,"code":%d}],"success":false,"result":{},"messages":[]}`, msg, code)
}

// testAccount has the form of a Cloudflare account id: 32 hexadecimal characters.
const testAccount = "0123456789abcdef0123456789abcdef"

func newTestClient(t *testing.T, rt http.RoundTripper, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{
		WithAccount(testAccount, "secret-token-xyz"),
		WithHTTPClient(&http.Client{Transport: rt}),
		WithRetry(RetryPolicy{MaxAttempts: 4, InitialInterval: 100 * time.Millisecond, MaxInterval: 5 * time.Second, MaxElapsed: time.Minute}),
	}, opts...)
	c, err := NewClient(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRetries(t *testing.T) {
	tests := []struct {
		name      string
		replies   []canned
		wantCalls int
		wantErr   error
		minWait   time.Duration // fake time that must pass before success
	}{
		{
			name:      "429 with Retry-After then 200 waits the hinted time",
			replies:   []canned{{429, map[string]string{"Retry-After": "3"}, errBody(3021, "rate limiting: inference request per min rate reached")}, {200, nil, okText}},
			wantCalls: 2,
			minWait:   3 * time.Second,
		},
		{
			name:      "3040 twice then 200",
			replies:   []canned{{429, nil, errBody(3040, "Capacity temporarily exceeded, please try again.")}, {429, nil, errBody(3040, "Capacity temporarily exceeded, please try again.")}, {200, nil, okText}},
			wantCalls: 3,
		},
		{
			name:      "3036 daily limit is not retried",
			replies:   []canned{{429, nil, errBody(3036, "You have used up your daily free allocation of 10,000 neurons.")}, {200, nil, okText}},
			wantCalls: 1,
			wantErr:   ErrDailyLimit,
		},
		{
			name:      "4006 daily limit is not retried",
			replies:   []canned{{429, nil, errBody(4006, "you have used up your daily free allocation of 10,000 neurons")}, {200, nil, okText}},
			wantCalls: 1,
			wantErr:   ErrDailyLimit,
		},
		{
			name:      "408/3046 service timeout is retried",
			replies:   []canned{{408, nil, errBody(3046, "Request timeout")}, {200, nil, okText}},
			wantCalls: 2,
		},
		{
			name:      "5006 bad input is not retried",
			replies:   []canned{{400, nil, errBody(5006, "AiError: Bad input")}, {200, nil, okText}},
			wantCalls: 1,
			wantErr:   ErrBadInput,
		},
		{
			name:      "401 is not retried",
			replies:   []canned{{401, nil, `{"result":null,"success":false,"errors":[{"code":10000,"message":"Authentication error"}],"messages":[]}`}},
			wantCalls: 1,
			wantErr:   ErrUnauthorized,
		},
		{
			name:      "500 is retried until attempts run out",
			replies:   []canned{{500, nil, "oops"}, {502, nil, "bad gateway"}, {503, nil, "x"}, {500, nil, "last"}, {200, nil, okText}},
			wantCalls: 4,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := &scripted{replies: tt.replies}
				c := newTestClient(t, rt)
				start := time.Now()
				resp, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
				if got := rt.count(); got != tt.wantCalls {
					t.Errorf("calls = %d, want %d", got, tt.wantCalls)
				}
				switch {
				case tt.wantErr != nil:
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("err = %v, want %v", err, tt.wantErr)
					}
				case tt.wantCalls == 4 && len(tt.replies) == 5:
					var e *Error
					if !errors.As(err, &e) || e.Status != 500 {
						t.Fatalf("err = %v, want the last 500", err)
					}
				default:
					if err != nil {
						t.Fatal(err)
					}
					if resp.Text != "hello" {
						t.Errorf("text = %q", resp.Text)
					}
				}
				if waited := time.Since(start); waited < tt.minWait {
					t.Errorf("waited %v, want at least %v", waited, tt.minWait)
				}
			})
		})
	}
}

func TestRetryAfterIsHonouredBeyondMaxInterval(t *testing.T) {
	// A per-minute rate limit asks for 60 s; MaxInterval (5 s here) caps only the backoff.
	tests := []struct {
		name       string
		policy     RetryPolicy
		retryAfter string
		wantCalls  int
		wantWait   time.Duration // fake time from the first attempt to the result
		wantErr    string        // "" for success
	}{
		{"waited in full", RetryPolicy{MaxAttempts: 4, InitialInterval: 100 * time.Millisecond, MaxInterval: 5 * time.Second, MaxElapsed: 2 * time.Minute},
			"60", 2, time.Minute, ""},
		{"scaled", RetryPolicy{MaxAttempts: 4, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond, MaxElapsed: 2 * time.Minute, RetryAfterScale: 0.001},
			"60", 2, 60 * time.Millisecond, ""},
		{"past MaxElapsed gives up at once", RetryPolicy{MaxAttempts: 4, InitialInterval: 100 * time.Millisecond, MaxInterval: 5 * time.Second, MaxElapsed: time.Minute},
			"3600", 1, 0, "the next attempt, 1h0m0s away, would start past the retry budget of 1m0s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := &scripted{replies: []canned{{429, map[string]string{"Retry-After": tt.retryAfter}, errBody(3021, "rate limiting")}, {200, nil, okText}}}
				c := newTestClient(t, rt, WithRetry(tt.policy))
				start := time.Now()
				_, err := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
				if waited := time.Since(start); waited != tt.wantWait {
					t.Errorf("returned after %v, want %v", waited, tt.wantWait)
				}
				if rt.count() != tt.wantCalls {
					t.Errorf("%d attempts, want %d", rt.count(), tt.wantCalls)
				}
				if tt.wantErr == "" {
					if err != nil {
						t.Fatal(err)
					}
					return
				}
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				if !errors.Is(err, ErrRateLimited) {
					t.Errorf("err = %v, want the 3021 error kept", err)
				}
			})
		})
	}
}

func TestDeadlineBeforeTheNextAttemptGivesUpAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &scripted{replies: []canned{{429, map[string]string{"Retry-After": "5"}, errBody(3040, "Capacity temporarily exceeded, please try again.")}, {200, nil, okText}}}
		c := newTestClient(t, rt)
		ctx, cancel := context.WithTimeout(t.Context(), 500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := c.Model("m").Generate(ctx, Request{Messages: []Message{User("hi")}})
		if waited := time.Since(start); waited != 0 {
			t.Errorf("returned after %v, want at once: the 5 s wait cannot fit in 500 ms", waited)
		}
		if !errors.Is(err, ErrCapacity) || !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want both ErrCapacity and context.DeadlineExceeded", err)
		}
		if e, ok := errors.AsType[*Error](err); !ok || e.Code != 3040 {
			t.Errorf("err = %v, want the 3040 *Error reachable", err)
		}
		if rt.count() != 1 {
			t.Errorf("%d attempts, want 1", rt.count())
		}
	})
}

func TestCancelDuringBackoffReturnsPromptly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &scripted{replies: []canned{{429, map[string]string{"Retry-After": "4"}, errBody(3040, "busy")}, {200, nil, okText}}}
		c := newTestClient(t, rt)
		ctx, cancel := context.WithCancel(t.Context())
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		_, err := c.Model("m").Generate(ctx, Request{Messages: []Message{User("hi")}})
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
		if !errors.Is(err, ErrCapacity) || !strings.Contains(err.Error(), "busy") {
			t.Errorf("error should say what it was waiting on, and keep it: %v", err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("returned after %v, want exactly 1s (the cancel)", waited)
		}
		if rt.count() != 1 {
			t.Errorf("calls = %d, want 1", rt.count())
		}
	})
}

func TestStreamIsNotRetriedAfterFirstEvent(t *testing.T) {
	rt := &scripted{replies: []canned{
		{200, map[string]string{"Content-Type": "text/event-stream"}, "data: {\"response\":\"a\"}\n\n"},
		{200, nil, okText},
	}}
	c := newTestClient(t, rt)
	var got string
	var gotErr error
	for d, err := range c.Model("m").Stream(t.Context(), Request{Messages: []Message{User("hi")}}) {
		if err != nil {
			gotErr = err
			break
		}
		got += d.Text
	}
	if !errors.Is(gotErr, ErrTruncatedStream) {
		t.Fatalf("err = %v, want ErrTruncatedStream", gotErr)
	}
	if got != "a" || rt.count() != 1 {
		t.Errorf("text %q after %d calls; want %q after 1", got, rt.count(), "a")
	}
}

func TestNewClientWithoutAccountNamesBothVariables(t *testing.T) {
	t.Setenv("CLOUDFLARE_ACCOUNT_ID", "")
	t.Setenv("CLOUDFLARE_API_TOKEN", "")
	_, err := NewClient()
	if err == nil || !strings.Contains(err.Error(), "CLOUDFLARE_ACCOUNT_ID") || !strings.Contains(err.Error(), "CLOUDFLARE_API_TOKEN") {
		t.Fatalf("err = %v, want both variable names", err)
	}
	if _, err := NewClient(WithBaseURL("http://127.0.0.1:1")); err != nil {
		t.Errorf("a base URL alone should do: %v", err)
	}
	t.Setenv("CLOUDFLARE_ACCOUNT_ID", "abc")
	if _, err := NewClient(); err == nil || !strings.Contains(err.Error(), "CLOUDFLARE_API_TOKEN") {
		t.Errorf("missing token: err = %v", err)
	}
	if _, err := NewClient(WithAccount("${CLOUDFLARE_ACCOUNT_ID}", "t")); err == nil {
		t.Error("an unexpanded account variable should be refused")
	}
}

func TestTokenNeverPrinted(t *testing.T) {
	const tok = "secret-token-xyz"
	var logs bytes.Buffer
	rt := &scripted{replies: []canned{{400, nil, errBody(5006, "bad")}, {500, nil, "boom"}, {500, nil, "boom"}, {500, nil, "boom"}, {500, nil, "boom"}}}
	c := newTestClient(t, rt, WithLogger(slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))),
		WithGateway("gw", WithGatewayToken("gateway-secret")), WithRetry(RetryPolicy{MaxAttempts: 2, InitialInterval: time.Millisecond}))
	_, err1 := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
	_, err2 := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
	slog.New(slog.NewTextHandler(&logs, nil)).Info("client", "c", c)
	out := strings.Join([]string{
		fmt.Sprintf("%v %+v %#v %s", c, c, c, c), fmt.Sprintf("%+v %#v", *c, *c),
		fmt.Sprint(err1), fmt.Sprint(err2), logs.String(),
	}, "\n")
	for _, s := range []string{tok, "gateway-secret"} {
		if strings.Contains(out, s) {
			t.Errorf("%q leaked:\n%s", s, out)
		}
	}
	if got := rt.reqs[0].Header.Get("Authorization"); got != "Bearer "+tok {
		t.Errorf("Authorization = %q", got)
	}
}

func TestURLs(t *testing.T) {
	rt := &scripted{}
	for range 6 {
		rt.replies = append(rt.replies, canned{200, nil, okText})
	}
	ctx := t.Context()
	req := Request{Messages: []Message{User("hi")}}
	c := newTestClient(t, rt)
	c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(ctx, req)
	c.OpenAIModel("@cf/meta/llama-3.1-8b-instruct").Generate(ctx, req)
	g := newTestClient(t, rt, WithGateway("my-gw", WithCacheTTL(time.Hour), WithSkipCache(), WithCacheKey("k"), WithMetadata(map[string]any{"user": "u1", "n": 2})))
	g.Model("@cf/meta/llama-3.1-8b-instruct").Generate(ctx, req)
	g.OpenAIModel("@cf/meta/llama-3.1-8b-instruct").Generate(ctx, req)
	NewOpenAICompatible("http://localhost:11434/v1/", "", "llama3", WithHTTPClient(&http.Client{Transport: rt})).Generate(ctx, req)
	want := []string{
		"https://api.cloudflare.com/client/v4/accounts/" + testAccount + "/ai/run/@cf/meta/llama-3.1-8b-instruct",
		"https://api.cloudflare.com/client/v4/accounts/" + testAccount + "/ai/v1/chat/completions",
		"https://gateway.ai.cloudflare.com/v1/" + testAccount + "/my-gw/workers-ai/@cf/meta/llama-3.1-8b-instruct",
		"https://gateway.ai.cloudflare.com/v1/" + testAccount + "/my-gw/workers-ai/v1/chat/completions",
		"http://localhost:11434/v1/chat/completions",
	}
	if len(rt.reqs) != len(want) {
		t.Fatalf("%d requests, want %d", len(rt.reqs), len(want))
	}
	for i, w := range want {
		if got := rt.reqs[i].URL.String(); got != w {
			t.Errorf("request %d: %s, want %s", i, got, w)
		}
	}
	h := rt.reqs[2].Header
	for k, v := range map[string]string{"cf-aig-cache-ttl": "3600", "cf-aig-skip-cache": "true", "cf-aig-cache-key": "k", "cf-aig-metadata": `{"n":2,"user":"u1"}`} {
		if got := h.Get(k); got != v {
			t.Errorf("%s = %q, want %q", k, got, v)
		}
	}
	if got := rt.reqs[4].Header.Get("Authorization"); got != "" {
		t.Errorf("no key given but Authorization = %q", got)
	}
}

func TestGatewayOptionsAreValidated(t *testing.T) {
	for name, opt := range map[string]GatewayOption{
		"nested metadata": WithMetadata(map[string]any{"a": map[string]any{"b": 1}}),
		"ttl too short":   WithCacheTTL(time.Second),
	} {
		if _, err := NewClient(WithAccount(testAccount, "t"), WithGateway("gw", opt)); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestResponseBodyLimit(t *testing.T) {
	big := `{"result":{"response":"` + strings.Repeat("x", 2000) + `"},"success":true}`
	c := newTestClient(t, &scripted{replies: []canned{{200, nil, big}}}, WithMaxResponseBytes(1000))
	_, err := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
	if err == nil || !strings.Contains(err.Error(), "exceeds 1000 bytes") {
		t.Fatalf("err = %v", err)
	}
}

func TestRunBytesByContentType(t *testing.T) {
	png := "\x89PNG\r\n\x1a\nrest"
	rt := &scripted{replies: []canned{
		{200, map[string]string{"Content-Type": "image/png"}, png},
		{200, nil, `{"result":{"image":"aGk="},"success":true,"errors":[],"messages":[]}`},
		{200, map[string]string{"Content-Type": "image/jpeg"}, "jpeg"},
	}}
	c := newTestClient(t, rt)
	data, ct, err := c.RunBytes(t.Context(), "@cf/stabilityai/stable-diffusion-xl-base-1.0", map[string]any{"prompt": "cat"})
	if err != nil || ct != "image/png" || string(data) != png {
		t.Fatalf("RunBytes = %q, %q, %v", data, ct, err)
	}
	var out struct{ Image string }
	if err := c.Run(t.Context(), "@cf/black-forest-labs/flux-1-schnell", map[string]any{"prompt": "cat"}, &out); err != nil || out.Image != "aGk=" {
		t.Fatalf("Run = %+v, %v", out, err)
	}
	if err := c.Run(t.Context(), "x", map[string]any{}, &out); err == nil || !strings.Contains(err.Error(), "RunBytes") {
		t.Errorf("Run on an image reply: %v", err)
	}
}

func TestEmptySuccessIsAnError(t *testing.T) {
	c := newTestClient(t, &scripted{replies: []canned{{200, map[string]string{"cf-ai-req-id": "rid-1"}, `{"result":{},"success":true,"errors":[],"messages":[]}`}}})
	_, err := c.Model("@cf/vikhyatk/moondream3.1").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
	if !errors.Is(err, ErrEmptyResponse) || !strings.Contains(err.Error(), "rid-1") {
		t.Fatalf("err = %v", err)
	}
}

func TestLegacyTruncationIsReportedAsLength(t *testing.T) {
	full := `{"result":{"response":"cut mid-sen","usage":{"prompt_tokens":9,"completion_tokens":50,"total_tokens":59}},"success":true,"errors":[],"messages":[]}`
	short := `{"result":{"response":"done","usage":{"prompt_tokens":9,"completion_tokens":3,"total_tokens":12}},"success":true,"errors":[],"messages":[]}`
	c := newTestClient(t, &scripted{replies: []canned{{200, nil, full}, {200, nil, short}}})
	m := c.Model("@cf/meta/llama-3.1-8b-instruct")
	for _, want := range []string{"length", "stop"} {
		resp, err := m.Generate(t.Context(), Request{Messages: []Message{User("hi")}, MaxTokens: 50})
		if err != nil {
			t.Fatal(err)
		}
		if resp.FinishReason != want {
			t.Errorf("finish reason %q, want %q", resp.FinishReason, want)
		}
	}
}

func TestRunDecodesTheResult(t *testing.T) {
	type image struct{ Image string }
	const model = "@cf/black-forest-labs/flux-1-schnell"
	tests := []struct {
		name    string
		body    string
		out     func() any // a fresh output
		want    any        // what out points to afterwards
		wantErr string     // in the error text; "" for success
		code    int        // the *Error code when the service reported one
	}{
		{"envelope result fills the output",
			`{"result":{"image":"aGk="},"success":true,"errors":[],"messages":[]}`,
			func() any { return &image{} }, &image{Image: "aGk="}, "", 0},
		{"result after success in the envelope",
			` {"success":true,"errors":[],"result":{"image":"aGk="}} `,
			func() any { return &image{} }, &image{Image: "aGk="}, "", 0},
		{"success false on 200 is a service error naming the model",
			errBody(3040, "Capacity temporarily exceeded, please try again."),
			func() any { return &image{Image: "kept"} }, &image{Image: "kept"}, "Capacity temporarily exceeded", 3040},
		{"null result leaves the output as it was",
			`{"result":null,"success":true}`,
			func() any { return &image{Image: "kept"} }, &image{Image: "kept"}, "", 0},
		{"null result reaches a json.Unmarshaler",
			`{"result":null,"success":true}`,
			func() any { return new(json.RawMessage) }, ptr(json.RawMessage("null")), "", 0},
		{"null result clears a pointer output",
			`{"result":null,"success":true}`,
			func() any { p := &image{Image: "x"}; return &p }, ptr((*image)(nil)), "", 0},
		{"raw output gets the result verbatim",
			`{"result":{"image": "aGk=" },"success":true}`,
			func() any { return new(json.RawMessage) }, ptr(json.RawMessage(`{"image": "aGk=" }`)), "", 0},
		{"envelope without a result is an error",
			`{"success":true,"errors":[],"messages":[]}`,
			func() any { return &image{} }, &image{}, "llm: run " + model + ": decode result: unexpected end of JSON input", 0},
		{"bare object is decoded whole",
			`{"image":"aGk="}`,
			func() any { return &image{} }, &image{Image: "aGk="}, "", 0},
		{"bare array is decoded whole",
			`[1,2,3]`,
			func() any { return new([]int) }, &[]int{1, 2, 3}, "", 0},
		{"result of the wrong type",
			`{"result":{"image":5},"success":true}`,
			func() any { return &image{} }, &image{}, "llm: run " + model + ": decode result: json: cannot unmarshal number into Go struct field", 0},
		{"invalid JSON",
			`{"result":{"image":"aGk="}`,
			func() any { return &image{} }, &image{}, "llm: decode response: invalid JSON", 0},
		{"empty body",
			"",
			func() any { return &image{} }, &image{}, "empty body", 0},
		{"output that is not a pointer",
			`{"result":{"image":"aGk="},"success":true}`,
			func() any { return image{} }, image{}, "decode result: json: Unmarshal(non-pointer llm.image)", 0},
		{"nil pointer output",
			`{"result":{"image":"aGk="},"success":true}`,
			func() any { return (*image)(nil) }, (*image)(nil), "decode result: json: Unmarshal(nil *llm.image)", 0},
		{"no output still reports success false",
			errBody(3036, "daily allocation"),
			func() any { return nil }, nil, "daily allocation", 3036},
		{"no output on success",
			`{"result":{"image":"aGk="},"success":true}`,
			func() any { return nil }, nil, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, &scripted{replies: []canned{{200, nil, tt.body}}})
			out := tt.out()
			err := c.Run(t.Context(), model, map[string]any{"prompt": "cat"}, out)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("Run: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("Run error = %v, want one containing %q", err, tt.wantErr)
			}
			e, isService := errors.AsType[*Error](err)
			if isService != (tt.code != 0) {
				t.Fatalf("Run error %v: service error %v, want %v", err, isService, tt.code != 0)
			}
			if isService && (e.Code != tt.code || e.Status != http.StatusOK || e.Model != model) {
				t.Errorf("service error code %d status %d model %q, want %d 200 %q", e.Code, e.Status, e.Model, tt.code, model)
			}
			if diff := cmp.Diff(tt.want, out); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestReadBody(t *testing.T) {
	const max = 1000
	body := func(n int) string { return strings.Repeat("x", n) }
	tests := []struct {
		name    string
		length  int64 // Content-Length; -1 unknown
		body    io.Reader
		want    int // bytes read
		wantErr string
	}{
		{"announced length", 600, strings.NewReader(body(600)), 600, ""},
		{"announced length in one-byte reads", 600, iotest.OneByteReader(strings.NewReader(body(600))), 600, ""},
		{"EOF with the last bytes", 600, iotest.DataErrReader(strings.NewReader(body(600))), 600, ""},
		{"unknown length", -1, strings.NewReader(body(600)), 600, ""},
		{"exactly the cap", max, strings.NewReader(body(max)), max, ""},
		{"body longer than announced is read whole", 10, strings.NewReader(body(700)), 700, ""},
		{"body shorter than announced is what it is", 700, strings.NewReader(body(10)), 10, ""},
		{"announced length over the cap", max + 1, strings.NewReader(body(max + 1)), 0, "exceeds 1000 bytes"},
		{"body over the cap with a small announced length", 10, strings.NewReader(body(2 * max)), 0, "exceeds 1000 bytes"},
		{"body over the cap with no announced length", -1, strings.NewReader(body(max + 1)), 0, "exceeds 1000 bytes"},
		{"read error", 600, iotest.TimeoutReader(strings.NewReader(body(600))), 0, "llm: read response: timeout"},
	}
	c := newTestClient(t, nil, WithMaxResponseBytes(max))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := &closeRecorder{Reader: tt.body}
			b, err := c.readBody(&http.Response{ContentLength: tt.length, Body: rc})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("readBody error = %v, want one containing %q", err, tt.wantErr)
				}
			} else if err != nil || len(b) != tt.want || strings.Trim(string(b), "x") != "" {
				t.Fatalf("readBody = %d bytes, %v; want %d bytes of the body", len(b), err, tt.want)
			}
			if rc.closes != 1 {
				t.Errorf("body closed %d times, want once", rc.closes)
			}
		})
	}
}

func TestMediaType(t *testing.T) {
	for ct, want := range map[string]string{
		"application/json":                "application/json",
		"text/event-stream":               "text/event-stream",
		"application/json; charset=utf-8": "application/json",
		"Application/JSON":                "application/json",
		"text/event-stream;charset=UTF-8": "text/event-stream",
		"image/png":                       "image/png",
		"":                                "",
		" Not/A;;Type ":                   "not/a;;type",
	} {
		if got := mediaType(http.Header{"Content-Type": {ct}}); got != want {
			t.Errorf("mediaType(%q) = %q, want %q", ct, got, want)
		}
	}
}

func TestNeuronsFromHeader(t *testing.T) {
	tests := []struct {
		name   string
		header string // cf-ai-neurons; "" absent
		body   float64
		want   float64
	}{
		{"absent header leaves none", "", 0, 0},
		{"header fills what the body left out", "1.75", 0, 1.75},
		{"the body's count wins", "1.75", 3, 3},
		{"unparsable header is ignored", "lots", 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.Header{}
			if tt.header != "" {
				h.Set("cf-ai-neurons", tt.header)
			}
			r := &Response{Usage: Usage{Neurons: tt.body}}
			fillFromHeaders(r, h)
			if r.Usage.Neurons != tt.want {
				t.Errorf("neurons = %v, want %v", r.Usage.Neurons, tt.want)
			}
		})
	}
}

func TestEveryRequestGetsItsAuthHeadersAfresh(t *testing.T) {
	// The header values are built once per client; a transport that adds to a request's
	// headers must not change the next request's.
	var got [][]string
	rt := rtFunc(func(r *http.Request) (*http.Response, error) {
		got = append(got, slices.Clone(r.Header["Authorization"]), slices.Clone(r.Header["Cf-Aig-Authorization"]), slices.Clone(r.Header["Content-Type"]))
		r.Header.Add("Authorization", "extra")
		r.Header.Add("Cf-Aig-Authorization", "extra")
		r.Header.Add("Content-Type", "extra")
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"application/json"}},
			Body: io.NopCloser(strings.NewReader(okText)), Request: r}, nil
	})
	c := newTestClient(t, rt, WithGateway("gw", WithGatewayToken("gw-token")))
	for range 2 {
		if _, err := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}}); err != nil {
			t.Fatal(err)
		}
	}
	want := [][]string{{"Bearer secret-token-xyz"}, {"Bearer gw-token"}, {"application/json"}}
	if diff := cmp.Diff(append(want, want...), got); diff != "" {
		t.Errorf("headers sent (-want +got):\n%s", diff)
	}
}

func TestRetryBudgetCountsFromTheFirstAttempt(t *testing.T) {
	// Every attempt takes `each` and fails in a retryable way; waits are about a second.
	p := RetryPolicy{MaxAttempts: 10, InitialInterval: time.Second, MaxInterval: time.Second, MaxElapsed: time.Minute}
	tests := []struct {
		name      string
		each      time.Duration
		wantCalls int
	}{
		// Attempts end at 20 s, 41 s and 62 s: no fourth starts past the minute.
		{"slow attempts stop when the budget is spent", 20 * time.Second, 3},
		{"a first attempt longer than the budget is not retried", 61 * time.Second, 1},
		{"quick attempts stop at MaxAttempts", time.Millisecond, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				calls := 0
				var notified []string
				_, err := p.do(t.Context(), false, func() error {
					calls++
					time.Sleep(tt.each)
					return fmt.Errorf("attempt %d failed", calls)
				}, func(err error, _ time.Duration) { notified = append(notified, err.Error()) })
				if calls != tt.wantCalls {
					t.Errorf("%d attempts, want %d", calls, tt.wantCalls)
				}
				if want := fmt.Sprintf("attempt %d failed", tt.wantCalls); err == nil || err.Error() != want {
					t.Errorf("error = %v, want %q", err, want)
				}
				// Each retry is announced with the error it retries, the first attempt's included.
				for i, n := range notified {
					if want := fmt.Sprintf("attempt %d failed", i+1); n != want {
						t.Errorf("notice %d = %q, want %q", i, n, want)
					}
				}
				if len(notified) != tt.wantCalls-1 {
					t.Errorf("%d notices, want %d", len(notified), tt.wantCalls-1)
				}
			})
		})
	}
}

func TestFirstAttemptErrorsAreJudgedLikeAnyOther(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := RetryPolicy{MaxAttempts: 3, InitialInterval: time.Second, MaxInterval: time.Second, MaxElapsed: time.Minute}
		daily := &Error{Status: 429, Code: 3036, Message: "daily"}
		calls := 0
		_, err := p.do(t.Context(), false, func() error { calls++; return daily }, nil)
		if calls != 1 || err != daily {
			t.Errorf("%d attempts, error %v; want 1 attempt and the daily-limit error itself", calls, err)
		}

		ctx, cancel := context.WithCancel(t.Context())
		calls = 0
		_, err = p.do(ctx, false, func() error { calls++; cancel(); return context.Canceled }, nil)
		if calls != 1 || !errors.Is(err, context.Canceled) {
			t.Errorf("%d attempts, error %v; want 1 attempt and context.Canceled", calls, err)
		}

		calls = 0
		if _, err := p.do(t.Context(), false, func() error { calls++; return nil }, nil); err != nil || calls != 1 {
			t.Errorf("%d attempts, error %v; want 1 attempt and no error", calls, err)
		}
	})
}

// gpt-oss on /ai/run ignores stream:true and answers JSON: the stream
// delivers that answer as one final Delta.
func TestStreamAcceptsAJSONReply(t *testing.T) {
	c := newTestClient(t, &scripted{replies: []canned{{200, map[string]string{"cf-ai-neurons": "2.50"}, okText}}})
	var got []Delta
	for d, err := range c.Model("@cf/openai/gpt-oss-120b").Stream(t.Context(), Request{Messages: []Message{User("hi")}}) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, d)
	}
	if len(got) != 1 || got[0].Text != "hello" || got[0].Usage == nil || got[0].Usage.TotalTokens != 4 || got[0].Usage.Neurons != 2.5 || got[0].FinishReason != "stop" {
		t.Fatalf("deltas = %+v", got)
	}
}
