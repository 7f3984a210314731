package embed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

func corpus(n int) []string {
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("t%d: a short text about item %d", i, i)
	}
	return texts
}

// words returns a text of n four-letter words: 5n-1 runes, estimated at (5n-1)/3 + 2 tokens.
func words(n int) string { return strings.TrimSpace(strings.Repeat("word ", n)) }

func TestEmbedBatchesBy100InInputOrder(t *testing.T) {
	srv, c := newServer(t, nil)
	texts := corpus(250)
	vecs, err := embed.New(c, small).Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}

	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	// Requests run concurrently and may arrive in any order; together they must carry
	// the texts in order, in runs of at most 100.
	var batches [][]string
	for _, r := range reqs {
		if r.Path != "/accounts/test-account/ai/run/"+small {
			t.Errorf("request to %s, want the native /ai/run", r.Path)
		}
		batches = append(batches, sentTexts(t, r))
	}
	slices.SortFunc(batches, func(a, b []string) int { return slices.Index(texts, a[0]) - slices.Index(texts, b[0]) })
	var sent []string
	for _, b := range batches {
		if len(b) > 100 {
			t.Errorf("a request carried %d texts, more than 100", len(b))
		}
		sent = append(sent, b...)
	}
	if !slices.Equal(sent, texts) {
		t.Fatalf("the requests carried the texts out of order or incompletely")
	}

	want := llmtest.Embed(texts, 384)
	for i := range texts {
		if !near(vecs[i], want[i]) {
			t.Fatalf("vector %d is not the one for text %d", i, i)
		}
	}
}

func TestEmbedSplitsRequestsByTokenBudget(t *testing.T) {
	// Each long text is estimated at 334 tokens (about 996 runes / 3, plus 2 markers), so a
	// 2,000-token budget fits 5 of them per request, and 100 make 20 requests.
	long := make([]string, 100)
	for i := range long {
		long[i] = words(199) + fmt.Sprint(i)
	}
	tests := []struct {
		name        string
		texts       []string
		wantReqs    int
		wantPerCall int
	}{
		{"short texts fill a request", corpus(100), 1, 100},
		{"long texts force more requests", long, 20, 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newServer(t, nil)
			m := embed.New(c, small, embed.WithTokenBudget(2000), embed.WithRequestsPerMinute(600000))
			if _, err := m.Embed(t.Context(), tt.texts); err != nil {
				t.Fatal(err)
			}
			reqs := srv.Requests()
			if len(reqs) != tt.wantReqs {
				t.Fatalf("%d requests, want %d", len(reqs), tt.wantReqs)
			}
			for _, r := range reqs {
				if n := len(sentTexts(t, r)); n != tt.wantPerCall {
					t.Errorf("a request carried %d texts, want %d", n, tt.wantPerCall)
				}
			}
		})
	}
}

func TestEmbedBatchSize(t *testing.T) {
	srv, c := newServer(t, nil)
	if _, err := embed.New(c, small, embed.WithBatchSize(30), embed.WithConcurrency(1)).Embed(t.Context(), corpus(100)); err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for _, r := range srv.Requests() {
		sizes = append(sizes, len(sentTexts(t, r)))
	}
	if want := []int{30, 30, 30, 10}; !slices.Equal(sizes, want) {
		t.Fatalf("request sizes %v, want %v", sizes, want)
	}
}

func TestOverLongTextIsAnErrorNamingIt(t *testing.T) {
	srv, c := newServer(t, nil)
	texts := corpus(10)
	texts[7] = words(600) // 2999 runes: about 1002 tokens, over bge's 512
	_, err := embed.New(c, small).Embed(t.Context(), texts)
	if err == nil {
		t.Fatal("no error for a text over the model's input limit")
	}
	for _, want := range []string{"text 7", "1002 tokens", "2999 runes", small, "512", "WithTruncate"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent; a bad text must stop the call before any", n)
	}
}

func TestTextOverTheTokenBudgetIsAnError(t *testing.T) {
	_, c := newServer(t, nil)
	_, err := embed.New(c, small, embed.WithTokenBudget(100)).Embed(t.Context(), []string{"ok", words(200)})
	if err == nil || !strings.Contains(err.Error(), "text 1") || !strings.Contains(err.Error(), "token budget (100 tokens)") {
		t.Fatalf("error %v, want one naming text 1 and the token budget", err)
	}
}

func TestWithTruncateCutsAndReportsEachText(t *testing.T) {
	srv, c := newServer(t, nil)
	texts := corpus(5)
	texts[1] = words(600)
	texts[3] = strings.Repeat("x", 2000) // one word: cut at a rune boundary
	orig := slices.Clone(texts)
	var got []embed.Truncation
	m := embed.New(c, small, embed.WithTruncate(func(tr embed.Truncation) { got = append(got, tr) }), embed.WithConcurrency(1))
	vecs, err := m.Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	if len(vecs) != 5 {
		t.Fatalf("%d vectors, want 5", len(vecs))
	}
	if !slices.Equal(texts, orig) {
		t.Error("Embed changed the caller's slice")
	}
	// 306 words are 1529 runes: 510 + 2 = 512 tokens, and one more word would not fit;
	// 1530 runes of one word are 510 + 2 = 512 as well.
	want := []embed.Truncation{
		{Index: 1, Runes: 2999, KeptRunes: 1529, Tokens: 1002, Limit: 512},
		{Index: 3, Runes: 2000, KeptRunes: 1530, Tokens: 669, Limit: 512},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("reports\n%+v\nwant\n%+v", got, want)
	}
	sent := sentTexts(t, srv.Requests()[0])
	if sent[1] != words(306) || sent[3] != strings.Repeat("x", 1530) {
		t.Errorf("sent %q... and %q...: not the reported starts of the texts", sent[1][:20], sent[3][:20])
	}
	if sent[0] != texts[0] || sent[4] != texts[4] {
		t.Error("texts within the limit were changed")
	}
}

func TestEmptyTextIsAnErrorNamingIt(t *testing.T) {
	srv, c := newServer(t, nil)
	_, err := embed.New(c, small).Embed(t.Context(), []string{"a", "b", " \n\t"})
	if err == nil || !strings.Contains(err.Error(), "text 2 is empty") {
		t.Fatalf("error %v, want one naming text 2", err)
	}
	if len(srv.Requests()) != 0 {
		t.Error("requests were sent")
	}
}

func TestNoTextsMakeNoRequest(t *testing.T) {
	srv, c := newServer(t, nil)
	vecs, err := embed.New(c, small).Embed(t.Context(), nil)
	if err != nil || vecs == nil || len(vecs) != 0 {
		t.Fatalf("Embed(nil) = %v, %v; want an empty result", vecs, err)
	}
	if len(srv.Requests()) != 0 {
		t.Error("a request was sent")
	}
}

func TestRateLimitAndCapacityErrorsMidCorpusAreRetried(t *testing.T) {
	tests := []struct {
		name string
		fail llmtest.Reply
	}{
		{"3040 capacity", llmtest.Fail(http.StatusTooManyRequests, 3040, "No more data centers to forward the request to")},
		{"3021 rate limit", llmtest.Fail(http.StatusTooManyRequests, 3021, "rate limiting: inference request per min rate reached")},
		{"3040 with Retry-After", llmtest.Fail(http.StatusTooManyRequests, 3040, "Capacity temporarily exceeded").WithRetryAfter("0")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newServer(t, llmtest.Script(llmtest.Model(), tt.fail, llmtest.Model(), llmtest.Model()))
			texts := corpus(250)
			vecs, err := embed.New(c, small, embed.WithConcurrency(1)).Embed(t.Context(), texts)
			if err != nil {
				t.Fatal(err)
			}
			reqs := srv.Requests()
			if len(reqs) != 4 {
				t.Fatalf("%d requests, want 4 (3 batches, one retried)", len(reqs))
			}
			if !slices.Equal(sentTexts(t, reqs[1]), sentTexts(t, reqs[2])) {
				t.Error("the retry did not resend the failed batch")
			}
			want := llmtest.Embed(texts, 384)
			for i := range texts {
				if !near(vecs[i], want[i]) {
					t.Fatalf("vector %d is wrong after the retry", i)
				}
			}
		})
	}
}

func TestDailyLimitIsNotRetriedAndNamesTheBatch(t *testing.T) {
	srv, c := newServer(t, llmtest.Script(llmtest.Model(),
		llmtest.Fail(http.StatusTooManyRequests, 4006, "you have used up your daily free allocation of 10,000 neurons")))
	_, err := embed.New(c, small, embed.WithConcurrency(1)).Embed(t.Context(), corpus(250))
	var be *embed.BatchError
	if !errors.As(err, &be) || be.Start != 100 || be.End != 200 {
		t.Fatalf("error %v, want a BatchError for texts 100 to 199", err)
	}
	if !errors.Is(err, llm.ErrDailyLimit) || !strings.Contains(err.Error(), "texts 100 to 199") {
		t.Errorf("error %q does not wrap llm.ErrDailyLimit or name the batch", err)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2: no retry, and no batch after the failure", n)
	}
}

func TestFailureCancelsTheRequestsInFlight(t *testing.T) {
	// Four batches go out at once. The one starting at t150 fails once the other three have
	// arrived; those would take a minute. Embed must give up on them, not wait.
	arrived := make(chan struct{}, 3)
	srv, c := newServer(t, func(_ string, body []byte) llmtest.Reply {
		if !strings.Contains(string(body), `"t150:`) {
			arrived <- struct{}{}
			return llmtest.Model().WithLatency(time.Minute)
		}
		for range 3 {
			select {
			case <-arrived:
			case <-time.After(10 * time.Second):
				return llmtest.Fail(http.StatusInternalServerError, 0, "test: the other batches never arrived")
			}
		}
		return llmtest.Fail(http.StatusBadRequest, 5006, "Bad input: Error: oneOf at '/' not met")
	})
	m := embed.New(c, small, embed.WithBatchSize(50), embed.WithConcurrency(4), embed.WithRequestsPerMinute(600000))
	_, err := m.Embed(t.Context(), corpus(200))
	var be *embed.BatchError
	if !errors.As(err, &be) || be.Start != 150 || be.End != 200 || !errors.Is(err, llm.ErrBadInput) {
		t.Fatalf("error %v, want a BatchError for texts 150 to 199 wrapping llm.ErrBadInput", err)
	}
	reqs := srv.Requests()
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	for _, r := range reqs {
		if first := sentTexts(t, r)[0]; !strings.HasPrefix(first, "t150:") && r.Status != 0 {
			t.Errorf("the batch starting %q was answered (%d); it should have been cancelled", first, r.Status)
		}
	}
}

func TestCancelledContextSendsNothing(t *testing.T) {
	srv, c := newServer(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := embed.New(c, small).Embed(ctx, corpus(3))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if len(srv.Requests()) != 0 {
		t.Error("requests were sent")
	}
}

func TestProgressIsSerialisedMonotonicAndEndsAtTotal(t *testing.T) {
	_, c := newServer(t, func(string, []byte) llmtest.Reply { return llmtest.Model().WithLatency(5 * time.Millisecond) })
	var (
		calls    [][2]int // appended without a lock: -race catches concurrent calls
		inside   atomic.Int32
		overlaps atomic.Int32
	)
	m := embed.New(c, small, embed.WithBatchSize(10), embed.WithConcurrency(8), embed.WithRequestsPerMinute(600000),
		embed.WithProgress(func(done, total int) {
			if inside.Add(1) > 1 {
				overlaps.Add(1)
			}
			calls = append(calls, [2]int{done, total})
			time.Sleep(time.Millisecond)
			inside.Add(-1)
		}))
	if _, err := m.Embed(t.Context(), corpus(95)); err != nil {
		t.Fatal(err)
	}
	if overlaps.Load() > 0 {
		t.Error("the progress callback ran concurrently with itself")
	}
	if len(calls) != 10 {
		t.Fatalf("%d progress calls, want one per request (10)", len(calls))
	}
	for i, c := range calls {
		if c[1] != 95 {
			t.Errorf("call %d: total %d, want 95", i, c[1])
		}
		if i > 0 && c[0] <= calls[i-1][0] {
			t.Errorf("done went from %d to %d", calls[i-1][0], c[0])
		}
	}
	if last := calls[len(calls)-1][0]; last != 95 {
		t.Errorf("last done %d, want 95", last)
	}
}

func TestProgressPanicBecomesAnError(t *testing.T) {
	_, c := newServer(t, nil)
	m := embed.New(c, small, embed.WithProgress(func(int, int) { panic("boom") }))
	_, err := m.Embed(t.Context(), corpus(3))
	if err == nil || !strings.Contains(err.Error(), "progress callback panicked: boom") {
		t.Fatalf("error %v, want the panic reported", err)
	}
}

func TestPooling(t *testing.T) {
	tests := []struct {
		name    string
		opts    []embed.Option
		wantKey string // the pooling sent; "" = none
	}{
		{"default sends none (the service's mean)", nil, ""},
		{"cls is sent", []embed.Option{embed.WithPooling("cls")}, "cls"},
		{"mean is sent", []embed.Option{embed.WithPooling("mean")}, "mean"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newServer(t, nil)
			if _, err := embed.New(c, base, tt.opts...).Embed(t.Context(), []string{"hello"}); err != nil {
				t.Fatal(err)
			}
			var in struct {
				Pooling *string `json:"pooling"`
			}
			if err := json.Unmarshal(srv.Requests()[0].Body, &in); err != nil {
				t.Fatal(err)
			}
			got := ""
			if in.Pooling != nil {
				got = *in.Pooling
				if got == "" {
					t.Error(`"pooling":"" was sent`)
				}
			}
			if got != tt.wantKey {
				t.Errorf("pooling %q sent, want %q", got, tt.wantKey)
			}
		})
	}
}

func TestPoolingTheServiceIgnoredIsAnError(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.JSON(map[string]any{
		"shape": []int{1, 3}, "data": [][]float32{{1, 0, 0}}, "pooling": "mean",
	})))
	_, err := embed.New(c, "@cf/example/unlisted-embedder", embed.WithPooling("cls")).Embed(t.Context(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), `pooled "mean", not the "cls"`) {
		t.Fatalf("error %v, want the pooling mismatch", err)
	}
}

func TestWithOpenAIUsesTheCompatibleEndpoint(t *testing.T) {
	srv, c := newServer(t, nil)
	texts := corpus(3)
	vecs, err := embed.New(c, small, embed.WithOpenAI()).Embed(t.Context(), texts)
	if err != nil {
		t.Fatal(err)
	}
	r := srv.Requests()[0]
	if r.Path != "/accounts/test-account/ai/v1/embeddings" || r.Model != small {
		t.Errorf("request to %s for model %q, want /ai/v1/embeddings for %s", r.Path, r.Model, small)
	}
	var in struct {
		Model string   `json:"model"`
		Input []string `json:"input"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil || in.Model != small || !slices.Equal(in.Input, texts) {
		t.Errorf("body %s, want {model, input}", r.Body)
	}
	want := llmtest.Embed(texts, 384)
	for i := range texts {
		if !near(vecs[i], want[i]) {
			t.Errorf("vector %d is wrong", i)
		}
	}
}

func TestOpenAIRepliesAreOrderedByIndex(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.JSON(map[string]any{"object": "list", "data": []map[string]any{
		{"object": "embedding", "index": 1, "embedding": []float32{0, 2}},
		{"object": "embedding", "index": 0, "embedding": []float32{3, 0}},
	}})))
	vecs, err := embed.New(c, "@cf/example/unlisted-embedder", embed.WithOpenAI()).Embed(t.Context(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !near(vecs[0], []float32{1, 0}) || !near(vecs[1], []float32{0, 1}) {
		t.Fatalf("vectors %v, want [[1 0] [0 1]]: placed by index and scaled to unit length", vecs)
	}
}

func TestDimensions(t *testing.T) {
	for _, tt := range []struct {
		model string
		dims  int
	}{{small, 384}, {base, 768}, {large, 1024}, {"@cf/baai/bge-m3", 1024}} {
		t.Run(tt.model, func(t *testing.T) {
			_, c := newServer(t, nil)
			m := embed.New(c, tt.model)
			if m.Dimensions() != tt.dims || m.ID() != tt.model {
				t.Fatalf("Dimensions() = %d, ID() = %q before any call; want %d from the catalog", m.Dimensions(), m.ID(), tt.dims)
			}
			vecs, err := m.Embed(t.Context(), []string{"hello"})
			if err != nil {
				t.Fatal(err)
			}
			if len(vecs[0]) != tt.dims {
				t.Errorf("vector of %d dimensions, want %d", len(vecs[0]), tt.dims)
			}
		})
	}
}

func TestUnlistedModelLearnsItsDimensionAndHoldsToIt(t *testing.T) {
	reply := func(dims int) llmtest.Reply {
		return llmtest.JSON(map[string]any{"shape": []int{1, dims}, "data": llmtest.Embed([]string{"x"}, dims)})
	}
	_, c := newServer(t, llmtest.Script(reply(5), reply(6)))
	m := embed.New(c, "@cf/example/unlisted-embedder")
	if m.Dimensions() != 0 {
		t.Fatalf("Dimensions() = %d before the first reply, want 0", m.Dimensions())
	}
	if _, err := m.Embed(t.Context(), []string{"x"}); err != nil {
		t.Fatal(err)
	}
	if m.Dimensions() != 5 {
		t.Fatalf("Dimensions() = %d after a 5-dimensional reply", m.Dimensions())
	}
	_, err := m.Embed(t.Context(), []string{"x"})
	if err == nil || !strings.Contains(err.Error(), "6-dimensional vector; its vectors have 5") {
		t.Fatalf("error %v, want the dimension change reported", err)
	}
}

func TestMalformedRepliesAreErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply any
		want  string
	}{
		{"too few vectors", map[string]any{"shape": []int{1, 384}, "data": llmtest.Embed([]string{"a"}, 384)}, "returned 1 vectors for 2 texts"},
		{"no data", map[string]any{}, "returned 0 vectors for 2 texts"},
		{"wrong dimension", map[string]any{"data": llmtest.Embed([]string{"a", "b"}, 10)}, "10-dimensional vector; its vectors have 384"},
		{"empty vector", map[string]any{"data": [][]float32{{}, {}}}, "empty vector"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newServer(t, llmtest.Script(llmtest.JSON(tt.reply)))
			_, err := embed.New(c, small).Embed(t.Context(), []string{"a", "b"})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

// recordedResult returns the "result" of a recorded /ai/run reply, or the whole body of an
// OpenAI-compatible one.
func recordedBody(t *testing.T, name string) map[string]any {
	t.Helper()
	raw, err := os.ReadFile("testdata/recorded/" + name)
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Response struct {
			Body string `json:"body"`
		} `json:"response"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	if err := json.Unmarshal([]byte(rec.Response.Body), &body); err != nil {
		t.Fatal(err)
	}
	return body
}

func TestRecordedQwen3Replies(t *testing.T) {
	// The recordings' vectors were cut by their author to 2 of 1024 values; the replies are
	// otherwise as recorded (usage nested in result, no pooling; no usage on /ai/v1).
	full := llmtest.Embed([]string{"q"}, 1024)
	const qwen = "@cf/qwen/qwen3-embedding-0.6b"

	native := recordedBody(t, "marmarko__brainz__ai-run-qwen3-embedding-usage.json")["result"].(map[string]any)
	native["data"] = full
	compat := recordedBody(t, "marmarko__brainz__ai-v1-embeddings-qwen3-no-usage.json")
	compat["data"].([]any)[0].(map[string]any)["embedding"] = full[0]

	for _, tt := range []struct {
		name  string
		reply map[string]any
		opts  []embed.Option
	}{{"native with nested usage (#24)", native, nil}, {"OpenAI-compatible without usage (#25)", compat, []embed.Option{embed.WithOpenAI()}}} {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newServer(t, llmtest.Script(llmtest.JSON(tt.reply)))
			vecs, err := embed.New(c, qwen, tt.opts...).Embed(t.Context(), []string{"q"})
			if err != nil {
				t.Fatal(err)
			}
			if !near(vecs[0], full[0]) {
				t.Error("the vector was not decoded")
			}
		})
	}

	// As recorded, the 2-value vector does not match the model's 1024 dimensions.
	cut := recordedBody(t, "marmarko__brainz__ai-run-qwen3-embedding-usage.json")["result"]
	_, c := newServer(t, llmtest.Script(llmtest.JSON(cut)))
	if _, err := embed.New(c, qwen).Embed(t.Context(), []string{"q"}); err == nil || !strings.Contains(err.Error(), "2-dimensional") {
		t.Errorf("error %v, want the cut vector refused", err)
	}
}

func TestVectorsAreUnitLength(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.JSON(map[string]any{"data": [][]float32{{3, 4}, {0, 0}}})))
	vecs, err := embed.New(c, "@cf/example/unlisted-embedder").Embed(t.Context(), []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	if !near(vecs[0], []float32{0.6, 0.8}) {
		t.Errorf("vector %v, want [0.6 0.8]", vecs[0])
	}
	if !near(vecs[1], []float32{0, 0}) {
		t.Errorf("zero vector became %v", vecs[1])
	}
}

func TestBadConfigurationIsReportedOnEveryCall(t *testing.T) {
	_, c := newServer(t, nil)
	tests := []struct {
		name string
		m    *embed.Model
		want string
	}{
		{"nil client", embed.New(nil, small), "nil llm.Client"},
		{"empty model", embed.New(c, ""), "empty model id"},
		{"not an embeddings model", embed.New(c, "@cf/meta/llama-3.1-8b-instruct"), "is a text-generation model"},
		{"unknown pooling", embed.New(c, small, embed.WithPooling("max")), `pooling "max"`},
		{"pooling on /ai/v1", embed.New(c, small, embed.WithPooling("cls"), embed.WithOpenAI()), "WithPooling needs the native endpoint"},
		{"batch over the model's", embed.New(c, small, embed.WithBatchSize(101)), "batch size 101"},
		{"batch of 0", embed.New(c, small, embed.WithBatchSize(0)), "batch size 0"},
		{"qwen3 takes 32", embed.New(c, "@cf/qwen/qwen3-embedding-0.6b", embed.WithBatchSize(33)), "1 to 32 texts"},
		{"no concurrency", embed.New(c, small, embed.WithConcurrency(0)), "concurrency 0"},
		{"no budget", embed.New(c, small, embed.WithTokenBudget(0)), "token budget 0"},
		{"negative rate", embed.New(c, small, embed.WithRequestsPerMinute(-1)), "requests per minute -1"},
		{"nil truncation report", embed.New(c, small, embed.WithTruncate(nil)), "WithTruncate needs a report function"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for range 2 {
				_, err := tt.m.Embed(t.Context(), []string{"hello"})
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("error %v, want %q", err, tt.want)
				}
			}
		})
	}
}

func TestConcurrentCallsShareOneModel(t *testing.T) {
	_, c := newServer(t, nil)
	m := embed.New(c, small, embed.WithRequestsPerMinute(600000))
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			texts := corpus(30 + g)
			vecs, err := m.Embed(t.Context(), texts)
			if err != nil {
				t.Error(err)
				return
			}
			want := llmtest.Embed(texts, 384)
			for i := range texts {
				if !near(vecs[i], want[i]) {
					t.Errorf("goroutine %d: vector %d is wrong", g, i)
					return
				}
			}
		})
	}
	wg.Wait()
}

func TestCosine(t *testing.T) {
	tests := []struct {
		name string
		a, b []float32
		want float32
	}{
		{"identical", []float32{1, 2, 3}, []float32{1, 2, 3}, 1},
		{"scaled", []float32{1, 2, 3}, []float32{2, 4, 6}, 1},
		{"opposite", []float32{1, -2}, []float32{-1, 2}, -1},
		{"orthogonal", []float32{1, 0}, []float32{0, 5}, 0},
		{"45 degrees", []float32{1, 0}, []float32{1, 1}, float32(1 / math.Sqrt2)},
		{"zero vector", []float32{0, 0}, []float32{1, 1}, 0},
		{"both zero", []float32{0, 0}, []float32{0, 0}, 0},
		{"different lengths", []float32{1, 2, 3}, []float32{1, 2}, 0},
		{"empty", nil, nil, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := embed.Cosine(tt.a, tt.b); math.Abs(float64(got-tt.want)) > 1e-6 {
				t.Errorf("Cosine = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestZeroValuesFailCleanlyOrWork(t *testing.T) {
	ctx := t.Context()

	var m embed.Model
	if _, err := m.Embed(ctx, []string{"text"}); err == nil || !strings.Contains(err.Error(), "use New") {
		t.Errorf("zero Model: %v", err)
	}

	var ix embed.Index
	if err := ix.Add(ctx, embed.Document{ID: "a", Text: "x"}); err == nil {
		t.Error("zero Index: Add succeeded")
	}
	if _, err := ix.Search(ctx, "x", 1); err == nil {
		t.Error("zero Index: Search succeeded")
	}
	if err := ix.Delete(ctx, "a"); err == nil {
		t.Error("zero Index: Delete succeeded")
	}
	if err := ix.Save(io.Discard); err == nil {
		t.Error("zero Index: Save succeeded")
	}
	if n := ix.Len(); n != -1 {
		t.Errorf("zero Index: Len %d", n)
	}

	var s embed.MemoryStore
	if err := s.Upsert(ctx, []embed.Vector{{ID: "a", Values: []float32{1, 0}}, {ID: "b", Values: []float32{0, 1}}}); err != nil {
		t.Fatalf("zero MemoryStore: Upsert: %v", err)
	}
	if hits, err := s.Query(ctx, []float32{0, 1}, embed.Query{TopK: 1}); err != nil || len(hits) != 1 || hits[0].ID != "b" {
		t.Errorf("zero MemoryStore: Query %v, %v", hits, err)
	}

	var v embed.Vectorize
	calls := map[string]func() error{
		"Upsert":   func() error { return v.Upsert(ctx, []embed.Vector{{ID: "a", Values: []float32{1}}}) },
		"Query":    func() error { _, err := v.Query(ctx, []float32{1}, embed.Query{TopK: 1}); return err },
		"Get":      func() error { _, err := v.Get(ctx, "a"); return err },
		"Delete":   func() error { return v.Delete(ctx, "a") },
		"Info":     func() error { _, err := v.Info(ctx); return err },
		"WaitFor":  func() error { return v.WaitFor(ctx, "m") },
		"Sync":     func() error { return v.Sync(ctx) },
		"Create":   func() error { _, err := v.Create(ctx, embed.IndexConfig{Dimensions: 2}); return err },
		"Metadata": func() error { _, err := v.CreateMetadataIndex(ctx, "k", embed.MetadataString); return err },
	}
	for name, call := range calls {
		if err := call(); err == nil || !strings.Contains(err.Error(), "use NewVectorize") {
			t.Errorf("zero Vectorize: %s: %v", name, err)
		}
	}
}
