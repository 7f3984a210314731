package llm

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// rtFunc is an in-memory http.RoundTripper: retry tests run inside a synctest bubble,
// where real network I/O is not allowed (deps.md).
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

func newTestClient(t *testing.T, rt http.RoundTripper, opts ...Option) *Client {
	t.Helper()
	opts = append([]Option{
		WithAccount("acc123", "secret-token-xyz"),
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

func TestRetryAfterIsClamped(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := &scripted{replies: []canned{{429, map[string]string{"Retry-After": "3600"}, errBody(3040, "busy")}, {200, nil, okText}}}
		c := newTestClient(t, rt)
		start := time.Now()
		if _, err := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}}); err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(start); waited > 5*time.Second {
			t.Errorf("waited %v, want at most MaxInterval 5s", waited)
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
		if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "busy") {
			t.Errorf("error should say what it was waiting on: %v", err)
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
		"https://api.cloudflare.com/client/v4/accounts/acc123/ai/run/@cf/meta/llama-3.1-8b-instruct",
		"https://api.cloudflare.com/client/v4/accounts/acc123/ai/v1/chat/completions",
		"https://gateway.ai.cloudflare.com/v1/acc123/my-gw/workers-ai/@cf/meta/llama-3.1-8b-instruct",
		"https://gateway.ai.cloudflare.com/v1/acc123/my-gw/workers-ai/v1/chat/completions",
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
		if _, err := NewClient(WithAccount("a", "t"), WithGateway("gw", opt)); err == nil {
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
