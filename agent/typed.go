package agent

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/structured"
)

// typedNote is the user turn that asks for the typed answer.
const typedNote = "Now give your final answer in the required format."

// RunTyped runs the tool loop on input like Run, then takes the final answer as a T: once the
// model stops calling tools (or the step limit is reached), the conversation so far goes to
// structured.GenerateFrom[T], without the tools, so T's schema validation and the retry with
// feedback apply. The typed answer is the last step (its Attempts counts the answers the model
// gave), its JSON is Result.Text, and its usage is in Result.Usage, also when it fails. The
// budget is checked before the typed answer is asked for and before each further attempt at
// it; a refused attempt ends the run with ErrBudgetExceeded.
func RunTyped[T any](ctx context.Context, a *Agent, input string) (T, *Result, error) {
	var v T
	r, err := a.start([]llm.Message{llm.User(input)}, nil, "")
	err = r.observed(ctx, err, func(ctx context.Context) error {
		var err error
		v, err = runTyped[T](ctx, r)
		return err
	})
	return v, r.res, err
}

// runTyped is RunTyped's run once it has started.
func runTyped[T any](ctx context.Context, r *run) (T, error) {
	var zero T
	a := r.a
	limited, err := r.loop(ctx)
	if err != nil {
		return zero, err
	}
	if err := r.overBudget(0); err != nil {
		return zero, err
	}
	note := typedNote
	if limited {
		note = stepLimitNote + " " + typedNote
	}
	r.res.Messages = append(r.res.Messages, llm.User(note))

	// The conversation as the history policy last shaped it, so that what it summarised in
	// the loop is not summarised again; clipped, so that structured's own appends cannot
	// write into the history.
	msgs := slices.Clip(r.conversation())
	var opts []structured.Option
	if msgs[0].Role == llm.RoleSystem {
		// structured puts its own instructions in the system prompt in prompt mode; handing it
		// ours keeps the conversation to one system message.
		opts = append(opts, structured.WithSystem(msgs[0].Content))
		msgs = msgs[1:]
	}
	for _, f := range a.edits {
		opts = append(opts, structured.WithRequest(f))
	}
	ctx, endStep := r.startStep(ctx)
	defer endStep()
	m := &meter{Model: a.model, r: r}
	start := time.Now()
	sr, err := structured.GenerateFrom[T](ctx, m, msgs, opts...)
	took := time.Since(start)
	st := Step{Response: m.last, Usage: m.usage, Attempts: m.calls, ModelTime: took, Duration: took, Compaction: m.compaction}
	if err != nil {
		if m.calls > 0 {
			r.res.Steps = append(r.res.Steps, st)
			if h := a.hooks.AfterStep; h != nil {
				h(ctx, st)
			}
		}
		if m.err != nil {
			// The meter refused a call (budget) whatever structured made of its error.
			return zero, m.err
		}
		return zero, fmt.Errorf("agent: typed answer: %w", err)
	}
	r.res.Text = sr.Raw
	r.res.Messages = append(r.res.Messages, llm.Assistant(sr.Raw))
	if err := r.endStep(ctx, st); err != nil {
		return zero, err
	}
	return sr.Value, nil
}

// meter counts the model calls and usage of the typed answer into the run, which structured
// does not report when it fails, and holds each attempt after the first to the run's budget.
// structured calls Generate one attempt at a time, and never Stream.
type meter struct {
	llm.Model
	r     *run
	calls int
	usage llm.Usage
	last  *llm.Response
	err   error // why the meter refused a call

	compaction Compaction // of the last call
}

func (m *meter) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	if m.calls > 0 {
		if err := m.r.overBudget(0); err != nil {
			m.err = err
			return nil, err
		}
	}
	m.calls++
	if req.SessionAffinity == "" {
		req.SessionAffinity = m.r.res.SessionAffinity
	}
	// The typed answer's requests are structured's; the history policy fits each of them,
	// without changing what the run sends next.
	msgs, c, u, err := m.r.fit(ctx, req.Messages, req.Tools)
	m.usage = m.usage.Add(u)
	m.compaction = c
	if err != nil {
		m.err = err
		return nil, err
	}
	req.Messages = msgs
	resp, err := m.Model.Generate(ctx, req)
	paid := resp
	if err != nil {
		paid = billed(err)
	}
	if paid != nil {
		m.usage = m.usage.Add(paid.Usage)
		m.last = paid
		if cerr := m.r.charge(paid.Usage); cerr != nil {
			m.err = cerr
			return nil, cerr
		}
	}
	return resp, err
}

// ID lets structured look the model up in the catalog to choose its mode.
func (m *meter) ID() string {
	if id, ok := m.Model.(interface{ ID() string }); ok {
		return id.ID()
	}
	return ""
}
