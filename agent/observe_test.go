package agent_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

type (
	runKey  struct{}
	stepKey struct{}
	toolKey struct{}
)

// recorder is an Observer that notes every call, and marks the contexts it returns.
type recorder struct {
	mu     sync.Mutex
	events []string
	// toolCtx notes, per call id, the step the context given to StartTool was of.
	toolStep map[string]any
	errs     []error
}

func (o *recorder) note(format string, args ...any) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, fmt.Sprintf(format, args...))
}

func (o *recorder) log() []string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]string(nil), o.events...)
}

func (o *recorder) StartRun(ctx context.Context, name, affinity string) context.Context {
	o.note("start run %s (key %d bytes)", name, len(affinity))
	return context.WithValue(ctx, runKey{}, name)
}

func (o *recorder) EndRun(ctx context.Context, res *agent.Result, err error) {
	o.note("end run %v: %d steps, err %v", ctx.Value(runKey{}), len(res.Steps), err != nil)
}

func (o *recorder) StartStep(ctx context.Context, n int) context.Context {
	o.note("start step %d of %v", n, ctx.Value(runKey{}))
	return context.WithValue(ctx, stepKey{}, n)
}

func (o *recorder) EndStep(ctx context.Context, s agent.Step) {
	o.note("end step %v: %d calls", ctx.Value(stepKey{}), len(s.Calls))
}

func (o *recorder) StartTool(ctx context.Context, call llm.ToolCall) context.Context {
	o.mu.Lock()
	if o.toolStep == nil {
		o.toolStep = map[string]any{}
	}
	o.toolStep[call.ID] = ctx.Value(stepKey{})
	o.mu.Unlock()
	return context.WithValue(ctx, toolKey{}, call.ID)
}

func (o *recorder) EndTool(ctx context.Context, r tools.Result) {
	if got := ctx.Value(toolKey{}); got != r.Call.ID {
		o.mu.Lock()
		o.errs = append(o.errs, fmt.Errorf("EndTool(%s) got the context of %v", r.Call.ID, got))
		o.mu.Unlock()
	}
	o.note("end tool %s", r.Call.ID)
}

// meet is a tool that waits until all n of its calls have started, so that the calls can only
// finish by running at the same time, and reports the step and call its context is of.
func meet(n int, seen *sync.Map) tools.Tool {
	var wg sync.WaitGroup
	wg.Add(n)
	all := make(chan struct{})
	go func() { wg.Wait(); close(all) }()
	return tools.New("meet", "Meet the others", func(ctx context.Context, in struct {
		Who string `json:"who"`
	}) (string, error) {
		wg.Done()
		select {
		case <-all:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		seen.Store(in.Who, fmt.Sprintf("step %v, call %v", ctx.Value(stepKey{}), ctx.Value(toolKey{})))
		return "met", nil
	})
}

func meetCall(id, who string) llm.ToolCall {
	return llm.ToolCall{ID: id, Name: "meet", Arguments: []byte(fmt.Sprintf(`{"who":%q}`, who))}
}

func TestObserverFollowsRunsStepsAndTools(t *testing.T) {
	_, m := emulator(t, kimi, llmtest.Calls(meetCall("c1", "ann"), meetCall("c2", "bob")), llmtest.Text("done"))
	var seen sync.Map
	o := &recorder{}
	a := agent.New(m, agent.WithName("planner"), agent.WithObserver(o), agent.WithTools(meet(2, &seen)), agent.WithToolTimeout(10*time.Second))
	res, err := a.Run(t.Context(), "meet")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Steps[0].Results {
		if r.Err != nil {
			t.Fatalf("%s: %v (the calls did not run at the same time)", r.Call.ID, r.Err)
		}
	}
	want := []string{
		"start run planner (key 32 bytes)",
		"start step 1 of planner",
		"end tool c1", "end tool c2", // in either order
		"end step 1: 2 calls",
		"start step 2 of planner",
		"end step 2: 0 calls",
		"end run planner: 2 steps, err false",
	}
	got := o.log()
	if len(got) == len(want) && got[2] == "end tool c2" {
		got[2], got[3] = got[3], got[2]
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("observer saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for id, who := range map[string]string{"c1": "ann", "c2": "bob"} {
		if s := o.toolStep[id]; s != 1 {
			t.Errorf("StartTool(%s) got the context of step %v, want 1", id, s)
		}
		if v, _ := seen.Load(who); v != "step 1, call "+id {
			t.Errorf("tool call %s ran under %q, want its StartTool context under step 1's", id, v)
		}
	}
	if len(o.errs) > 0 {
		t.Fatal(errors.Join(o.errs...))
	}
}

func TestObserverPairsEveryRunKind(t *testing.T) {
	tm := llmtest.NewTestModel()
	type answer struct {
		City string `json:"city"`
	}
	for name, run := range map[string]func(a *agent.Agent) error{
		"Stream": func(a *agent.Agent) error {
			var err error
			for _, e := range a.Stream(t.Context(), "hi") {
				err = e
			}
			return err
		},
		"RunTyped": func(a *agent.Agent) error {
			_, _, err := agent.RunTyped[answer](t.Context(), a, "which city?")
			return err
		},
		"failing": func(a *agent.Agent) error {
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			_, err := a.Run(ctx, "hi")
			if err == nil {
				return errors.New("want an error")
			}
			return nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			o := &recorder{}
			if err := run(agent.New(tm, agent.WithObserver(o))); err != nil {
				t.Fatal(err)
			}
			got := o.log()
			starts, ends := 0, 0
			for _, e := range got {
				switch {
				case strings.HasPrefix(e, "start step"):
					starts++
				case strings.HasPrefix(e, "end step"):
					ends++
				}
			}
			if len(got) < 2 || got[0] != "start run agent (key 32 bytes)" || !strings.HasPrefix(got[len(got)-1], "end run agent") || starts != ends {
				t.Fatalf("observer saw %q", got)
			}
		})
	}
}

func TestDollarBudgetStopsARun(t *testing.T) {
	// 1,000 neurons cost $0.011.
	costly := llm.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, Neurons: 1000}
	srv, m := emulator(t, llama, llmtest.Calls(add("", 1, 2)).WithUsage(costly), llmtest.Calls(add("", 3, 4)).WithUsage(costly), llmtest.Text("never asked"))
	res, err := agent.New(m, agent.WithTools(addTool(nil)), agent.WithBudget(agent.Budget{MaxDollars: 0.015})).Run(t.Context(), "add")
	if !errors.Is(err, agent.ErrBudgetExceeded) || !strings.Contains(err.Error(), "$0.022000") {
		t.Fatalf("error = %v, want ErrBudgetExceeded at $0.022", err)
	}
	if len(srv.Requests()) != 2 || len(res.Steps) != 2 || res.Spent.ToolCalls != 1 || res.Spent.Neurons != 2000 {
		t.Fatalf("%d requests, %d steps, spent %+v; want the second step's call refused", len(srv.Requests()), len(res.Steps), res.Spent)
	}
	if _, err := agent.New(m, agent.WithBudget(agent.Budget{MaxDollars: -1})).Run(t.Context(), "x"); err == nil || !strings.Contains(err.Error(), "negative") {
		t.Fatalf("negative MaxDollars: %v", err)
	}
}

func TestToolsSeeTheRunsImages(t *testing.T) {
	var got []string
	look := tools.New("look", "Look at the attached images", func(ctx context.Context, _ struct{}) (string, error) {
		for _, img := range tools.Attachments(ctx) {
			got = append(got, img.MIME+":"+string(img.Data))
		}
		return "seen", nil
	})
	a := agent.New(llmtest.NewTestModel(), agent.WithTools(look))
	_, err := a.RunMessages(t.Context(), []llm.Message{
		llm.User("first", llm.Image{Data: []byte("a"), MIME: "image/png"}),
		llm.Assistant("ok"),
		llm.User("look at these", llm.Image{Data: []byte("b"), MIME: "image/jpeg"}, llm.Image{Data: []byte("c"), MIME: "image/png"}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := "image/png:a image/jpeg:b image/png:c"; strings.Join(got, " ") != want {
		t.Fatalf("the tool saw %q, want %q", got, want)
	}
}

func TestObserverFollowsAPauseAndResume(t *testing.T) {
	_, m := emulator(t, kimi, llmtest.Calls(del("c1", "a.txt")), llmtest.Text("kept"))
	o := &recorder{}
	var deleted atomic.Int32
	build := func() *agent.Agent {
		return agent.New(m, agent.WithObserver(o), agent.WithTools(deleteTool(&deleted)),
			agent.WithHooks(agent.Hooks{NeedsApproval: func(llm.ToolCall) bool { return true }}))
	}
	res, err := build().Run(t.Context(), "tidy")
	if !errors.Is(err, agent.ErrApprovalRequired) {
		t.Fatal(err)
	}
	if _, err := build().Resume(t.Context(), res, map[string]agent.Decision{"c1": agent.Deny("no")}); err != nil {
		t.Fatal(err)
	}
	want := []string{
		"start run agent (key 32 bytes)",
		"start step 1 of agent",
		"end step 1: 1 calls",
		"end run agent: 1 steps, err true",
		"start run agent (key 32 bytes)",
		"start step 1 of agent",
		"end step 1: 1 calls",
		"start step 2 of agent",
		"end step 2: 0 calls",
		"end run agent: 2 steps, err false",
	}
	if got := o.log(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("observer saw\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// nilObserver returns no contexts, which the run survives.
type nilObserver struct{}

func (nilObserver) StartRun(context.Context, string, string) context.Context { return nil }
func (nilObserver) EndRun(context.Context, *agent.Result, error)             {}
func (nilObserver) StartStep(context.Context, int) context.Context           { return nil }
func (nilObserver) EndStep(context.Context, agent.Step)                      {}
func (nilObserver) StartTool(context.Context, llm.ToolCall) context.Context  { return nil }
func (nilObserver) EndTool(context.Context, tools.Result)                    {}

func TestObserverReturningNoContext(t *testing.T) {
	_, m := emulator(t, llama, llmtest.Calls(add("", 1, 2)), llmtest.Text("3"))
	res, err := agent.New(m, agent.WithTools(addTool(nil)), agent.WithObserver(nilObserver{})).Run(t.Context(), "add")
	if err != nil || res.Text != "3" || res.Steps[0].Results[0].Output != "3" {
		t.Fatalf("Run = %+v, %v", res, err)
	}
}
