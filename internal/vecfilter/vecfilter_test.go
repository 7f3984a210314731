package vecfilter_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/internal/vecfilter"
)

// metadata is what the match tests filter: numbers of several Go types, as embed's callers
// store them, a string where the others hold a number, a null and nested objects.
var metadata = map[string]map[string]any{
	"a": {"genre": "sci-fi", "year": 2019, "draft": false},
	"b": {"genre": "drama", "year": 2023.0},
	"c": {"genre": "sci-fi", "year": int64(2024), "info": map[string]any{"lang": "en"}},
	"d": {"year": "2021", "draft": true},
	"e": nil,
	"f": {"genre": nil, "info": "flat"},
}

// matching returns the sorted IDs of the metadata that meets f, failing the test if f does
// not parse.
func matching(t *testing.T, f map[string]any, metadata map[string]map[string]any) []string {
	t.Helper()
	conds, err := vecfilter.Parse(f)
	if err != nil {
		t.Fatal(err)
	}
	ids := []string{}
	for _, id := range slices.Sorted(maps.Keys(metadata)) {
		if vecfilter.MatchAll(conds, metadata[id]) {
			ids = append(ids, id)
		}
	}
	return ids
}

func ops(op string, v any) map[string]any { return map[string]any{op: v} }

func TestMatchAllEvaluatesEveryOperator(t *testing.T) {
	tests := []struct {
		name string
		f    map[string]any
		want []string
	}{
		{"no filter matches everything", nil, []string{"a", "b", "c", "d", "e", "f"}},
		{"shorthand equality", map[string]any{"genre": "sci-fi"}, []string{"a", "c"}},
		{"$eq", map[string]any{"genre": ops("$eq", "drama")}, []string{"b"}},
		{"$eq on a bool", map[string]any{"draft": ops("$eq", true)}, []string{"d"}},
		{"$ne passes a missing or null property", map[string]any{"genre": ops("$ne", "sci-fi")}, []string{"b", "d", "e", "f"}},
		{"$in", map[string]any{"year": ops("$in", []any{2019, 2023})}, []string{"a", "b"}},
		{"$in takes a typed slice", map[string]any{"genre": ops("$in", []string{"drama"})}, []string{"b"}},
		{"$nin passes a missing or null property", map[string]any{"genre": ops("$nin", []any{"sci-fi", "drama"})}, []string{"d", "e", "f"}},
		{"$lt on numbers skips strings", map[string]any{"year": ops("$lt", 2024)}, []string{"a", "b"}},
		{"$lte", map[string]any{"year": ops("$lte", 2023)}, []string{"a", "b"}},
		{"$gt", map[string]any{"year": ops("$gt", 2019)}, []string{"b", "c"}},
		{"$gte and $lt make a range", map[string]any{"year": map[string]any{"$gte": 2019, "$lt": 2024}}, []string{"a", "b"}},
		{"$gt on strings skips numbers", map[string]any{"year": ops("$gt", "2000")}, []string{"d"}},
		{"two keys must both hold", map[string]any{"genre": "sci-fi", "year": ops("$lt", 2024)}, []string{"a"}},
		{"a nested property", map[string]any{"info.lang": "en"}, []string{"c"}},
		{"$eq nil matches a missing or null property", map[string]any{"genre": ops("$eq", nil)}, []string{"d", "e", "f"}},
		{"shorthand nil is $eq nil", map[string]any{"genre": nil}, []string{"d", "e", "f"}},
		{"$ne nil matches a present one", map[string]any{"draft": ops("$ne", nil)}, []string{"a", "d"}},
		{"numbers equal by value: float32 and int", map[string]any{"year": float32(2019)}, []string{"a"}},
		{"numbers equal by value: []int64 and float64", map[string]any{"year": ops("$in", []int64{2023})}, []string{"b"}},
		{"numbers equal by value: uint and int64", map[string]any{"year": uint(2024)}, []string{"c"}},
		{"a number never equals a string", map[string]any{"year": 2021}, []string{}},
		{"a string equals only a string", map[string]any{"year": "2021"}, []string{"d"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, matching(t, tt.f, metadata)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

// TestJSONFiltersMatchJSONMetadata covers llmtest's emulator, where the filter and the
// metadata are both decoded from JSON: numbers are float64, lists []any.
func TestJSONFiltersMatchJSONMetadata(t *testing.T) {
	var meta map[string]map[string]any
	if err := json.Unmarshal([]byte(`{
		"a": {"genre": "sci-fi", "year": 2019},
		"b": {"genre": "drama", "year": 2023},
		"c": {"genre": "sci-fi", "year": 2024, "extra": {"lang": "en"}}
	}`), &meta); err != nil {
		t.Fatal(err)
	}
	tests := []struct{ filter, want string }{
		{`{"genre":"sci-fi"}`, "a c"},
		{`{"genre":{"$eq":"sci-fi"},"year":{"$lt":2024}}`, "a"},
		{`{"genre":{"$ne":"sci-fi"}}`, "b"},
		{`{"year":{"$gte":2019,"$lt":2024}}`, "a b"},
		{`{"year":{"$in":[2023,2024]}}`, "b c"},
		{`{"genre":{"$nin":["drama"]}}`, "a c"},
		{`{"extra.lang":"en"}`, "c"},
		{`{"year":{"$gt":"2000"}}`, ""}, // a string does not compare with a number
		{`null`, "a b c"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			var f map[string]any
			if err := json.Unmarshal([]byte(tt.filter), &f); err != nil {
				t.Fatal(err)
			}
			if got := strings.Join(matching(t, f, meta), " "); got != tt.want {
				t.Errorf("%q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseRefusesBadFilters(t *testing.T) {
	tests := []struct {
		name string
		f    map[string]any
		want string
	}{
		{"unknown operator", map[string]any{"year": ops("$regex", "x")}, `filter "year": unknown operator "$regex"`},
		{"a nested operator map", map[string]any{"info": map[string]any{"lang": ops("$eq", "en")}}, `filter "info": unknown operator "lang"`},
		{"an operator on an operator", map[string]any{"year": ops("$eq", ops("$gt", 1))}, "$eq: map[string]interface {} is not a string, number, bool or nil"},
		{"one operator twice", map[string]any{"year": ops("$lt", vecfilter.Conflict{First: 2024, Second: 2020})}, "$lt given twice (2024 and 2020)"},
		{"empty $in", map[string]any{"year": ops("$in", []any{})}, "$in: want a non-empty list of values, got []interface {}"},
		{"$nin not a list", map[string]any{"year": ops("$nin", "x")}, "$nin: want a non-empty list of values, got string"},
		{"nil $in", map[string]any{"year": ops("$in", nil)}, "want a non-empty list of values, got <nil>"},
		{"$lt on a bool", map[string]any{"draft": ops("$lt", true)}, "$lt: bool is not a number or string"},
		{"$gte on nil", map[string]any{"year": ops("$gte", nil)}, "$gte: <nil> is not a number or string"},
		{"$eq on a struct", map[string]any{"x": ops("$eq", struct{}{})}, "not a string, number, bool or nil"},
		{"$in with a list inside", map[string]any{"x": ops("$in", []any{[]int{1}})}, "$in: item 0: []int is not a string, number or bool"},
		{"$in with nil inside", map[string]any{"x": ops("$in", []any{"a", nil})}, "$in: item 1: <nil>"},
		{"json.Number is not taken", map[string]any{"x": json.Number("1")}, "json.Number is not a string, number or bool"},
		{"key starting with $", map[string]any{"$and": "x"}, `filter key "$and": must not be empty, start with $`},
		{"empty key", map[string]any{"": "x"}, "must not be empty"},
		{"key with a double quote", map[string]any{`a"b`: "x"}, `contain "`},
		{"empty part between dots", map[string]any{"a..b": "x"}, "empty part between dots"},
		{"trailing dot", map[string]any{"a.": "x"}, "empty part between dots"},
		{"shorthand list", map[string]any{"lang": []string{"en"}}, `filter "lang": []string is not a string, number or bool`},
		{"no operator", map[string]any{"x": map[string]any{}}, `filter "x": no operator`},
		{"NaN", map[string]any{"x": math.NaN()}, "$eq: NaN is not a finite number"},
		{"infinity in a range", map[string]any{"x": ops("$lt", float32(math.Inf(1)))}, "$lt: +Inf is not a finite number"},
		{"infinity in a list", map[string]any{"x": ops("$in", []float64{1, math.Inf(-1)})}, "$in: item 1: -Inf is not a finite number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			conds, err := vecfilter.Parse(tt.f)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
			if conds != nil {
				t.Errorf("conditions %v returned with the error", conds)
			}
		})
	}
}

func TestEveryGoNumberTypeComparesByValue(t *testing.T) {
	// Metadata read back from JSON holds float64; a filter written in Go may hold any
	// built-in number type, alone or in a typed slice.
	stored := map[string]map[string]any{"three": {"n": 3.0}, "seven": {"n": 7.0}}
	for _, v := range []any{int(3), int8(3), int16(3), int32(3), int64(3), uint(3), uint8(3), uint16(3), uint32(3), uint64(3), uintptr(3), float32(3), 3.0} {
		t.Run(fmt.Sprintf("%T", v), func(t *testing.T) {
			for _, tt := range []struct {
				f    map[string]any
				want []string
			}{
				{map[string]any{"n": v}, []string{"three"}},
				{map[string]any{"n": ops("$ne", v)}, []string{"seven"}},
				{map[string]any{"n": ops("$gt", v)}, []string{"seven"}},
				{map[string]any{"n": ops("$lte", v)}, []string{"three"}},
				{map[string]any{"n": ops("$in", []any{v})}, []string{"three"}},
				{map[string]any{"n": ops("$nin", reflectSlice(v))}, []string{"seven"}},
			} {
				if got := matching(t, tt.f, stored); !slices.Equal(got, tt.want) {
					t.Errorf("%v matches %v, want %v", tt.f, got, tt.want)
				}
			}
		})
	}
}

// reflectSlice returns a one-item slice of v's own type ([]int8{3} for int8(3)).
func reflectSlice(v any) any {
	s := reflect.MakeSlice(reflect.SliceOf(reflect.TypeOf(v)), 1, 1)
	s.Index(0).Set(reflect.ValueOf(v))
	return s.Interface()
}

func TestFloat32MatchesTheDecimalItNames(t *testing.T) {
	// float32(0.1) widened is 0.10000000149011612; it reaches Vectorize as the JSON number
	// 0.1, so it must equal a stored 0.1 and order as 0.1 does.
	var stored map[string]map[string]any
	if err := json.Unmarshal([]byte(`{"tenth":{"x":0.1},"fifth":{"x":0.2},"big":{"x":16777217}}`), &stored); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		f    map[string]any
		want []string
	}{
		{map[string]any{"x": float32(0.1)}, []string{"tenth"}},
		{map[string]any{"x": ops("$gt", float32(0.1))}, []string{"big", "fifth"}},
		{map[string]any{"x": ops("$lte", float32(0.2))}, []string{"fifth", "tenth"}},
		{map[string]any{"x": ops("$in", []float32{0.2})}, []string{"fifth"}},
		// float32 cannot hold 16777217: it is 16777216, and says so.
		{map[string]any{"x": float32(16777217)}, []string{}},
	} {
		if got := matching(t, tt.f, stored); !slices.Equal(got, tt.want) {
			t.Errorf("%v matches %v, want %v", tt.f, got, tt.want)
		}
		// Sent as JSON, as embed sends it to Vectorize, the filter means the same.
		b, err := json.Marshal(tt.f)
		if err != nil {
			t.Fatal(err)
		}
		var decoded map[string]any
		if err := json.Unmarshal(b, &decoded); err != nil {
			t.Fatal(err)
		}
		if got := matching(t, decoded, stored); !slices.Equal(got, tt.want) {
			t.Errorf("%s as JSON matches %v, want %v", b, got, tt.want)
		}
	}
}

func TestParseSortsConditionsByKey(t *testing.T) {
	conds, err := vecfilter.Parse(map[string]any{"year": map[string]any{"$lt": 2024, "$gte": 2019}, "genre": "x", "info.lang": "en"})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range conds {
		keys = append(keys, c.Key)
	}
	if want := []string{"genre", "info.lang", "year", "year"}; !slices.Equal(keys, want) {
		t.Errorf("keys %v, want %v", keys, want)
	}
}

func TestLookupFollowsDots(t *testing.T) {
	meta := map[string]any{"a": map[string]any{"b": 1.0, "null": nil}, "flat": "x", "null": nil}
	tests := []struct {
		path  string
		want  any
		found bool
	}{
		{"a.b", 1.0, true},
		{"flat", "x", true},
		{"null", nil, true},
		{"a.null", nil, true},
		{"a.missing", nil, false},
		{"flat.b", nil, false},
		{"null.b", nil, false},
		{"missing", nil, false},
	}
	for _, tt := range tests {
		if got, found := vecfilter.Lookup(meta, tt.path); got != tt.want || found != tt.found {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tt.path, got, found, tt.want, tt.found)
		}
	}
}
