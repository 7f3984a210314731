package agent_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

func TestStreamEventsComeInOrder(t *testing.T) {
	srv, m := emulator(t, llama,
		llmtest.Calls(add("", 1, 2), add("", 3, 4)),
		llmtest.Text("The sums are 3 and 7."))
	var kinds []agent.EventKind
	var text strings.Builder
	var final *agent.Result
	for ev, err := range agent.New(m, agent.WithTools(addTool(nil))).Stream(t.Context(), "sums?") {
		if err != nil {
			t.Fatal(err)
		}
		kinds = append(kinds, ev.Kind)
		switch ev.Kind {
		case agent.EventTextDelta:
			text.WriteString(ev.Text)
		case agent.EventToolCallFinished:
			if ev.Tool == nil || ev.Tool.Call.ID != ev.Call.ID || ev.Tool.Err != nil {
				t.Fatalf("finished event = %+v", ev)
			}
		case agent.EventStepFinished:
			if ev.Step == nil || ev.Step.Response == nil {
				t.Fatalf("step event = %+v", ev)
			}
		case agent.EventDone:
			final = ev.Result
		}
	}
	// Collapse the text deltas, however the answer was split, to check the order of kinds.
	var order []agent.EventKind
	for _, k := range kinds {
		if len(order) == 0 || k != agent.EventTextDelta || order[len(order)-1] != agent.EventTextDelta {
			order = append(order, k)
		}
	}
	want := []agent.EventKind{
		agent.EventToolCallStarted, agent.EventToolCallStarted,
		agent.EventToolCallFinished, agent.EventToolCallFinished,
		agent.EventStepFinished,
		agent.EventTextDelta,
		agent.EventStepFinished,
		agent.EventDone,
	}
	if !equalKinds(order, want) {
		t.Fatalf("events = %v, want %v", order, want)
	}
	if n := countKind(kinds, agent.EventTextDelta); n < 2 {
		t.Fatalf("the answer came in %d text deltas, want it streamed in several", n)
	}
	if text.String() != "The sums are 3 and 7." || final == nil || final.Text != text.String() || len(final.Steps) != 2 {
		t.Fatalf("streamed %q, result %+v", text.String(), final)
	}
	for i, r := range srv.Requests() {
		if !strings.Contains(string(r.Body), `"stream":true`) {
			t.Fatalf("request %d did not stream: %s", i+1, r.Body)
		}
	}
}

func equalKinds(a, b []agent.EventKind) bool {
	return strings.Join(kindNames(a), ",") == strings.Join(kindNames(b), ",")
}

func countKind(ks []agent.EventKind, k agent.EventKind) int {
	n := 0
	for _, x := range ks {
		if x == k {
			n++
		}
	}
	return n
}

func kindNames(ks []agent.EventKind) []string {
	out := make([]string, len(ks))
	for i, k := range ks {
		out[i] = k.String()
	}
	return out
}

func TestStreamHoldsBackToolCallsWrittenAsText(t *testing.T) {
	tests := []struct{ name, text string }{
		{"tool_call tags", "Checking.\n<tool_call>{\"name\":\"add\",\"arguments\":{\"a\":1,\"b\":2}}</tool_call>"},
		{"bare JSON", `{"name":"add","arguments":{"a":1,"b":2}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ran atomic.Int32
			_, m := emulator(t, llama, llmtest.Text(tt.text), llmtest.Text("3"))
			var text strings.Builder
			for ev, err := range agent.New(m, agent.WithTools(addTool(&ran))).Stream(t.Context(), "1+2") {
				if err != nil {
					t.Fatal(err)
				}
				text.WriteString(ev.Text)
			}
			if strings.Contains(text.String(), "tool_call") || strings.Contains(text.String(), `"name"`) || ran.Load() != 1 {
				t.Fatalf("streamed text %q, add ran %d times", text.String(), ran.Load())
			}
		})
	}
}

func TestStreamShowsHeldTextThatWasNotACall(t *testing.T) {
	_, m := emulator(t, llama, llmtest.Text(`{"answer": 3}`))
	var text strings.Builder
	for ev, err := range agent.New(m, agent.WithTools(addTool(nil))).Stream(t.Context(), "json please") {
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(ev.Text)
	}
	if text.String() != `{"answer": 3}` {
		t.Fatalf("streamed %q", text.String())
	}
}

func TestBreakingOutOfStreamStopsTheRun(t *testing.T) {
	for _, stopAt := range []agent.EventKind{agent.EventToolCallStarted, agent.EventToolCallFinished, agent.EventStepFinished, agent.EventTextDelta} {
		t.Run("at "+stopAt.String(), func(t *testing.T) {
			srv, m := emulator(t, llama, llmtest.Calls(add("", 1, 2)), llmtest.Text("three, as it happens"), llmtest.Text("unused"))
			var ran atomic.Int32
			var last agent.Event
			for ev, err := range agent.New(m, agent.WithTools(addTool(&ran))).Stream(t.Context(), "1+2") {
				if err != nil {
					t.Fatal(err)
				}
				last = ev
				if ev.Kind == stopAt {
					break
				}
			}
			if last.Kind != stopAt {
				t.Fatalf("never saw %v", stopAt)
			}
			wantRan, wantRequests := int32(1), 2
			if stopAt == agent.EventToolCallStarted {
				wantRan = 0 // the break came before the tools ran
			}
			if stopAt != agent.EventTextDelta {
				wantRequests = 1
			}
			if ran.Load() != wantRan || len(srv.Requests()) != wantRequests {
				t.Fatalf("after the break: add ran %d times, %d requests; want %d, %d", ran.Load(), len(srv.Requests()), wantRan, wantRequests)
			}
		})
	}
}

func TestStreamErrorComesWithPartialResult(t *testing.T) {
	_, m := emulator(t, llama, llmtest.Calls(add("", 1, 2)), llmtest.Fail(503, 3040, "Capacity temporarily exceeded"))
	var last agent.Event
	var lastErr error
	n := 0
	for ev, err := range agent.New(m, agent.WithTools(addTool(nil))).Stream(t.Context(), "1+2") {
		last, lastErr = ev, err
		n++
	}
	if !errors.Is(lastErr, llm.ErrCapacity) || last.Kind != agent.EventDone || last.Result == nil || len(last.Result.Steps) != 1 {
		t.Fatalf("last pair = %+v, %v", last, lastErr)
	}
}

func TestStreamReportsConfigurationErrors(t *testing.T) {
	a := agent.New(llmtest.NewTestModel(), agent.WithTools(tools.Func("x", "", nil, nil)))
	n := 0
	for ev, err := range a.Stream(context.Background(), "hi") {
		n++
		if !errors.Is(err, tools.ErrInvalidTool) || ev.Kind != agent.EventDone || ev.Result == nil {
			t.Fatalf("got %+v, %v", ev, err)
		}
	}
	if n != 1 {
		t.Fatalf("%d events, want the one EventDone with the error", n)
	}
}
