package agent_test

import (
	"context"
	"encoding/json"
	"errors"
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

// A call to a tool of a tool source (an MCP server's, say) that waits for approval runs
// once approved, also when a fresh Agent resumes the stored run: the resumed step asks the
// source for its tools before running the calls.
func TestResumeRunsApprovedCallsOfToolSources(t *testing.T) {
	srv, m := emulator(t, kimi, llmtest.Calls(del("c1", "a.txt")), llmtest.Text("Deleted."))
	var deleted atomic.Int32
	build := func() *agent.Agent {
		return agent.New(m, agent.WithToolSource(func(context.Context) []tools.Tool { return []tools.Tool{deleteTool(&deleted)} }),
			agent.WithHooks(agent.Hooks{NeedsApproval: func(c llm.ToolCall) bool { return c.Name == "delete_file" }}))
	}
	res, err := build().Run(t.Context(), "tidy up")
	if !errors.Is(err, agent.ErrApprovalRequired) {
		t.Fatalf("Run: %v", err)
	}
	done, err := build().Resume(t.Context(), stored(t, res), map[string]agent.Decision{"c1": agent.Approve()})
	if err != nil || done.Text != "Deleted." {
		t.Fatalf("Resume = %q, %v", done.Text, err)
	}
	if got := done.Steps[0].Results[0]; deleted.Load() != 1 || got.Err != nil || got.Output != "deleted a.txt" || len(srv.Requests()) != 2 {
		t.Fatalf("delete ran %d times; its result %+v", deleted.Load(), got)
	}
}

// A resumed run whose tool source fails before the decided calls run is still paused: the
// Result keeps its pending calls and the step they are of, and can be resumed again.
func TestResumeThatCannotGetItsToolsStaysPaused(t *testing.T) {
	_, m := emulator(t, kimi, llmtest.Calls(del("c1", "a.txt")), llmtest.Text("Deleted."))
	var deleted atomic.Int32
	clash := false
	a := agent.New(m, agent.WithToolSource(func(context.Context) []tools.Tool {
		if clash {
			return []tools.Tool{deleteTool(&deleted), deleteTool(&deleted)}
		}
		return []tools.Tool{deleteTool(&deleted)}
	}), agent.WithHooks(agent.Hooks{NeedsApproval: func(c llm.ToolCall) bool { return c.Name == "delete_file" }}))
	res, err := a.Run(t.Context(), "tidy up")
	if !errors.Is(err, agent.ErrApprovalRequired) {
		t.Fatalf("Run: %v", err)
	}
	clash = true
	got, err := a.Resume(t.Context(), res, map[string]agent.Decision{"c1": agent.Approve()})
	if err == nil || !strings.Contains(err.Error(), "delete_file") || deleted.Load() != 0 {
		t.Fatalf("Resume: %v; delete ran %d times", err, deleted.Load())
	}
	if len(got.Pending) != 1 || len(got.Steps) != 1 || got.Steps[0].Results != nil {
		t.Fatalf("the failed Resume's Result: pending %v, steps %+v", got.Pending, got.Steps)
	}
	clash = false
	if done, err := a.Resume(t.Context(), got, map[string]agent.Decision{"c1": agent.Approve()}); err != nil || done.Text != "Deleted." || deleted.Load() != 1 {
		t.Fatalf("Resume again = %q, %v; delete ran %d times", done.Text, err, deleted.Load())
	}
}
