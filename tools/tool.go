package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/gowai/gowai/internal/schema"
	"github.com/gowai/gowai/llm"
)

// Tool is something a model can call. Def describes it to the model; Call runs it with the
// arguments the model sent (the text of a JSON object) and returns what the model reads back.
type Tool interface {
	Def() llm.ToolDef
	Call(ctx context.Context, args json.RawMessage) (string, error)
}

var (
	// ErrInvalidTool is matched by the error of a tool that New or Func could not build (a bad
	// name or parameters schema), by every Call of such a tool, and by NewSet's error for it.
	ErrInvalidTool = errors.New("tools: invalid tool")
	// ErrUnknownTool is matched by the Result.Err of a call naming no tool in the Set.
	ErrUnknownTool = errors.New("tools: unknown tool")
	// ErrPanicked is matched by the Result.Err of a call whose tool panicked.
	ErrPanicked = errors.New("tools: tool panicked")
)

// ArgumentError reports arguments that do not match the tool's parameters schema. The tool's
// function did not run.
type ArgumentError struct {
	Tool     string
	Problems []string // one "/json/pointer: message" line each, sorted
}

func (e *ArgumentError) Error() string {
	return fmt.Sprintf("tools: invalid arguments for %s: %s", e.Tool, strings.Join(e.Problems, "; "))
}

// noParams is what Def reports for a tool without usable parameters, so that Def always
// returns something a provider accepts.
const noParams = `{"type":"object","properties":{}}`

// tool is the one implementation behind New and Func: arguments are checked against params
// before fn sees them.
type tool struct {
	def    llm.ToolDef
	params *schema.Schema
	fn     func(context.Context, json.RawMessage) (string, error)
	bad    error // why the tool could not be built; every Call returns it
}

// New returns a tool that calls fn. The parameters schema is derived from In (the same
// derivation and cache as structured output; a non-struct In is sent as {"value": <In>}), and
// every call's arguments are validated against it before fn runs: invalid arguments return an
// *ArgumentError listing every problem, which a Set sends back to the model. fn's Out is
// marshalled to JSON, except that a string Out (or a type whose underlying type is string) is
// returned as it is.
//
// New cannot fail. A name the providers reject (they allow letters, digits, '_' and '-', 1 to
// 64 of them) or an In without a JSON Schema (a func field, an interface) gives a Tool whose
// Def still works, whose every Call fails with an error matching ErrInvalidTool, and which
// NewSet refuses with that error, so the mistake surfaces before any model sees the tool.
func New[In, Out any](name, description string, fn func(context.Context, In) (Out, error)) Tool {
	t := start(name, description, fn != nil)
	if t.bad != nil {
		return t
	}
	s, err := schema.For(reflect.TypeFor[In]())
	if err != nil {
		t.bad = fmt.Errorf("%w %q: parameters: %w", ErrInvalidTool, name, err)
		return t
	}
	// A copy: the schema's bytes are shared by every user of In's schema.
	t.params, t.def.Parameters = s, bytes.Clone(s.JSON)
	outIsString := reflect.TypeFor[Out]().Kind() == reflect.String
	t.fn = func(ctx context.Context, args json.RawMessage) (string, error) {
		in, err := decode[In](args, s.Wrapped)
		if err != nil {
			// Validation passed, so this is a value the schema allows but In cannot hold
			// (an integer out of range, say); the model can still act on it.
			return "", &ArgumentError{Tool: name, Problems: []string{"/: " + err.Error()}}
		}
		out, err := fn(ctx, in)
		if err != nil {
			return "", err
		}
		if outIsString {
			return reflect.ValueOf(&out).Elem().String(), nil
		}
		b, err := json.Marshal(out)
		if err != nil {
			return "", fmt.Errorf("tools: %s: marshal result: %w", name, err)
		}
		return string(b), nil
	}
	return t
}

// Func returns a tool with a hand-written parameters schema (a JSON Schema object; empty means
// the tool takes no arguments). Arguments are validated against it before fn runs, as in New.
// A bad name or schema gives a Tool that fails the same way New's does.
func Func(name, description string, params json.RawMessage, fn func(ctx context.Context, args json.RawMessage) (string, error)) Tool {
	t := start(name, description, fn != nil)
	if t.bad != nil {
		return t
	}
	params = bytes.TrimSpace(params)
	if len(params) == 0 {
		params = json.RawMessage(noParams)
	}
	if err := checkObjectSchema(params); err != nil {
		t.bad = fmt.Errorf("%w %q: parameters: %w", ErrInvalidTool, name, err)
		return t
	}
	s, err := schema.Compile(params)
	if err != nil {
		t.bad = fmt.Errorf("%w %q: parameters: %w", ErrInvalidTool, name, err)
		return t
	}
	t.params, t.def.Parameters, t.fn = s, bytes.Clone(params), fn
	return t
}

// start begins a tool for New or Func, recording a bad name or a missing function.
func start(name, description string, hasFn bool) *tool {
	t := &tool{def: llm.ToolDef{Name: name, Description: description, Parameters: json.RawMessage(noParams)}}
	if err := checkName(name); err != nil {
		t.bad = err
	} else if !hasFn {
		t.bad = fmt.Errorf("%w %q: nil function", ErrInvalidTool, name)
	}
	return t
}

// Def returns the tool's description for the model. Its Parameters are the caller's own copy.
func (t *tool) Def() llm.ToolDef {
	d := t.def
	d.Parameters = bytes.Clone(d.Parameters)
	return d
}

// Call validates args and runs the tool's function.
func (t *tool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	if t.bad != nil {
		return "", t.bad
	}
	if len(bytes.TrimSpace(args)) == 0 {
		args = json.RawMessage("{}")
	}
	if problems := t.params.Validate(args); problems != nil {
		return "", &ArgumentError{Tool: t.def.Name, Problems: problems}
	}
	return t.fn(ctx, args)
}

// err lets NewSet refuse a tool that could not be built.
func (t *tool) err() error { return t.bad }

// decode unmarshals validated arguments into In, unwrapping {"value": ...} for non-struct types.
func decode[In any](args json.RawMessage, wrapped bool) (In, error) {
	var in In
	if wrapped {
		var w struct {
			Value *In `json:"value"`
		}
		w.Value = &in
		err := json.Unmarshal(args, &w)
		return in, err
	}
	err := json.Unmarshal(args, &in)
	return in, err
}

// checkName applies the providers' rule for function names (OpenAI's ^[a-zA-Z0-9_-]{1,64}$,
// which Workers AI's OpenAI-style tools follow).
func checkName(name string) error {
	if name == "" || len(name) > 64 {
		return fmt.Errorf("%w %q: a name must have 1 to 64 characters", ErrInvalidTool, name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return fmt.Errorf("%w %q: a name may hold only letters, digits, '_' and '-', not %q", ErrInvalidTool, name, r)
		}
	}
	return nil
}

// checkObjectSchema makes sure hand-written parameters describe an object, which is all a
// provider accepts as function parameters.
func checkObjectSchema(params json.RawMessage) error {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(params, &top); err != nil {
		return errors.New("not a JSON object")
	}
	if typ, ok := top["type"]; ok && string(bytes.TrimSpace(typ)) != `"object"` {
		return fmt.Errorf(`"type" is %s; tool parameters must be "object"`, typ)
	}
	return nil
}
