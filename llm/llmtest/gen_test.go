package llmtest

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/invopop/jsonschema"
	validator "github.com/santhosh-tekuri/jsonschema/v5"
)

// mustValidate checks out against schema with an independent compile of the validator,
// draft 2020-12 with format assertion on.
func mustValidate(t testing.TB, schema string, out []byte) {
	t.Helper()
	c := validator.NewCompiler()
	c.Draft = validator.Draft2020
	c.AssertFormat = true
	if err := c.AddResource("mem://test.json", strings.NewReader(schema)); err != nil {
		t.Fatalf("add schema: %v", err)
	}
	sch, err := c.Compile("mem://test.json")
	if err != nil {
		t.Fatalf("compile schema: %v", err)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("output %s is not JSON: %v", out, err)
	}
	if err := sch.Validate(v); err != nil {
		t.Fatalf("output %s does not validate against %s: %#v", out, schema, err)
	}
}

func TestExampleValidates(t *testing.T) {
	tests := []struct{ name, schema string }{
		{"empty schema", `{}`},
		{"true schema", `true`},
		{"string", `{"type":"string"}`},
		{"integer", `{"type":"integer"}`},
		{"number", `{"type":"number"}`},
		{"boolean", `{"type":"boolean"}`},
		{"null", `{"type":"null"}`},
		{"integer range above one", `{"type":"integer","minimum":10,"maximum":20}`},
		{"integer range below zero", `{"type":"integer","maximum":-5}`},
		{"integer exclusive bounds", `{"type":"integer","exclusiveMinimum":4,"exclusiveMaximum":6}`},
		{"integer with fractional multipleOf", `{"type":"integer","multipleOf":1.5}`},
		{"integer multipleOf inside range", `{"type":"integer","minimum":11,"maximum":19,"multipleOf":7}`},
		{"number in open unit interval", `{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}`},
		{"number with decimal multipleOf", `{"type":"number","multipleOf":0.01,"minimum":2.555}`},
		{"number with tiny range", `{"type":"number","minimum":0.1,"maximum":0.1}`},
		{"negative number range", `{"type":"number","minimum":-3.5,"maximum":-2.25}`},
		{"minLength longer than the word", `{"type":"string","minLength":20}`},
		{"maxLength shorter than the word", `{"type":"string","maxLength":3}`},
		{"maxLength zero", `{"type":"string","maxLength":0}`},
		{"pattern three capitals", `{"type":"string","pattern":"^[A-Z]{3}$"}`},
		{"pattern digits", `{"type":"string","pattern":"^\\d+$"}`},
		{"pattern unanchored", `{"type":"string","pattern":"[a-z]+"}`},
		{"pattern with alternation and optional", `{"type":"string","pattern":"^(foo|bar)-?[0-9]{2,4}$"}`},
		{"pattern with negated class", `{"type":"string","pattern":"^[^a-z]{5}$"}`},
		{"pattern and minLength", `{"type":"string","pattern":"^[a-z]+$","minLength":12}`},
		{"pattern with dot", `{"type":"string","pattern":"^x.y$"}`},
		{"format date-time", `{"type":"string","format":"date-time"}`},
		{"format date", `{"type":"string","format":"date"}`},
		{"format time", `{"type":"string","format":"time"}`},
		{"format email", `{"type":"string","format":"email"}`},
		{"format email padded", `{"type":"string","format":"email","minLength":40}`},
		{"format uri", `{"type":"string","format":"uri"}`},
		{"format uuid", `{"type":"string","format":"uuid"}`},
		{"format hostname", `{"type":"string","format":"hostname"}`},
		{"format ipv4", `{"type":"string","format":"ipv4"}`},
		{"format ipv6", `{"type":"string","format":"ipv6"}`},
		{"format duration", `{"type":"string","format":"duration"}`},
		{"format unknown", `{"type":"string","format":"int64"}`},
		{"enum of numbers", `{"enum":[3,1.5,-2]}`},
		{"enum of mixed types", `{"enum":[null,"a",{"k":[1]}]}`},
		{"const object", `{"const":{"b":1,"a":[true]}}`},
		{"nullable via type array", `{"type":["string","null"],"minLength":2}`},
		{"null first in type array", `{"type":["null","integer"]}`},
		{"anyOf with null", `{"anyOf":[{"type":"null"},{"type":"string","format":"email"}]}`},
		{"oneOf overlapping branches", `{"oneOf":[{"type":"number"},{"type":"integer"},{"type":"string"}]}`},
		{"anyOf with sibling keywords", `{"type":"object","properties":{"a":{"type":"integer"}},"required":["a"],"anyOf":[{"required":["b"]},{"required":["c"]}]}`},
		{"allOf merge", `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}},"required":["a"]},{"properties":{"a":{"maxLength":3},"b":{"type":"integer","minimum":5}},"required":["b"]}]}`},
		{"allOf numeric bounds", `{"allOf":[{"type":"number","minimum":3},{"type":"integer","maximum":9,"multipleOf":4}]}`},
		{"nested objects and arrays", `{"type":"object","properties":{"orders":{"type":"array","minItems":2,"items":{"type":"object","properties":{"sku":{"type":"string","pattern":"^[A-Z]{2}-\\d{4}$"},"qty":{"type":"integer","minimum":1},"lines":{"type":"array","items":{"type":"array","items":{"type":"number"}}}},"required":["sku","qty"],"additionalProperties":false}}},"required":["orders"]}`},
		{"prefixItems", `{"type":"array","prefixItems":[{"type":"string"},{"type":"integer"},{"type":"boolean"}],"items":false}`},
		{"prefixItems and items", `{"type":"array","prefixItems":[{"const":"head"}],"items":{"type":"integer"},"minItems":3}`},
		{"maxItems zero", `{"type":"array","maxItems":0,"items":{"type":"string"}}`},
		{"uniqueItems strings minItems 3", `{"type":"array","items":{"type":"string"},"minItems":3,"uniqueItems":true}`},
		{"uniqueItems capped strings", `{"type":"array","items":{"type":"string","maxLength":2},"minItems":4,"uniqueItems":true}`},
		{"uniqueItems integers in range", `{"type":"array","items":{"type":"integer","minimum":0,"maximum":2},"minItems":3,"uniqueItems":true}`},
		{"uniqueItems pattern", `{"type":"array","items":{"type":"string","pattern":"^[A-Z]{3}$"},"minItems":3,"uniqueItems":true}`},
		{"uniqueItems enum", `{"type":"array","items":{"enum":["x","y","z"]},"minItems":3,"uniqueItems":true}`},
		{"uniqueItems formats", `{"type":"array","items":{"type":"string","format":"date"},"minItems":3,"uniqueItems":true}`},
		{"uniqueItems objects", `{"type":"array","items":{"type":"object","properties":{"id":{"type":"integer"}}},"minItems":3,"uniqueItems":true}`},
		{"uniqueItems with example", `{"type":"array","items":{"type":"integer","examples":[7]},"minItems":3,"uniqueItems":true}`},
		{"map of integers", `{"type":"object","additionalProperties":{"type":"integer","minimum":3}}`},
		{"required not in properties", `{"type":"object","properties":{"a":{"type":"string"}},"required":["z","a","m"]}`},
		{"minProperties", `{"type":"object","minProperties":2,"additionalProperties":{"type":"boolean"}}`},
		{"maxProperties drops optional", `{"type":"object","properties":{"a":{"type":"string"},"b":{"type":"string"},"c":{"type":"string"}},"required":["c"],"maxProperties":2}`},
		{"draft-07 definitions and tuple items", `{"$schema":"http://json-schema.org/draft-07/schema#","definitions":{"n":{"type":"integer","minimum":2}},"type":"array","items":[{"$ref":"#/definitions/n"},{"type":"string"}]}`},
		{"$defs recursion", `{"$ref":"#/$defs/Node","$defs":{"Node":{"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/$defs/Node"}}},"required":["name"],"additionalProperties":false}}}`},
		{"$defs recursion through nullable", `{"$defs":{"L":{"type":"object","properties":{"v":{"type":"integer"},"next":{"anyOf":[{"$ref":"#/$defs/L"},{"type":"null"}]}},"required":["v","next"]}},"$ref":"#/$defs/L"}`},
		{"mutual recursion", `{"$defs":{"A":{"type":"object","properties":{"b":{"$ref":"#/$defs/B"}}},"B":{"type":"object","properties":{"a":{"$ref":"#/$defs/A"}}}},"$ref":"#/$defs/A"}`},
		{"$ref with sibling bounds", `{"$defs":{"n":{"type":"integer"}},"$ref":"#/$defs/n","minimum":40}`},
		{"$ref to the root", `{"type":"object","properties":{"self":{"$ref":"#"},"id":{"type":"string"}},"required":["id"]}`},
		{"odd property names", `{"type":"object","properties":{"a b/c~d":{"type":"string","examples":["ok"]},"%":{"default":1,"type":"integer"}}}`},
		{"default wins over build", `{"type":"integer","default":42,"minimum":0}`},
		{"stale example skipped", `{"type":"string","format":"email","examples":["not an email","a@b.example"]}`},
		{"infer object from properties", `{"properties":{"x":{"minimum":3}},"required":["x"]}`},
		{"infer array from items", `{"items":{"type":"boolean"},"minItems":2}`},
		{"infer string from pattern", `{"pattern":"^z+$"}`},
		{"invopop-like struct", `{"$schema":"https://json-schema.org/draft/2020-12/schema","properties":{"name":{"type":"string","minLength":2,"examples":["Ada"]},"age":{"type":"integer","maximum":150,"minimum":0},"when":{"type":"string","format":"date-time"},"tags":{"items":{"type":"string"},"type":"array","uniqueItems":true},"kind":{"type":"string","enum":["a","b"]},"n":{"oneOf":[{"type":"string"},{"type":"null"}]},"any":true},"additionalProperties":false,"type":"object","required":["name","age","when","kind","n","any"]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Example(json.RawMessage(tt.schema))
			if err != nil {
				t.Fatalf("Example: %v", err)
			}
			mustValidate(t, tt.schema, out)
			again, err := Example(json.RawMessage(tt.schema))
			if err != nil || !bytes.Equal(out, again) {
				t.Fatalf("second call gave %s, %v; first gave %s", again, err, out)
			}
		})
	}
}

func TestExampleOutput(t *testing.T) {
	tests := []struct{ name, schema, want string }{
		{"empty schema gives example", `{}`, `"example"`},
		{"true gives example", `true`, `"example"`},
		{"examples come first", `{"type":"string","examples":["ex"],"default":"def","enum":["def","ex","en"]}`, `"ex"`},
		{"default before const and enum", `{"default":"def","enum":["en","def"]}`, `"def"`},
		{"const before enum", `{"const":"c","enum":["e","c"]}`, `"c"`},
		{"first enum value", `{"enum":[3,1.5,-2]}`, `3`},
		{"enum value that fails the type is skipped", `{"type":"integer","enum":["a",2.5,7]}`, `7`},
		{"example that does not validate is skipped", `{"type":"integer","minimum":10,"examples":[3,12],"default":11}`, `12`},
		{"numbers keep their written form", `{"examples":[1.50]}`, `1.50`},
		{"no HTML escaping", `{"examples":["<b>&</b>"]}`, `"<b>&</b>"`},
		{"properties in schema order, optional included", `{"type":"object","properties":{"zeta":{"type":"integer"},"alpha":{"type":"boolean"},"mid":{"type":"null"}},"required":["alpha"]}`, `{"zeta":1,"alpha":true,"mid":null}`},
		{"extra required names sorted after properties", `{"type":"object","properties":{"b":{"type":"integer"}},"required":["z","b","a"]}`, `{"b":1,"a":"example","z":"example"}`},
		{"integer with exclusiveMinimum 0 is 1", `{"type":"integer","exclusiveMinimum":0}`, `1`},
		{"integer with exclusiveMaximum 1 is 0", `{"type":"integer","exclusiveMaximum":1}`, `0`},
		{"integer minimum above 1", `{"type":"integer","minimum":10}`, `10`},
		{"integer maximum below 1", `{"type":"integer","maximum":-4}`, `-4`},
		{"integer multipleOf", `{"type":"integer","multipleOf":5}`, `5`},
		{"integer multipleOf within bounds", `{"type":"integer","minimum":11,"maximum":19,"multipleOf":7}`, `14`},
		{"integer multipleOf fraction", `{"type":"integer","multipleOf":1.5}`, `3`},
		{"number exclusive bounds without an integer", `{"type":"number","exclusiveMinimum":0,"exclusiveMaximum":1}`, `0.5`},
		{"number decimal multipleOf", `{"type":"number","minimum":2.5,"multipleOf":0.01}`, `2.5`},
		{"minLength pads", `{"type":"string","minLength":10}`, `"exampleexa"`},
		{"maxLength cuts", `{"type":"string","maxLength":3}`, `"exa"`},
		{"pattern three capitals", `{"type":"string","pattern":"^[A-Z]{3}$"}`, `"AAA"`},
		{"pattern digits", `{"type":"string","pattern":"^\\d+$"}`, `"0"`},
		{"unanchored pattern keeps the word", `{"type":"string","pattern":"[a-z]+"}`, `"example"`},
		{"format date-time", `{"type":"string","format":"date-time"}`, `"2024-01-15T09:30:00Z"`},
		{"format email", `{"type":"string","format":"email"}`, `"user@example.com"`},
		{"format uuid", `{"type":"string","format":"uuid"}`, `"00000000-0000-4000-8000-000000000001"`},
		{"array has one item by default", `{"type":"array","items":{"type":"integer"}}`, `[1]`},
		{"array respects minItems", `{"type":"array","items":{"type":"boolean"},"minItems":2}`, `[true,true]`},
		{"maxItems zero gives empty array", `{"type":"array","maxItems":0}`, `[]`},
		{"unique strings", `{"type":"array","items":{"type":"string"},"minItems":3,"uniqueItems":true}`, `["example","example-2","example-3"]`},
		{"unique pattern strings", `{"type":"array","items":{"type":"string","pattern":"^[A-Z]{3}$"},"minItems":3,"uniqueItems":true}`, `["AAA","AAB","AAC"]`},
		{"unique integers", `{"type":"array","items":{"type":"integer","exclusiveMinimum":0,"multipleOf":3},"minItems":3,"uniqueItems":true}`, `[3,6,9]`},
		{"unique enum values", `{"type":"array","items":{"enum":["x","y","z"]},"minItems":3,"uniqueItems":true}`, `["x","y","z"]`},
		{"unique after an example", `{"type":"array","items":{"type":"integer","examples":[7]},"minItems":3,"uniqueItems":true}`, `[7,1,2]`},
		{"anyOf picks the first non-null branch", `{"anyOf":[{"type":"null"},{"type":"integer"}]}`, `1`},
		{"type array skips null", `{"type":["null","boolean"]}`, `true`},
		{"only null", `{"type":"null"}`, `null`},
		{"oneOf skips a branch that matches twice", `{"oneOf":[{"type":"number"},{"type":"integer"},{"type":"string"}]}`, `"example"`},
		{"allOf merges", `{"allOf":[{"type":"object","properties":{"a":{"type":"string"}}},{"properties":{"a":{"maxLength":2},"b":{"const":1}}}]}`, `{"a":"ex","b":1}`},
		{"map gets one entry", `{"type":"object","additionalProperties":{"type":"integer"}}`, `{"key":1}`},
		{"recursion is cut with an empty array", `{"$ref":"#/$defs/Node","$defs":{"Node":{"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#/$defs/Node"}}},"required":["name"]}}}`, `{"name":"example","children":[{"name":"example","children":[]}]}`},
		{"recursion is cut by omitting an optional property", `{"$defs":{"A":{"type":"object","properties":{"id":{"type":"integer"},"parent":{"$ref":"#/$defs/A"}},"required":["id"]}},"$ref":"#/$defs/A"}`, `{"id":1,"parent":{"id":1}}`},
		{"recursion is cut through a nullable branch", `{"$defs":{"L":{"type":"object","properties":{"next":{"anyOf":[{"$ref":"#/$defs/L"},{"type":"null"}]}},"required":["next"]}},"$ref":"#/$defs/L"}`, `{"next":{"next":null}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Example(json.RawMessage(tt.schema))
			if err != nil {
				t.Fatalf("Example: %v", err)
			}
			if string(out) != tt.want {
				t.Fatalf("Example = %s, want %s", out, tt.want)
			}
			mustValidate(t, tt.schema, out)
		})
	}
}

func TestExampleErrors(t *testing.T) {
	tests := []struct{ name, schema, wantInErr string }{
		{"empty input", ``, "empty schema"},
		{"not JSON", `{"type":`, "not JSON"},
		{"data after the schema", `{} {}`, "after the JSON value"},
		{"schema that is not an object", `"string"`, "object or a boolean"},
		{"false schema", `false`, "admits no value"},
		{"invalid keyword value", `{"type":"text"}`, "compilation failed"},
		{"invalid pattern", `{"type":"string","pattern":"[a-"}`, `pattern "[a-"`},
		{"invalid pattern in unused $defs", `{"$defs":{"x":{"pattern":"(("}}}`, "regex"},
		{"remote $ref", `{"$ref":"https://example.com/s.json"}`, "not https://example.com/s.json"},
		{"dangling $ref", `{"$ref":"#/$defs/missing"}`, "#/$defs/missing"},
		{"required name forbidden by additionalProperties", `{"type":"object","required":["x"],"additionalProperties":false}`, `required property "x"`},
		{"no enum value validates", `{"type":"integer","enum":["a","b"]}`, "no const or enum value validates"},
		{"const of the wrong type", `{"type":"string","const":5}`, "no const or enum value validates"},
		{"three unique booleans", `{"type":"array","items":{"type":"boolean"},"minItems":3,"uniqueItems":true}`, "cannot make 3 unique items"},
		{"minimum above maximum", `{"type":"integer","minimum":5,"maximum":4}`, "no integer fits between 5 and 4"},
		{"no integer in an open unit interval", `{"type":"integer","exclusiveMinimum":0,"exclusiveMaximum":1}`, "no integer fits"},
		{"string too short for its format", `{"type":"string","format":"date","maxLength":4}`, `format "date"`},
		{"pattern and maxLength that disagree", `{"type":"string","pattern":"^[a-z]{5}$","maxLength":3}`, "maxLength 3"},
		{"minItems above maxItems", `{"type":"array","minItems":3,"maxItems":1}`, "minItems 3"},
		{"allOf with disjoint types", `{"allOf":[{"type":"string"},{"type":"integer"}]}`, "no type satisfies"},
		{"required infinite recursion", `{"$defs":{"A":{"type":"object","properties":{"a":{"$ref":"#/$defs/A"}},"required":["a"]}},"$ref":"#/$defs/A"}`, "recursion has no finite instance"},
		{"error names the property", `{"type":"object","properties":{"outer":{"type":"object","properties":{"inner":{"type":"integer","minimum":3,"maximum":2}}}}}`, `property "outer": property "inner"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Example(json.RawMessage(tt.schema))
			if err == nil {
				t.Fatalf("Example = %s, want an error containing %q", out, tt.wantInErr)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) || !strings.HasPrefix(err.Error(), "llmtest: example: ") {
				t.Fatalf("error %q does not contain %q", err, tt.wantInErr)
			}
		})
	}
}

// The shapes invopop/jsonschema produces from real Go types, both inline and, for a
// recursive type, with $defs.
func TestExampleFromReflectedTypes(t *testing.T) {
	type address struct {
		Street  string `json:"street" jsonschema_description:"street and number"`
		Zip     string `json:"zip,omitempty" jsonschema:"pattern=^\\d{5}$"`
		Country string `json:"country" jsonschema:"enum=DE,enum=FR,enum=US"`
	}
	type order struct {
		ID        string            `json:"id" jsonschema:"format=uuid"`
		Customer  string            `json:"customer" jsonschema:"minLength=2,maxLength=40,example=Ada Lovelace"`
		Email     string            `json:"email" jsonschema:"format=email"`
		Placed    time.Time         `json:"placed"`
		Quantity  int               `json:"quantity" jsonschema:"minimum=1,maximum=99"`
		Price     float64           `json:"price" jsonschema:"exclusiveMinimum=0,multipleOf=0.01"`
		Tags      []string          `json:"tags,omitempty" jsonschema:"uniqueItems=true,minItems=3"`
		Ship      *address          `json:"ship,omitempty"`
		Bill      address           `json:"bill"`
		Notes     *string           `json:"notes" jsonschema:"nullable"`
		Attrs     map[string]int    `json:"attrs"`
		Raw       json.RawMessage   `json:"raw"`
		Lines     []map[string]bool `json:"lines"`
		Confirmed bool              `json:"confirmed"`
	}
	type node struct {
		Name     string  `json:"name"`
		Children []*node `json:"children,omitempty"`
	}
	inline := &jsonschema.Reflector{DoNotReference: true, ExpandedStruct: true, Anonymous: true}
	withRefs := &jsonschema.Reflector{Anonymous: true}
	tests := []struct {
		name   string
		schema *jsonschema.Schema
	}{
		{"inline struct", inline.Reflect(new(order))},
		{"recursive struct with $defs", withRefs.Reflect(new(node))},
		{"struct with $defs", withRefs.Reflect(new(order))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schema, err := json.Marshal(tt.schema)
			if err != nil {
				t.Fatal(err)
			}
			out, err := Example(schema)
			if err != nil {
				t.Fatalf("Example: %v\nschema: %s", err, schema)
			}
			mustValidate(t, string(schema), out)
		})
	}
}

// FuzzExample checks that no input makes Example panic, and that it stays deterministic.
// Its seeds run with every `go test`.
func FuzzExample(f *testing.F) {
	for _, s := range []string{
		`{}`, `true`, `false`, `[]`, `{"type":["string","null"]}`, `{"pattern":"^a{2,}(b|c)*$","minLength":4}`,
		`{"$ref":"#"}`, `{"$ref":"#/x"}`, `{"items":[{"$ref":"#/items/0"}]}`, `{"minimum":1e400}`,
		`{"multipleOf":0.0001,"maximum":-1e-9}`, `{"enum":[]}`, `{"anyOf":[]}`, `{"type":"integer","multipleOf":1e-300}`,
		`{"properties":{"":{"$ref":"#/properties/"}},"required":[""]}`, `{"minLength":999999999999}`, `{"minItems":100000000}`, `{"pattern":"^(a{1000}){1000}$"}`, `{"minLength":9000,"pattern":"^[a-z]{2}\\d*$"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, schema []byte) {
		out, err := Example(schema)
		if err != nil {
			return
		}
		if !json.Valid(out) {
			t.Fatalf("Example(%s) = %s, not JSON", schema, out)
		}
		again, err := Example(schema)
		if err != nil || !bytes.Equal(out, again) {
			t.Fatalf("Example(%s) gave %s, then %s, %v", schema, out, again, err)
		}
	})
}

func BenchmarkExample(b *testing.B) {
	schema := json.RawMessage(`{"type":"object","properties":{"name":{"type":"string","minLength":2,"examples":["Ada"]},"age":{"type":"integer","minimum":0,"maximum":150},"when":{"type":"string","format":"date-time"},"tags":{"type":"array","items":{"type":"string"},"uniqueItems":true,"minItems":3},"kind":{"enum":["a","b"]},"addr":{"type":"object","properties":{"street":{"type":"string"},"zip":{"type":"string","pattern":"^\\d{5}$"}},"required":["street"]}},"required":["name","age","when","kind"]}`)
	for b.Loop() {
		if _, err := Example(schema); err != nil {
			b.Fatal(err)
		}
	}
}
