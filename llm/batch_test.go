package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

const (
	batchEmbed = "@cf/baai/bge-small-en-v1.5"
	batchChat  = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	noBatch    = "@cf/meta/llama-3.1-8b-instruct" // catalogued without batch support
)

// fastPoll keeps tests from sleeping for the default seconds between polls.
var fastPoll = llm.WithPollInterval(time.Millisecond, 2*time.Millisecond)

func batchServer(t *testing.T, h llmtest.Handler, opts ...llmtest.ServerOption) (*llmtest.Server, *llm.Client) {
	t.Helper()
	srv := llmtest.NewServer(h, opts...)
	t.Cleanup(srv.Close)
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func TestQueuedBatchIsPolledUntilDoneAndReturnedInInputOrder(t *testing.T) {
	srv, c := batchServer(t, nil, llmtest.WithBatchPolls(2))
	type input struct {
		Text []string `json:"text"`
	}
	requests := []any{
		llm.BatchItem{Input: input{Text: []string{"alpha", "beta"}}, Ref: "first"},
		map[string]any{"text": "gamma"},
		llm.BatchItem{Input: map[string]any{"query": "an embeddings item without text"}, Ref: "broken"},
		json.RawMessage(`{"text":["delta"]}`),
	}
	b, err := c.Queue(t.Context(), batchEmbed, requests, fastPoll)
	if err != nil {
		t.Fatal(err)
	}
	if b.ID() == "" || b.Model() != batchEmbed {
		t.Fatalf("ID %q, Model %q", b.ID(), b.Model())
	}
	res, err := b.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Responses) != 4 {
		t.Fatalf("%d responses, want 4", len(res.Responses))
	}
	wantTexts := [][]string{{"alpha", "beta"}, {"gamma"}, nil, {"delta"}}
	wantRefs := []string{"first", "", "broken", ""}
	for i, r := range res.Responses {
		if r.Index != i || r.Ref != wantRefs[i] {
			t.Errorf("response %d: Index %d, Ref %q; want %d, %q", i, r.Index, r.Ref, i, wantRefs[i])
		}
		if wantTexts[i] == nil {
			if !errors.Is(r.Err, llm.ErrBadInput) || !strings.Contains(r.Err.Error(), "request 2") {
				t.Errorf("response %d: Err = %v, want a bad-input error naming request 2", i, r.Err)
			}
			continue
		}
		if r.Err != nil {
			t.Fatalf("response %d: %v", i, r.Err)
		}
		var out struct {
			Data [][]float32 `json:"data"`
		}
		if err := json.Unmarshal(r.Result, &out); err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(llmtest.Embed(wantTexts[i], 384), out.Data); diff != "" {
			t.Errorf("response %d is not the vectors of its own texts (-want +got):\n%s", i, diff)
		}
	}
	if res.Usage.PromptTokens == 0 || res.Usage.TotalTokens != res.Usage.PromptTokens+res.Usage.CompletionTokens {
		t.Errorf("usage %+v", res.Usage)
	}

	reqs := srv.Requests()
	if len(reqs) != 4 { // submit, two polls answered "running", the poll with the results
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	var submitted struct {
		Requests []map[string]any `json:"requests"`
	}
	if err := json.Unmarshal(reqs[0].Body, &submitted); err != nil {
		t.Fatal(err)
	}
	if len(submitted.Requests) != 4 || submitted.Requests[0]["external_reference"] != "first" || submitted.Requests[1]["external_reference"] != nil {
		t.Errorf("submitted %s", reqs[0].Body)
	}
	for _, r := range reqs {
		if r.Path != "/accounts/test-account/ai/run/"+batchEmbed {
			t.Errorf("path %s", r.Path)
		}
	}
	for _, r := range reqs[1:] {
		if string(r.Body) != `{"request_id":"`+b.ID()+`"}` {
			t.Errorf("poll body %s", r.Body)
		}
	}
}

func TestQueueChatDecodesEachResultAsAResponse(t *testing.T) {
	_, c := batchServer(t, llmtest.Script(llmtest.Text("first answer"), llmtest.Text("second answer")))
	b, err := llm.QueueChat(t.Context(), c, batchChat, []llm.Request{
		{Messages: []llm.Message{llm.User("one")}},
		{Messages: []llm.Message{llm.User("two")}, MaxTokens: 50},
	}, fastPoll)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"first answer", "second answer"} {
		resp, err := res.Responses[i].Response()
		if err != nil {
			t.Fatal(err)
		}
		if resp.Text != want || resp.FinishReason != "stop" {
			t.Errorf("response %d: %q (%s), want %q (stop)", i, resp.Text, resp.FinishReason, want)
		}
	}
}

func TestQueueRefusesBadBatchesBeforeSending(t *testing.T) {
	big := strings.Repeat("x", llm.MaxBatchPayload/2)
	tests := []struct {
		name     string
		model    string
		requests []any
		want     string
	}{
		{"model without batch support", noBatch, []any{map[string]any{"prompt": "x"}}, "does not take the async batch API"},
		{"payload over 10 MB", batchEmbed, []any{map[string]string{"text": big}, map[string]string{"text": big}}, "under 10000000"},
		{"no requests", batchEmbed, nil, "no requests"},
		{"empty model", "", []any{map[string]any{"text": "x"}}, "empty model id"},
		{"item that is not an object", batchEmbed, []any{map[string]any{"text": "x"}, "just text"}, "request 1: input must be a JSON object"},
		{"two references", batchEmbed, []any{llm.BatchItem{Input: map[string]any{"text": "x", "external_reference": "a"}, Ref: "b"}}, "external_reference"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := batchServer(t, nil)
			_, err := c.Queue(t.Context(), tt.model, tt.requests)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want it to contain %q", err, tt.want)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

func TestQueueTriesModelsTheCatalogDoesNotKnow(t *testing.T) {
	srv, c := batchServer(t, nil)
	_, err := c.Queue(t.Context(), "@cf/someone/new-model", []any{map[string]any{"text": "x"}})
	if !errors.Is(err, llm.ErrModelNotFound) {
		t.Fatalf("error %v, want the service's answer (model not found)", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Errorf("%d requests, want the submission", n)
	}
}

// scriptedBatch answers the submission with "queued" and each poll with the next body.
func scriptedBatch(t *testing.T, polls ...string) *llm.Client {
	t.Helper()
	var (
		mu sync.Mutex
		n  int
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Query().Get("queueRequest") != "true" {
			t.Errorf("request without queueRequest=true: %s", r.URL)
		}
		if strings.Contains(string(body), `"requests"`) {
			io.WriteString(w, `{"result":{"status":"queued","request_id":"job-1","model":"m"},"success":true,"errors":[],"messages":[]}`)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if n >= len(polls) {
			t.Errorf("poll %d: script ran out", n+1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		io.WriteString(w, `{"result":`+polls[n]+`,"success":true,"errors":[],"messages":[]}`)
		n++
	}))
	t.Cleanup(srv.Close)
	c, err := llm.NewClient(llm.WithBaseURL(srv.URL), llm.WithAccount("acc", "tok"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestWaitToleratesEveryPendingShape(t *testing.T) {
	c := scriptedBatch(t,
		`{"status":"queued","request_id":"job-1","model":"m"}`,
		`{"status":"running","request_id":"job-1"}`,
		`{"request_id":"job-1"}`, // a result without responses
		`{"responses":[{"id":1,"result":{"response":"b"},"success":true,"external_reference":"r1"},`+
			`{"id":0,"result":"model overloaded","success":false,"external_reference":null}],`+
			`"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}`,
	)
	b, err := c.Queue(t.Context(), "@cf/someone/model", []any{map[string]any{"prompt": "a"}, map[string]any{"prompt": "b"}}, fastPoll)
	if err != nil {
		t.Fatal(err)
	}
	res, err := b.Wait(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if r := res.Responses[0]; r.Err == nil || !strings.Contains(r.Err.Error(), "model overloaded") {
		t.Errorf("response 0: Err %v, want the service's reason", r.Err)
	}
	resp, err := res.Responses[1].Response()
	if err != nil || resp.Text != "b" || res.Responses[1].Ref != "r1" {
		t.Errorf("response 1: %+v, %v (ref %q)", resp, err, res.Responses[1].Ref)
	}
	if want := (llm.Usage{PromptTokens: 7, CompletionTokens: 3, TotalTokens: 10}); res.Usage != want {
		t.Errorf("usage %+v, want %+v", res.Usage, want)
	}
}

func TestWaitRefusesResponsesItCannotPlace(t *testing.T) {
	tests := []struct {
		name, poll, want string
	}{
		{"repeated id", `{"responses":[{"id":0,"result":{},"success":true},{"id":0,"result":{},"success":true}]}`, "not a new position"},
		{"id out of range", `{"responses":[{"id":0,"result":{},"success":true},{"id":2,"result":{},"success":true}]}`, "not a new position"},
		{"missing id", `{"responses":[{"id":1,"result":{},"success":true}]}`, "no response for request 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := scriptedBatch(t, tt.poll)
			b, err := c.Queue(t.Context(), "@cf/someone/model", []any{map[string]any{}, map[string]any{}}, fastPoll)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Wait(t.Context()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestWaitStopsWhenTheContextEnds(t *testing.T) {
	_, c := batchServer(t, nil, llmtest.WithBatchPolls(1<<30))
	b, err := c.Queue(t.Context(), batchEmbed, []any{map[string]any{"text": "x"}}, llm.WithPollInterval(time.Millisecond, 5*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	if _, err := b.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the deadline", err)
	}
}

func TestBatchItemAddsItsReference(t *testing.T) {
	tests := []struct {
		name string
		item llm.BatchItem
		want string
	}{
		{"struct", llm.BatchItem{Input: struct {
			Text string `json:"text"`
		}{"x"}, Ref: "r"}, `{"text":"x","external_reference":"r"}`},
		{"empty object", llm.BatchItem{Input: json.RawMessage(` {} `), Ref: "r"}, `{"external_reference":"r"}`},
		{"no reference", llm.BatchItem{Input: map[string]int{"a": 1}}, `{"a":1}`},
		{"reference needing escapes", llm.BatchItem{Input: map[string]int{"a": 1}, Ref: `say "hi"`}, `{"a":1,"external_reference":"say \"hi\""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.item)
			if err != nil || string(got) != tt.want {
				t.Fatalf("%s, %v; want %s", got, err, tt.want)
			}
		})
	}
	if _, err := json.Marshal(llm.BatchItem{Input: []int{1}}); err == nil {
		t.Error("an array input was accepted")
	}
}

// A submission creates a job: once it may have reached the service it is not sent again,
// or a 502 after the job was queued would queue a second one.
func TestQueueSubmissionIsNotRetriedOnceItMayHaveArrived(t *testing.T) {
	tests := []struct {
		name      string
		replies   []func(w http.ResponseWriter)
		wantCalls int
		wantErr   string // "" for success
	}{
		{"502 is not retried", []func(http.ResponseWriter){
			func(w http.ResponseWriter) { w.WriteHeader(http.StatusBadGateway); io.WriteString(w, "bad gateway") },
		}, 1, "the batch may have been created although no request_id came back"},
		{"500 is not retried", []func(http.ResponseWriter){
			func(w http.ResponseWriter) { w.WriteHeader(http.StatusInternalServerError); io.WriteString(w, "oops") },
		}, 1, "not retried: the request may have reached the service"},
		{"429/3040 refused it, so it is sent again", []func(http.ResponseWriter){
			func(w http.ResponseWriter) {
				w.WriteHeader(http.StatusTooManyRequests)
				io.WriteString(w, `{"result":null,"success":false,"errors":[{"code":3040,"message":"Capacity temporarily exceeded"}],"messages":[]}`)
			},
			func(w http.ResponseWriter) {
				io.WriteString(w, `{"result":{"status":"queued","request_id":"job-1","model":"m"},"success":true,"errors":[],"messages":[]}`)
			},
		}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				mu sync.Mutex
				n  int
			)
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				mu.Lock()
				defer mu.Unlock()
				w.Header().Set("Content-Type", "application/json")
				if n >= len(tt.replies) {
					t.Errorf("request %d: the script has %d replies", n+1, len(tt.replies))
					w.WriteHeader(http.StatusBadRequest)
					return
				}
				tt.replies[n](w)
				n++
			}))
			defer srv.Close()
			c, err := llm.NewClient(llm.WithBaseURL(srv.URL), llm.WithAccount("acc", "tok"),
				llm.WithRetry(llm.RetryPolicy{MaxAttempts: 4, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}))
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Queue(t.Context(), batchEmbed, []any{map[string]any{"text": "a"}})
			mu.Lock()
			calls := n
			mu.Unlock()
			if calls != tt.wantCalls {
				t.Errorf("%d submissions, want %d", calls, tt.wantCalls)
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
			if e, ok := errors.AsType[*llm.Error](err); !ok || e.Status < 500 {
				t.Errorf("err = %v, want the service's 5xx *Error reachable", err)
			}
		})
	}
}

// A connection that was never made cannot have created a job: the submission is retried.
func TestQueueSubmissionIsRetriedWhenTheConnectionIsRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more
	c, err := llm.NewClient(llm.WithBaseURL(base), llm.WithAccount("acc", "tok"),
		llm.WithRetry(llm.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Queue(t.Context(), batchEmbed, []any{map[string]any{"text": "a"}})
	re, ok := errors.AsType[*llm.RetryError](err)
	if !ok || re.Attempts != 3 || !errors.Is(err, llm.ErrUnreachable) {
		t.Fatalf("err = %v, want 3 attempts and ErrUnreachable", err)
	}
}
