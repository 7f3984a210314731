package tools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

func ExampleNew() {
	type In struct {
		Celsius float64 `json:"celsius" jsonschema_description:"Temperature in degrees Celsius"`
	}
	type Out struct {
		Fahrenheit float64 `json:"fahrenheit"`
	}
	toF := tools.New("to_fahrenheit", "Convert Celsius to Fahrenheit",
		func(_ context.Context, in In) (Out, error) {
			return Out{Fahrenheit: in.Celsius*9/5 + 32}, nil
		})

	fmt.Println(string(toF.Def().Parameters))
	out, err := toF.Call(context.Background(), json.RawMessage(`{"celsius":100}`))
	fmt.Println(out, err)
	_, err = toF.Call(context.Background(), json.RawMessage(`{"celsius":"hot"}`))
	fmt.Println(err)
	// Output:
	// {"properties":{"celsius":{"type":"number","description":"Temperature in degrees Celsius"}},"additionalProperties":false,"type":"object","required":["celsius"]}
	// {"fahrenheit":212} <nil>
	// tools: invalid arguments for to_fahrenheit: /celsius: expected number, but got string
}

func ExampleSet_Run() {
	type In struct {
		A float64 `json:"a"`
		B float64 `json:"b"`
	}
	add := tools.New("add", "Add two numbers", func(_ context.Context, in In) (float64, error) {
		return in.A + in.B, nil
	})
	div := tools.New("divide", "Divide a by b", func(_ context.Context, in In) (float64, error) {
		if in.B == 0 {
			return 0, fmt.Errorf("cannot divide %g by zero", in.A)
		}
		return in.A / in.B, nil
	})
	set, err := tools.NewSet(add, div)
	if err != nil {
		fmt.Println(err)
		return
	}
	set = set.WithTimeout(5 * time.Second)

	// The calls of one model turn; they run concurrently and come back in this order.
	calls := []llm.ToolCall{
		{ID: "call_1", Name: "add", Arguments: json.RawMessage(`{"a":2,"b":3}`)},
		{ID: "call_2", Name: "divide", Arguments: json.RawMessage(`{"a":1,"b":0}`)},
		{ID: "call_3", Name: "multiply", Arguments: json.RawMessage(`{"a":2,"b":3}`)},
	}
	for _, r := range set.Run(context.Background(), calls, 4) {
		fmt.Printf("%s %s -> %s\n", r.Call.ID, r.Call.Name, r.Output)
	}
	// Output:
	// call_1 add -> 5
	// call_2 divide -> error: cannot divide 1 by zero
	// call_3 multiply -> error: there is no tool named "multiply"; the tools are: add, divide
}
