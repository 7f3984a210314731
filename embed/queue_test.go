package embed_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

var fastQueue = embed.WithQueue(llm.WithPollInterval(time.Millisecond, 2*time.Millisecond))

func numbered(n, size int) []string {
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("text %d ", i)
		texts[i] += strings.Repeat("x", max(size-len(texts[i]), 0))
	}
	return texts
}

// submissions returns the texts of each item of each batch submission, and counts the
// synchronous embedding requests.
func submissions(t *testing.T, srv *llmtest.Server) (batches [][][]string, sync int) {
	t.Helper()
	for _, r := range srv.Requests() {
		var body struct {
			Requests []struct {
				Text []string `json:"text"`
			} `json:"requests"`
			Text      []string `json:"text"`
			RequestID string   `json:"request_id"`
		}
		if err := json.Unmarshal(r.Body, &body); err != nil {
			t.Fatal(err)
		}
		switch {
		case body.Requests != nil:
			var items [][]string
			for _, it := range body.Requests {
				items = append(items, it.Text)
			}
			batches = append(batches, items)
		case body.Text != nil:
			sync++
		}
	}
	return batches, sync
}

func TestWithQueueSendsLargeCallsThroughTheBatchAPI(t *testing.T) {
	srv, c := newServer(t, nil)
	var (
		mu       sync.Mutex
		progress [][2]int
	)
	m := embed.New(c, small, fastQueue, embed.WithQueueThreshold(150), embed.WithProgress(func(done, total int) {
		mu.Lock()
		defer mu.Unlock()
		progress = append(progress, [2]int{done, total})
	}))
	texts := numbered(250, 20)
	vecs, err := m.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range llmtest.Embed(texts, 384) {
		if !near(v, vecs[i]) {
			t.Fatalf("vector %d is not the vector of text %d", i, i)
		}
	}
	batches, syncCalls := submissions(t, srv)
	if syncCalls != 0 || len(batches) != 1 || len(batches[0]) != 3 || len(batches[0][2]) != 50 || batches[0][1][0] != texts[100] {
		t.Errorf("%d synchronous requests and batches of %d items; want one batch of 100+100+50 texts", syncCalls, len(batches))
	}
	if len(progress) == 0 || progress[len(progress)-1] != [2]int{250, 250} {
		t.Errorf("progress %v", progress)
	}

	// At or below the threshold, calls stay synchronous.
	if _, err := m.Embed(t.Context(), texts[:150]); err != nil {
		t.Fatal(err)
	}
	if batches, syncCalls = submissions(t, srv); len(batches) != 1 || syncCalls != 2 {
		t.Errorf("150 texts: %d batches, %d synchronous requests; want 1 and 2", len(batches), syncCalls)
	}
}

func TestWithQueueSplitsBatchesUnderThePayloadAndResultLimits(t *testing.T) {
	tests := []struct {
		name        string
		model       string
		texts       []string
		batches     int
		maxPerBatch int
	}{
		// 1024-dimensional vectors: about 1,170 texts' worth fill 16 MiB of JSON.
		{"result size", large, numbered(1200, 10), 2, 1170},
		// Long bge-m3 texts (60,000-token context, so one per request): 10.5 MB of them
		// go in two payloads.
		{"payload size", "@cf/baai/bge-m3", numbered(105, 100_000), 2, 105},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each is CPU-bound on JSON for a few seconds (more under -race)
			srv, c := newServer(t, nil)
			vecs, err := embed.New(c, tt.model, fastQueue, embed.WithQueueThreshold(0)).Embed(t.Context(), tt.texts)
			if err != nil {
				t.Fatal(err)
			}
			batches, syncCalls := submissions(t, srv)
			if len(batches) != tt.batches || syncCalls != 0 {
				t.Fatalf("%d batches and %d synchronous requests, want %d batches", len(batches), syncCalls, tt.batches)
			}
			sent := map[string]int{}
			for _, b := range batches {
				n := 0
				for _, item := range b {
					n += len(item)
					for _, text := range item {
						sent[text]++
					}
				}
				if n > tt.maxPerBatch {
					t.Errorf("a batch of %d texts, want at most %d", n, tt.maxPerBatch)
				}
			}
			for _, r := range srv.Requests() {
				if len(r.Body) >= llm.MaxBatchPayload {
					t.Errorf("a %d-byte body", len(r.Body))
				}
			}
			for _, text := range tt.texts {
				if sent[text] != 1 {
					t.Fatalf("text %.20q sent %d times", text, sent[text])
				}
			}
			last := len(tt.texts) - 1
			want := llmtest.Embed([]string{tt.texts[0], tt.texts[last/2], tt.texts[last]}, 1024)
			for j, i := range []int{0, last / 2, last} {
				if !near(want[j], vecs[i]) {
					t.Errorf("vector %d is not the vector of its text", i)
				}
			}
		})
	}
}

func TestWithQueueReportsAFailedRequestByItsTexts(t *testing.T) {
	srv, c := newServer(t, llmtest.Script(llmtest.Model(), llmtest.Fail(400, 5006, "Bad input: no"), llmtest.Model()))
	_, err := embed.New(c, small, fastQueue, embed.WithQueueThreshold(0)).Embed(t.Context(), numbered(250, 10))
	var be *embed.BatchError
	if !errors.As(err, &be) || be.Start != 100 || be.End != 200 || !errors.Is(err, llm.ErrBadInput) {
		t.Fatalf("error %v, want a BatchError for texts 100 to 199 wrapping the bad input", err)
	}
	if len(srv.Requests()) < 2 {
		t.Error("the batch was not polled")
	}
}

func TestWithQueueRefusesWhatTheBatchAPICannotTake(t *testing.T) {
	tests := []struct {
		name  string
		model string
		opts  []embed.Option
		want  string
	}{
		{"model without batch support", "@cf/qwen/qwen3-embedding-0.6b", nil, "does not take the async batch API"},
		{"OpenAI-compatible endpoint", small, []embed.Option{embed.WithOpenAI()}, "needs the native endpoint"},
		{"negative threshold", small, []embed.Option{embed.WithQueueThreshold(-1)}, "threshold -1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newServer(t, nil)
			_, err := embed.New(c, tt.model, append(tt.opts, fastQueue)...).Embed(t.Context(), numbered(2000, 10))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}
