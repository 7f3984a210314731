package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Strict returns the schema in the form strict provider modes want: every property of every object is listed in
// required, and the ones that were optional become anyOf:[T, {"type":"null"}]. s.JSON is not changed; validate
// against s.JSON (a strict-mode answer may carry null for an optional field, which s.JSON rejects).
func (s *Schema) Strict() json.RawMessage {
	return bytes.Clone(s.strict)
}

// strictForm rewrites a parsed schema tree in place into the strict form described at Strict.
func strictForm(root any) {
	eachSchema(root, "", func(o *object, _ string) {
		props, ok := o.get("properties")
		p, isObj := props.(*object)
		if !ok || !isObj {
			return
		}
		required := map[string]bool{}
		if list, ok := o.get("required"); ok {
			if list, ok := list.([]any); ok {
				for _, name := range list {
					if name, ok := name.(string); ok {
						required[name] = true
					}
				}
			}
		}
		all := make([]any, 0, len(p.members))
		for i, m := range p.members {
			all = append(all, m.key)
			if !required[m.key] {
				p.members[i].val = &object{members: []member{
					{"anyOf", []any{m.val, &object{members: []member{{"type", "null"}}}}},
				}}
			}
		}
		o.set("required", all)
	})
}

// Simplify returns a copy of schema without the given keywords wherever they occur as keywords of a schema
// (a property that happens to be named "format" is kept), and the sorted list of what was dropped as
// "path: keyword=value" lines, e.g. "/properties/email: format=email", path being the JSON pointer of the schema
// that held the keyword ("/" for the root). Keywords that do not occur are ignored. schema is not changed; if it is
// not valid JSON it is returned as is, with no lines.
func Simplify(schema json.RawMessage, drop ...string) (json.RawMessage, []string) {
	root, err := parseOrdered(schema)
	if err != nil || len(drop) == 0 {
		return bytes.Clone(schema), nil
	}
	var dropped []string
	eachSchema(root, "", func(o *object, ptr string) {
		for _, kw := range drop {
			v, ok := o.get(kw)
			if !ok {
				continue
			}
			o.del(kw)
			val, isString := v.(string)
			if !isString {
				val = compact(v)
			}
			dropped = append(dropped, fmt.Sprintf("%s: %s=%s", pointerOrRoot(ptr), kw, val))
		}
	})
	out, _ := json.Marshal(root)
	slices.Sort(dropped)
	return out, dropped
}

// pointerOrRoot spells the empty JSON pointer (the document itself) as "/" so that lines never start with ": ".
func pointerOrRoot(ptr string) string {
	if ptr == "" {
		return "/"
	}
	return ptr
}

// Keywords whose values are schemas, by shape. Only these are descended into, so data-valued keywords (enum,
// const, default, examples) and property names are never mistaken for schema keywords.
var (
	schemaMapKeywords  = []string{"properties", "patternProperties", "$defs", "definitions", "dependentSchemas"}
	schemaListKeywords = []string{"allOf", "anyOf", "oneOf", "prefixItems", "items"} // items: array form of drafts < 2020-12
	schemaKeywords     = []string{"items", "additionalItems", "additionalProperties", "unevaluatedItems",
		"unevaluatedProperties", "not", "if", "then", "else", "contains", "propertyNames", "contentSchema"}
)

// eachSchema calls fn for every schema object in the tree rooted at v, parents before children, with its JSON
// pointer. fn may change the object; its children are read after fn returns.
func eachSchema(v any, ptr string, fn func(o *object, ptr string)) {
	o, ok := v.(*object)
	if !ok {
		return
	}
	fn(o, ptr)
	for _, m := range o.members {
		at := ptr + "/" + escapePointer(m.key)
		switch {
		case slices.Contains(schemaMapKeywords, m.key):
			if sub, ok := m.val.(*object); ok {
				for _, c := range sub.members {
					eachSchema(c.val, at+"/"+escapePointer(c.key), fn)
				}
			}
		case slices.Contains(schemaListKeywords, m.key) && isList(m.val):
			for i, c := range m.val.([]any) {
				eachSchema(c, fmt.Sprintf("%s/%d", at, i), fn)
			}
		case slices.Contains(schemaKeywords, m.key):
			eachSchema(m.val, at, fn)
		}
	}
}

func isList(v any) bool {
	_, ok := v.([]any)
	return ok
}

func escapePointer(s string) string {
	if !strings.ContainsAny(s, "~/") {
		return s
	}
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

// object is a JSON object that keeps its key order. Rewritten schemas must list properties in the order the Go
// struct declares them: models tend to fill fields in the order the schema lists them.
type object struct{ members []member }

type member struct {
	key string
	val any
}

func (o *object) get(key string) (any, bool) {
	for _, m := range o.members {
		if m.key == key {
			return m.val, true
		}
	}
	return nil, false
}

func (o *object) set(key string, val any) {
	for i, m := range o.members {
		if m.key == key {
			o.members[i].val = val
			return
		}
	}
	o.members = append(o.members, member{key, val})
}

func (o *object) del(key string) {
	o.members = slices.DeleteFunc(o.members, func(m member) bool { return m.key == key })
}

// MarshalJSON writes the members in order.
func (o *object) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range o.members {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(m.key)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(m.val)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// parseOrdered decodes one JSON document into *object, []any, string, json.Number, bool and nil values.
func parseOrdered(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON document")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &object{}
		for dec.More() {
			key, err := dec.Token()
			if err != nil {
				return nil, err
			}
			val, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			o.set(key.(string), val) // the decoder only yields string keys; a repeated key keeps the last value, like encoding/json
		}
		_, err := dec.Token() // '}'
		return o, err
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			val, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, val)
		}
		_, err := dec.Token() // ']'
		return list, err
	}
	return tok, nil
}
