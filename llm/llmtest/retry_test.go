package llmtest

import (
	"errors"
	"net/http"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gowai/gowai/llm"
)

// TestClientRetriesFast checks that Server.Client turns a scripted 429 with Retry-After: 3
// into milliseconds of waiting, and that llm.WithRetry(llm.DefaultRetryPolicy()) given to
// Client brings back the full three seconds.
func TestClientRetriesFast(t *testing.T) {
	for _, tc := range []struct {
		name     string
		opts     []llm.Option
		min, max time.Duration
	}{
		{"default test client waits milliseconds", nil, 3 * time.Millisecond, 50 * time.Millisecond},
		{"production policy waits the Retry-After", []llm.Option{llm.WithRetry(llm.DefaultRetryPolicy())}, 3 * time.Second, 20 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := NewServer(Script(
				Fail(429, 3040, "Capacity temporarily exceeded, please try again.").WithRetryAfter("3"),
				Text("done"),
			))
			defer srv.Close()
			synctest.Test(t, func(t *testing.T) {
				opts := append([]llm.Option{llm.WithHTTPClient(&http.Client{Transport: inProcess{srv.ts.Config.Handler}})}, tc.opts...)
				c, err := srv.Client(opts...)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				resp, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), llm.Request{
					Messages: []llm.Message{llm.User("hi")},
				})
				waited := time.Since(start)
				if err != nil {
					t.Fatalf("Generate: %v", err)
				}
				if resp.Text != "done" {
					t.Errorf("text %q, want done", resp.Text)
				}
				if waited < tc.min || waited > tc.max {
					t.Errorf("waited %v of fake time, want between %v and %v", waited, tc.min, tc.max)
				}
			})
			if n := len(srv.Requests()); n != 2 {
				t.Errorf("%d requests, want 2", n)
			}
		})
	}
}

// TestClientKeepsProductionAttempts checks that the fast policy gives up after as many
// attempts as the production one.
func TestClientKeepsProductionAttempts(t *testing.T) {
	fails := make([]Reply, 6)
	for i := range fails {
		fails[i] = Fail(429, 3040, "Capacity temporarily exceeded, please try again.").WithRetryAfter("1")
	}
	srv := NewServer(Script(fails...))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), llm.Request{
		Messages: []llm.Message{llm.User("hi")},
	})
	var e *llm.Error
	if !errors.As(err, &e) || e.Code != 3040 {
		t.Fatalf("err %v, want the 3040 error", err)
	}
	if got, want := len(srv.Requests()), llm.DefaultRetryPolicy().MaxAttempts; got != want {
		t.Errorf("%d attempts, want %d as in production", got, want)
	}
}
