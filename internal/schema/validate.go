package schema

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"math/big"
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
			if len(e.Causes) > 1 && nullBranch(e, c) {
				continue
			}
			leaves(c)
		}
	}
	leaves(ve)
	slices.Sort(lines)
	return slices.Compact(lines)
}

// nullBranch reports whether c is the failure of the {"type":"null"} branch of the anyOf or oneOf e, which
// says only "expected null": the other branches say what is wrong with a value that is not null.
func nullBranch(e, c *validator.ValidationError) bool {
	if !strings.HasSuffix(e.KeywordLocation, "/anyOf") && !strings.HasSuffix(e.KeywordLocation, "/oneOf") {
		return false
	}
	return len(c.Causes) == 0 && strings.HasSuffix(c.KeywordLocation, "/type") && strings.HasPrefix(c.Message, "expected null,")
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

// integerLiteral compiles the check NewCompiler adds to every schema whose type admits "integer" but not
// "number": the value must be written as an integer literal, because encoding/json will not decode 3.0 or 1e2
// into an int. It needs the literal, so it sees json.Number values only (Validate decodes with UseNumber).
type integerLiteral struct{}

func (integerLiteral) Compile(_ validator.CompilerContext, m map[string]any) (validator.ExtSchema, error) {
	var types []any
	switch t := m["type"].(type) {
	case string:
		types = []any{t}
	case []any:
		types = t
	}
	if slices.Contains(types, any("integer")) && !slices.Contains(types, any("number")) {
		return integerLiteral{}, nil
	}
	return nil, nil
}

func (integerLiteral) Validate(ctx validator.ValidationContext, v any) error {
	n, ok := v.(json.Number)
	if !ok || !strings.ContainsAny(string(n), ".eE") {
		return nil
	}
	if r, ok := new(big.Rat).SetString(string(n)); !ok || !r.IsInt() {
		return nil // 3.5: the type keyword reports it already
	}
	return ctx.Error("type", "expected an integer written without a fraction or exponent, but got %s", n)
}
