package agent

import (
	"context"
	"errors"
	"fmt"
	"iter"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// EventKind says what an Event reports.
type EventKind int

// The kinds of Event, in the order a step produces them.
const (
	// EventTextDelta carries new answer text in Text.
	EventTextDelta EventKind = iota + 1
	// EventToolCallStarted announces a call the model asked for, in Call.
	EventToolCallStarted
	// EventToolCallFinished carries a call's outcome in Tool (with its duration and error).
	EventToolCallFinished
	// EventStepFinished carries the completed step in Step.
	EventStepFinished
	// EventDone ends the stream with the run's Result; when it comes with an error, the
	// Result is partial.
	EventDone
)

func (k EventKind) String() string {
	switch k {
	case EventTextDelta:
		return "text"
	case EventToolCallStarted:
		return "tool call started"
	case EventToolCallFinished:
		return "tool call finished"
	case EventStepFinished:
		return "step finished"
	case EventDone:
		return "done"
	}
	return fmt.Sprintf("EventKind(%d)", int(k))
}

// Event is one thing that happened during a streamed run. Only the fields of its Kind are set.
//
// Path says which agent the event is of. It is nil for the events of the agent Stream was
// called on, and names the sub-agents (AsTool) otherwise: ["researcher"] for the events of the
// sub-agent the top agent calls as "researcher", ["researcher", "searcher"] for those of a
// sub-agent that one calls, and so on. A sub-agent's run ends with an EventDone of its own,
// with its Path and its Result (its error, if any, is in the caller's EventToolCallFinished),
// which does not end the stream: only the EventDone with a nil Path does.
type Event struct {
	Kind   EventKind
	Path   []string
	Text   string
	Call   llm.ToolCall
	Tool   *tools.Result
	Step   *Step
	Result *Result
}

// Stream is Run delivered as it happens. Each step uses the model's Stream, so answer text
// arrives as EventTextDelta events; text that may be a tool call written as text (a reply
// starting with '{', or a "<tool_call>" tag on) is held until the reply is complete. A step's
// calls, each one the model asked for, are announced with EventToolCallStarted before
// they run (or are refused by Hooks.BeforeTool); their EventToolCallFinished events follow, in
// call order, once all of them are done. The last pair is always an
// EventDone event with the Result, and the error if the run failed.
//
// Sub-agents (AsTool) stream too, and their events are delivered while the calls of the step
// run, each with its Path; the events of sub-agents running at the same time interleave, but
// each is delivered whole, and all of them from the goroutine that iterates.
//
// Breaking out of the loop stops the run: the model's stream is closed, the calls running
// (sub-agents included) are cancelled, and no tool is started afterwards. A step's tools run
// inside tools.Set.Run, which returns before the loop does, so every tool that watches its
// context has returned by then; one that ignores its context and outlived its timeout is
// abandoned (see tools.Set.Run).
func (a *Agent) Stream(ctx context.Context, input string) iter.Seq2[Event, error] {
	return func(yield func(Event, error) bool) {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		r, err := a.start([]llm.Message{llm.User(input)}, func(ev Event) bool { return yield(ev, nil) }, "")
		err = r.observed(ctx, err, r.complete)
		if errors.Is(err, errStopped) {
			return
		}
		yield(Event{Kind: EventDone, Result: r.res}, err)
	}
}
