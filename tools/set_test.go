package tools_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// sleeper is a tool that waits d, or until its context is done.
func sleeper(name string, d time.Duration) tools.Tool {
	return tools.New(name, "", func(ctx context.Context, _ struct{}) (string, error) {
		select {
		case <-time.After(d):
			return name + " done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
}

func call(id, name, args string) llm.ToolCall {
	return llm.ToolCall{ID: id, Name: name, Arguments: json.RawMessage(args)}
}

func TestRunIsConcurrentUpToLimitAndKeepsCallOrder(t *testing.T) {
	tests := []struct {
		limit int
		want  time.Duration
	}{
		{0, 100 * time.Millisecond}, // 0 means all at once
		{-1, 100 * time.Millisecond},
		{3, 100 * time.Millisecond},
		{2, 200 * time.Millisecond},
		{1, 300 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("limit %d takes %s", tt.limit, tt.want), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				// Each call takes 100 ms, so the total shows how many ran at once.
				set, err := tools.NewSet(sleeper("a", 100*time.Millisecond), sleeper("b", 100*time.Millisecond), sleeper("c", 100*time.Millisecond))
				if err != nil {
					t.Fatal(err)
				}
				calls := []llm.ToolCall{call("1", "a", `{}`), call("2", "b", `{}`), call("3", "c", `{}`)}
				start := time.Now()
				results := set.Run(t.Context(), calls, tt.limit)
				if took := time.Since(start); took != tt.want {
					t.Fatalf("Run took %s of fake time, want %s", took, tt.want)
				}
				for i, r := range results {
					if r.Call.ID != calls[i].ID || r.Err != nil || r.Output != calls[i].Name+" done" || r.Duration != 100*time.Millisecond {
						t.Fatalf("results[%d] = %+v", i, r)
					}
				}
			})
		})
	}
}

func TestRunResultsFollowCallOrderNotFinishingOrder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set, err := tools.NewSet(sleeper("slow", 300*time.Millisecond), sleeper("mid", 200*time.Millisecond), sleeper("fast", 100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		calls := []llm.ToolCall{call("1", "slow", `{}`), call("2", "mid", `{}`), call("3", "fast", `{}`)}
		results := set.Run(t.Context(), calls, 0)
		for i, want := range []string{"slow done", "mid done", "fast done"} {
			if results[i].Output != want || results[i].Duration != time.Duration(3-i)*100*time.Millisecond {
				t.Fatalf("results[%d] = %+v, want %q", i, results[i], want)
			}
		}
	})
}

func TestRunTurnsEveryFailureIntoAResult(t *testing.T) {
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, nil))
	set, err := tools.NewSet(
		tools.New("convert", "", convert),
		tools.New("fails", "", func(context.Context, struct{}) (string, error) {
			return "", errors.New("the upstream API answered 503")
		}),
		tools.New("panics", "", func(context.Context, struct{}) (string, error) {
			var m map[string]int
			m["x"] = 1 // nil map write: a runtime panic
			return "", nil
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	set = set.WithLogger(logger)
	calls := []llm.ToolCall{
		call("1", "convert", `{"value":"ten","from":"mi"}`),
		call("2", "fails", `{}`),
		call("3", "panics", `{}`),
		call("4", "nope", `{}`),
		call("5", "convert", `{"value":1,"from":"km"}`),
	}
	results := set.Run(t.Context(), calls, 2)

	checks := []struct {
		name    string
		errIs   func(error) bool
		outputs []string
	}{
		{"invalid arguments", func(err error) bool { _, ok := errors.AsType[*tools.ArgumentError](err); return ok },
			[]string{"error: invalid arguments for convert", "/value:", "Call it again"}},
		{"fn error", func(err error) bool {
			return strings.Contains(err.Error(), "tools: fails: the upstream API answered 503")
		},
			[]string{"error: the upstream API answered 503"}},
		{"panic", func(err error) bool { return errors.Is(err, tools.ErrPanicked) },
			[]string{"error: tool panics failed with an internal error"}},
		{"unknown tool", func(err error) bool { return errors.Is(err, tools.ErrUnknownTool) },
			[]string{`error: there is no tool named "nope"; the tools are: convert, fails, panics`}},
	}
	for i, c := range checks {
		r := results[i]
		if r.Err == nil || !c.errIs(r.Err) {
			t.Errorf("%s: Err = %v", c.name, r.Err)
		}
		for _, want := range c.outputs {
			if !strings.Contains(r.Output, want) {
				t.Errorf("%s: Output = %q, want it to contain %q", c.name, r.Output, want)
			}
		}
		if strings.Contains(r.Output, "goroutine") || strings.Contains(r.Output, ".go:") {
			t.Errorf("%s: Output leaks a stack: %q", c.name, r.Output)
		}
	}
	if r := results[4]; r.Err != nil || r.Output != `{"value":0.621371192237334,"unit":"mi"}` {
		t.Errorf("the valid call after the failures = %+v", r)
	}
	log := logs.String()
	if !strings.Contains(log, "tool panicked") || !strings.Contains(log, "tool=panics") || !strings.Contains(log, "goroutine") || !strings.Contains(log, "set_test.go") {
		t.Errorf("the panic was not logged with its stack:\n%s", log)
	}
}

func TestRunTimesOutSlowCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		set, err := tools.NewSet(sleeper("slow", time.Hour), sleeper("quick", time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		timed := set.WithTimeout(50 * time.Millisecond)
		start := time.Now()
		results := timed.Run(t.Context(), []llm.ToolCall{call("1", "slow", `{}`), call("2", "quick", `{}`)}, 0)
		if took := time.Since(start); took != 50*time.Millisecond {
			t.Fatalf("Run took %s, want the 50ms timeout", took)
		}
		r := results[0]
		if !errors.Is(r.Err, context.DeadlineExceeded) || r.Output != "error: tool slow timed out after 50ms" {
			t.Fatalf("slow call = %+v", r)
		}
		if results[1].Err != nil || results[1].Output != "quick done" {
			t.Fatalf("quick call = %+v", results[1])
		}

		// WithTimeout returned a copy: the original Set still has no timeout.
		start = time.Now()
		set2, _ := tools.NewSet(sleeper("slowish", time.Second))
		_ = set2.WithTimeout(time.Millisecond)
		if r := set2.Run(t.Context(), []llm.ToolCall{call("1", "slowish", `{}`)}, 0)[0]; r.Err != nil || time.Since(start) != time.Second {
			t.Fatalf("the Set WithTimeout was called on changed: %+v", r)
		}
	})
}

func TestRunWithCancelledContextStartsNothing(t *testing.T) {
	var ran atomic.Int32
	set, err := tools.NewSet(tools.New("count", "", func(context.Context, struct{}) (string, error) {
		ran.Add(1)
		return "", nil
	}))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	results := set.Run(ctx, []llm.ToolCall{call("1", "count", `{}`), call("2", "count", `{}`)}, 1)
	for i, r := range results {
		if !errors.Is(r.Err, context.Canceled) || r.Output != "error: cancelled" || r.Call.ID != fmt.Sprint(i+1) {
			t.Fatalf("results[%d] = %+v", i, r)
		}
	}
	if ran.Load() != 0 {
		t.Fatalf("%d calls ran after cancellation", ran.Load())
	}
}

func TestCancellingDuringRunStopsQueuedCalls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		var started atomic.Int32
		set, err := tools.NewSet(tools.New("work", "", func(ctx context.Context, _ struct{}) (string, error) {
			if started.Add(1) == 1 {
				cancel() // the user gives up while the first call runs
			}
			<-ctx.Done()
			return "", ctx.Err()
		}))
		if err != nil {
			t.Fatal(err)
		}
		results := set.Run(ctx, []llm.ToolCall{call("1", "work", `{}`), call("2", "work", `{}`), call("3", "work", `{}`)}, 1)
		if started.Load() != 1 {
			t.Fatalf("%d calls started, want only the first (the others were queued behind limit 1)", started.Load())
		}
		for i, r := range results {
			if !errors.Is(r.Err, context.Canceled) || r.Output != "error: cancelled" {
				t.Fatalf("results[%d] = %+v", i, r)
			}
		}
	})
}

func TestRunWithNoCalls(t *testing.T) {
	set, err := tools.NewSet()
	if err != nil {
		t.Fatal(err)
	}
	if got := set.Run(t.Context(), nil, 0); len(got) != 0 {
		t.Fatalf("Run(nil) = %v", got)
	}
}

// stubborn is a tool that sleeps d without watching its context, then reports whether it
// finished.
func stubborn(name string, d time.Duration, finished *atomic.Int32) tools.Tool {
	return tools.New(name, "", func(context.Context, struct{}) (string, error) {
		time.Sleep(d)
		finished.Add(1)
		return name + " finally done", nil
	})
}

func TestRunReturnsAtTheTimeoutWhenAToolIgnoresItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var finished atomic.Int32
		set, err := tools.NewSet(stubborn("stuck", time.Hour, &finished), sleeper("quick", time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		// Limit 1: the abandoned call frees its slot, so the next call runs at once.
		results := set.WithTimeout(200*time.Millisecond).Run(t.Context(),
			[]llm.ToolCall{call("1", "stuck", `{}`), call("2", "quick", `{}`)}, 1)
		if took := time.Since(start); took != 201*time.Millisecond {
			t.Fatalf("Run took %s of fake time, want 200ms for the abandoned call and 1ms for the next", took)
		}
		r := results[0]
		if !errors.Is(r.Err, context.DeadlineExceeded) || r.Output != "error: tool stuck timed out after 200ms" || r.Duration != 200*time.Millisecond {
			t.Fatalf("stuck call = %+v", r)
		}
		if results[1].Output != "quick done" {
			t.Fatalf("quick call = %+v", results[1])
		}
		if finished.Load() != 0 {
			t.Fatal("the stuck tool finished before Run returned")
		}
		// The abandoned tool finishes in the background; its output goes nowhere.
		time.Sleep(time.Hour)
		synctest.Wait()
		if finished.Load() != 1 || r.Output != "error: tool stuck timed out after 200ms" || results[0].Output != r.Output {
			t.Fatalf("after the tool returned: finished %d, result %+v", finished.Load(), results[0])
		}
	})
}

func TestRunReturnsOnCancellationWhenAToolIgnoresItsContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		defer close(release) // lets the abandoned goroutine exit before the bubble ends
		ctx, cancel := context.WithCancel(t.Context())
		set, err := tools.NewSet(tools.New("deaf", "", func(context.Context, struct{}) (string, error) {
			cancel() // the user gives up while the call runs
			<-release
			return "too late", nil
		}))
		if err != nil {
			t.Fatal(err)
		}
		r := set.Run(ctx, []llm.ToolCall{call("1", "deaf", `{}`)}, 0)[0]
		if !errors.Is(r.Err, context.Canceled) || r.Output != "error: cancelled" {
			t.Fatalf("result = %+v", r)
		}
	})
}

func TestResultSurvivesJSON(t *testing.T) {
	for _, r := range []tools.Result{
		{Call: llm.ToolCall{ID: "c1", Name: "add", Arguments: json.RawMessage(`{"a":1}`)}, Output: "2", Duration: 1500 * time.Millisecond},
		{Call: llm.ToolCall{ID: "c2", Name: "add", Arguments: json.RawMessage(`{}`)}, Output: "error: boom",
			Err: fmt.Errorf("tools: add: %w", errors.New("boom")), Duration: time.Millisecond},
	} {
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatal(err)
		}
		var back tools.Result
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		if back.Call.ID != r.Call.ID || string(back.Call.Arguments) != string(r.Call.Arguments) || back.Output != r.Output || back.Duration != r.Duration ||
			(r.Err == nil) != (back.Err == nil) || r.Err != nil && back.Err.Error() != r.Err.Error() {
			t.Fatalf("%s came back as %+v, want %+v", b, back, r)
		}
	}
	var back tools.Result
	if err := json.Unmarshal([]byte(`{"Err": 3}`), &back); err == nil || !strings.HasPrefix(err.Error(), "tools: ") {
		t.Fatalf("bad JSON: %v", err)
	}
}

func TestCallHooksRunInTheCallsGoroutine(t *testing.T) {
	type key struct{}
	var mu sync.Mutex
	var ended []string
	tool := tools.New("echo", "", func(ctx context.Context, in struct {
		S string `json:"s"`
	}) (string, error) {
		return fmt.Sprint(ctx.Value(key{})), nil
	})
	set, err := tools.NewSet(tool)
	if err != nil {
		t.Fatal(err)
	}
	set = set.WithCallHooks(func(ctx context.Context, c llm.ToolCall) context.Context {
		return context.WithValue(ctx, key{}, "hooked "+c.ID)
	}, func(ctx context.Context, r tools.Result) {
		mu.Lock()
		defer mu.Unlock()
		ended = append(ended, fmt.Sprintf("%v: %s", ctx.Value(key{}), r.Output))
	})
	res := set.Run(t.Context(), []llm.ToolCall{
		{ID: "a", Name: "echo", Arguments: json.RawMessage(`{"s":"x"}`)},
		{ID: "b", Name: "nope", Arguments: json.RawMessage(`{}`)},
	}, 0)
	if res[0].Output != "hooked a" {
		t.Fatalf("the tool ran under %q", res[0].Output)
	}
	slices.Sort(ended)
	if len(ended) != 2 || ended[0] != "hooked a: hooked a" || !strings.HasPrefix(ended[1], "hooked b: error: there is no tool") {
		t.Fatalf("after saw %q", ended)
	}
}
