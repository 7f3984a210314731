package agent

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// task is what a model sends to a sub-agent's tool.
type task struct {
	Task string `json:"task" jsonschema:"description=The task for the agent: everything it needs to know, since it sees nothing else of this conversation"`
}

// AsTool returns a tool that runs a as a sub-agent: the model calls it with {"task": "..."},
// the task is the sub-agent's input (it sees nothing else of the caller's conversation), and
// the tool's output is the sub-agent's answer.
//
// Inside another agent's run, the sub-agent is part of that run:
//   - Sub-agents called in one step run at the same time, like any tools, within the
//     caller's WithParallelism, WithToolTimeout and context: cancelling the caller stops
//     them.
//   - Their model calls and tool calls count toward the caller's Result.Usage and
//     Result.Spent, and toward its Budget, which is checked before each of the sub-agent's
//     model calls; the sub-agent's own Budget applies to its own calls as well. A caller's
//     budget used up inside a sub-agent stops it, and the caller's run then ends with
//     ErrBudgetExceeded.
//   - A sub-agent that fails (a model error, its budget, a cancelled call) gives the caller's
//     model an error result to read; the caller's run goes on. So does a sub-agent whose
//     Hooks.NeedsApproval stops it: approvals that wait for a human belong to the top agent.
//   - In the caller's Stream, the sub-agent's events are delivered too, as they happen, with
//     Event.Path naming the sub-agent (see Event).
//
// Each run of the sub-agent has its own session-affinity key (unless a was built with
// WithSessionAffinity) and is named name for the Observer and in Event.Path. The tool has
// a's configuration error, if New found one, as an error result.
func (a *Agent) AsTool(name, description string) tools.Tool {
	return tools.New(name, description, func(ctx context.Context, in task) (string, error) {
		if strings.TrimSpace(in.Task) == "" {
			return "", errors.New("the task is empty: say what the agent should do")
		}
		return a.runAsTool(ctx, name, in.Task)
	})
}

// runAsTool runs a on input as the sub-agent name of the run in ctx, if any.
func (a *Agent) runAsTool(ctx context.Context, name, input string) (string, error) {
	l, _ := ctx.Value(linkKey{}).(*link)
	var emit func(Event) bool
	if l != nil && l.events != nil {
		emit = l.forward
	}
	r, err := a.start([]llm.Message{llm.User(input)}, emit, "")
	r.name = name
	if l != nil {
		r.parent, r.up = l.parent, l
		r.path = append(append([]string(nil), l.parent.path...), name)
	}
	err = r.observed(ctx, err, r.complete)
	if !errors.Is(err, errStopped) {
		// The sub-agent's run is over; the caller's stream shows its end.
		_ = r.send(Event{Kind: EventDone, Result: r.res})
	}
	if err != nil {
		return "", fmt.Errorf("agent %s: %w", name, err)
	}
	return r.res.Text, nil
}

// linkKey is the context key of a *link: the run whose tool calls the context is of.
type linkKey struct{}

// link is what a sub-agent needs of the run that called it: the run, to count its usage
// and check the budget, and, when that run streams, the way to its consumer.
type link struct {
	parent *run
	events chan<- Event    // nil unless the parent streams
	stop   <-chan struct{} // closed when the parent takes no more events from this step

	// closed is set, under parent.mu, once the step's calls are over: a sub-agent that
	// outlived its call (abandoned at its timeout) no longer adds to the parent, whose
	// Result may be in its caller's hands by then.
	closed bool
}

// close ends l: nothing more is added through it.
func (l *link) close() {
	l.parent.mu.Lock()
	defer l.parent.mu.Unlock()
	l.closed = true
}

// upward calls f with each run that r's spending counts toward, r first, under that run's
// mu, up to the first link that is closed.
func (r *run) upward(f func(p *run)) {
	r.mu.Lock()
	f(r)
	r.mu.Unlock()
	for l := r.up; l != nil; l = l.parent.up {
		l.parent.mu.Lock()
		if l.closed {
			l.parent.mu.Unlock()
			return
		}
		f(l.parent)
		l.parent.mu.Unlock()
	}
}

// forward hands ev to the parent's stream; false when the parent takes no more.
func (l *link) forward(ev Event) bool {
	select {
	case l.events <- ev:
		return true
	case <-l.stop:
		return false
	}
}

// ancestors returns the runs that r is a sub-agent of, nearest first.
func (r *run) ancestors() []*run {
	var out []*run
	for p := r.parent; p != nil; p = p.parent {
		out = append(out, p)
	}
	return out
}

// runSet runs calls through the Agent's Set, under ctx with the run linked in, so that
// sub-agents count toward it. While the calls run, the events of streaming sub-agents are
// passed on to the stream consumer, from this goroutine; if the consumer stops, the calls
// are cancelled and stopped is true.
func (r *run) runSet(ctx context.Context, calls []llm.ToolCall) (results []tools.Result, stopped bool) {
	ctx = r.toolContext(ctx)
	if r.emit == nil {
		l := &link{parent: r}
		defer l.close()
		return r.set.Run(context.WithValue(ctx, linkKey{}, l), calls, r.a.parallelism), false
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, stop := make(chan Event), make(chan struct{})
	defer close(stop) // a sub-agent that outlived its call gets no further
	l := &link{parent: r, events: events, stop: stop}
	defer l.close()
	ctx = context.WithValue(ctx, linkKey{}, l)
	done := make(chan []tools.Result, 1)
	go func() { done <- r.set.Run(ctx, calls, r.a.parallelism) }()
	for {
		select {
		case ev := <-events:
			if !stopped && r.send(ev) != nil {
				stopped = true
				cancel()
			}
		case res := <-done:
			return res, stopped
		}
	}
}
