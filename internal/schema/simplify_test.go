package schema

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/gowai/gowai/internal/jsonorder"
)

type address struct {
	City string `json:"city"`
	Zip  string `json:"zip,omitempty" jsonschema:"pattern=^[0-9]{5}$"`
}

type profile struct {
	Name   string    `json:"name" jsonschema:"minLength=1"`
	Nick   string    `json:"nick,omitempty"`
	Home   *address  `json:"home,omitempty"`
	Others []address `json:"others"`
	Score  int       `json:"score,omitempty" jsonschema:"minimum=0"`
}

func TestStrictRequiresEveryPropertyAndMakesOptionalOnesNullable(t *testing.T) {
	s := mustFor[profile](t)
	before := bytes.Clone(s.JSON)
	addr := `{"type":"object","additionalProperties":false,"required":["city","zip"],"properties":{
		"city":{"type":"string"},
		"zip":{"anyOf":[{"type":"string","pattern":"^[0-9]{5}$"},{"type":"null"}]}}}`
	assertJSON(t, s.Strict(), `{"type":"object","additionalProperties":false,
		"required":["name","nick","home","others","score"],
		"properties":{
			"name":{"type":"string","minLength":1},
			"nick":{"anyOf":[{"type":"string"},{"type":"null"}]},
			"home":{"anyOf":[`+addr+`,{"type":"null"}]},
			"others":{"type":"array","items":`+addr+`},
			"score":{"anyOf":[{"type":"integer","minimum":0},{"type":"null"}]}
		}}`)
	if !bytes.Equal(before, s.JSON) {
		t.Errorf("Strict changed JSON:\n%s\n%s", before, s.JSON)
	}
	// The original still treats the optional fields as optional, not nullable.
	if got := s.Validate([]byte(`{"name":"a","others":[]}`)); got != nil {
		t.Errorf("original schema: %v", got)
	}
	strict, err := Compile(s.Strict())
	if err != nil {
		t.Fatal(err)
	}
	if got := strict.Validate([]byte(`{"name":"a","nick":null,"home":{"city":"x","zip":null},"others":[],"score":null}`)); got != nil {
		t.Errorf("strict schema rejects nulls for optional fields: %v", got)
	}
	want := []string{"/: missing properties: 'nick', 'home', 'score'"}
	if diff := cmp.Diff(want, strict.Validate([]byte(`{"name":"a","others":[]}`))); diff != "" {
		t.Errorf("strict schema (-want +got):\n%s", diff)
	}
}

func TestStrictReturnsACopy(t *testing.T) {
	s := mustFor[profile](t)
	first := s.Strict()
	want := bytes.Clone(first)
	first[0] = 'X'
	if got := s.Strict(); !bytes.Equal(got, want) {
		t.Errorf("changing one result changed the next: %s", got)
	}
}

func TestStrictOfAHandWrittenSchemaWithoutRequired(t *testing.T) {
	s, err := Compile(json.RawMessage(`{"type":"object","properties":{"q":{"type":"string"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	assertJSON(t, s.Strict(), `{"type":"object","properties":{"q":{"anyOf":[{"type":"string"},{"type":"null"}]}},"required":["q"]}`)
}

func TestSimplifyDropsKeywordsAndSaysWhat(t *testing.T) {
	original := json.RawMessage(`{"type":"object","properties":{
		"email":{"type":"string","format":"email"},
		"format":{"type":"string","pattern":"^[a-z]+$","examples":[{"format":"kept","pattern":"kept"}]},
		"tags":{"type":"array","minItems":1,"items":{"type":"string","format":"date"}},
		"any":{"anyOf":[{"type":"string","pattern":"^x$"},{"type":"null"}]}
	},"$defs":{"d/1":{"type":"integer","minItems":2,"enum":[1,2]}},"minItems":3}`)
	keep := bytes.Clone(original)
	got, dropped := Simplify(original, "pattern", "format", "minItems", "enum", "nosuchkeyword")
	assertJSON(t, got, `{"type":"object","properties":{
		"email":{"type":"string"},
		"format":{"type":"string","examples":[{"format":"kept","pattern":"kept"}]},
		"tags":{"type":"array","items":{"type":"string"}},
		"any":{"anyOf":[{"type":"string"},{"type":"null"}]}
	},"$defs":{"d/1":{"type":"integer"}}}`)
	want := []string{
		"/$defs/d~11: enum=[1,2]",
		"/$defs/d~11: minItems=2",
		"/: minItems=3",
		"/properties/any/anyOf/0: pattern=^x$",
		"/properties/email: format=email",
		"/properties/format: pattern=^[a-z]+$",
		"/properties/tags/items: format=date",
		"/properties/tags: minItems=1",
	}
	if diff := cmp.Diff(want, dropped); diff != "" {
		t.Errorf("dropped (-want +got):\n%s", diff)
	}
	if !bytes.Equal(keep, original) {
		t.Errorf("input changed:\n%s", original)
	}
}

func TestSimplifyWithNothingToDrop(t *testing.T) {
	s := mustFor[profile](t)
	for _, drop := range [][]string{nil, {"format"}} {
		got, dropped := Simplify(s.JSON, drop...)
		if dropped != nil {
			t.Errorf("drop %v: dropped %v", drop, dropped)
		}
		assertJSON(t, got, string(s.JSON))
	}
}

func TestSimplifyReturnsInvalidJSONUnchanged(t *testing.T) {
	in := json.RawMessage(`{"format":`)
	got, dropped := Simplify(in, "format")
	if string(got) != string(in) || dropped != nil {
		t.Errorf("got %s, %v", got, dropped)
	}
}

func TestSimplifiedSchemaKeepsPropertyOrder(t *testing.T) {
	got, _ := Simplify(mustFor[profile](t).JSON, "minLength")
	tree, err := jsonorder.Decode(got)
	if err != nil {
		t.Fatal(err)
	}
	props, _ := tree.(*jsonorder.Object).Get("properties")
	names := props.(*jsonorder.Object).Keys()
	if diff := cmp.Diff([]string{"name", "nick", "home", "others", "score"}, names); diff != "" {
		t.Errorf("order (-want +got):\n%s", diff)
	}
}
