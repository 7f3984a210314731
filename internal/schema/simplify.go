package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/gowai/gowai/internal/jsonorder"
)

// Strict returns the schema in the form strict provider modes want: every property of every object is listed in
// required, and the ones that were optional become anyOf:[T, {"type":"null"}]. s.JSON is not changed; validate
// against s.JSON (a strict-mode answer may carry null for an optional field, which s.JSON rejects).
func (s *Schema) Strict() json.RawMessage {
	return bytes.Clone(s.strict)
}

// strictForm rewrites a parsed schema tree in place into the strict form described at Strict.
func strictForm(root any) {
	eachSchema(root, "", func(o *jsonorder.Object, _ string) {
		props, ok := o.Get("properties")
		p, isObj := props.(*jsonorder.Object)
		if !ok || !isObj {
			return
		}
		required := map[string]bool{}
		if list, ok := o.Get("required"); ok {
			if list, ok := list.([]any); ok {
				for _, name := range list {
					if name, ok := name.(string); ok {
						required[name] = true
					}
				}
			}
		}
		all := make([]any, 0, p.Len())
		for key, val := range p.All() {
			all = append(all, key)
			if !required[key] && !admitsNull(val) {
				null, wrapped := &jsonorder.Object{}, &jsonorder.Object{}
				null.Set("type", "null")
				wrapped.Set("anyOf", []any{val, null})
				p.Set(key, wrapped)
			}
		}
		o.Set("required", all)
	})
}

// admitsNull reports whether the schema v plainly takes null: its type is or lists "null", or one branch of its
// anyOf/oneOf is {"type":"null"} (how pointer fields are described).
func admitsNull(v any) bool {
	o, ok := v.(*jsonorder.Object)
	if !ok {
		return false
	}
	switch t, _ := o.Get("type"); t := t.(type) {
	case string:
		return t == "null"
	case []any:
		return slices.Contains(t, any("null"))
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		branches, _ := o.Get(kw)
		list, _ := branches.([]any)
		for _, b := range list {
			if b, ok := b.(*jsonorder.Object); ok && b.Len() == 1 {
				if t, _ := b.Get("type"); t == "null" {
					return true
				}
			}
		}
	}
	return false
}

// Simplify returns a copy of schema without the given keywords wherever they occur as keywords of a schema
// (a property that happens to be named "format" is kept), and the sorted list of what was dropped as
// "path: keyword=value" lines, e.g. "/properties/email: format=email", path being the JSON pointer of the schema
// that held the keyword ("/" for the root). Keywords that do not occur are ignored. schema is not changed; if it is
// not valid JSON it is returned as is, with no lines.
func Simplify(schema json.RawMessage, drop ...string) (json.RawMessage, []string) {
	root, err := jsonorder.Decode(schema)
	if err != nil || len(drop) == 0 {
		return bytes.Clone(schema), nil
	}
	var dropped []string
	eachSchema(root, "", func(o *jsonorder.Object, ptr string) {
		for _, kw := range drop {
			v, ok := o.Get(kw)
			if !ok {
				continue
			}
			o.Delete(kw)
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
func eachSchema(v any, ptr string, fn func(o *jsonorder.Object, ptr string)) {
	o, ok := v.(*jsonorder.Object)
	if !ok {
		return
	}
	fn(o, ptr)
	for key, val := range o.All() {
		at := ptr + "/" + escapePointer(key)
		switch {
		case slices.Contains(schemaMapKeywords, key):
			if sub, ok := val.(*jsonorder.Object); ok {
				for name, c := range sub.All() {
					eachSchema(c, at+"/"+escapePointer(name), fn)
				}
			}
		case slices.Contains(schemaListKeywords, key) && isList(val):
			for i, c := range val.([]any) {
				eachSchema(c, fmt.Sprintf("%s/%d", at, i), fn)
			}
		case slices.Contains(schemaKeywords, key):
			eachSchema(val, at, fn)
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
