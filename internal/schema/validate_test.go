package schema

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type orderLine struct {
	SKU string `json:"sku" jsonschema:"pattern=^[A-Z]{3}[0-9]{3}$"`
	Qty int    `json:"qty" jsonschema:"minimum=1"`
}

// order has seven fields; it is also the Validate benchmark's type.
type order struct {
	Customer string      `json:"customer" jsonschema:"minLength=1"`
	Email    string      `json:"email" jsonschema:"format=email"`
	Status   string      `json:"status" jsonschema:"enum=open,enum=paid,enum=shipped"`
	Total    float64     `json:"total" jsonschema:"minimum=0"`
	Placed   time.Time   `json:"placed"`
	Items    []orderLine `json:"items" jsonschema:"minItems=1"`
	Note     string      `json:"note,omitempty" jsonschema:"maxLength=20"`
}

const validOrder = `{"customer":"Ada","email":"ada@example.com","status":"paid","total":12.5,
	"placed":"2024-05-01T10:00:00Z","items":[{"sku":"ABC123","qty":2},{"sku":"XYZ999","qty":1}]}`

// withField returns validOrder with key set to the raw JSON value, or removed when value is "".
func withField(t *testing.T, key, value string) []byte {
	t.Helper()
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(validOrder), &m); err != nil {
		t.Fatal(err)
	}
	if value == "" {
		delete(m, key)
	} else {
		m[key] = json.RawMessage(value)
	}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestValidateReportsEveryLeafSorted(t *testing.T) {
	s := mustFor[order](t)
	tests := []struct {
		name string
		data []byte
		want []string
	}{
		{"valid document", []byte(validOrder), nil},
		{"optional field present", withField(t, "note", `"leave at door"`), nil},
		{"missing field is reported at its object", withField(t, "customer", ""),
			[]string{"/: missing properties: 'customer'"}},
		{"wrong enum value", withField(t, "status", `"lost"`),
			[]string{`/status: value must be one of "open", "paid", "shipped"`}},
		{"below minimum", withField(t, "total", `-1`),
			[]string{"/total: must be >= 0 but found -1"}},
		{"extra property", withField(t, "coupon", `"X"`),
			[]string{"/: additionalProperties 'coupon' not allowed"}},
		{"wrong type", withField(t, "total", `"12.50"`),
			[]string{"/total: expected number, but got string"}},
		{"nested array item", withField(t, "items", `[{"sku":"ABC123","qty":1},{"sku":"abc","qty":0}]`),
			[]string{
				"/items/1/qty: must be >= 1 but found 0",
				"/items/1/sku: does not match pattern '^[A-Z]{3}[0-9]{3}$'",
			}},
		{"missing field of an array item", withField(t, "items", `[{"sku":"ABC123"}]`),
			[]string{"/items/0: missing properties: 'qty'"}},
		{"too few items", withField(t, "items", `[]`),
			[]string{"/items: minimum 1 items required, but found 0 items"}},
		{"bad email format", withField(t, "email", `"ada at example"`),
			[]string{"/email: 'ada at example' is not valid 'email'"}},
		{"bad date-time format", withField(t, "placed", `"yesterday"`),
			[]string{"/placed: 'yesterday' is not valid 'date-time'"}},
		{"too long", withField(t, "note", `"this note is far too long"`),
			[]string{"/note: length must be <= 20, but got 25"}},
		{"several problems, sorted", []byte(`{"customer":"","email":"x","status":"open","total":1,
			"placed":"2024-05-01T10:00:00Z","items":[{"sku":"ABC123","qty":1,"gift":true}],"extra":1}`),
			[]string{
				"/: additionalProperties 'extra' not allowed",
				"/customer: length must be >= 1, but got 0",
				"/email: 'x' is not valid 'email'",
				"/items/0: additionalProperties 'gift' not allowed",
			}},
		{"not an object", []byte(`[1]`), []string{"/: expected object, but got array"}},
		{"invalid JSON", []byte(`{"customer":`), []string{"/: invalid JSON: unexpected EOF"}},
		{"empty input", nil, []string{"/: invalid JSON: empty document"}},
		{"two documents", []byte(validOrder + ` {}`), []string{"/: invalid JSON: unexpected data after the document"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, s.Validate(tt.data)); diff != "" {
				t.Errorf("problems (-want +got):\n%s", diff)
			}
		})
	}
}

func TestValidateNumbersAreExact(t *testing.T) {
	// UseNumber keeps 2^53+1 exact; as a float64 it would equal the maximum and pass.
	type big struct {
		N int64 `json:"n" jsonschema:"maximum=9007199254740992"`
	}
	s := mustFor[big](t)
	want := []string{"/n: must be <= 9.007199254740992e+15 but found 9007199254740993"} // v5 spells the bound as a float
	if diff := cmp.Diff(want, s.Validate([]byte(`{"n":9007199254740993}`))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestValidateDeduplicatesIdenticalLeaves(t *testing.T) {
	s, err := Compile(json.RawMessage(`{"anyOf":[{"required":["a"]},{"type":"object","required":["a"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"/: missing properties: 'a'"}, s.Validate([]byte(`{}`))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestValidateQuotesOnlyStringsInAllowedValues(t *testing.T) {
	s, err := Compile(json.RawMessage(`{"properties":{"n":{"enum":[1,2.5,"3",null]},"c":{"const":{"a":[1]}}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		`/c: value must be {"a":[1]}`,
		`/n: value must be one of 1, 2.5, "3", null`,
	}
	if diff := cmp.Diff(want, s.Validate([]byte(`{"n":3,"c":{"a":[2]}}`))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestValidateAssertsFormatInHandWrittenSchemas(t *testing.T) {
	s, err := Compile(json.RawMessage(`{"$schema":"https://json-schema.org/draft/2020-12/schema",
		"properties":{"id":{"format":"uuid"},"day":{"format":"date"},"home":{"format":"uri"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"/day: '2024-13-01' is not valid 'date'",
		"/home: 'not a uri' is not valid 'uri'",
		"/id: '1234' is not valid 'uuid'",
	}
	if diff := cmp.Diff(want, s.Validate([]byte(`{"id":"1234","day":"2024-13-01","home":"not a uri"}`))); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func BenchmarkValidate(b *testing.B) {
	s := mustFor[order](b)
	data := []byte(validOrder)
	if got := s.Validate(data); got != nil {
		b.Fatal(got)
	}
	for b.Loop() {
		s.Validate(data)
	}
}

func BenchmarkValidateInvalid(b *testing.B) {
	s := mustFor[order](b)
	data := []byte(`{"customer":"","email":"x","status":"lost","total":-1,"placed":"now","items":[{"sku":"a","qty":0}]}`)
	if got := s.Validate(data); len(got) == 0 {
		b.Fatal("invalid document accepted")
	}
	for b.Loop() {
		s.Validate(data)
	}
}
