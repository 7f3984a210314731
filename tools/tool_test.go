package tools_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type convertIn struct {
	Value float64 `json:"value"`
	From  string  `json:"from" jsonschema:"enum=km,enum=mi"`
}

type convertOut struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

func convert(_ context.Context, in convertIn) (convertOut, error) {
	if in.From == "km" {
		return convertOut{in.Value / 1.609344, "mi"}, nil
	}
	return convertOut{in.Value * 1.609344, "km"}, nil
}

type celsius string

func TestNewDerivesSchemaValidatesAndMarshals(t *testing.T) {
	ran := 0
	count := func(_ context.Context, in convertIn) (convertOut, error) {
		ran++
		return convert(t.Context(), in)
	}
	tool := tools.New("convert", "Convert a distance", count)

	def := tool.Def()
	if def.Name != "convert" || def.Description != "Convert a distance" {
		t.Fatalf("Def = %+v", def)
	}
	var params struct {
		Type       string                     `json:"type"`
		Properties map[string]json.RawMessage `json:"properties"`
		Required   []string                   `json:"required"`
	}
	if err := json.Unmarshal(def.Parameters, &params); err != nil {
		t.Fatalf("parameters are not a JSON object: %v: %s", err, def.Parameters)
	}
	if params.Type != "object" || params.Properties["value"] == nil || params.Properties["from"] == nil || len(params.Required) != 2 {
		t.Fatalf("parameters do not describe convertIn: %s", def.Parameters)
	}

	out, err := tool.Call(t.Context(), json.RawMessage(`{"value":10,"from":"mi"}`))
	if err != nil || out != `{"value":16.09344,"unit":"km"}` {
		t.Fatalf("Call = %q, %v", out, err)
	}

	for _, args := range []string{`{"value":"ten","from":"mi"}`, `{"value":1,"from":"ly"}`, `{"value":1}`, `{"value":1,"from":"km","extra":true}`, `not json`, `[]`} {
		_, err := tool.Call(t.Context(), json.RawMessage(args))
		argErr, ok := errors.AsType[*tools.ArgumentError](err)
		if !ok {
			t.Errorf("Call(%s) error = %v, want *ArgumentError", args, err)
			continue
		}
		if argErr.Tool != "convert" || len(argErr.Problems) == 0 || !strings.HasPrefix(argErr.Problems[0], "/") {
			t.Errorf("Call(%s) ArgumentError = %+v", args, argErr)
		}
	}
	if ran != 1 {
		t.Fatalf("fn ran %d times, want 1 (only for the valid arguments)", ran)
	}
}

func TestNewReportsEveryProblem(t *testing.T) {
	tool := tools.New("convert", "", convert)
	_, err := tool.Call(t.Context(), json.RawMessage(`{"value":"x","from":"ly"}`))
	argErr, ok := errors.AsType[*tools.ArgumentError](err)
	if !ok || len(argErr.Problems) != 2 {
		t.Fatalf("error = %v, want two problems (value and from)", err)
	}
	if !strings.HasPrefix(argErr.Problems[0], "/from:") || !strings.HasPrefix(argErr.Problems[1], "/value:") {
		t.Fatalf("problems = %q, want sorted /from then /value", argErr.Problems)
	}
}

func TestNewOutputs(t *testing.T) {
	tests := []struct {
		name string
		tool tools.Tool
		args string
		want string
	}{
		{"string output is passed as is", tools.New("echo", "", func(_ context.Context, in struct {
			S string `json:"s"`
		}) (string, error) {
			return in.S, nil
		}), `{"s":"a \"quoted\" line"}`, `a "quoted" line`},
		{"named string output is passed as is", tools.New("temp", "", func(context.Context, struct{}) (celsius, error) {
			return "21C", nil
		}), `{}`, `21C`},
		{"non-struct input arrives wrapped in value", tools.New("sum", "", func(_ context.Context, xs []int) (int, error) {
			n := 0
			for _, x := range xs {
				n += x
			}
			return n, nil
		}), `{"value":[1,2,3]}`, `6`},
		{"missing arguments are an empty object", tools.New("now", "", func(context.Context, struct{}) (map[string]int, error) {
			return map[string]int{"hour": 9}, nil
		}), ``, `{"hour":9}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := tt.tool.Call(t.Context(), json.RawMessage(tt.args))
			if err != nil || out != tt.want {
				t.Fatalf("Call = %q, %v; want %q", out, err, tt.want)
			}
		})
	}
}

func TestNewPassesFnErrorThrough(t *testing.T) {
	boom := errors.New("the service is down")
	tool := tools.New("x", "", func(context.Context, struct{}) (string, error) { return "", boom })
	if _, err := tool.Call(t.Context(), nil); err != boom {
		t.Fatalf("error = %v, want fn's own error", err)
	}
}

func TestInvalidToolsDescribeThemselvesFailCallsAndAreRefusedBySet(t *testing.T) {
	ok := func(context.Context, struct{}) (string, error) { return "ok", nil }
	tests := []struct {
		name string
		tool tools.Tool
		want string // in the error
	}{
		{"empty name", tools.New("", "", ok), "1 to 64 characters"},
		{"65-character name", tools.New(strings.Repeat("a", 65), "", ok), "1 to 64 characters"},
		{"space in name", tools.New("get weather", "", ok), `not ' '`},
		{"dot in name", tools.New("weather.get", "", ok), `not '.'`},
		{"non-ASCII name", tools.New("météo", "", ok), `not 'é'`},
		{"input with a func field", tools.New("f", "", func(context.Context, struct{ F func() }) (string, error) { return "", nil }), "parameters"},
		{"nil function", tools.New[struct{}, string]("f", "", nil), "nil function"},
		{"Func with a nil function", tools.Func("f", "", nil, nil), "nil function"},
		{"Func with a string schema", tools.Func("f", "", json.RawMessage(`{"type":"string"}`), rawOK), `tool parameters must be "object"`},
		{"Func with invalid JSON", tools.Func("f", "", json.RawMessage(`{"type":`), rawOK), "not a JSON object"},
		{"Func with an invalid schema", tools.Func("f", "", json.RawMessage(`{"type":"object","properties":{"a":{"type":"nope"}}}`), rawOK), "parameters"},
		{"Func with a bad name", tools.Func("a/b", "", nil, rawOK), `not '/'`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			def := tt.tool.Def()
			if !json.Valid(def.Parameters) || !strings.HasPrefix(string(def.Parameters), "{") {
				t.Fatalf("Def().Parameters = %s, want a JSON object", def.Parameters)
			}
			_, err := tt.tool.Call(t.Context(), json.RawMessage(`{}`))
			if !errors.Is(err, tools.ErrInvalidTool) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Call error = %v, want ErrInvalidTool mentioning %q", err, tt.want)
			}
			set, err := tools.NewSet(tools.New("good", "", ok), tt.tool)
			if set != nil || !errors.Is(err, tools.ErrInvalidTool) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewSet = %v, %v; want ErrInvalidTool mentioning %q", set, err, tt.want)
			}
		})
	}
}

func rawOK(context.Context, json.RawMessage) (string, error) { return "ok", nil }

func TestNameOf64CharactersIsAccepted(t *testing.T) {
	name := strings.Repeat("a_-9", 16)
	if _, err := tools.NewSet(tools.Func(name, "", nil, rawOK)); err != nil {
		t.Fatalf("NewSet with a 64-character name: %v", err)
	}
}

func TestFuncValidatesAgainstHandWrittenSchema(t *testing.T) {
	var got string
	tool := tools.Func("lookup", "Look a word up",
		json.RawMessage(`{"type":"object","properties":{"word":{"type":"string","minLength":2}},"required":["word"],"additionalProperties":false}`),
		func(_ context.Context, args json.RawMessage) (string, error) {
			got = string(args)
			return "found", nil
		})
	if out, err := tool.Call(t.Context(), json.RawMessage(`{"word":"go"}`)); err != nil || out != "found" || got != `{"word":"go"}` {
		t.Fatalf("Call = %q, %v (fn saw %s)", out, err, got)
	}
	got = ""
	_, err := tool.Call(t.Context(), json.RawMessage(`{"word":"g"}`))
	if _, ok := errors.AsType[*tools.ArgumentError](err); !ok || got != "" {
		t.Fatalf("short word: error = %v, fn saw %q; want *ArgumentError and fn not run", err, got)
	}
	if def := tool.Def(); !strings.Contains(string(def.Parameters), `"minLength":2`) {
		t.Fatalf("Def().Parameters = %s, want the schema as written", def.Parameters)
	}
}

func TestFuncWithoutSchemaTakesNoArguments(t *testing.T) {
	tool := tools.Func("ping", "", nil, rawOK)
	if out, err := tool.Call(t.Context(), nil); err != nil || out != "ok" {
		t.Fatalf("Call = %q, %v", out, err)
	}
}

func TestNewSetRefusesDuplicatesAndNil(t *testing.T) {
	a := tools.Func("a", "", nil, rawOK)
	if _, err := tools.NewSet(a, tools.Func("a", "other", nil, rawOK)); !errors.Is(err, tools.ErrInvalidTool) || !strings.Contains(err.Error(), `"a": two tools have this name`) {
		t.Fatalf("duplicate: %v", err)
	}
	if _, err := tools.NewSet(a, nil); !errors.Is(err, tools.ErrInvalidTool) || !strings.Contains(err.Error(), "tool 1 is nil") {
		t.Fatalf("nil tool: %v", err)
	}
	if _, err := tools.NewSet(customTool{name: "bad name"}); !errors.Is(err, tools.ErrInvalidTool) {
		t.Fatalf("custom tool with a bad name: %v", err)
	}
}

func TestDefsKeepOrderAndAreACopy(t *testing.T) {
	set, err := tools.NewSet(tools.Func("b", "", nil, rawOK), tools.Func("a", "", nil, rawOK), customTool{name: "c"})
	if err != nil {
		t.Fatal(err)
	}
	defs := set.Defs()
	if len(defs) != 3 || defs[0].Name != "b" || defs[1].Name != "a" || defs[2].Name != "c" {
		t.Fatalf("Defs = %+v", defs)
	}
	defs[0].Name = "changed"
	if set.Defs()[0].Name != "b" {
		t.Fatal("changing the returned slice changed the Set")
	}
}

// customTool is a Tool written by hand, not with New or Func.
type customTool struct {
	name string
	fn   func(ctx context.Context, args json.RawMessage) (string, error)
}

func (c customTool) Def() llm.ToolDef { return llm.ToolDef{Name: c.name} }

func (c customTool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	if c.fn == nil {
		return "custom", nil
	}
	return c.fn(ctx, args)
}

func TestParametersAreTheCallersOwn(t *testing.T) {
	type cityIn struct {
		City string `json:"city"`
	}
	lookup := func(_ context.Context, in cityIn) (string, error) { return in.City, nil }
	first := tools.New("first", "", lookup)
	params := first.Def().Parameters
	want := string(params)
	for i := range params {
		params[i] = 'x' // a caller scribbling over what Def returned
	}
	if got := string(first.Def().Parameters); got != want {
		t.Fatalf("editing Def().Parameters changed the tool: %s", got)
	}
	// Tools built later for the same In share its cached schema; they must not see the edit.
	second := tools.New("second", "", lookup)
	if got := string(second.Def().Parameters); got != want {
		t.Fatalf("editing one tool's parameters changed a later tool's: %s", got)
	}
	if out, err := first.Call(t.Context(), json.RawMessage(`{"city":"Lisbon"}`)); err != nil || out != "Lisbon" {
		t.Fatalf("Call after the edit = %q, %v", out, err)
	}

	set, err := tools.NewSet(first, second, tools.Func("raw", "", nil, rawOK))
	if err != nil {
		t.Fatal(err)
	}
	defs := set.Defs()
	for _, d := range defs {
		d.Parameters[0] = 'x'
	}
	for i, d := range set.Defs() {
		if d.Parameters[0] != '{' {
			t.Fatalf("editing Defs()[%d].Parameters changed the Set: %s", i, d.Parameters)
		}
	}
}
