package jsonorder

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeThenMarshal(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"keys keep document order", `{"z":1,"a":2,"m":3}`, `{"z":1,"a":2,"m":3}`},
		{"a repeated key keeps its first position and the last value", `{"a":1,"b":2,"a":3}`, `{"a":3,"b":2}`},
		{"numbers keep their digits", `[2.50,-0,1e400,12345678901234567890]`, `[2.50,-0,1e400,12345678901234567890]`},
		{"white space is dropped", " {\n\t\"a\" : [ true , false , null ] , \"b\" : { } , \"c\" : [ ] }\n", `{"a":[true,false,null],"b":{},"c":[]}`},
		{"nested objects keep their order", `{"p":{"y":{"k2":0,"k1":0},"x":""}}`, `{"p":{"y":{"k2":0,"k1":0},"x":""}}`},
		{"HTML characters are written as they are", `{"a<b":"x & y > z"}`, `{"a<b":"x & y > z"}`},
		{"escapes are written in encoding/json's spelling", `["\u0041\/\t\u2028", "\ud800"]`, "[\"A/\\t\\u2028\",\"\uFFFD\"]"},
		{"a scalar document", ` "s" `, `"s"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tree, err := Decode([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Marshal(tree)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"nothing", "", "EOF"},
		{"a second document", `{}{}`, "unexpected data after the JSON value"},
		{"text after the document", `[1] x`, "unexpected data after the JSON value"},
		{"a cut-off document", `{"a":`, "EOF"},
		{"not JSON", `{a:1}`, "invalid character 'a'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, err := Decode([]byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Decode(%q) = %v, %v; want an error containing %q", tt.in, v, err, tt.want)
			}
		})
	}
}

func TestDecodedValueTypes(t *testing.T) {
	tree, err := Decode([]byte(`{"o":{},"l":[],"s":"x","n":1.5,"b":true,"z":null}`))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for key, v := range tree.(*Object).All() {
		got = append(got, fmt.Sprintf("%s %T", key, v))
	}
	want := []string{"o *jsonorder.Object", "l []interface {}", "s string", "n json.Number", "b bool", "z <nil>"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("values (-want +got):\n%s", diff)
	}
}

func TestObject(t *testing.T) {
	write := func(t *testing.T, o *Object) string {
		t.Helper()
		b, err := Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	abc := func() *Object {
		o := &Object{}
		o.Set("a", 1)
		o.Set("b", 2)
		o.Set("c", 3)
		return o
	}
	t.Run("the zero value is an empty object", func(t *testing.T) {
		var o Object
		if _, ok := o.Get("a"); ok || o.Len() != 0 || write(t, &o) != `{}` {
			t.Errorf("zero Object: Len %d, written %s", o.Len(), write(t, &o))
		}
		o.Delete("a") // absent: nothing to do
	})
	t.Run("setting a key it has keeps the key's position", func(t *testing.T) {
		o := abc()
		o.Set("a", "x")
		if got := write(t, o); got != `{"a":"x","b":2,"c":3}` {
			t.Errorf("got %s", got)
		}
	})
	t.Run("a deleted key set again goes last", func(t *testing.T) {
		o := abc()
		o.Delete("a")
		if _, ok := o.Get("a"); ok || o.Len() != 2 {
			t.Fatalf("after Delete: Len %d, written %s", o.Len(), write(t, o))
		}
		o.Set("a", 4)
		if got := write(t, o); got != `{"b":2,"c":3,"a":4}` {
			t.Errorf("got %s", got)
		}
	})
	t.Run("Keys is a copy", func(t *testing.T) {
		o := abc()
		keys := o.Keys()
		keys[0] = "changed"
		if diff := cmp.Diff([]string{"a", "b", "c"}, o.Keys()); diff != "" {
			t.Errorf("keys (-want +got):\n%s", diff)
		}
	})
	t.Run("All may set keys it visits and stops on break", func(t *testing.T) {
		o := abc()
		var seen []string
		for k, v := range o.All() {
			seen = append(seen, k)
			o.Set(k, []any{v})
			if k == "b" {
				break
			}
		}
		if diff := cmp.Diff([]string{"a", "b"}, seen); diff != "" {
			t.Errorf("visited (-want +got):\n%s", diff)
		}
		if got := write(t, o); got != `{"a":[1],"b":[2],"c":3}` {
			t.Errorf("got %s", got)
		}
	})
}

func TestHTMLEscaping(t *testing.T) {
	tree, err := Decode([]byte(`{"p":"<a&b>"}`))
	if err != nil {
		t.Fatal(err)
	}
	plain, err := Marshal(tree)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"p":"<a&b>"}`; string(plain) != want {
		t.Errorf("Marshal: got %s, want %s", plain, want)
	}
	// internal/schema writes trees with json.Marshal and its schemas have always been HTML-escaped.
	escaped, err := json.Marshal([]any{tree})
	if err != nil {
		t.Fatal(err)
	}
	if want := `[{"p":"\u003ca\u0026b\u003e"}]`; string(escaped) != want {
		t.Errorf("json.Marshal: got %s, want %s", escaped, want)
	}
}

func TestMarshalValuesOutsideATree(t *testing.T) {
	tests := []struct {
		name string
		in   any
		want string
	}{
		{"a nil *Object is null", (*Object)(nil), `null`},
		{"other types go through encoding/json", []any{3, map[string]any{"b": "<", "a": 1.5}}, `[3,{"a":1.5,"b":"<"}]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Marshal(tt.in)
			if err != nil || string(got) != tt.want {
				t.Errorf("got %s, %v; want %s", got, err, tt.want)
			}
		})
	}
	t.Run("a value encoding/json cannot encode is an error", func(t *testing.T) {
		o := &Object{}
		o.Set("c", make(chan int))
		if got, err := Marshal(o); err == nil {
			t.Errorf("got %s, want an error", got)
		}
	})
}

func TestMarshalSpellsStringsAsEncodingJSON(t *testing.T) {
	for _, s := range []string{"", "plain ASCII <&>", `quote "`, `backslash \`, "tab\t", "newline\n", "nul\x00",
		"unit separator\x1f", "delete\x7f", "é 日本", "bad UTF-8 \xff\xfe", "line\u2028", "para\u2029"} {
		var want strings.Builder
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		got, err := Marshal(&Object{keys: []string{s}, vals: map[string]any{s: s}})
		if err != nil {
			t.Fatal(err)
		}
		w := strings.TrimSuffix(want.String(), "\n")
		if string(got) != "{"+w+":"+w+"}" {
			t.Errorf("Marshal of %q: got %s, want {%s:%s}", s, got, w, w)
		}
	}
}
