package llmtest

import (
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: the server answers, streams
// and waits out latencies in goroutines of its own.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// TestHandlerRequestLog serves a script through NewHandler's handler inside a synctest
// bubble: the request log sees each request once its answer is written, with its status and
// the time the answer took (the script's latency, in fake time), and the handler keeps no
// list of the requests, so a long-running command does not grow with them.
func TestHandlerRequestLog(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h, err := ParseScript(strings.NewReader(`{"text":"slow","latency":"2s"}` + "\n" + `{"error":{"status":429,"code":3040,"message":"Capacity temporarily exceeded"}}`))
		if err != nil {
			t.Fatal(err)
		}
		var (
			mu   sync.Mutex
			seen []Recorded
		)
		s, mux := newHandler(h, []ServerOption{WithRequestLog(func(r Recorded) {
			mu.Lock()
			defer mu.Unlock()
			seen = append(seen, r)
		})})
		client := &http.Client{Transport: inProcess{mux}}
		for range 3 {
			resp, err := client.Post("http://emulator/client/v4/accounts/a/ai/v1/chat/completions", "application/json",
				strings.NewReader(`{"model":"@cf/meta/llama-3.1-8b-instruct","messages":[{"role":"user","content":"hi"}]}`))
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
		}
		mu.Lock()
		defer mu.Unlock()
		if len(seen) != 3 {
			t.Fatalf("logged %d requests, want 3", len(seen))
		}
		for i, want := range []struct {
			status   int
			duration time.Duration
			out      bool
		}{{200, 2 * time.Second, false}, {429, 0, false}, {400, 0, true}} {
			r := seen[i]
			if r.Status != want.status || r.Duration != want.duration || r.OutOfScript != want.out ||
				r.Model != "@cf/meta/llama-3.1-8b-instruct" || r.Path != "/client/v4/accounts/a/ai/v1/chat/completions" {
				t.Errorf("request %d logged as %+v, want status %d, duration %v, out of script %v", i, r, want.status, want.duration, want.out)
			}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if len(s.requests) != 0 {
			t.Errorf("the handler keeps %d requests", len(s.requests))
		}
	})
}

// TestServerRecordsDuration checks that Requests shows how long each answer took.
func TestServerRecordsDuration(t *testing.T) {
	srv := NewServer(Script(Text("slow").WithLatency(3 * time.Second)))
	defer srv.Close()
	synctest.Test(t, func(t *testing.T) {
		client := &http.Client{Transport: inProcess{srv.ts.Config.Handler}}
		resp, err := client.Post(srv.URL()+"/accounts/a/ai/run/@cf/meta/llama-3.1-8b-instruct", "application/json", strings.NewReader(`{"prompt":"hi"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	})
	if r := srv.Requests(); len(r) != 1 || r[0].Duration != 3*time.Second || r[0].Status != 200 {
		t.Errorf("recorded %+v, want one request of 3s with status 200", r)
	}
}
