package agent_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

// nap is a tool that takes d, or stops when its context is done.
func nap(name string, d time.Duration) tools.Tool {
	return tools.New(name, "Wait a moment", func(ctx context.Context, _ struct{}) (string, error) {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-t.C:
			return "rested", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
}

// The in-memory TestModel calls every offered tool in one turn; inside a synctest bubble
// time is fake, so the run's duration shows how many tools ran at once. (No HTTP here:
// an httptest server cannot run inside a bubble.)
func TestCallsOfOneTurnRunConcurrently(t *testing.T) {
	tests := []struct {
		parallelism int
		want        time.Duration
	}{
		{4, 100 * time.Millisecond},
		{3, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{1, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("parallelism %d", tt.parallelism), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				a := agent.New(llmtest.NewTestModel(),
					agent.WithTools(nap("a", 100*time.Millisecond), nap("b", 100*time.Millisecond), nap("c", 100*time.Millisecond)),
					agent.WithParallelism(tt.parallelism))
				start := time.Now()
				res, err := a.Run(t.Context(), "rest three times")
				if err != nil {
					t.Fatal(err)
				}
				if took := time.Since(start); took != tt.want {
					t.Fatalf("run took %s of fake time, want %s", took, tt.want)
				}
				if len(res.Steps) != 2 || len(res.Steps[0].Results) != 3 {
					t.Fatalf("steps = %+v", res.Steps)
				}
				for _, r := range res.Steps[0].Results {
					if r.Err != nil || r.Duration != 100*time.Millisecond {
						t.Fatalf("result %+v", r)
					}
				}
			})
		})
	}
}

func TestToolTimeoutInFakeTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		a := agent.New(llmtest.NewTestModel(), agent.WithTools(nap("slow", time.Hour)), agent.WithToolTimeout(2*time.Second))
		start := time.Now()
		res, err := a.Run(t.Context(), "rest")
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 2*time.Second {
			t.Fatalf("run took %s, want the 2s timeout", took)
		}
		if out := res.Steps[0].Results[0].Output; out != "error: tool slow timed out after 2s" {
			t.Fatalf("output = %q", out)
		}
	})
}

func TestDefaultToolTimeoutIs30Seconds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		res, err := agent.New(llmtest.NewTestModel(), agent.WithTools(nap("slow", time.Hour))).Run(t.Context(), "rest")
		if err != nil || time.Since(start) != 30*time.Second || res.Steps[0].Results[0].Err == nil {
			t.Fatalf("took %s, err %v", time.Since(start), err)
		}
	})
}

// A tool that ignores its context cannot hold the run up: the run goes on at the timeout,
// the model reads that the call timed out, and the tool is left to finish on its own.
func TestRunGoesOnWhenAToolIgnoresItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release) // lets the abandoned tool return before the bubble ends
		deaf := tools.New("deaf", "Never listens", func(context.Context, struct{}) (string, error) {
			<-release
			return "too late", nil
		})
		a := agent.New(llmtest.NewTestModel(), agent.WithTools(deaf), agent.WithToolTimeout(200*time.Millisecond))
		start := time.Now()
		res, err := a.Run(t.Context(), "call it")
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took != 200*time.Millisecond {
			t.Fatalf("run took %s of fake time, want the 200ms timeout", took)
		}
		r := res.Steps[0].Results[0]
		if !errors.Is(r.Err, context.DeadlineExceeded) || r.Output != "error: tool deaf timed out after 200ms" {
			t.Fatalf("result = %+v", r)
		}
		if !strings.Contains(res.Text, "deaf -> error: tool deaf timed out") {
			t.Fatalf("the model did not read the timeout: %q", res.Text)
		}
	})
}

// Cancelling a run while a tool that ignores its context runs ends the run at once, with a
// result for every call in the history, so it can be continued.
func TestCancelledRunWithADeafToolLeavesAValidHistory(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release)
		ctx, cancel := context.WithCancel(t.Context())
		deaf := tools.New("deaf", "Never listens", func(context.Context, struct{}) (string, error) {
			cancel() // the user gives up while the tool runs
			<-release
			return "too late", nil
		})
		a := agent.New(llmtest.NewTestModel(), agent.WithTools(nap("rest", time.Millisecond), deaf), agent.WithParallelism(1))
		res, err := a.Run(ctx, "go")
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("error = %v, want context.Canceled", err)
		}
		answered := map[string]bool{}
		calls := 0
		for _, m := range res.Messages {
			calls += len(m.ToolCalls)
			if m.Role == "tool" {
				answered[m.ToolCallID] = true
			}
		}
		if calls != 2 || len(answered) != 2 {
			t.Fatalf("history has %d calls and %d results: %+v", calls, len(answered), res.Messages)
		}
		more, err := a.RunMessages(t.Context(), append(res.Messages, llm.User("go on")))
		if err != nil || more.Text == "" {
			t.Fatalf("continuing the history: %q, %v", more.Text, err)
		}
	})
}
