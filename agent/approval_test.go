package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

func deleteTool(ran *atomic.Int32) tools.Tool {
	return tools.New("delete_file", "Delete a file", func(_ context.Context, in struct {
		Path string `json:"path"`
	}) (string, error) {
		ran.Add(1)
		return "deleted " + in.Path, nil
	})
}

func del(id, path string) llm.ToolCall {
	return llm.ToolCall{ID: id, Name: "delete_file", Arguments: json.RawMessage(`{"path":"` + path + `"}`)}
}

// approvalAgent builds the Agent of the approval tests on m, counting what its tools run.
func approvalAgent(m llm.Model, added, deleted *atomic.Int32) *agent.Agent {
	return agent.New(m, agent.WithSystem("Tidy up."), agent.WithTools(addTool(added), deleteTool(deleted)),
		agent.WithHooks(agent.Hooks{NeedsApproval: func(c llm.ToolCall) bool { return c.Name == "delete_file" }}))
}

// stored returns res as a server would read it back after storing it: through
// json.Marshal and json.Unmarshal.
func stored(t *testing.T, res *agent.Result) *agent.Result {
	t.Helper()
	b, err := json.Marshal(res)
	if err != nil {
		t.Fatal(err)
	}
	var back agent.Result
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	return &back
}

// byText compares errors by their text, as a stored Result keeps them.
var byText = cmp.Comparer(func(a, b error) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return a.Error() == b.Error()
})

func TestApprovalPausesAndResumesFromJSON(t *testing.T) {
	srv, m := emulator(t, kimi,
		llmtest.Calls(add("c1", 1, 2), del("c2", "a.txt"), del("c3", "b.txt")),
		llmtest.Text("Deleted a.txt; b.txt was kept."))
	var added, deleted atomic.Int32
	res, err := approvalAgent(m, &added, &deleted).Run(t.Context(), "tidy up")
	if !errors.Is(err, agent.ErrApprovalRequired) || !strings.Contains(err.Error(), "c2") || !strings.Contains(err.Error(), "c3") {
		t.Fatalf("error = %v, want ErrApprovalRequired naming c2 and c3", err)
	}
	if added.Load() != 0 || deleted.Load() != 0 || len(srv.Requests()) != 1 {
		t.Fatalf("before any decision: add ran %d, delete %d times, %d requests", added.Load(), deleted.Load(), len(srv.Requests()))
	}
	if len(res.Pending) != 2 || res.Pending[0].ID != "c2" || res.Pending[1].ID != "c3" || len(res.Steps) != 1 || res.Steps[0].Results != nil {
		t.Fatalf("Pending %+v, steps %+v", res.Pending, res.Steps)
	}

	// Stored and read back, the Result is the same.
	back := stored(t, res)
	if d := cmp.Diff(res, back, byText); d != "" {
		t.Fatalf("the Result changed through JSON (-before +after):\n%s", d)
	}

	// A decision missing: nothing runs.
	fresh := approvalAgent(m, &added, &deleted)
	if _, err := fresh.Resume(t.Context(), back, map[string]agent.Decision{"c2": agent.Approve()}); err == nil ||
		!strings.Contains(err.Error(), "c3") || !strings.Contains(err.Error(), "no decision") {
		t.Fatalf("Resume without a decision for c3: %v", err)
	}
	if _, err := fresh.Resume(t.Context(), back, map[string]agent.Decision{"c2": agent.Approve(), "c3": agent.Approve(), "c1": agent.Approve()}); err == nil ||
		!strings.Contains(err.Error(), `"c1"`) {
		t.Fatalf("Resume with a decision for c1, which was not pending: %v", err)
	}
	if added.Load() != 0 || deleted.Load() != 0 || len(srv.Requests()) != 1 {
		t.Fatalf("refused Resumes ran tools (%d, %d) or made requests (%d)", added.Load(), deleted.Load(), len(srv.Requests()))
	}

	// Resumed in a fresh Agent: the approved call and the call that needed no approval run,
	// the denied one is explained to the model, and the run completes.
	done, err := fresh.Resume(t.Context(), back, map[string]agent.Decision{"c2": agent.Approve(), "c3": agent.Deny("b.txt is still needed")})
	if err != nil || done.Text != "Deleted a.txt; b.txt was kept." {
		t.Fatalf("Resume = %q, %v", done.Text, err)
	}
	if added.Load() != 1 || deleted.Load() != 1 {
		t.Fatalf("add ran %d, delete %d times; want once each", added.Load(), deleted.Load())
	}
	reqs := bodies(t, srv)
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	got := toolMessages(reqs[1])
	if got["c1"] != "3" || got["c2"] != "deleted a.txt" || got["c3"] != "error: the call was denied: b.txt is still needed" {
		t.Fatalf("the model read %q", got)
	}
	if done.Pending != nil || len(done.Steps) != 2 || len(done.Steps[0].Results) != 3 || done.Steps[0].Results[2].Err == nil {
		t.Fatalf("resumed Result: pending %v, steps %+v", done.Pending, done.Steps)
	}
	if done.Usage.TotalTokens <= res.Usage.TotalTokens || done.Usage.TotalTokens != res.Usage.TotalTokens+done.Steps[1].Usage.TotalTokens {
		t.Fatalf("usage %+v after %+v: want it to go on from the pause", done.Usage, res.Usage)
	}
	if done.Spent.ToolCalls != 2 || done.SessionAffinity != res.SessionAffinity ||
		srv.Requests()[1].Header.Get("X-Session-Affinity") != res.SessionAffinity {
		t.Fatalf("Spent %+v, key %q (was %q)", done.Spent, done.SessionAffinity, res.SessionAffinity)
	}
	if len(back.Pending) != 2 || back.Steps[0].Results != nil {
		t.Fatal("Resume changed the stored Result")
	}
}

// The budget goes on across the pause: the tool call made before it counts after it.
func TestBudgetContinuesAcrossApproval(t *testing.T) {
	srv, m := emulator(t, kimi, llmtest.Calls(add("c1", 1, 2)), llmtest.Calls(del("c2", "a.txt")), llmtest.Calls(add("c3", 2, 2)), llmtest.Text("never asked"))
	var added, deleted atomic.Int32
	build := func() *agent.Agent {
		return agent.New(m, agent.WithTools(addTool(&added), deleteTool(&deleted)), agent.WithBudget(agent.Budget{MaxToolCalls: 2}),
			agent.WithHooks(agent.Hooks{NeedsApproval: func(c llm.ToolCall) bool { return c.Name == "delete_file" }}))
	}
	res, err := build().Run(t.Context(), "go")
	if !errors.Is(err, agent.ErrApprovalRequired) || res.Spent.ToolCalls != 1 {
		t.Fatalf("Run: %v, spent %+v", err, res.Spent)
	}
	_, err = build().Resume(t.Context(), stored(t, res), map[string]agent.Decision{"c2": agent.Approve()})
	if !errors.Is(err, agent.ErrBudgetExceeded) || deleted.Load() != 1 || added.Load() != 1 || len(srv.Requests()) != 3 {
		t.Fatalf("Resume: %v; delete ran %d, add %d times, %d requests; want the third call refused by the budget",
			err, deleted.Load(), added.Load(), len(srv.Requests()))
	}
}

// A paused run's last calls have no results, so a new user message cannot follow them:
// Continue refuses, sends nothing, and points to Resume.
func TestContinueRefusesAPausedRun(t *testing.T) {
	srv, m := emulator(t, kimi, llmtest.Calls(del("c1", "a.txt")), llmtest.Text("never asked"))
	var added, deleted atomic.Int32
	a := approvalAgent(m, &added, &deleted)
	res, err := a.Run(t.Context(), "tidy up")
	if !errors.Is(err, agent.ErrApprovalRequired) {
		t.Fatalf("Run: %v", err)
	}
	got, err := a.Continue(t.Context(), res, "and the rest?")
	if err == nil || !strings.Contains(err.Error(), "Resume") || len(srv.Requests()) != 1 || deleted.Load() != 0 {
		t.Fatalf("Continue: %v after %d requests, delete ran %d times", err, len(srv.Requests()), deleted.Load())
	}
	if n := len(got.Messages); n != len(res.Messages)+1 || got.Messages[n-1].Content != "and the rest?" {
		t.Fatalf("the Result of the refused Continue lost the input: %+v", got.Messages)
	}
}
