package agent_test

import (
	"context"
	"errors"
	"iter"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// slow is a model that takes d to start each answer, or stops when its context is done. In a
// synctest bubble d is fake time.
type slow struct {
	llm.Model
	d     time.Duration
	calls *atomic.Int32 // counts the calls, when set
}

func (m slow) wait(ctx context.Context) error {
	if m.calls != nil {
		m.calls.Add(1)
	}
	t := time.NewTimer(m.d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (m slow) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	if err := m.wait(ctx); err != nil {
		return nil, err
	}
	return m.Model.Generate(ctx, req)
}

func (m slow) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) {
		if err := m.wait(ctx); err != nil {
			yield(llm.Delta{}, err)
			return
		}
		for d, err := range m.Model.Stream(ctx, req) {
			if !yield(d, err) {
				return
			}
		}
	}
}

func research(id, task string) llm.ToolCall {
	return llm.ToolCall{ID: id, Name: "research", Arguments: []byte(`{"task":"` + task + `"}`)}
}

func TestAsToolSchema(t *testing.T) {
	def := agent.New(llmtest.NewTestModel()).AsTool("research", "Research a question").Def()
	if def.Name != "research" || def.Description != "Research a question" ||
		!strings.Contains(string(def.Parameters), `"required":["task"]`) || !strings.Contains(string(def.Parameters), `"task":{"type":"string"`) {
		t.Fatalf("Def = %s %q %s", def.Name, def.Description, def.Parameters)
	}
}

// The parent's TestModel calls both sub-agents in its first step; each sub-agent's model takes
// a second of fake time to answer, so the step takes one second if they run at the same time.
func TestSubAgentsOfOneStepRunConcurrently(t *testing.T) {
	for _, tt := range []struct {
		parallelism int
		want        time.Duration
	}{{4, time.Second}, {1, 2 * time.Second}} {
		synctest.Test(t, func(t *testing.T) {
			sub := func() *agent.Agent { return agent.New(slow{Model: llmtest.NewTestModel(), d: time.Second}) }
			a := agent.New(llmtest.NewTestModel(), agent.WithParallelism(tt.parallelism),
				agent.WithTools(sub().AsTool("history", "Ask the historian"), sub().AsTool("geography", "Ask the geographer")))
			start := time.Now()
			res, err := a.Run(t.Context(), "what happened where?")
			if err != nil {
				t.Fatal(err)
			}
			if took := time.Since(start); took != tt.want {
				t.Fatalf("parallelism %d: the run took %s of fake time, want %s", tt.parallelism, took, tt.want)
			}
			if len(res.Steps) != 2 || len(res.Steps[0].Results) != 2 {
				t.Fatalf("steps = %+v", res.Steps)
			}
			for _, r := range res.Steps[0].Results {
				if r.Err != nil || r.Output == "" {
					t.Fatalf("%s: %q, %v", r.Call.Name, r.Output, r.Err)
				}
			}
		})
	}
}

func TestSubAgentUsageRollsUp(t *testing.T) {
	u := func(n int) llm.Usage {
		return llm.Usage{PromptTokens: n, CompletionTokens: 1, TotalTokens: n + 1, Neurons: float64(n)}
	}
	subSrv, subModel := emulator(t, kimi,
		llmtest.Calls(add("s1", 1, 2), add("s2", 3, 4)).WithUsage(u(100)),
		llmtest.Text("the sums are 3 and 7").WithUsage(u(200)))
	srv, m := emulator(t, kimi,
		llmtest.Calls(research("p1", "add things")).WithUsage(u(10)),
		llmtest.Text("3 and 7").WithUsage(u(20)))
	sub := agent.New(subModel, agent.WithTools(addTool(nil)))
	res, err := agent.New(m, agent.WithTools(sub.AsTool("research", "Research"))).Run(t.Context(), "go")
	if err != nil {
		t.Fatal(err)
	}
	want := u(10).Add(u(20)).Add(u(100)).Add(u(200))
	want.CachedTokens = res.Usage.CachedTokens // the emulated prompt cache's, checked elsewhere
	if res.Usage != want {
		t.Fatalf("Usage = %+v, want the sub-agent's included: %+v", res.Usage, want)
	}
	if res.Spent.ToolCalls != 3 || res.Spent.Neurons != 330 {
		t.Fatalf("Spent = %+v, want 3 tool calls (2 of the sub-agent) and 330 neurons", res.Spent)
	}
	if got := toolMessages(bodies(t, srv)[1])["p1"]; got != "the sums are 3 and 7" {
		t.Fatalf("the parent's model read %q", got)
	}
	if len(subSrv.Requests()) != 2 {
		t.Fatalf("sub-agent made %d requests", len(subSrv.Requests()))
	}
	if k0, k1 := srv.Requests()[0].Header.Get("X-Session-Affinity"), subSrv.Requests()[0].Header.Get("X-Session-Affinity"); k0 == k1 || k1 == "" ||
		subSrv.Requests()[1].Header.Get("X-Session-Affinity") != k1 || srv.Requests()[1].Header.Get("X-Session-Affinity") != k0 {
		t.Fatalf("keys: parent %q, sub-agent %q: want one for each", k0, k1)
	}
}

func TestParentBudgetStopsSubAgent(t *testing.T) {
	tokens := func(n int) llm.Usage { return llm.Usage{PromptTokens: n, CompletionTokens: 0, TotalTokens: n} }
	subSrv, subModel := emulator(t, kimi,
		llmtest.Calls(add("s1", 1, 2)).WithUsage(tokens(100)),
		llmtest.Text("never asked"))
	srv, m := emulator(t, kimi,
		llmtest.Calls(research("p1", "add")).WithUsage(tokens(10)),
		llmtest.Text("never asked"))
	var ran atomic.Int32
	sub := agent.New(subModel, agent.WithTools(addTool(&ran)))
	res, err := agent.New(m, agent.WithTools(sub.AsTool("research", "Research")), agent.WithBudget(agent.Budget{MaxTokens: 50})).Run(t.Context(), "go")
	if !errors.Is(err, agent.ErrBudgetExceeded) {
		t.Fatalf("error = %v, want ErrBudgetExceeded", err)
	}
	if ran.Load() != 0 || len(subSrv.Requests()) != 1 || len(srv.Requests()) != 1 {
		t.Fatalf("sub-agent's tool ran %d times; %d sub-agent and %d parent requests; want the sub-agent stopped after its first reply",
			ran.Load(), len(subSrv.Requests()), len(srv.Requests()))
	}
	r := res.Steps[0].Results[0]
	if !errors.Is(r.Err, agent.ErrBudgetExceeded) || !strings.Contains(r.Output, "budget") {
		t.Fatalf("the sub-agent's result: %q, %v", r.Output, r.Err)
	}
	if res.Usage.TotalTokens != 110 {
		t.Fatalf("Usage = %+v", res.Usage)
	}
}

func TestSubAgentFailureIsAToolResult(t *testing.T) {
	_, subModel := emulator(t, kimi, llmtest.Fail(400, 5006, "AiError: Bad input: the model is cross"))
	srv, m := emulator(t, kimi, llmtest.Calls(research("p1", "x")), llmtest.Text("I could not find out"))
	res, err := agent.New(m, agent.WithTools(agent.New(subModel).AsTool("research", "Research"))).Run(t.Context(), "go")
	if err != nil || res.Text != "I could not find out" {
		t.Fatalf("Run = %q, %v; want the run to go on", res.Text, err)
	}
	got := toolMessages(bodies(t, srv)[1])["p1"]
	if !strings.HasPrefix(got, "error: ") || !strings.Contains(got, "the model is cross") {
		t.Fatalf("the parent's model read %q, want the sub-agent's error", got)
	}
}

func TestCancelStopsSubAgents(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls atomic.Int32
		sub := func() *agent.Agent {
			return agent.New(slow{Model: llmtest.NewTestModel(), d: time.Hour, calls: &calls})
		}
		a := agent.New(llmtest.NewTestModel(), agent.WithToolTimeout(0),
			agent.WithTools(sub().AsTool("one", "One"), sub().AsTool("two", "Two")))
		ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
		defer cancel()
		start := time.Now()
		res, err := a.Run(ctx, "go")
		if !errors.Is(err, context.DeadlineExceeded) || time.Since(start) != time.Minute {
			t.Fatalf("Run: %v after %s, want the deadline after a minute", err, time.Since(start))
		}
		if calls.Load() != 2 || len(res.Steps) != 1 {
			t.Fatalf("%d sub-agent calls, %d steps", calls.Load(), len(res.Steps))
		}
		for _, r := range res.Steps[0].Results {
			if !errors.Is(r.Err, context.DeadlineExceeded) {
				t.Fatalf("%s: %v", r.Call.Name, r.Err)
			}
		}
	})
}

type seen struct {
	kind agent.EventKind
	path string
}

func TestStreamDeliversSubAgentEventsWithPath(t *testing.T) {
	searcher := agent.New(llmtest.NewTestModel())
	researcher := agent.New(llmtest.NewTestModel(), agent.WithTools(searcher.AsTool("searcher", "Search")))
	a := agent.New(llmtest.NewTestModel(), agent.WithTools(researcher.AsTool("researcher", "Research")))
	var got []seen
	var doneResult *agent.Result
	for ev, err := range a.Stream(t.Context(), "find out") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, seen{ev.Kind, strings.Join(ev.Path, "/")})
		if ev.Kind == agent.EventDone && ev.Path == nil {
			doneResult = ev.Result
		}
	}
	// Collapse runs of text deltas, which depend on chunking.
	got = slices.CompactFunc(got, func(a, b seen) bool { return a == b && a.kind == agent.EventTextDelta })
	want := []seen{
		{agent.EventToolCallStarted, ""},
		{agent.EventToolCallStarted, "researcher"},
		{agent.EventTextDelta, "researcher/searcher"}, // the searcher has no tools: it answers
		{agent.EventStepFinished, "researcher/searcher"},
		{agent.EventDone, "researcher/searcher"},
		{agent.EventToolCallFinished, "researcher"},
		{agent.EventStepFinished, "researcher"},
		{agent.EventTextDelta, "researcher"},
		{agent.EventStepFinished, "researcher"},
		{agent.EventDone, "researcher"},
		{agent.EventToolCallFinished, ""},
		{agent.EventStepFinished, ""},
		{agent.EventTextDelta, ""},
		{agent.EventStepFinished, ""},
		{agent.EventDone, ""},
	}
	if !slices.Equal(got, want) {
		t.Fatalf("events\n%v\nwant\n%v", got, want)
	}
	if doneResult == nil || doneResult.Text == "" || doneResult.Spent.ToolCalls != 2 {
		t.Fatalf("final result %+v", doneResult)
	}
}

// A consumer that stops at the first event of a sub-agent stops the run: the sub-agent
// running beside it is cancelled, and nothing is left running (goleak in TestMain).
func TestStoppingTheStreamStopsSubAgents(t *testing.T) {
	var slowCalls atomic.Int32
	fast := agent.New(llmtest.NewTestModel())
	stuck := agent.New(slow{Model: llmtest.NewTestModel(), d: time.Hour, calls: &slowCalls})
	a := agent.New(llmtest.NewTestModel(), agent.WithTools(fast.AsTool("fast", "Fast"), stuck.AsTool("stuck", "Stuck")))
	n := 0
	for ev, err := range a.Stream(t.Context(), "go") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if ev.Path != nil {
			break
		}
	}
	if n == 0 {
		t.Fatal("no events")
	}
}

// stubborn is a model that ignores its context: it answers after d, whatever happens.
type stubborn struct {
	llm.Model
	d time.Duration
}

func (m stubborn) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	time.Sleep(m.d)
	return &llm.Response{Text: "late", Usage: llm.Usage{PromptTokens: 1000, TotalTokens: 1000}}, nil
}

// A sub-agent abandoned at its call's timeout adds nothing to the caller's Result once the
// caller has moved on, also when it finishes later.
func TestAbandonedSubAgentDoesNotChangeTheResult(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		late := agent.New(stubborn{Model: llmtest.NewTestModel(), d: 2 * time.Second})
		a := agent.New(llmtest.NewTestModel(), agent.WithToolTimeout(time.Second), agent.WithTools(late.AsTool("late", "Late")))
		res, err := a.Run(t.Context(), "go")
		if err != nil {
			t.Fatal(err)
		}
		if r := res.Steps[0].Results[0]; !errors.Is(r.Err, context.DeadlineExceeded) {
			t.Fatalf("the sub-agent's result: %q, %v", r.Output, r.Err)
		}
		before := res.Usage
		time.Sleep(2 * time.Second) // the sub-agent finishes in the background
		synctest.Wait()
		if res.Usage != before || res.Usage.TotalTokens >= 1000 {
			t.Fatalf("Usage went from %+v to %+v", before, res.Usage)
		}
	})
}
