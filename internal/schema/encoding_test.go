package schema

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/invopop/jsonschema"
)

// uuid encodes as text, like github.com/google/uuid: its Go structure is 16 bytes.
type uuid [16]byte

func (u uuid) MarshalText() ([]byte, error) { return fmt.Appendf(nil, "%x", u[:]), nil }

func (u *uuid) UnmarshalText(b []byte) error {
	if len(b) != 32 {
		return errors.New("uuid: want 32 hex digits")
	}
	_, err := hex.Decode(u[:], b)
	return err
}

// level is an int enum that decodes from its name, with pointer-receiver methods.
type level int

func (l level) MarshalText() ([]byte, error) { return []byte([]string{"low", "high"}[l]), nil }
func (l *level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low":
		*l = 0
	case "high":
		*l = 1
	default:
		return fmt.Errorf("level %q", b)
	}
	return nil
}

// jsonEnum writes itself as a string through MarshalJSON and has no JSONSchema method.
type jsonEnum int

func (e jsonEnum) MarshalJSON() ([]byte, error) { return json.Marshal(fmt.Sprint(int(e))) }

// describedEnum has its own JSON encoding and says what it is.
type describedEnum int

func (describedEnum) MarshalJSON() ([]byte, error) { return []byte(`"x"`), nil }
func (*describedEnum) UnmarshalJSON([]byte) error  { return nil }
func (*describedEnum) JSONSchema() *jsonschema.Schema {
	return &jsonschema.Schema{Type: "string", Enum: []any{"x"}}
}

// textOnly encodes as text but cannot be decoded from it.
type textOnly struct{ A, B int }

func (textOnly) MarshalText() ([]byte, error) { return []byte("a-b"), nil }

func TestTypesWithTheirOwnEncodingAreDescribedByIt(t *testing.T) {
	type item struct {
		ID      uuid          `json:"id"`
		Level   level         `json:"level"`
		Enum    describedEnum `json:"enum"`
		Addr    net.IP        `json:"addr"`
		When    time.Time     `json:"when"`
		Amount  json.Number   `json:"amount"`
		Pointer *uuid         `json:"pointer,omitempty"`
	}
	s := mustFor[item](t)
	assertJSON(t, s.JSON, `{"type":"object","additionalProperties":false,
		"required":["id","level","enum","addr","when","amount"],
		"properties":{
			"id":{"type":"string"},
			"level":{"type":"string"},
			"enum":{"type":"string","enum":["x"]},
			"addr":{"type":"string"},
			"when":{"type":"string","format":"date-time"},
			"amount":{"type":"number"},
			"pointer":{"anyOf":[{"type":"string"},{"type":"null"}]}
		}}`)
	// End to end: what validates decodes into the Go type.
	answer := `{"id":"000102030405060708090a0b0c0d0e0f","level":"high","enum":"x","addr":"2001:db8::1",` +
		`"when":"2024-05-01T10:00:00Z","amount":12.5,"pointer":null}`
	if p := s.Validate([]byte(answer)); p != nil {
		t.Fatalf("valid answer rejected: %v", p)
	}
	var got item
	if err := json.Unmarshal([]byte(answer), &got); err != nil {
		t.Fatalf("an answer that validated does not decode: %v", err)
	}
	if got.ID[15] != 0x0f || got.Level != 1 || got.Addr.String() != "2001:db8::1" || got.Amount != "12.5" {
		t.Errorf("decoded %+v", got)
	}
	// An integer array for the UUID is no longer what the schema asks for.
	if p := s.Validate([]byte(strings.Replace(answer, `"000102030405060708090a0b0c0d0e0f"`, `[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]`, 1))); len(p) != 1 || !strings.HasPrefix(p[0], "/id: expected string") {
		t.Errorf("integer array for a text UUID: %v", p)
	}
}

func TestTypesThatCannotBeDescribedNameTheFieldAndTheFix(t *testing.T) {
	tests := []struct {
		typ  reflect.Type
		want []string
	}{
		{reflect.TypeFor[struct {
			E jsonEnum `json:"e"`
		}](), []string{"(struct { E schema.jsonEnum \"json:\\\"e\\\"\" }).E: schema.jsonEnum has its own JSON encoding",
			"add a method JSONSchema() *jsonschema.Schema", "or implement encoding.TextMarshaler"}},
		{reflect.TypeFor[struct {
			Timeout time.Duration `json:"timeout"`
		}](), []string{".Timeout: time.Duration is a number of nanoseconds", "TimeoutSeconds int", "UnmarshalText"}},
		{reflect.TypeFor[[]*time.Duration](), []string{"([]*time.Duration)[]: time.Duration"}},
		{reflect.TypeFor[struct {
			Home url.URL `json:"home"`
		}](), []string{".Home: url.URL decodes from a JSON object", `jsonschema:"format=uri"`}},
		{reflect.TypeFor[struct {
			T textOnly `json:"t"`
		}](), []string{".T: schema.textOnly encodes as a JSON string (MarshalText) but has no UnmarshalText"}},
		{reflect.TypeFor[struct{ time.Time }](), []string{"has its own JSON encoding"}},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			_, err := For(tt.typ)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("err = %v\nwant it to contain %q", err, w)
				}
			}
		})
	}
}

func TestSizedIntegersAreBounded(t *testing.T) {
	type sizes struct {
		I8  int8   `json:"i8"`
		U   uint   `json:"u"`
		U16 uint16 `json:"u16" jsonschema:"minimum=1"`
		I64 int64  `json:"i64"`
	}
	s := mustFor[sizes](t)
	assertJSON(t, s.JSON, `{"type":"object","additionalProperties":false,"required":["i8","u","u16","i64"],
		"properties":{
			"i8":{"type":"integer","minimum":-128,"maximum":127},
			"u":{"type":"integer","minimum":0},
			"u16":{"type":"integer","minimum":1,"maximum":65535},
			"i64":{"type":"integer"}
		}}`)
	want := []string{"/i8: must be <= 127 but found 300", "/u: must be >= 0 but found -1"}
	if diff := cmp.Diff(want, s.Validate([]byte(`{"i8":300,"u":-1,"u16":1,"i64":0}`))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestIntegerFieldsRefuseFractionLiterals(t *testing.T) {
	type counts struct {
		N     int      `json:"n"`
		Maybe *int     `json:"maybe"`
		List  []int    `json:"list"`
		F     float64  `json:"f"`
		Both  *float64 `json:"both,omitempty"`
	}
	s := mustFor[counts](t)
	for _, tt := range []struct {
		doc  string
		want []string
	}{
		{`{"n":3,"maybe":null,"list":[1,-2,0],"f":3.0}`, nil},
		{`{"n":3.0,"maybe":2e0,"list":[1,1.0E1],"f":3.0}`, []string{
			"/list/1: expected an integer written without a fraction or exponent, but got 1.0E1",
			"/maybe: expected an integer written without a fraction or exponent, but got 2e0",
			"/n: expected an integer written without a fraction or exponent, but got 3.0",
		}},
		{`{"n":3.5,"maybe":1,"list":[],"f":1}`, []string{"/n: expected integer, but got number"}},
	} {
		got := s.Validate([]byte(tt.doc))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.doc, diff)
		}
		var c counts
		if err := json.Unmarshal([]byte(tt.doc), &c); (err == nil) != (got == nil) {
			t.Errorf("%s: validation says %v, decoding says %v", tt.doc, got, err)
		}
	}
	// A hand-written schema gets the same check (tool parameters), and "number" still takes 3.0.
	h, err := Compile(json.RawMessage(`{"type":"object","properties":{"a":{"type":["integer","null"]},"b":{"type":"number"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/a: expected an integer written without a fraction or exponent, but got 1.0"},
		h.Validate([]byte(`{"a":1.0,"b":1.0}`))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestPointerFieldsAreRequiredButNullable(t *testing.T) {
	type address struct {
		City string `json:"city"`
	}
	type person struct {
		Name string   `json:"name"`
		Home *address `json:"home"`
		Age  *int     `json:"age,omitempty"`
		Nick *string  `json:"nick" jsonschema:"nullable"`
	}
	s := mustFor[person](t)
	assertJSON(t, s.JSON, `{"type":"object","additionalProperties":false,"required":["name","home","nick"],
		"properties":{
			"name":{"type":"string"},
			"home":{"anyOf":[{"type":"object","additionalProperties":false,"required":["city"],
				"properties":{"city":{"type":"string"}}},{"type":"null"}]},
			"age":{"anyOf":[{"type":"integer"},{"type":"null"}]},
			"nick":{"oneOf":[{"type":"string"},{"type":"null"}]}
		}}`)
	for doc, want := range map[string][]string{
		`{"name":"a","home":null,"age":null,"nick":null}`: nil,
		`{"name":"a","home":{"city":"x"},"nick":"n"}`:     nil,
		`{"name":"a","nick":null}`:                        {"/: missing properties: 'home'"},
		// The null branch does not add "expected null" to what is wrong with an object.
		`{"name":"a","home":{},"nick":null}`: {"/home: missing properties: 'city'"},
	} {
		if diff := cmp.Diff(want, s.Validate([]byte(doc))); diff != "" {
			t.Errorf("%s (-want +got):\n%s", doc, diff)
		}
	}
	var p person
	if err := json.Unmarshal([]byte(`{"name":"a","home":null,"nick":null}`), &p); err != nil || p.Home != nil {
		t.Errorf("null did not decode to nil: %+v, %v", p, err)
	}
	// The strict form does not wrap a nullable property twice.
	if got := string(s.Strict()); strings.Contains(got, `"anyOf":[{"anyOf"`) {
		t.Errorf("strict form wraps twice: %s", got)
	}
}

func TestDocumentIsACopy(t *testing.T) {
	s := mustFor[recipe](t)
	doc := s.Document()
	want := string(s.JSON)
	for i := range doc {
		doc[i] = 'x'
	}
	if string(s.JSON) != want || string(s.Document()) != want {
		t.Error("editing the returned document changed the cached schema")
	}
}

func TestQuotedScalarFieldsTakeOnlyWhatDecodes(t *testing.T) {
	type quoted struct {
		N  int     `json:"n,string"`
		U  uint8   `json:"u,string"`
		F  float64 `json:"f,string"`
		B  bool    `json:"b,string"`
		On *bool   `json:"on,omitempty,string"`
	}
	s := mustFor[quoted](t)
	for doc, ok := range map[string]bool{
		`{"n":"-12","u":"7","f":"1.5e3","b":"true"}`:              true,
		`{"n":"1.0","u":"7","f":"1","b":"true"}`:                  false,
		`{"n":"1","u":"-7","f":"1","b":"true"}`:                   false,
		`{"n":"1","u":"7","f":"x","b":"true"}`:                    false,
		`{"n":"1","u":"7","f":"1","b":"yes"}`:                     false,
		`{"n":"1","u":"7","f":"1","b":"false","on":"true"}`:       true,
		`{"n":"1","u":"7","f":"1","b":"false","on":"maybe-true"}`: false,
	} {
		problems := s.Validate([]byte(doc))
		var q quoted
		decodes := json.Unmarshal([]byte(doc), &q) == nil
		if (problems == nil) != ok || decodes != ok {
			t.Errorf("%s: problems %v, decodes %v, want valid=%v", doc, problems, decodes, ok)
		}
	}
	type quotedString struct {
		S string `json:"s,string"`
	}
	if _, err := For(reflect.TypeFor[quotedString]()); err == nil || !strings.Contains(err.Error(), `quotedString.S: the json ",string" option`) {
		t.Errorf("err = %v", err)
	}
}
