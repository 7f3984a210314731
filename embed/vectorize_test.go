package embed_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"golang.org/x/sync/errgroup"

	"github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// vecServer starts an emulator with opts and a client for it whose retries wait
// milliseconds.
func vecServer(t testing.TB, opts ...llmtest.ServerOption) (*llmtest.Server, *llm.Client) {
	t.Helper()
	srv := llmtest.NewServer(nil, opts...)
	t.Cleanup(srv.Close)
	c, err := srv.Client(llm.WithRetry(llm.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// newIndex creates the index name with dims dimensions on the emulator.
func newIndex(t testing.TB, c *llm.Client, name string, dims int, opts ...embed.VectorizeOption) *embed.Vectorize {
	t.Helper()
	v := embed.NewVectorize(c, name, append([]embed.VectorizeOption{embed.WithPollInterval(time.Millisecond, 5*time.Millisecond)}, opts...)...)
	if _, err := v.Create(t.Context(), embed.IndexConfig{Dimensions: dims}); err != nil {
		t.Fatal(err)
	}
	return v
}

// vectors makes n vectors of dims values, "v0", "v1", ..., from the emulator's hash vectors.
func vectors(n, dims int, prefix string) []embed.Vector {
	texts := make([]string, n)
	for i := range texts {
		texts[i] = fmt.Sprintf("%s%d", prefix, i)
	}
	vs := make([]embed.Vector, n)
	for i, vals := range llmtest.Embed(texts, dims) {
		vs[i] = embed.Vector{ID: texts[i], Values: vals, Metadata: map[string]any{"n": float64(i)}} // as JSON brings it back
	}
	return vs
}

// sent returns the requests whose path ends with suffix.
func sent(srv *llmtest.Server, method, suffix string) []llmtest.Recorded {
	var out []llmtest.Recorded
	for _, r := range srv.Requests() {
		if r.Method == method && strings.HasSuffix(r.Path, suffix) {
			out = append(out, r)
		}
	}
	return out
}

func TestUpsertSendsNDJSONInRequestsOfAtMost5000(t *testing.T) {
	srv, c := vecServer(t)
	v := newIndex(t, c, "big", 4)
	vs := vectors(12000, 4, "v")
	if err := v.Upsert(t.Context(), vs); err != nil {
		t.Fatal(err)
	}
	reqs := sent(srv, "POST", "/vectorize/v2/indexes/big/upsert")
	if len(reqs) != 3 {
		t.Fatalf("%d upsert requests, want 3", len(reqs))
	}
	seen := map[string]int{}
	for _, r := range reqs {
		if ct := r.Header.Get("Content-Type"); ct != "application/x-ndjson" {
			t.Errorf("Content-Type %q", ct)
		}
		lines := bytes.Split(bytes.TrimSuffix(r.Body, []byte("\n")), []byte("\n"))
		if len(lines) > 5000 {
			t.Errorf("%d vectors in one request", len(lines))
		}
		for _, l := range lines {
			var x struct {
				ID       string         `json:"id"`
				Values   []float32      `json:"values"`
				Metadata map[string]any `json:"metadata"`
			}
			if err := json.Unmarshal(l, &x); err != nil || x.ID == "" || len(x.Values) != 4 || x.Metadata["n"] == nil {
				t.Fatalf("line %s: %v", l, err)
			}
			seen[x.ID]++
		}
	}
	if len(seen) != len(vs) {
		t.Errorf("%d distinct IDs sent, want %d", len(seen), len(vs))
	}
	for id, n := range seen {
		if n != 1 {
			t.Errorf("%s sent %d times", id, n)
		}
	}
	info, err := v.Info(t.Context())
	if err != nil || info.VectorCount != 12000 || info.ProcessedUpToMutation == "" {
		t.Errorf("info %+v, %v", info, err)
	}
	// The values arrive as sent: float32 survives the text round trip exactly.
	got, err := v.Get(t.Context(), "v11999", "missing", "v7")
	if err != nil {
		t.Fatal(err)
	}
	if diff := gocmp.Diff([]embed.Vector{vs[11999], vs[7]}, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}
}

func TestVectorizeRefusesBadInputBeforeAnyRequest(t *testing.T) {
	vec := func(id string, values ...float32) embed.Vector { return embed.Vector{ID: id, Values: values} }
	withMeta := func(md map[string]any) []embed.Vector {
		return []embed.Vector{{ID: "a", Values: []float32{1, 0}, Metadata: md}}
	}
	upsert := func(vs ...embed.Vector) func(context.Context, *embed.Vectorize) error {
		return func(ctx context.Context, v *embed.Vectorize) error { return v.Upsert(ctx, vs) }
	}
	query := func(vector []float32, q embed.Query) func(context.Context, *embed.Vectorize) error {
		return func(ctx context.Context, v *embed.Vectorize) error { _, err := v.Query(ctx, vector, q); return err }
	}
	long := strings.Repeat("x", 65)
	tests := []struct {
		name string
		opts []embed.VectorizeOption
		call func(context.Context, *embed.Vectorize) error
		want string
	}{
		{"dimension mismatch", nil, upsert(vec("a", 1, 0, 0)), "3 dimensions; the index has 2"},
		{"dimensions differ within a call", nil, upsert(vec("a", 1, 0), vec("b", 1, 0, 0)), `vector 1: vector "b" has 3 dimensions, the first vector 2`},
		{"more than 1536 dimensions", nil, upsert(embed.Vector{ID: "a", Values: make([]float32, 1537)}), "1537 dimensions; Vectorize takes at most 1536"},
		{"empty ID", nil, upsert(vec("", 1, 0)), "vector 0: empty ID"},
		{"ID over 64 bytes", nil, upsert(vec(long, 1, 0)), "is 65 bytes; Vectorize takes at most 64"},
		{"no values", nil, upsert(vec("a")), "has no values"},
		{"a value that is not finite", nil, upsert(vec("a", float32(math.NaN()), 0)), "not a finite number"},
		{"namespace over 64 bytes", nil, upsert(embed.Vector{ID: "a", Values: []float32{1, 0}, Namespace: long}), "namespace"},
		{"metadata over 10 KiB", nil, upsert(withMeta(map[string]any{"k": strings.Repeat("m", 10<<10)})...), "Vectorize takes at most 10240 (10 KiB)"},
		{"empty metadata key", nil, upsert(withMeta(map[string]any{"": 1})...), `metadata key ""`},
		{"metadata key with a dot", nil, upsert(withMeta(map[string]any{"a.b": 1})...), `metadata key "a.b"`},
		{"metadata key with a quote", nil, upsert(withMeta(map[string]any{`a"b`: 1})...), `metadata key "a\"b"`},
		{"metadata key starting with $", nil, upsert(withMeta(map[string]any{"$a": 1})...), `metadata key "$a"`},
		{"nested metadata key", nil, upsert(withMeta(map[string]any{"x": map[string]any{"$y": 1}})...), `metadata key "x.$y"`},
		{"metadata that is not JSON", nil, upsert(withMeta(map[string]any{"f": func() {}})...), "metadata: json"},
		{"TopK over 100", nil, query([]float32{1, 0}, embed.Query{TopK: 101}), "TopK 101: Vectorize returns 1 to 100 matches"},
		{"TopK over 20 with metadata", nil, query([]float32{1, 0}, embed.Query{TopK: 21, ReturnMetadata: true}), "1 to 20 matches with metadata"},
		{"TopK 0", nil, query([]float32{1, 0}, embed.Query{}), "TopK 0"},
		{"query namespace over 64 bytes", nil, query([]float32{1, 0}, embed.Query{TopK: 1, Namespace: long}), "namespace"},
		{"query dimension mismatch", nil, query([]float32{1}, embed.Query{TopK: 1}), "1 dimensions; the index has 2"},
		{"query over 1536 dimensions", nil, query(make([]float32, 1537), embed.Query{TopK: 1}), "1537 dimensions"},
		{"unknown filter operator", nil, query([]float32{1, 0}, embed.Query{TopK: 1, Filter: map[string]any{"a": map[string]any{"$like": "x"}}}), "unknown operator"},
		{"get an empty ID", nil, func(ctx context.Context, v *embed.Vectorize) error { _, err := v.Get(ctx, "a", ""); return err }, `ID 1 ("")`},
		{"delete an ID over 64 bytes", nil, func(ctx context.Context, v *embed.Vectorize) error { return v.Delete(ctx, long) }, "want 1 to 64 bytes"},
		{"wait for no mutation", nil, func(ctx context.Context, v *embed.Vectorize) error { return v.WaitFor(ctx, "") }, "empty mutation id"},
		{"metadata index of an unknown type", nil, func(ctx context.Context, v *embed.Vectorize) error {
			_, err := v.CreateMetadataIndex(ctx, "p", "date")
			return err
		}, `type "date"`},
		{"create from a model that does not embed", nil, func(ctx context.Context, v *embed.Vectorize) error {
			_, err := v.Create(ctx, embed.IndexConfig{Model: "@cf/meta/llama-3.1-8b-instruct"})
			return err
		}, "not an embeddings model"},
		{"create with dimensions the model does not make", nil, func(ctx context.Context, v *embed.Vectorize) error {
			_, err := v.Create(ctx, embed.IndexConfig{Model: small, Dimensions: 768})
			return err
		}, "makes 384"},
		{"create with an unknown metric", nil, func(ctx context.Context, v *embed.Vectorize) error {
			_, err := v.Create(ctx, embed.IndexConfig{Dimensions: 3, Metric: "manhattan"})
			return err
		}, `metric "manhattan"`},
		{"create over 1536 dimensions", nil, func(ctx context.Context, v *embed.Vectorize) error {
			_, err := v.Create(ctx, embed.IndexConfig{Dimensions: 2048})
			return err
		}, "Dimensions 2048"},
		{"dimensions option over 1536", []embed.VectorizeOption{embed.WithIndexDimensions(2000)}, upsert(vec("a", 1, 0)), "dimensions 2000"},
		{"write concurrency 0", []embed.VectorizeOption{embed.WithWriteConcurrency(0)}, upsert(vec("a", 1, 0)), "concurrency 0"},
		{"poll interval 0", []embed.VectorizeOption{embed.WithPollInterval(0, time.Second)}, upsert(vec("a", 1, 0)), "poll interval"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := vecServer(t)
			opts := append([]embed.VectorizeOption{embed.WithIndexDimensions(2)}, tt.opts...)
			err := tt.call(t.Context(), embed.NewVectorize(c, "idx", opts...))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if reqs := srv.Requests(); len(reqs) != 0 {
				t.Errorf("%d requests sent, the first %s %s", len(reqs), reqs[0].Method, reqs[0].Path)
			}
		})
	}
	for _, name := range []string{"", "a/b", "with space", strings.Repeat("n", 65)} {
		srv, c := vecServer(t)
		if err := embed.NewVectorize(c, name).Upsert(t.Context(), []embed.Vector{vec("a", 1)}); err == nil || !strings.Contains(err.Error(), "index name") {
			t.Errorf("index name %q: error %v", name, err)
		}
		if len(srv.Requests()) != 0 {
			t.Errorf("index name %q: a request was sent", name)
		}
	}
}

func TestUpsertKeepsTheLastOfRepeatedIDs(t *testing.T) {
	srv, c := vecServer(t)
	v := newIndex(t, c, "dups", 2)
	bad := []embed.Vector{{ID: "a", Values: []float32{float32(math.Inf(1)), 0}}, {ID: "a", Values: []float32{0, 1}}}
	if err := v.Upsert(t.Context(), bad); err == nil || !strings.Contains(err.Error(), "vector 0") {
		t.Errorf("an invalid vector replaced later in the call: %v", err)
	}
	if err := v.Upsert(t.Context(), []embed.Vector{{ID: "a", Values: []float32{1, 0}}, {ID: "b", Values: []float32{1, 1}}, {ID: "a", Values: []float32{0, 1}}}); err != nil {
		t.Fatal(err)
	}
	if body := string(sent(srv, "POST", "/dups/upsert")[0].Body); body != "{\"id\":\"b\",\"values\":[1,1]}\n{\"id\":\"a\",\"values\":[0,1]}\n" {
		t.Errorf("sent %q, want b then the last a", body)
	}
}

func TestDimensionsAreAskedOnceAndCached(t *testing.T) {
	srv, c := vecServer(t)
	newIndex(t, c, "dims", 3)
	v := embed.NewVectorize(c, "dims") // knows nothing of the index yet
	for range 2 {
		if err := v.Upsert(t.Context(), vectors(2, 3, "a")); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.Upsert(t.Context(), vectors(1, 4, "b")); err == nil || !strings.Contains(err.Error(), "4 dimensions; the index has 3") {
		t.Errorf("mismatch: %v", err)
	}
	if n := len(sent(srv, "GET", "/dims/info")); n != 1 {
		t.Errorf("%d info requests, want 1", n)
	}
	if n := len(sent(srv, "POST", "/dims/upsert")); n != 2 {
		t.Errorf("%d upsert requests, want 2 (none for the mismatch)", n)
	}
}

func TestQueryEncodesItsFilterExactly(t *testing.T) {
	srv, c := vecServer(t)
	v := newIndex(t, c, "films", 2)
	_, err := v.Query(t.Context(), []float32{0.5, -0.25}, embed.Query{
		TopK: 3, Namespace: "2024", ReturnMetadata: true,
		Filter: embed.Filter(embed.Eq("genre", "sci-fi"), embed.Lt("year", 2024), embed.In("lang", "en", "fr")),
	})
	if err != nil {
		t.Fatal(err)
	}
	reqs := sent(srv, "POST", "/films/query")
	want := `{"vector":[0.5,-0.25],"topK":3,"returnValues":false,"returnMetadata":"all","namespace":"2024",` +
		`"filter":{"genre":{"$eq":"sci-fi"},"lang":{"$in":["en","fr"]},"year":{"$lt":2024}}}`
	if len(reqs) != 1 || string(reqs[0].Body) != want {
		t.Fatalf("%d queries, the first %s; want %s", len(reqs), reqs[0].Body, want)
	}
	if _, err := v.Query(t.Context(), []float32{1, 0}, embed.Query{TopK: 100}); err != nil {
		t.Fatal(err)
	}
	if body := string(sent(srv, "POST", "/films/query")[1].Body); body != `{"vector":[1,0],"topK":100,"returnValues":false,"returnMetadata":"none"}` {
		t.Errorf("plain query %s", body)
	}
}

func TestWaitForPollsUntilTheWriteIsProcessed(t *testing.T) {
	srv, c := vecServer(t, llmtest.WithVectorizeDelay(100*time.Millisecond))
	v := newIndex(t, c, "slow", 8)
	ctx := t.Context()
	if err := v.Upsert(ctx, vectors(10, 8, "old")); err != nil {
		t.Fatal(err)
	}
	m1 := v.LastMutation()
	if err := v.WaitFor(ctx, m1); err != nil {
		t.Fatal(err)
	}
	if err := v.Upsert(ctx, vectors(5, 8, "new")); err != nil {
		t.Fatal(err)
	}
	m2 := v.LastMutation()
	if m2 == m1 || m2 == "" {
		t.Fatalf("mutations %q then %q", m1, m2)
	}
	info, err := v.Info(ctx)
	if err != nil || info.ProcessedUpToMutation != m1 || info.VectorCount != 10 {
		t.Fatalf("right after the write: %+v, %v; want the old mutation and 10 vectors", info, err)
	}
	infoBefore := len(sent(srv, "GET", "/slow/info"))
	if err := v.WaitFor(ctx, m2); err != nil {
		t.Fatal(err)
	}
	if polls := len(sent(srv, "GET", "/slow/info")) - infoBefore; polls < 2 {
		t.Errorf("WaitFor polled %d times; the first poll should have seen the old mutation", polls)
	}
	if info, err = v.Info(ctx); err != nil || info.ProcessedUpToMutation != m2 || info.VectorCount != 15 {
		t.Errorf("after WaitFor: %+v, %v", info, err)
	}
	hits, err := v.Query(ctx, vectors(5, 8, "new")[3].Values, embed.Query{TopK: 1})
	if err != nil || len(hits) != 1 || hits[0].ID != "new3" {
		t.Errorf("the new vector is not found: %v, %v", hits, err)
	}
}

func TestWaitForCountsALaterWriteOfItsOwn(t *testing.T) {
	// With opaque ids, "processed" can only be equality, or a later write of this Vectorize:
	// without the second rule, waiting for the first write after the second was processed
	// would never end.
	_, c := vecServer(t, llmtest.WithVectorizeDelay(20*time.Millisecond))
	v := newIndex(t, c, "order", 2)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	if err := v.Upsert(ctx, vectors(1, 2, "first")); err != nil {
		t.Fatal(err)
	}
	first := v.LastMutation()
	if err := v.Upsert(ctx, vectors(1, 2, "second")); err != nil {
		t.Fatal(err)
	}
	if err := v.WaitFor(ctx, v.LastMutation()); err != nil {
		t.Fatal(err)
	}
	if err := v.WaitFor(ctx, first); err != nil {
		t.Fatalf("waiting for the earlier write: %v", err)
	}
}

func TestSyncAndWaitForWritesMakeWritesVisible(t *testing.T) {
	_, c := vecServer(t, llmtest.WithVectorizeDelay(30*time.Millisecond))
	v := newIndex(t, c, "sync", 4)
	ctx := t.Context()
	vs := vectors(3, 4, "s")
	if err := v.Upsert(ctx, vs[:2]); err != nil {
		t.Fatal(err)
	}
	if err := v.Delete(ctx, "s0"); err != nil {
		t.Fatal(err)
	}
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if got, err := v.Get(ctx, "s0", "s1"); err != nil || len(got) != 1 || got[0].ID != "s1" {
		t.Errorf("after Sync: %v, %v", got, err)
	}

	waiting := embed.NewVectorize(c, "sync", embed.WithWaitForWrites(), embed.WithPollInterval(time.Millisecond, 5*time.Millisecond))
	if err := waiting.Upsert(ctx, vs[2:]); err != nil {
		t.Fatal(err)
	}
	if got, err := waiting.Get(ctx, "s2"); err != nil || len(got) != 1 {
		t.Errorf("WithWaitForWrites: the write is not visible on return: %v, %v", got, err)
	}
	ids, err := waiting.Insert(ctx, vectors(1, 4, "i"))
	if err != nil || len(ids) != 1 || ids[0] != waiting.LastMutation() {
		t.Errorf("Insert: %v, %v", ids, err)
	}
}

// waitCtx bounds a wait that must end: a client that cannot tell a write is processed
// polls until this deadline instead of hanging the test.
func waitCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestWaitForEachRequestOfASplitUpsert(t *testing.T) {
	// 12,000 vectors go in three requests; the emulator applies writes accepted close
	// together at once, so info can name the last of them without ever naming the others.
	_, c := vecServer(t, llmtest.WithVectorizeDelay(20*time.Millisecond))
	v := newIndex(t, c, "split", 4)
	ctx := waitCtx(t)
	mutations, err := v.Insert(ctx, vectors(12_000, 4, "v"))
	if err != nil || len(mutations) != 3 {
		t.Fatalf("insert: %d mutations, %v; want 3", len(mutations), err)
	}
	if v.LastMutation() != mutations[2] {
		t.Errorf("LastMutation %q, want the last request's %q", v.LastMutation(), mutations[2])
	}
	for i, m := range mutations {
		if err := v.WaitFor(ctx, m); err != nil {
			t.Fatalf("waiting for request %d: %v", i+1, err)
		}
	}
	if info, err := v.Info(ctx); err != nil || info.VectorCount != 12_000 {
		t.Errorf("after waiting: %+v, %v", info, err)
	}
	if err := v.Sync(ctx); err != nil {
		t.Errorf("Sync: %v", err)
	}
}

func TestSplitUpsertSendsItsLastRequestAfterTheOthersAreAccepted(t *testing.T) {
	srv, c := vecServer(t)
	v := newIndex(t, c, "fence", 2, embed.WithWriteConcurrency(8))
	if err := v.Upsert(t.Context(), vectors(15_001, 2, "v")); err != nil {
		t.Fatal(err)
	}
	reqs := sent(srv, "POST", "/fence/upsert")
	if len(reqs) != 4 {
		t.Fatalf("%d requests, want 4", len(reqs))
	}
	// The last vectors travel in the request that arrives last, on its own.
	if last := reqs[3].Body; bytes.Count(last, []byte("\n")) != 1 || !bytes.Contains(last, []byte(`"v15000"`)) {
		t.Errorf("the last request to arrive carries %d vectors, not just the last one", bytes.Count(last, []byte("\n")))
	}
}

func TestWaitForWithAnotherWriterOnTheIndex(t *testing.T) {
	// Another process writes to the same index after this one: info then names its write,
	// an id this Vectorize never saw, dated after this Vectorize's writes were accepted.
	_, c := vecServer(t, llmtest.WithVectorizeDelay(20*time.Millisecond))
	mine := newIndex(t, c, "shared", 4)
	other := embed.NewVectorize(c, "shared", embed.WithPollInterval(time.Millisecond, 5*time.Millisecond))
	ctx := waitCtx(t)
	ours, err := mine.Insert(ctx, vectors(6_000, 4, "mine"))
	if err != nil {
		t.Fatal(err)
	}
	if err := other.Upsert(ctx, vectors(3, 4, "other")); err != nil {
		t.Fatal(err)
	}
	if err := other.WaitFor(ctx, other.LastMutation()); err != nil {
		t.Fatal(err)
	}
	if info, err := mine.Info(ctx); err != nil || info.ProcessedUpToMutation != other.LastMutation() {
		t.Fatalf("info %+v, %v: want the other writer's mutation last", info, err)
	}
	for _, m := range ours {
		if err := mine.WaitFor(ctx, m); err != nil {
			t.Fatalf("waiting for my write after another's: %v", err)
		}
	}
	if err := mine.Sync(ctx); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	// An id from elsewhere is processed once info names it or a write made later.
	if err := mine.WaitFor(ctx, other.LastMutation()); err != nil {
		t.Fatalf("waiting for the other writer's mutation: %v", err)
	}
}

func TestWaitForWritesOnASplitUpsert(t *testing.T) {
	_, c := vecServer(t, llmtest.WithVectorizeDelay(20*time.Millisecond))
	newIndex(t, c, "waiting", 4)
	v := embed.NewVectorize(c, "waiting", embed.WithWaitForWrites(), embed.WithPollInterval(time.Millisecond, 5*time.Millisecond))
	ctx := waitCtx(t)
	vs := vectors(11_000, 4, "w")
	if err := v.Upsert(ctx, vs); err != nil {
		t.Fatal(err)
	}
	if info, err := v.Info(ctx); err != nil || info.VectorCount != 11_000 {
		t.Errorf("on return: %+v, %v", info, err)
	}
	if got, err := v.Get(ctx, "w0", "w5000", "w10999"); err != nil || len(got) != 3 {
		t.Errorf("on return, one vector of each request: %d found, %v", len(got), err)
	}
}

func TestSyncAfterConcurrentUpserts(t *testing.T) {
	// Upserts from several goroutines on one Vectorize: requests of different calls are
	// ordered by each call's last request, so Sync knows when all are processed.
	_, c := vecServer(t, llmtest.WithVectorizeDelay(20*time.Millisecond))
	v := newIndex(t, c, "many", 4)
	ctx := waitCtx(t)
	g, gctx := errgroup.WithContext(ctx)
	for i := range 6 {
		g.Go(func() error { return v.Upsert(gctx, vectors(2_600, 4, fmt.Sprintf("g%d-", i))) })
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := v.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if info, err := v.Info(ctx); err != nil || info.VectorCount != 6*2_600 {
		t.Errorf("after Sync: %+v, %v", info, err)
	}
}

func TestWaitForStopsWhenTheContextEnds(t *testing.T) {
	_, c := vecServer(t, llmtest.WithVectorizeDelay(time.Hour))
	v := newIndex(t, c, "never", 2)
	if err := v.Upsert(t.Context(), vectors(1, 2, "x")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Millisecond)
	defer cancel()
	if err := v.WaitFor(ctx, v.LastMutation()); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("error %v, want the deadline", err)
	}
}

func TestRAGFindsTheSameTopSourceOnBothStores(t *testing.T) {
	srv, c := vecServer(t)
	m := embed.New(c, small)
	v := embed.NewVectorize(c, "rag")
	if _, err := v.Create(t.Context(), embed.IndexConfig{Model: small}); err != nil {
		t.Fatal(err)
	}
	all := docs(40)
	mem, vz := embed.NewIndex(m), embed.NewIndexOn(m, v)
	for _, ix := range []*embed.Index{mem, vz} {
		if err := ix.Add(t.Context(), all...); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []int{0, 17, 39} {
		want, err := mem.Search(t.Context(), all[q].Text, 3)
		if err != nil {
			t.Fatal(err)
		}
		got, err := vz.Search(t.Context(), all[q].Text, 3)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || gocmp.Diff(all[q], got[0].Document) != "" || gocmp.Diff(want[0].Document, got[0].Document) != "" {
			t.Fatalf("query %d: Vectorize's first match %+v, memory's %+v", q, got, want)
		}
		for i := range want {
			if want[i].ID != got[i].ID || math.Abs(float64(want[i].Score-got[i].Score)) > 1e-4 {
				t.Errorf("query %d, match %d: %s %.5f on Vectorize, %s %.5f in memory", q, i, got[i].ID, got[i].Score, want[i].ID, want[i].Score)
			}
		}
	}
	// Adding the same documents again embeds nothing: Get finds them on Vectorize.
	before := len(sent(srv, "POST", "/ai/run/"+small))
	if err := vz.Add(t.Context(), all...); err != nil {
		t.Fatal(err)
	}
	if n := len(sent(srv, "POST", "/ai/run/"+small)) - before; n != 0 {
		t.Errorf("re-adding stored documents made %d embedding requests", n)
	}
}

func TestIndexManagement(t *testing.T) {
	srv, c := vecServer(t)
	ctx := t.Context()
	v := embed.NewVectorize(c, "managed")
	desc, err := v.Create(ctx, embed.IndexConfig{Model: large, Description: "bge-large chunks"})
	if err != nil {
		t.Fatal(err)
	}
	if desc.Name != "managed" || desc.Dimensions != 1024 || desc.Metric != embed.MetricCosine || desc.Description != "bge-large chunks" || desc.CreatedOn.IsZero() {
		t.Errorf("created %+v", desc)
	}
	if _, err := v.Create(ctx, embed.IndexConfig{Model: large}); err == nil {
		t.Error("a second index of the same name was created")
	}
	if _, err := embed.NewVectorize(c, "dots").Create(ctx, embed.IndexConfig{Dimensions: 3, Metric: embed.MetricDotProduct}); err != nil {
		t.Fatal(err)
	}
	list, err := embed.ListVectorizeIndexes(ctx, c)
	if err != nil || len(list) != 2 || list[0].Name != "dots" || list[0].Metric != embed.MetricDotProduct || list[1].Dimensions != 1024 {
		t.Errorf("list %+v, %v", list, err)
	}
	if got, err := v.Describe(ctx); err != nil || got.Dimensions != 1024 {
		t.Errorf("describe %+v, %v", got, err)
	}
	if info, err := v.Info(ctx); err != nil || info.Dimensions != 1024 || info.VectorCount != 0 || info.ProcessedUpToMutation != "" {
		t.Errorf("info %+v, %v", info, err)
	}

	for i := range embed.MaxMetadataIndexes {
		if id, err := v.CreateMetadataIndex(ctx, fmt.Sprintf("p%d", i), embed.MetadataString); err != nil || id == "" {
			t.Fatalf("metadata index %d: %q, %v", i, id, err)
		}
	}
	creates := len(sent(srv, "POST", "/metadata_index/create"))
	if _, err := v.CreateMetadataIndex(ctx, "p10", embed.MetadataNumber); err == nil || !strings.Contains(err.Error(), "has 10 already") {
		t.Errorf("an eleventh metadata index: %v", err)
	}
	if n := len(sent(srv, "POST", "/metadata_index/create")); n != creates {
		t.Error("the eleventh metadata index was sent")
	}
	if _, err := v.DeleteMetadataIndex(ctx, "p3"); err != nil {
		t.Fatal(err)
	}
	mis, err := v.MetadataIndexes(ctx)
	if err != nil || len(mis) != 9 || mis[0] != (embed.MetadataIndex{Property: "p0", Type: embed.MetadataString}) {
		t.Errorf("metadata indexes %+v, %v", mis, err)
	}

	if err := v.DeleteIndex(ctx); err != nil {
		t.Fatal(err)
	}
	_, err = v.Describe(ctx)
	if e, ok := errors.AsType[*llm.Error](err); !errors.Is(err, embed.ErrIndexNotFound) || !ok || e.Code != 3000 {
		t.Errorf("describe after delete: %v", err)
	}
	if err := v.Upsert(ctx, vectors(1, 1024, "x")); !errors.Is(err, embed.ErrIndexNotFound) {
		t.Errorf("upsert into a deleted index: %v", err)
	}
}

// BenchmarkVectorizeUpsert measures upsert throughput into the emulator's Vectorize:
// 20,000 vectors of 384 dimensions (4 requests of 5,000), one request at a time or four.
func BenchmarkVectorizeUpsert(b *testing.B) {
	vs := vectors(20000, 384, "v")
	for _, conc := range []int{1, 4} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			_, c := vecServer(b)
			v := newIndex(b, c, "bench", 384, embed.WithWriteConcurrency(conc))
			for b.Loop() {
				if err := v.Upsert(b.Context(), vs); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(len(vs)*b.N)/b.Elapsed().Seconds(), "vectors/s")
		})
	}
}

func TestVectorizeQueryRefusesAZeroVectorUnlessEuclidean(t *testing.T) {
	srv, c := vecServer(t)
	cosine := newIndex(t, c, "cos", 2)
	if err := cosine.Upsert(t.Context(), []embed.Vector{{ID: "a", Values: []float32{1, 0}}}); err != nil {
		t.Fatal(err)
	}
	before := len(srv.Requests())
	if hits, err := cosine.Query(t.Context(), []float32{0, 0}, embed.Query{TopK: 1}); err == nil || !strings.Contains(err.Error(), "all zeros") {
		t.Errorf("zero vector on a cosine index: %v, %v", hits, err)
	}
	// A Vectorize that has not learnt the metric refuses too.
	fresh := embed.NewVectorize(c, "cos", embed.WithIndexDimensions(2))
	if _, err := fresh.Query(t.Context(), []float32{0, 0}, embed.Query{TopK: 1}); err == nil {
		t.Error("zero vector accepted with the metric unknown")
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Errorf("%d requests sent for a zero vector", n)
	}
	if _, err := fresh.Describe(t.Context()); err != nil {
		t.Fatal(err)
	}
	if _, err := fresh.Query(t.Context(), []float32{0, 0}, embed.Query{TopK: 1}); err == nil {
		t.Error("zero vector accepted after Describe said cosine")
	}

	// On a euclidean index the origin is a point like any other.
	euclid := embed.NewVectorize(c, "far", embed.WithPollInterval(time.Millisecond, 5*time.Millisecond))
	if _, err := euclid.Create(t.Context(), embed.IndexConfig{Dimensions: 2, Metric: embed.MetricEuclidean}); err != nil {
		t.Fatal(err)
	}
	if err := euclid.Upsert(t.Context(), []embed.Vector{{ID: "near", Values: []float32{1, 0}}, {ID: "far", Values: []float32{5, 5}}}); err != nil {
		t.Fatal(err)
	}
	if hits, err := euclid.Query(t.Context(), []float32{0, 0}, embed.Query{TopK: 1}); err != nil || len(hits) != 1 || hits[0].ID != "near" {
		t.Errorf("zero vector on a euclidean index: %v, %v", hits, err)
	}
}
