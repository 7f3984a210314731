package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strconv"
	"strings"

	"github.com/gowai/gowai/internal/jsonorder"
	validator "github.com/santhosh-tekuri/jsonschema/v5"
)

// Validate checks data (one JSON document) against the schema and returns sorted problem lines such as
// "/items/0/qty: must be >= 1 but found 0", prefixed by the JSON pointer of the offending value ("/" for the
// root; a missing property is reported at its object). nil means valid. These lines are what a model gets back
// when it is asked to correct its output, so every failing leaf is reported, not just one.
func (s *Schema) Validate(data []byte) []string {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		if errors.Is(err, io.EOF) {
			return []string{"/: invalid JSON: empty document"}
		}
		return []string{"/: invalid JSON: " + err.Error()}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return []string{"/: invalid JSON: unexpected data after the document"}
	}
	err := s.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var ve *validator.ValidationError
	if !errors.As(err, &ve) { // e.g. an infinite $ref loop in a hand-written schema
		return []string{"/: " + err.Error()}
	}
	// v5's own Error() shows a single leaf chosen by map order; walk them all.
	var lines []string
	var leaves func(e *validator.ValidationError)
	leaves = func(e *validator.ValidationError) {
		if len(e.Causes) == 0 {
			lines = append(lines, pointerOrRoot(e.InstanceLocation)+": "+s.message(e))
		}
		for _, c := range e.Causes {
			leaves(c)
		}
	}
	leaves(ve)
	slices.Sort(lines)
	return slices.Compact(lines)
}

// message is v5's message, except for const and enum: v5 prints the allowed values with %#v, which quotes
// numbers ("value must be \"3\""), and that would invite the model to answer with a string. Those are
// re-spelled from the schema as JSON.
func (s *Schema) message(e *validator.ValidationError) string {
	_, ptr, _ := strings.Cut(e.AbsoluteKeywordLocation, "#")
	keyword := ptr[strings.LastIndexByte(ptr, '/')+1:]
	if keyword != "const" && keyword != "enum" {
		return e.Message
	}
	v, ok := lookup(s.doc, ptr)
	if !ok {
		return e.Message
	}
	if keyword == "const" {
		return "value must be " + compact(v)
	}
	list, ok := v.([]any)
	if !ok {
		return e.Message
	}
	allowed := make([]string, len(list))
	for i, item := range list {
		allowed[i] = compact(item)
	}
	return "value must be one of " + strings.Join(allowed, ", ")
}

// lookup resolves a JSON pointer in a tree made by jsonorder.Decode.
func lookup(v any, ptr string) (any, bool) {
	if ptr == "" {
		return v, true
	}
	for _, tok := range strings.Split(strings.TrimPrefix(ptr, "/"), "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch node := v.(type) {
		case *jsonorder.Object:
			var ok bool
			if v, ok = node.Get(tok); !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

func compact(v any) string {
	b, _ := json.Marshal(v) // cannot fail: the tree came from valid JSON
	return string(b)
}
