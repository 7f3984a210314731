package agent_test

import (
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

// A tool source is asked before each step, so a tool it gains during a run is offered and
// run from the next step on.
func TestToolSourceChangesBetweenSteps(t *testing.T) {
	var ran atomic.Int32
	double := tools.New("double", "Double a number", func(_ context.Context, in struct {
		N float64 `json:"n"`
	}) (float64, error) {
		return 2 * in.N, nil
	})
	var asked atomic.Int32
	source := func(context.Context) []tools.Tool {
		if asked.Add(1) == 1 {
			return nil
		}
		return []tools.Tool{double}
	}
	srv, m := emulator(t, llama,
		llmtest.Calls(add("", 1, 2)),
		llmtest.Calls(llm.ToolCall{Name: "double", Arguments: json.RawMessage(`{"n":3}`)}),
		llmtest.Text("6"))
	res, err := agent.New(m, agent.WithTools(addTool(&ran)), agent.WithToolSource(source)).Run(t.Context(), "add, then double")
	if err != nil || res.Text != "6" {
		t.Fatalf("Run = %q, %v", res.Text, err)
	}
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests, want 3", len(reqs))
	}
	if strings.Contains(string(reqs[0].Body), `"double"`) || !strings.Contains(string(reqs[1].Body), `"double"`) {
		t.Errorf("double offered in step 1 or not in step 2:\n%.400s\n%.400s", reqs[0].Body, reqs[1].Body)
	}
	if got := res.Steps[1].Results[0]; got.Err != nil || got.Output != "6" {
		t.Errorf("double's result = %+v", got)
	}
	if ran.Load() != 1 {
		t.Errorf("add ran %d times, want 1", ran.Load())
	}

	// A source offering a name WithTools already has fails the step, naming it.
	clash := func(context.Context) []tools.Tool { return []tools.Tool{addTool(nil)} }
	_, m = emulator(t, llama, llmtest.Text("never sent"))
	_, err = agent.New(m, agent.WithTools(addTool(nil)), agent.WithToolSource(clash)).Run(t.Context(), "add")
	if err == nil || !strings.Contains(err.Error(), `"add"`) {
		t.Fatalf("error = %v, want the duplicate name", err)
	}
}
