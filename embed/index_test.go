package embed_test

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/embed"
)

func docs(n int) []embed.Document {
	out := make([]embed.Document, n)
	for i := range out {
		out[i] = embed.Document{ID: fmt.Sprintf("doc%d", i), Text: fmt.Sprintf("text of document %d", i),
			Meta: map[string]string{"n": fmt.Sprint(i)}}
	}
	return out
}

func TestIndexFindsTheDocumentItWasGiven(t *testing.T) {
	// Emulator vectors are hash-based: only identical text is similar, which is enough to
	// check the plumbing from request to ranked match.
	_, c := newServer(t, nil)
	ix := embed.NewIndex(embed.New(c, small))
	all := docs(20)
	if err := ix.Add(t.Context(), all...); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 20 {
		t.Fatalf("Len() = %d, want 20", ix.Len())
	}
	matches, err := ix.Search(t.Context(), all[7].Text, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(matches) != 3 {
		t.Fatalf("%d matches, want 3", len(matches))
	}
	if diff := gocmp.Diff(all[7], matches[0].Document); diff != "" {
		t.Errorf("best match differs from the document (-want +got):\n%s", diff)
	}
	if math.Abs(float64(matches[0].Score)-1) > 1e-5 {
		t.Errorf("score %v for identical text, want 1", matches[0].Score)
	}
	if !(matches[0].Score >= matches[1].Score && matches[1].Score >= matches[2].Score) {
		t.Errorf("scores not in descending order: %v %v %v", matches[0].Score, matches[1].Score, matches[2].Score)
	}
}

func TestAddEmbedsOnlyNewOrChangedDocuments(t *testing.T) {
	srv, c := newServer(t, nil)
	ix := embed.NewIndex(embed.New(c, small))
	all := docs(5)
	requests := func() int { return len(srv.Requests()) }

	if err := ix.Add(t.Context(), all[:3]...); err != nil {
		t.Fatal(err)
	}
	if requests() != 1 {
		t.Fatalf("%d requests for 3 new documents, want 1", requests())
	}
	if err := ix.Add(t.Context(), all[:3]...); err != nil {
		t.Fatal(err)
	}
	if requests() != 1 {
		t.Fatal("adding the same documents again sent a request")
	}

	if err := ix.Add(t.Context(), all[:4]...); err != nil {
		t.Fatal(err)
	}
	if got := sentTexts(t, srv.Requests()[1]); !slices.Equal(got, []string{all[3].Text}) {
		t.Fatalf("sent %q, want only the new document's text", got)
	}

	changed := all[1]
	changed.Text = "a new text for document 1"
	if err := ix.Add(t.Context(), changed); err != nil {
		t.Fatal(err)
	}
	if got := sentTexts(t, srv.Requests()[2]); !slices.Equal(got, []string{changed.Text}) {
		t.Fatalf("sent %q, want the changed text", got)
	}
	m, err := ix.Search(t.Context(), changed.Text, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m[0].ID != "doc1" || m[0].Text != changed.Text || math.Abs(float64(m[0].Score)-1) > 1e-5 {
		t.Fatalf("best match %+v, want doc1 with its new text", m[0])
	}

	retagged := all[2]
	retagged.Meta = map[string]string{"n": "two"}
	if err := ix.Add(t.Context(), retagged); err != nil {
		t.Fatal(err)
	}
	if n := requests(); n != 4 { // 4th is the Search above
		t.Fatalf("%d requests: a change of Meta alone must not re-embed", n)
	}
	m, err = ix.Search(t.Context(), retagged.Text, 1)
	if err != nil {
		t.Fatal(err)
	}
	if m[0].ID != "doc2" || m[0].Meta["n"] != "two" {
		t.Fatalf("best match %+v, want doc2 with its new Meta", m[0])
	}
	if ix.Len() != 4 {
		t.Fatalf("Len() = %d, want 4", ix.Len())
	}
}

func TestAddRejectsBadDocuments(t *testing.T) {
	e := &hashEmbedder{id: "hash", dims: 8}
	tests := []struct {
		name string
		docs []embed.Document
		want string
	}{
		{"empty ID", []embed.Document{{ID: "a", Text: "x"}, {Text: "y"}}, "document 1 has an empty ID"},
		{"repeated ID", []embed.Document{{ID: "a", Text: "x"}, {ID: "a", Text: "y"}}, `document 1 repeats the ID "a"`},
		{"blank text", []embed.Document{{ID: "a", Text: " \n"}}, `document "a" has no text`},
		{"reserved Meta key", []embed.Document{{ID: "a", Text: "x", Meta: map[string]string{"text": "y"}}}, `Meta key "text" is reserved`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix := embed.NewIndex(e)
			err := ix.Add(t.Context(), tt.docs...)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if ix.Len() != 0 || e.texts.Load() != 0 {
				t.Error("something was embedded or stored")
			}
		})
	}
}

func TestFailedEmbeddingStoresNothing(t *testing.T) {
	boom := errors.New("boom")
	ix := embed.NewIndex(&hashEmbedder{dims: 8, err: boom})
	if err := ix.Add(t.Context(), docs(3)...); !errors.Is(err, boom) {
		t.Fatalf("error %v, want the Embedder's", err)
	}
	if ix.Len() != 0 {
		t.Fatalf("Len() = %d after a failed Add", ix.Len())
	}
}

func TestSearchArguments(t *testing.T) {
	ix := embed.NewIndex(&hashEmbedder{dims: 8})
	if m, err := ix.Search(t.Context(), "anything", 3); err != nil || len(m) != 0 {
		t.Fatalf("search of an empty index = %v, %v; want no matches", m, err)
	}
	if _, err := ix.Search(t.Context(), "q", 0); err == nil || !strings.Contains(err.Error(), "k 0") {
		t.Errorf("error %v for k 0", err)
	}
	if _, err := ix.Search(t.Context(), "  ", 1); err == nil || !strings.Contains(err.Error(), "empty query") {
		t.Errorf("error %v for a blank query", err)
	}
	if err := embed.NewIndex(nil).Add(t.Context(), docs(1)...); err == nil || !strings.Contains(err.Error(), "no Embedder") {
		t.Errorf("error %v for an index without an Embedder", err)
	}
}

func TestIndexDelete(t *testing.T) {
	ix := embed.NewIndex(&hashEmbedder{dims: 16})
	all := docs(10)
	if err := ix.Add(t.Context(), all...); err != nil {
		t.Fatal(err)
	}
	if err := ix.Delete(t.Context(), "doc0", "doc5", "missing"); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != 8 {
		t.Fatalf("Len() = %d, want 8", ix.Len())
	}
	for i, d := range all {
		m, err := ix.Search(t.Context(), d.Text, 1)
		if err != nil {
			t.Fatal(err)
		}
		found := m[0].ID == d.ID
		if deleted := i == 0 || i == 5; found == deleted {
			t.Errorf("%s: found %v after deleting doc0 and doc5", d.ID, found)
		}
	}
}

// countlessStore is a Store without a Len method.
type countlessStore struct{ embed.Store }

func TestLenWithoutACountingStore(t *testing.T) {
	ix := embed.NewIndexOn(&hashEmbedder{dims: 8}, countlessStore{embed.NewMemoryStore()})
	if err := ix.Add(t.Context(), docs(2)...); err != nil {
		t.Fatal(err)
	}
	if ix.Len() != -1 {
		t.Fatalf("Len() = %d, want -1", ix.Len())
	}
	if err := ix.Save(&strings.Builder{}); err == nil || !strings.Contains(err.Error(), "MemoryStore") {
		t.Fatalf("Save of an index on another Store: %v", err)
	}
}

func TestConcurrentAddAndSearch(t *testing.T) {
	ix := embed.NewIndex(&hashEmbedder{dims: 32})
	const writers, perWriter = 4, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				d := embed.Document{ID: fmt.Sprintf("w%d-%d", w, i), Text: fmt.Sprintf("writer %d text %d", w, i)}
				if err := ix.Add(t.Context(), d); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	for r := range 4 {
		wg.Go(func() {
			for i := range 100 {
				m, err := ix.Search(t.Context(), fmt.Sprintf("writer %d text %d", r, i%perWriter), 5)
				if err != nil {
					t.Error(err)
					return
				}
				for j := range m {
					if m[j].Text == "" || (j > 0 && m[j].Score > m[j-1].Score) {
						t.Errorf("inconsistent result during adds: %+v", m)
						return
					}
				}
			}
		})
	}
	wg.Wait()
	if ix.Len() != writers*perWriter {
		t.Fatalf("Len() = %d, want %d", ix.Len(), writers*perWriter)
	}
}

func randomVectors(n, dims int, seed uint64) [][]float32 {
	r := rand.New(rand.NewPCG(seed, seed+1))
	out := make([][]float32, n)
	for i := range out {
		out[i] = make([]float32, dims)
		for j := range out[i] {
			out[i][j] = float32(r.NormFloat64())
		}
	}
	return out
}

func TestMemoryStoreQueryMatchesAFullSort(t *testing.T) {
	// The large store is over a million values, so with several Ps it is scanned in parts.
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(4))
	for _, size := range []struct{ n, dims int }{{500, 24}, {3000, 384}} {
		t.Run(fmt.Sprintf("%dx%d", size.n, size.dims), func(t *testing.T) {
			vecs := randomVectors(size.n, size.dims, 7)
			s := embed.NewMemoryStore()
			var vs []embed.Vector
			for i, v := range vecs {
				vs = append(vs, embed.Vector{ID: fmt.Sprintf("v%04d", i), Values: v})
			}
			if err := s.Upsert(t.Context(), vs); err != nil {
				t.Fatal(err)
			}
			q := randomVectors(1, size.dims, 99)[0]
			want := map[string]float32{}
			var scores []float32
			for i, v := range vecs {
				c := embed.Cosine(q, v)
				want[fmt.Sprintf("v%04d", i)] = c
				scores = append(scores, c)
			}
			slices.SortFunc(scores, func(a, b float32) int { return cmp.Compare(b, a) })
			for _, k := range []int{1, 2, 10, size.n - 1, size.n, size.n + 100} {
				hits, err := s.Query(t.Context(), q, embed.Query{TopK: k})
				if err != nil {
					t.Fatal(err)
				}
				if len(hits) != min(k, size.n) {
					t.Fatalf("k=%d: %d hits", k, len(hits))
				}
				seen := map[string]bool{}
				for i, h := range hits {
					// The i-th hit has the i-th best score, and it is its own score.
					if math.Abs(float64(h.Score-scores[i])) > 1e-5 || math.Abs(float64(h.Score-want[h.ID])) > 1e-5 || seen[h.ID] {
						t.Fatalf("k=%d: hit %d is %s scoring %v; the %d-th best score is %v and %s scores %v",
							k, i, h.ID, h.Score, i+1, scores[i], h.ID, want[h.ID])
					}
					seen[h.ID] = true
				}
			}
		})
	}
}

func TestMemoryStore(t *testing.T) {
	ctx := t.Context()
	s := embed.NewMemoryStore()
	err := s.Upsert(ctx, []embed.Vector{
		{ID: "a", Values: []float32{1, 0, 0}, Metadata: map[string]any{"lang": "en", "year": 2024}},
		{ID: "b", Values: []float32{0, 2, 0}, Metadata: map[string]any{"lang": "fr", "year": 2025.0}, Namespace: "docs"},
		{ID: "c", Values: []float32{1, 1, 0}, Metadata: map[string]any{"lang": "en", "draft": true}, Namespace: "docs"},
	})
	if err != nil {
		t.Fatal(err)
	}
	q := []float32{1, 0.1, 0}
	ids := func(hits []embed.Hit) []string {
		var out []string
		for _, h := range hits {
			out = append(out, h.ID)
		}
		return out
	}
	tests := []struct {
		name string
		q    embed.Query
		want []string
	}{
		{"all, by similarity", embed.Query{TopK: 3}, []string{"a", "c", "b"}},
		{"namespace", embed.Query{TopK: 3, Namespace: "docs"}, []string{"c", "b"}},
		{"string filter", embed.Query{TopK: 3, Filter: map[string]any{"lang": "en"}}, []string{"a", "c"}},
		{"numbers compare by value", embed.Query{TopK: 3, Filter: map[string]any{"year": 2025}}, []string{"b"}},
		{"bool filter", embed.Query{TopK: 3, Filter: map[string]any{"draft": true}}, []string{"c"}},
		{"missing key matches nothing", embed.Query{TopK: 3, Filter: map[string]any{"nope": "x"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := s.Query(ctx, q, tt.q)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(hits); !slices.Equal(got, tt.want) {
				t.Fatalf("hits %v, want %v", got, tt.want)
			}
			for _, h := range hits {
				if h.Metadata != nil {
					t.Errorf("metadata returned without ReturnMetadata")
				}
			}
		})
	}

	hits, err := s.Query(ctx, q, embed.Query{TopK: 1, ReturnMetadata: true})
	if err != nil || hits[0].Metadata["lang"] != "en" {
		t.Fatalf("ReturnMetadata: %v, %v", hits, err)
	}
	hits[0].Metadata["lang"] = "changed"
	got, err := s.Get(ctx, "c", "missing", "a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].ID != "c" || got[1].ID != "a" || got[1].Metadata["lang"] != "en" {
		t.Fatalf("Get = %+v, want c then a, with a's metadata unchanged by the caller", got)
	}
	if !near(got[0].Values, []float32{float32(1 / math.Sqrt2), float32(1 / math.Sqrt2), 0}) {
		t.Errorf("stored values %v, want unit length", got[0].Values)
	}

	for _, bad := range []struct {
		name string
		q    embed.Query
		v    []float32
		want string
	}{
		{"TopK 0", embed.Query{}, q, "TopK 0"},
		{"wrong dimension", embed.Query{TopK: 1}, []float32{1, 0}, "2 dimensions; the store holds 3"},
		{"unfilterable value", embed.Query{TopK: 1, Filter: map[string]any{"lang": []string{"en"}}}, q, "is not a string, number or bool"},
		{"NaN in the query", embed.Query{TopK: 1}, []float32{1, float32(math.Inf(1)), 0}, "not a finite number"},
	} {
		if _, err := s.Query(ctx, bad.v, bad.q); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("%s: error %v, want %q", bad.name, err, bad.want)
		}
	}
}

func TestMemoryStoreUpsertIsAllOrNothing(t *testing.T) {
	tests := []struct {
		name string
		v    embed.Vector
		want string
	}{
		{"empty ID", embed.Vector{Values: []float32{1, 0}}, "vector 1 has an empty ID"},
		{"no values", embed.Vector{ID: "x"}, `"x" has no values`},
		{"dimension", embed.Vector{ID: "x", Values: []float32{1, 0, 0}}, "3 dimensions; the store holds 2"},
		{"NaN", embed.Vector{ID: "x", Values: []float32{float32(math.NaN()), 0}}, "not a finite number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := embed.NewMemoryStore()
			if err := s.Upsert(t.Context(), []embed.Vector{{ID: "first", Values: []float32{1, 0}}}); err != nil {
				t.Fatal(err)
			}
			err := s.Upsert(t.Context(), []embed.Vector{{ID: "ok", Values: []float32{0, 1}}, tt.v})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if s.Len() != 1 {
				t.Fatalf("Len() = %d: the valid vector in the failed call was stored", s.Len())
			}
		})
	}
}

func TestMemoryStoreHonoursCancellation(t *testing.T) {
	s := embed.NewMemoryStore()
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := s.Upsert(ctx, []embed.Vector{{ID: "a", Values: []float32{1}}}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Upsert: %v", err)
	}
	if _, err := s.Query(ctx, []float32{1}, embed.Query{TopK: 1}); !errors.Is(err, context.Canceled) {
		t.Fatalf("Query: %v", err)
	}
}

// constEmbedder embeds every text as the same vector.
type constEmbedder []float32

func (c constEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = slices.Clone(c)
	}
	return out, nil
}

func TestQueryRefusesVectorsThatCannotRank(t *testing.T) {
	s := embed.NewMemoryStore()
	if err := s.Upsert(t.Context(), []embed.Vector{{ID: "a", Values: []float32{1, 0}}, {ID: "b", Values: []float32{0, 1}}}); err != nil {
		t.Fatal(err)
	}
	nan, inf := float32(math.NaN()), float32(math.Inf(1))
	for _, tt := range []struct {
		name   string
		vector []float32
		want   string
	}{
		{"zero", []float32{0, 0}, "all zeros"},
		{"negative zero", []float32{float32(math.Copysign(0, -1)), 0}, "all zeros"},
		{"empty", nil, "empty"},
		{"NaN", []float32{nan, 1}, "not a finite number"},
		{"infinite", []float32{1, inf}, "not a finite number"},
		{"wrong dimension", []float32{1, 0, 0}, "3 dimensions; the store holds 2"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := s.Query(t.Context(), tt.vector, embed.Query{TopK: 2})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Query = %v, %v; want an error with %q", hits, err, tt.want)
			}
		})
	}

	// Index.Search passes the refusal on when the Embedder returns such a vector.
	ix := embed.NewIndexOn(constEmbedder{0, 0}, s)
	if m, err := ix.Search(t.Context(), "anything", 1); err == nil || !strings.Contains(err.Error(), "all zeros") {
		t.Errorf("Search with a zero query vector = %v, %v", m, err)
	}
}
