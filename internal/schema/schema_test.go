package schema

import (
	"encoding/json"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/gowai/gowai/internal/jsonorder"
	"github.com/invopop/jsonschema"
)

// resetCache forgets every built schema, so a test or benchmark can observe a first build.
func resetCache() { cache.Clear() }

// recipe is the example struct of doc.go, tag for tag.
type recipe struct {
	Title    string    `json:"title" jsonschema_description:"Name of the dish" jsonschema:"minLength=1,maxLength=80,example=Pea soup"`
	Course   string    `json:"course" jsonschema:"enum=starter,enum=main,enum=dessert,default=main"`
	Servings int       `json:"servings" jsonschema:"minimum=1,maximum=12,example=4"`
	Rating   float64   `json:"rating,omitempty" jsonschema:"exclusiveMinimum=0,maximum=5"`
	Code     string    `json:"code" jsonschema:"pattern=^[A-Z]{3}-[0-9]+$"`
	Tags     []string  `json:"tags" jsonschema:"minItems=1,maxItems=5"`
	Author   string    `json:"author,omitempty" jsonschema:"format=email,description=Who wrote it"`
	Source   string    `json:"source,omitempty" jsonschema:"format=uri"`
	ID       string    `json:"id" jsonschema:"format=uuid"`
	Day      string    `json:"day" jsonschema:"format=date"`
	Version  int       `json:"version" jsonschema:"const=2"`
	Created  time.Time `json:"created"`
}

// assertJSON compares two JSON documents by value.
func assertJSON(t *testing.T, got []byte, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal(got, &g); err != nil {
		t.Fatalf("got invalid JSON %s: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is invalid JSON: %v", err)
	}
	if diff := cmp.Diff(w, g); diff != "" {
		t.Errorf("schema mismatch (-want +got):\n%s\ngot: %s", diff, got)
	}
}

func mustFor[T any](t testing.TB) *Schema {
	t.Helper()
	s, err := For(reflect.TypeFor[T]())
	if err != nil {
		t.Fatalf("For(%s): %v", reflect.TypeFor[T](), err)
	}
	return s
}

func TestEveryDocumentedTagReachesTheSchema(t *testing.T) {
	s := mustFor[recipe](t)
	assertJSON(t, s.JSON, `{
		"type": "object",
		"additionalProperties": false,
		"required": ["title", "course", "servings", "code", "tags", "id", "day", "version", "created"],
		"properties": {
			"title":    {"type": "string", "description": "Name of the dish", "minLength": 1, "maxLength": 80, "examples": ["Pea soup"]},
			"course":   {"type": "string", "enum": ["starter", "main", "dessert"], "default": "main"},
			"servings": {"type": "integer", "minimum": 1, "maximum": 12, "examples": [4]},
			"rating":   {"type": "number", "exclusiveMinimum": 0, "maximum": 5},
			"code":     {"type": "string", "pattern": "^[A-Z]{3}-[0-9]+$"},
			"tags":     {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 5},
			"author":   {"type": "string", "format": "email", "description": "Who wrote it"},
			"source":   {"type": "string", "format": "uri"},
			"id":       {"type": "string", "format": "uuid"},
			"day":      {"type": "string", "format": "date"},
			"version":  {"type": "integer", "const": 2},
			"created":  {"type": "string", "format": "date-time"}
		}
	}`)
	if s.Wrapped || s.HasRefs || s.Type != reflect.TypeFor[recipe]() {
		t.Errorf("Wrapped=%v HasRefs=%v Type=%v, want false, false, recipe", s.Wrapped, s.HasRefs, s.Type)
	}
	for _, kw := range []string{`"$schema"`, `"$id"`, `"$defs"`, `"$ref"`} {
		if strings.Contains(string(s.JSON), kw) {
			t.Errorf("schema contains %s: %s", kw, s.JSON)
		}
	}
}

func TestPropertiesKeepStructOrder(t *testing.T) {
	s := mustFor[recipe](t)
	want := []string{"title", "course", "servings", "rating", "code", "tags", "author", "source", "id", "day", "version", "created"}
	for name, doc := range map[string][]byte{"JSON": s.JSON, "Strict": s.Strict()} {
		tree, err := jsonorder.Decode(doc)
		if err != nil {
			t.Fatal(err)
		}
		props, _ := tree.(*jsonorder.Object).Get("properties")
		got := props.(*jsonorder.Object).Keys()
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s property order (-want +got):\n%s", name, diff)
		}
	}
}

type typedConsts struct {
	Ratio float64 `json:"ratio" jsonschema:"const=0.5"`
	On    bool    `json:"on" jsonschema:"const=true"`
	Kind  string  `json:"kind" jsonschema:"const=a\\,b"`
	Inner []struct {
		N int `json:"n" jsonschema:"const=7"`
	} `json:"inner"`
	Maybe *string `json:"maybe" jsonschema:"nullable,const=x"`
}

func TestConstTakesThePropertyType(t *testing.T) {
	s := mustFor[typedConsts](t)
	assertJSON(t, s.JSON, `{
		"type": "object", "additionalProperties": false, "required": ["ratio", "on", "kind", "inner", "maybe"],
		"properties": {
			"ratio": {"type": "number", "const": 0.5},
			"on":    {"type": "boolean", "const": true},
			"kind":  {"type": "string", "const": "a,b"},
			"inner": {"type": "array", "items": {
				"type": "object", "additionalProperties": false, "required": ["n"],
				"properties": {"n": {"type": "integer", "const": 7}}}},
			"maybe": {"oneOf": [{"type": "string", "const": "x"}, {"type": "null"}]}
		}
	}`)
	got := s.Validate([]byte(`{"ratio":0.5,"on":true,"kind":"a,b","inner":[{"n":8}],"maybe":null}`))
	if diff := cmp.Diff([]string{"/inner/0/n: value must be 7"}, got); diff != "" {
		t.Errorf("problems (-want +got):\n%s", diff)
	}
}

func TestConstThatDoesNotFitItsTypeIsAnError(t *testing.T) {
	type bad struct {
		N int `json:"n" jsonschema:"const=seven"`
	}
	_, err := For(reflect.TypeFor[bad]())
	if err == nil || err.Error() != "schema: bad.N: const=seven: not an integer" {
		t.Errorf("err = %v", err)
	}
}

// money describes itself, as a string of digits with two decimals.
type money int64

func (money) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Pattern: `^[0-9]+\.[0-9]{2}$`}
}

func TestTypeWithJSONSchemaMethodDescribesItself(t *testing.T) {
	type invoice struct {
		Total money `json:"total"`
	}
	s := mustFor[invoice](t)
	assertJSON(t, s.JSON, `{"type": "object", "additionalProperties": false, "required": ["total"],
		"properties": {"total": {"type": "string", "pattern": "^[0-9]+\\.[0-9]{2}$"}}}`)
	if got := s.Validate([]byte(`{"total":"12.5"}`)); len(got) != 1 {
		t.Errorf("12.5 accepted: %v", got)
	}
}

// broken's JSONSchema method panics.
type broken struct{}

func (broken) JSONSchema() *jsonschema.Schema { panic("not implemented") }

func TestPanickingJSONSchemaMethodIsAnError(t *testing.T) {
	type holder struct {
		B broken `json:"b"`
	}
	_, err := For(reflect.TypeFor[holder]())
	if err == nil || err.Error() != "schema: schema.holder: not implemented" {
		t.Errorf("err = %v", err)
	}
}

type color string

func TestNonStructTypesAreWrappedInValue(t *testing.T) {
	tests := []struct {
		name       string
		typ        reflect.Type
		inner      string // schema of "value"
		valid, bad string
		problem    string
	}{
		{"slice", reflect.TypeFor[[]string](), `{"type":"array","items":{"type":"string"}}`,
			`{"value":["a"]}`, `{"value":[1]}`, "/value/0: expected string, but got number"},
		{"map", reflect.TypeFor[map[string]int](), `{"type":"object","additionalProperties":{"type":"integer"}}`,
			`{"value":{"a":1}}`, `{"value":{"a":"1"}}`, "/value/a: expected integer, but got string"},
		{"string", reflect.TypeFor[string](), `{"type":"string"}`,
			`{"value":"x"}`, `"x"`, "/: expected object, but got string"},
		{"number", reflect.TypeFor[float64](), `{"type":"number"}`,
			`{"value":1.5}`, `{"value":true}`, "/value: expected number, but got boolean"},
		{"bool", reflect.TypeFor[bool](), `{"type":"boolean"}`,
			`{"value":false}`, `{}`, "/: missing properties: 'value'"},
		{"named string", reflect.TypeFor[color](), `{"type":"string"}`,
			`{"value":"red"}`, `{"value":"red","x":1}`, "/: additionalProperties 'x' not allowed"},
		{"time", reflect.TypeFor[time.Time](), `{"type":"string","format":"date-time"}`,
			`{"value":"2024-05-01T10:00:00Z"}`, `{"value":"May 1"}`, "/value: 'May 1' is not valid 'date-time'"},
		{"pointer to slice", reflect.TypeFor[*[]int](), `{"type":"array","items":{"type":"integer"}}`,
			`{"value":[1]}`, `{"value":null}`, "/value: expected array, but got null"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := For(tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			if !s.Wrapped {
				t.Error("Wrapped = false")
			}
			assertJSON(t, s.JSON, `{"type":"object","additionalProperties":false,"required":["value"],
				"properties":{"value":`+tt.inner+`}}`)
			if got := s.Validate([]byte(tt.valid)); got != nil {
				t.Errorf("valid %s: %v", tt.valid, got)
			}
			if diff := cmp.Diff([]string{tt.problem}, s.Validate([]byte(tt.bad))); diff != "" {
				t.Errorf("bad %s (-want +got):\n%s", tt.bad, diff)
			}
		})
	}
}

type tree struct {
	Name     string `json:"name" jsonschema:"minLength=1"`
	Children []tree `json:"children"`
}

type node struct {
	Val  int   `json:"val" jsonschema:"minimum=0"`
	Next *node `json:"next,omitempty"`
}

// ping and pong are mutually recursive, and pong's map reaches ping again.
type ping struct {
	Pong *pong `json:"pong,omitempty"`
}
type pong struct {
	Pings map[string]ping `json:"pings"`
	Label string          `json:"label" jsonschema:"enum=a,enum=b"`
}

// list is generic: its type name, list[github.com/.../schema.tree], must become a usable $defs key.
type list[T any] struct {
	Head T        `json:"head"`
	Tail *list[T] `json:"tail,omitempty"`
}

// nested is recursive without a struct.
type nested map[string]nested

func TestRecursiveTypesWorkEndToEnd(t *testing.T) {
	tests := []struct {
		name       string
		typ        reflect.Type
		wrapped    bool
		valid, bad string
		problems   []string
	}{
		{"tree through a slice", reflect.TypeFor[tree](), false,
			`{"name":"a","children":[{"name":"b","children":[]}]}`,
			`{"name":"a","children":[{"name":"b","children":[{"name":"","children":[],"x":1}]}]}`,
			[]string{
				"/children/0/children/0/name: length must be >= 1, but got 0",
				"/children/0/children/0: additionalProperties 'x' not allowed",
			}},
		{"linked list through a pointer", reflect.TypeFor[node](), false,
			`{"val":1,"next":{"val":2}}`,
			`{"val":1,"next":{"val":2,"next":{"val":-1}}}`,
			[]string{"/next/next/val: must be >= 0 but found -1"}},
		{"mutual recursion through a map", reflect.TypeFor[ping](), false,
			`{"pong":{"label":"a","pings":{"x":{}}}}`,
			`{"pong":{"label":"a","pings":{"x":{"pong":{"label":"c","pings":{}}}}}}`,
			[]string{`/pong/pings/x/pong/label: value must be one of "a", "b"`}},
		{"generic list", reflect.TypeFor[list[tree]](), false,
			`{"head":{"name":"a","children":[]},"tail":{"head":{"name":"b","children":[]}}}`,
			`{"head":{"name":"a","children":[]},"tail":{"head":{"name":"b"}}}`,
			[]string{"/tail/head: missing properties: 'children'"}},
		{"named map of itself", reflect.TypeFor[nested](), true,
			`{"value":{"a":{"b":{}}}}`,
			`{"value":{"a":{"b":1}}}`,
			[]string{"/value/a/b: expected object, but got number"}},
		{"slice of a recursive type", reflect.TypeFor[[]tree](), true,
			`{"value":[{"name":"a","children":[]}]}`,
			`{"value":[{"name":"a","children":[{"children":[]}]}]}`,
			[]string{"/value/0/children/0: missing properties: 'name'"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := For(tt.typ)
			if err != nil {
				t.Fatal(err)
			}
			if !s.HasRefs || s.Wrapped != tt.wrapped {
				t.Errorf("HasRefs=%v Wrapped=%v, want true, %v", s.HasRefs, s.Wrapped, tt.wrapped)
			}
			if _, err := Compile(s.JSON); err != nil {
				t.Errorf("schema does not compile on its own: %v", err)
			}
			if _, err := Compile(s.Strict()); err != nil {
				t.Errorf("strict form does not compile: %v", err)
			}
			var top map[string]any
			if err := json.Unmarshal(s.JSON, &top); err != nil || top["type"] != "object" {
				t.Errorf("top of the document is not an object schema: %s", s.JSON)
			}
			if got := s.Validate([]byte(tt.valid)); got != nil {
				t.Errorf("valid document rejected: %v", got)
			}
			if diff := cmp.Diff(tt.problems, s.Validate([]byte(tt.bad))); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRecursiveRootSitsAtTheTopAndRefersToItselfAsHash(t *testing.T) {
	s := mustFor[tree](t)
	assertJSON(t, s.JSON, `{"type":"object","additionalProperties":false,"required":["name","children"],
		"properties":{"name":{"type":"string","minLength":1},"children":{"type":"array","items":{"$ref":"#"}}}}`)
}

func TestSameNamedTypesGetDistinctDefinitions(t *testing.T) {
	// Two different types called "node": the outer one is recursive, so both land in $defs.
	type tree struct {
		Leaf bool `json:"leaf"`
	}
	type node struct {
		Inner tree  `json:"inner"`
		Other *node `json:"other,omitempty"`
	}
	type forest struct {
		Local  node       `json:"local"`
		Global tree       `json:"global"`
		Pkg    schemaTree `json:"pkg"`
	}
	s := mustFor[forest](t)
	if got := s.Validate([]byte(`{"local":{"inner":{"leaf":true}},"global":{"leaf":false},"pkg":{"name":"x","children":[]}}`)); got != nil {
		t.Errorf("valid document rejected: %v\nschema: %s", got, s.JSON)
	}
	want := []string{
		"/global: missing properties: 'leaf'",
		"/local/other/inner: missing properties: 'leaf'",
		"/pkg: missing properties: 'name'",
	}
	bad := `{"local":{"inner":{"leaf":true},"other":{"inner":{}}},"global":{},"pkg":{"children":[]}}`
	if diff := cmp.Diff(want, s.Validate([]byte(bad))); diff != "" {
		t.Errorf("problems (-want +got):\n%s\nschema: %s", diff, s.JSON)
	}
}

// schemaTree is the package-level recursive tree under another name, for TestSameNamedTypesGetDistinctDefinitions.
type schemaTree = tree

func TestUnrepresentableTypesAreRejectedWithTheFieldPath(t *testing.T) {
	type step struct {
		Text string `json:"text"`
		Fn   func() `json:"fn"`
	}
	type recipe struct {
		Steps []step `json:"steps"`
	}
	type base struct {
		Fn func(int) string
	}
	type derived struct {
		base
		N int
	}
	type embedsItself struct {
		*embedsItself
		N int
	}
	tests := []struct {
		typ  reflect.Type
		want string
	}{
		{reflect.TypeFor[recipe](), "schema: recipe.Steps[].Fn: func() is not representable in JSON Schema"},
		{reflect.TypeFor[struct{ C chan int }](), "schema: (struct { C chan int }).C: chan int is not representable in JSON Schema"},
		{reflect.TypeFor[map[string][]complex128](), "schema: (map[string][]complex128)[key][]: complex128 is not representable in JSON Schema"},
		{reflect.TypeFor[struct{ Any any }](), "schema: (struct { Any interface {} }).Any: interface {} is not representable in JSON Schema"},
		{reflect.TypeFor[map[int]string](), "schema: (map[int]string): map[int]string is not representable in JSON Schema: JSON object keys are strings"},
		{reflect.TypeFor[func()](), "schema: (func()): func() is not representable in JSON Schema"},
		{reflect.TypeFor[derived](), "schema: derived.Fn: func(int) string is not representable in JSON Schema"},
		{reflect.TypeFor[embedsItself](), "schema: embedsItself: schema.embedsItself embeds itself"},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			_, err := For(tt.typ)
			if err == nil || err.Error() != tt.want {
				t.Errorf("err = %v\nwant %s", err, tt.want)
			}
		})
	}
}

func TestIgnoredFieldsAreNotChecked(t *testing.T) {
	type withHidden struct {
		Name    string   `json:"name"`
		Skip    func()   `json:"-"`
		NoSch   chan int `jsonschema:"-"`
		private any
	}
	s := mustFor[withHidden](t)
	assertJSON(t, s.JSON, `{"type":"object","additionalProperties":false,"required":["name"],
		"properties":{"name":{"type":"string"}}}`)
}

func TestEmbeddedStructsAndRawJSON(t *testing.T) {
	type base struct {
		ID string `json:"id"`
	}
	type doc struct {
		*base
		Body  json.RawMessage `json:"body"`
		Bytes []byte          `json:"bytes,omitempty"`
	}
	s := mustFor[doc](t)
	assertJSON(t, s.JSON, `{"type":"object","additionalProperties":false,"required":["id","body"],
		"properties":{"id":{"type":"string"},"body":true,"bytes":{"type":"string","contentEncoding":"base64"}}}`)
	if got := s.Validate([]byte(`{"id":"a","body":{"any":["json",1]}}`)); got != nil {
		t.Errorf("valid document rejected: %v", got)
	}
}

func TestForRejectsNilType(t *testing.T) {
	if _, err := For(nil); err == nil {
		t.Error("For(nil) succeeded")
	}
}

func TestForCachesByTypeIdentity(t *testing.T) {
	resetCache()
	start := builds.Load()
	a := mustFor[recipe](t)
	if b := mustFor[*recipe](t); a != b {
		t.Error("*recipe and recipe got different schemas")
	}
	if b := mustFor[recipe](t); a != b {
		t.Error("second call rebuilt the schema")
	}
	if n := builds.Load() - start; n != 1 {
		t.Errorf("%d builds, want 1", n)
	}

	// Two local types share the name "point" (and String()) but not the schema.
	first := func() reflect.Type {
		type point struct {
			X int `json:"x"`
		}
		return reflect.TypeFor[point]()
	}()
	second := func() reflect.Type {
		type point struct {
			Y string `json:"y"`
		}
		return reflect.TypeFor[point]()
	}()
	s1, _ := For(first)
	s2, _ := For(second)
	if first.String() != second.String() || string(s1.JSON) == string(s2.JSON) {
		t.Errorf("same-named types were confused: %s vs %s", s1.JSON, s2.JSON)
	}
}

func TestErrorsAreCachedToo(t *testing.T) {
	resetCache()
	start := builds.Load()
	typ := reflect.TypeFor[struct{ F func() }]()
	_, err1 := For(typ)
	_, err2 := For(typ)
	if err1 == nil || err1 != err2 {
		t.Errorf("errors %v and %v, want the same cached error", err1, err2)
	}
	if n := builds.Load() - start; n != 1 {
		t.Errorf("%d builds, want 1", n)
	}
}

func TestConcurrentFirstCallsBuildOnce(t *testing.T) {
	resetCache()
	start := builds.Load()
	typ := reflect.TypeFor[recipe]()
	var (
		wg      sync.WaitGroup
		ready   = make(chan struct{})
		results [64]*Schema
	)
	for i := range results {
		wg.Go(func() {
			<-ready
			s, err := For(typ)
			if err != nil {
				t.Error(err)
			}
			results[i] = s
			if got := s.Validate([]byte(`{}`)); len(got) != 1 {
				t.Errorf("empty object: %v", got)
			}
		})
	}
	close(ready)
	wg.Wait()
	if n := builds.Load() - start; n != 1 {
		t.Errorf("%d builds, want 1", n)
	}
	for i, s := range results {
		if s != results[0] {
			t.Fatalf("goroutine %d got a different *Schema", i)
		}
	}
}

func TestDescribe(t *testing.T) {
	for typ, want := range map[reflect.Type]string{
		reflect.TypeFor[recipe]():   "schema.recipe",
		reflect.TypeFor[[]string](): "[]string",
		reflect.TypeFor[*tree]():    "*schema.tree",
		nil:                         "<nil>",
	} {
		if got := Describe(typ); got != want {
			t.Errorf("Describe = %q, want %q", got, want)
		}
	}
}

func TestCompileHandWrittenSchema(t *testing.T) {
	s, err := Compile(json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`))
	if err != nil {
		t.Fatal(err)
	}
	if s.Type != nil || s.Wrapped || s.HasRefs {
		t.Errorf("Type=%v Wrapped=%v HasRefs=%v", s.Type, s.Wrapped, s.HasRefs)
	}
	if diff := cmp.Diff([]string{"/: missing properties: 'city'"}, s.Validate([]byte(`{}`))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	withRefs, err := Compile(json.RawMessage(`{"$defs":{"c":{"type":"string"}},"properties":{"city":{"$ref":"#/$defs/c"}}}`))
	if err != nil || !withRefs.HasRefs {
		t.Errorf("HasRefs not set (err %v)", err)
	}
}

func TestCompileRejects(t *testing.T) {
	tests := []struct {
		name, schema, want string
	}{
		{"invalid JSON", `{"type":`, "schema: invalid JSON: "},
		{"trailing data", `{} {}`, "schema: invalid JSON: unexpected data after the JSON value"},
		{"invalid schema", `{"type":5}`, "schema: compile: "},
		{"external reference", `{"$ref":"file:///etc/passwd"}`, "references to other documents are not loaded"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compile(json.RawMessage(tt.schema))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
}

func BenchmarkForWarm(b *testing.B) {
	typ := reflect.TypeFor[recipe]()
	if _, err := For(typ); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		_, _ = For(typ)
	}
}

func BenchmarkForCold(b *testing.B) {
	typ := reflect.TypeFor[recipe]()
	for b.Loop() {
		resetCache()
		if _, err := For(typ); err != nil {
			b.Fatal(err)
		}
	}
}
