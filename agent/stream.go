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
type Event struct {
	Kind   EventKind
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
// Breaking out of the loop stops the run: the model's stream is closed, and no tool is
// started afterwards. A step's tools run inside tools.Set.Run, which returns before the next
// event is delivered, so every tool that watches its context has returned by then; one that
// ignores its context and outlived its timeout is abandoned (see tools.Set.Run).
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
