package llm

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// slowBody is a reply body that hands out parts, each after gap, then ends (end) or
// blocks until the request's context is done, as a connection does that stays open.
type slowBody struct {
	ctx   context.Context
	parts []string
	gap   time.Duration
	end   bool
	cur   string
}

func (b *slowBody) Read(p []byte) (int, error) {
	if b.cur == "" {
		if len(b.parts) == 0 {
			if b.end {
				return 0, io.EOF
			}
			<-b.ctx.Done()
			return 0, b.ctx.Err()
		}
		if b.gap > 0 {
			t := time.NewTimer(b.gap)
			select {
			case <-t.C:
			case <-b.ctx.Done():
				t.Stop()
				return 0, b.ctx.Err()
			}
		}
		b.cur, b.parts = b.parts[0], b.parts[1:]
	}
	n := copy(p, b.cur)
	b.cur = b.cur[n:]
	return n, nil
}

func (b *slowBody) Close() error { return nil }

// silentServer accepts every request and never answers it; it counts the requests.
func silentServer(n *atomic.Int32) rtFunc {
	return func(r *http.Request) (*http.Response, error) {
		n.Add(1)
		<-r.Context().Done()
		return nil, r.Context().Err()
	}
}

// bodyServer answers at once with headers and a slowBody made by body.
func bodyServer(contentType string, body func(ctx context.Context) *slowBody) rtFunc {
	return func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {contentType}},
			Body: body(r.Context()), Request: r, ContentLength: -1}, nil
	}
}

var hi = Request{Messages: []Message{User("hi")}}

func TestAttemptTimeoutIsRetriedAndMatchesErrTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		c := newTestClient(t, silentServer(&n), WithTimeout(10*time.Second),
			WithRetry(RetryPolicy{MaxAttempts: 2, InitialInterval: time.Second, MaxInterval: time.Second, MaxElapsed: time.Minute}))
		start := time.Now()
		_, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(context.Background(), hi)
		if !errors.Is(err, ErrTimeout) {
			t.Fatalf("err = %v, want ErrTimeout", err)
		}
		if errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v matches context.DeadlineExceeded, but the caller's context has no deadline", err)
		}
		if !strings.Contains(err.Error(), "no complete reply within 10s") || !strings.Contains(err.Error(), "gave up after 2 attempts") {
			t.Errorf("err = %v", err)
		}
		if n.Load() != 2 {
			t.Errorf("%d attempts, want 2: a timed-out attempt is retried", n.Load())
		}
		if waited := time.Since(start); waited < 20*time.Second || waited > 22*time.Second {
			t.Errorf("returned after %v, want two 10 s attempts and a wait", waited)
		}
	})
}

func TestDefaultTimeoutsDependOnTheTask(t *testing.T) {
	tests := []struct {
		model string
		want  time.Duration
	}{
		{"@cf/meta/llama-3.1-8b-instruct", 5 * time.Minute},
		{"@cf/black-forest-labs/flux-1-schnell", 10 * time.Minute},
		{"@cf/baai/bge-small-en-v1.5", 2 * time.Minute},
		{"@cf/acme/unknown", 10 * time.Minute},
	}
	for _, tt := range tests {
		t.Run(tt.model, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var n atomic.Int32
				c := newTestClient(t, silentServer(&n), WithRetry(RetryPolicy{MaxAttempts: 1}))
				start := time.Now()
				err := c.Run(context.Background(), tt.model, map[string]any{"prompt": "x"}, nil)
				if !errors.Is(err, ErrTimeout) {
					t.Fatalf("err = %v, want ErrTimeout", err)
				}
				if waited := time.Since(start); waited != tt.want {
					t.Errorf("gave up after %v, want %v", waited, tt.want)
				}
			})
		})
	}
}

func TestAttemptTimeoutCoversTheBody(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := bodyServer("application/json", func(ctx context.Context) *slowBody {
			return &slowBody{ctx: ctx, parts: []string{`{"result":{"response":"he`}}
		})
		c := newTestClient(t, rt, WithTimeout(30*time.Second))
		start := time.Now()
		_, err := c.Model("m").Generate(context.Background(), hi)
		if !errors.Is(err, ErrTimeout) || !strings.Contains(err.Error(), "no complete reply within 30s") {
			t.Fatalf("err = %v, want the per-attempt timeout", err)
		}
		if waited := time.Since(start); waited != 30*time.Second {
			t.Errorf("returned after %v, want 30s", waited)
		}
	})
}

func TestZeroTimeoutWaitsAsLongAsItTakes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rt := bodyServer("application/json", func(ctx context.Context) *slowBody {
			return &slowBody{ctx: ctx, parts: []string{okText}, gap: 3 * time.Hour, end: true}
		})
		c := newTestClient(t, rt, WithTimeout(0))
		resp, err := c.Model("m").Generate(context.Background(), hi)
		if err != nil || resp.Text != "hello" {
			t.Fatalf("Generate = %v, %v", resp, err)
		}
	})
}

func TestStreamIdleTimeout(t *testing.T) {
	event := "data: {\"response\":\"a\"}\n\n"
	tests := []struct {
		name     string
		idle     time.Duration
		gap      time.Duration
		parts    []string
		end      bool
		wantText string
		wantErr  bool
		wantTime time.Duration
	}{
		{"silence after an event ends the stream", 30 * time.Second, 0, []string{event}, false, "a", true, 30 * time.Second},
		{"steady events keep it open", 30 * time.Second, 20 * time.Second, []string{event, event, event, "data: [DONE]\n\n"}, true, "aaa", false, 80 * time.Second},
		{"zero disables it", 0, time.Hour, []string{event, "data: [DONE]\n\n"}, true, "a", false, 2 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				rt := bodyServer("text/event-stream", func(ctx context.Context) *slowBody {
					return &slowBody{ctx: ctx, parts: tt.parts, gap: tt.gap, end: tt.end}
				})
				c := newTestClient(t, rt, WithStreamIdleTimeout(tt.idle))
				start := time.Now()
				var text string
				var gotErr error
				for d, err := range c.Model("m").Stream(context.Background(), hi) {
					if err != nil {
						gotErr = err
						break
					}
					text += d.Text
				}
				if text != tt.wantText {
					t.Errorf("text = %q, want %q", text, tt.wantText)
				}
				if tt.wantErr != (gotErr != nil) || tt.wantErr && !errors.Is(gotErr, ErrTimeout) {
					t.Errorf("err = %v, want ErrTimeout: %v", gotErr, tt.wantErr)
				}
				if tt.wantErr && !strings.Contains(gotErr.Error(), "the stream sent nothing for 30s") {
					t.Errorf("err = %v", gotErr)
				}
				if waited := time.Since(start); waited != tt.wantTime {
					t.Errorf("ended after %v, want %v", waited, tt.wantTime)
				}
			})
		})
	}
}

func TestStreamIdleTimeoutBeforeTheHeadersIsRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		c := newTestClient(t, silentServer(&n), WithStreamIdleTimeout(time.Minute),
			WithRetry(RetryPolicy{MaxAttempts: 2, InitialInterval: time.Second, MaxInterval: time.Second, MaxElapsed: 5 * time.Minute}))
		for _, err := range c.Model("m").Stream(context.Background(), hi) {
			if !errors.Is(err, ErrTimeout) {
				t.Errorf("err = %v, want ErrTimeout", err)
			}
		}
		if n.Load() != 2 {
			t.Errorf("%d attempts, want 2", n.Load())
		}
	})
}

func TestOpenAICompatibleHonoursTheTimeouts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var n atomic.Int32
		hc := &http.Client{Transport: silentServer(&n)}
		m := NewOpenAICompatible("http://localhost:11434/v1", "", "llama3", WithHTTPClient(hc),
			WithTimeout(time.Second), WithStreamIdleTimeout(2*time.Second), WithRetry(RetryPolicy{MaxAttempts: 1}))
		start := time.Now()
		if _, err := m.Generate(context.Background(), hi); !errors.Is(err, ErrTimeout) || time.Since(start) != time.Second {
			t.Errorf("Generate: %v after %v, want ErrTimeout after 1s", err, time.Since(start))
		}
		start = time.Now()
		for _, err := range m.Stream(context.Background(), hi) {
			if !errors.Is(err, ErrTimeout) || time.Since(start) != 2*time.Second {
				t.Errorf("Stream: %v after %v, want ErrTimeout after 2s", err, time.Since(start))
			}
		}
	})
}

func TestNegativeTimeoutsAreRefused(t *testing.T) {
	for _, o := range []Option{WithTimeout(-time.Second), WithStreamIdleTimeout(-time.Second)} {
		if _, err := NewClient(WithAccount(testAccount, "t"), o); err == nil || !strings.Contains(err.Error(), "negative") {
			t.Errorf("err = %v", err)
		}
	}
}
