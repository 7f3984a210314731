package embed_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/embed"
)

func TestFilterBuildsTheMapVectorizeTakes(t *testing.T) {
	tests := []struct {
		name string
		f    map[string]any
		want string
	}{
		{"two keys", embed.Filter(embed.Eq("genre", "sci-fi"), embed.Lt("year", 2024)), `{"genre":{"$eq":"sci-fi"},"year":{"$lt":2024}}`},
		{"a range on one key", embed.Filter(embed.Gte("year", 2020), embed.Lt("year", 2024)), `{"year":{"$gte":2020,"$lt":2024}}`},
		{"lists", embed.Filter(embed.In("year", 2020, 2021), embed.Nin("genre", "drama")), `{"genre":{"$nin":["drama"]},"year":{"$in":[2020,2021]}}`},
		{"the rest", embed.Filter(embed.Ne("draft", true), embed.Gt("score", 0.5), embed.Lte("name", "m")), `{"draft":{"$ne":true},"name":{"$lte":"m"},"score":{"$gt":0.5}}`},
		{"nothing", embed.Filter(), `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.f)
			if err != nil || string(got) != tt.want {
				t.Fatalf("%s, %v; want %s", got, err, tt.want)
			}
		})
	}
}

// filterStore holds five vectors, all equally similar to the query, with varied metadata.
func filterStore(t *testing.T) *embed.MemoryStore {
	t.Helper()
	s := embed.NewMemoryStore()
	err := s.Upsert(t.Context(), []embed.Vector{
		{ID: "a", Values: []float32{1, 0}, Metadata: map[string]any{"genre": "sci-fi", "year": 2019, "draft": false}},
		{ID: "b", Values: []float32{1, 0}, Metadata: map[string]any{"genre": "drama", "year": 2023.0, "score": 0.1}},
		{ID: "c", Values: []float32{1, 0}, Metadata: map[string]any{"genre": "sci-fi", "year": int64(2024), "info": map[string]any{"lang": "en"}}},
		{ID: "d", Values: []float32{1, 0}, Metadata: map[string]any{"year": "2021", "draft": true}},
		{ID: "e", Values: []float32{1, 0}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// filterCases are evaluated by both stores; want lists the matching IDs in order. Every
// operator's semantics are tested in internal/vecfilter; these show both stores use them.
var filterCases = []struct {
	name string
	f    map[string]any
	want []string
}{
	{"shorthand equality", map[string]any{"genre": "sci-fi"}, []string{"a", "c"}},
	{"$eq", embed.Filter(embed.Eq("genre", "drama")), []string{"b"}},
	{"$eq on a bool", embed.Filter(embed.Eq("draft", true)), []string{"d"}},
	{"$ne passes a missing property", embed.Filter(embed.Ne("genre", "sci-fi")), []string{"b", "d", "e"}},
	{"$in", embed.Filter(embed.In("year", 2019, 2023)), []string{"a", "b"}},
	{"$nin passes a missing property", embed.Filter(embed.Nin("genre", "sci-fi", "drama")), []string{"d", "e"}},
	{"$lt on numbers skips strings", embed.Filter(embed.Lt("year", 2024)), []string{"a", "b"}},
	{"$lte", embed.Filter(embed.Lte("year", 2023)), []string{"a", "b"}},
	{"$gt", embed.Filter(embed.Gt("year", 2019)), []string{"b", "c"}},
	{"$gte and $lt make a range", embed.Filter(embed.Gte("year", 2019), embed.Lt("year", 2024)), []string{"a", "b"}},
	{"$gt on strings", embed.Filter(embed.Gt("year", "2000")), []string{"d"}},
	{"two keys", embed.Filter(embed.Eq("genre", "sci-fi"), embed.Lt("year", 2024)), []string{"a"}},
	{"int16", embed.Filter(embed.Eq("year", int16(2019))), []string{"a"}},
	{"uint16", embed.Filter(embed.Lt("year", uint16(2020))), []string{"a"}},
	{"uint64 and int8 in a list", embed.Filter(embed.In("year", uint64(2023), int8(1))), []string{"b"}},
	{"uint32", embed.Filter(embed.Gte("year", uint32(2024))), []string{"c"}},
	{"float32 0.1 is the stored 0.1", embed.Filter(embed.Eq("score", float32(0.1))), []string{"b"}},
	{"float32 orders as its decimal", embed.Filter(embed.Gte("score", float32(0.1))), []string{"b"}},
}

func TestMemoryStoreEvaluatesEveryOperator(t *testing.T) {
	s := filterStore(t)
	for _, tt := range filterCases {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := s.Query(t.Context(), []float32{1, 0}, embed.Query{TopK: 10, Filter: tt.f})
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(tt.want, hitIDs(hits)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func hitIDs(hits []embed.Hit) []string {
	ids := []string{}
	for _, h := range hits {
		ids = append(ids, h.ID)
	}
	return ids
}

// badFilters are refused by both stores before anything is searched or sent; the full list
// of what is refused is tested in internal/vecfilter. Most of these are mistakes Filter
// lets through: an operator twice, In without values, or with a slice where values go.
var badFilters = []struct {
	name string
	f    map[string]any
	want string
}{
	{"unknown operator", map[string]any{"year": map[string]any{"$regex": "x"}}, `unknown operator "$regex"`},
	{"one operator twice", embed.Filter(embed.Lt("year", 2024), embed.Lt("year", 2020)), "$lt given twice (2024 and 2020)"},
	{"empty $in", embed.Filter(embed.In("year")), "non-empty list"},
	{"$in with a list inside", embed.Filter(embed.In("x", []int{1})), "item 0"},
	{"empty part between dots", map[string]any{"a..b": "x"}, "empty part between dots"},
	{"NaN", embed.Filter(embed.Gt("score", math.NaN())), "not a finite number"},
}

func TestFiltersAreValidated(t *testing.T) {
	s := filterStore(t)
	for _, tt := range badFilters {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Query(context.Background(), []float32{1, 0}, embed.Query{TopK: 1, Filter: tt.f})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBothStoresAgreeOnEveryOperator(t *testing.T) {
	srv, c := vecServer(t)
	v := embed.NewVectorize(c, "filters")
	if _, err := v.Create(t.Context(), embed.IndexConfig{Dimensions: 2}); err != nil {
		t.Fatal(err)
	}
	for p, typ := range map[string]embed.MetadataType{"genre": embed.MetadataString, "year": embed.MetadataNumber, "draft": embed.MetadataBoolean, "score": embed.MetadataNumber} {
		if _, err := v.CreateMetadataIndex(t.Context(), p, typ); err != nil {
			t.Fatal(err)
		}
	}
	all, err := filterStore(t).Get(t.Context(), "a", "b", "c", "d", "e")
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Upsert(t.Context(), all); err != nil {
		t.Fatal(err)
	}
	for _, tt := range filterCases {
		t.Run(tt.name, func(t *testing.T) {
			hits, err := v.Query(t.Context(), []float32{1, 0}, embed.Query{TopK: 10, Filter: tt.f})
			if err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(tt.want, hitIDs(hits)); diff != "" {
				t.Errorf("Vectorize differs from MemoryStore (-want +got):\n%s", diff)
			}
		})
	}
	before := len(srv.Requests())
	for _, tt := range badFilters {
		if _, err := v.Query(t.Context(), []float32{1, 0}, embed.Query{TopK: 1, Filter: tt.f}); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.name, err, tt.want)
		}
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Errorf("%d requests sent for invalid filters", n)
	}
}
