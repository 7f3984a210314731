package agent

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// ErrApprovalRequired is matched by the error of a run that stopped because calls need a
// decision (Hooks.NeedsApproval). Result.Pending holds them; Resume goes on.
var ErrApprovalRequired = errors.New("agent: approval required")

// Decision is a human's answer about a pending call.
type Decision struct {
	// Approved lets the call run.
	Approved bool
	// Reason says why a call was denied; the model reads it.
	Reason string
}

// Approve returns the Decision that lets a call run.
func Approve() Decision { return Decision{Approved: true} }

// Deny returns the Decision that refuses a call, telling the model why.
func Deny(reason string) Decision { return Decision{Reason: reason} }

// awaiting returns the calls that Hooks.NeedsApproval holds back.
func (r *run) awaiting(calls []llm.ToolCall) []llm.ToolCall {
	needs := r.a.hooks.NeedsApproval
	if needs == nil {
		return nil
	}
	var out []llm.ToolCall
	for _, c := range calls {
		if needs(c) {
			out = append(out, c)
		}
	}
	return out
}

// pause stops the run before any call of st runs, with pending awaiting a decision. The step
// is recorded with its calls and no results; Resume completes it.
func (r *run) pause(st Step, start time.Time, pending []llm.ToolCall) error {
	st.Duration = time.Since(start)
	r.res.Steps = append(r.res.Steps, st)
	r.res.Pending = slices.Clone(pending)
	names := make([]string, len(pending))
	for i, c := range pending {
		names[i] = fmt.Sprintf("%s (id %s)", c.Name, c.ID)
	}
	return fmt.Errorf("%w: %d call(s) wait for a decision: %s", ErrApprovalRequired, len(pending), strings.Join(names, ", "))
}

// denial is the result of a call a human denied.
func denial(c llm.ToolCall, reason string) tools.Result {
	if strings.TrimSpace(reason) == "" {
		reason = "no reason was given"
	}
	return tools.Result{
		Call:   c,
		Err:    fmt.Errorf("agent: call to %s denied: %s", c.Name, reason),
		Output: "error: the call was denied: " + reason,
	}
}

// Resume continues a run that stopped with ErrApprovalRequired, once each call in
// res.Pending has a Decision in decisions, keyed by call id. The step that stopped is
// completed: its approved calls run with the calls that did not need approval (through
// Hooks.BeforeTool, like any call), each denied call gets the result
// "error: the call was denied: <reason>" for the model to read, and the run goes on as Run
// does, to an answer or another pause.
//
// The run continues where it stopped: its steps, usage, Spent (against the Budget) and
// session-affinity key carry on, so the returned Result is res's run completed. res is not
// changed, and may come from json.Unmarshal of a Result stored by another process; a must be
// built with the same tools (and tool sources, which are asked for their tools before the
// decided calls run) as the Agent that ran it. If the run cannot go on before the calls
// run (a configuration error, a tool source offering a name twice), the returned Result is
// still paused, with its Pending calls. A pending call without a decision, or
// a decision for a call that is not pending, is an error, and nothing runs. A RunTyped run
// that paused is resumed as Run would finish it, with a text answer.
func (a *Agent) Resume(ctx context.Context, res *Result, decisions map[string]Decision) (*Result, error) {
	if err := checkResume(res, decisions); err != nil {
		return res, err
	}
	r, err := a.start(res.Messages, nil, res.SessionAffinity)
	// The run goes on from res: the step limit, usage and budget count what it did.
	r.res.Steps = slices.Clone(res.Steps)
	r.res.Usage, r.res.Spent = res.Usage, res.Spent
	r.res.Pending = slices.Clone(res.Pending) // until the calls are run
	err = r.observed(ctx, err, func(ctx context.Context) error {
		if err := r.resumeStep(ctx, res.Pending, decisions); err != nil {
			return err
		}
		return r.complete(ctx)
	})
	return r.res, err
}

// checkResume refuses a Resume that cannot go on.
func checkResume(res *Result, decisions map[string]Decision) error {
	if res == nil || len(res.Pending) == 0 {
		return errors.New("agent: Resume: the Result has no pending calls; only a run stopped with ErrApprovalRequired can be resumed")
	}
	if len(res.Steps) == 0 || res.Steps[len(res.Steps)-1].Results != nil ||
		len(res.Messages) == 0 || len(res.Messages[len(res.Messages)-1].ToolCalls) == 0 {
		return errors.New("agent: Resume: the Result does not end with the step its pending calls are of")
	}
	last := res.Steps[len(res.Steps)-1]
	pending := make(map[string]bool, len(res.Pending))
	for _, c := range res.Pending {
		if !slices.ContainsFunc(last.Calls, func(s llm.ToolCall) bool { return s.ID == c.ID }) {
			return fmt.Errorf("agent: Resume: pending call %s (%s) is not a call of the last step", c.ID, c.Name)
		}
		pending[c.ID] = true
	}
	var missing []string
	for _, c := range res.Pending {
		if _, ok := decisions[c.ID]; !ok {
			missing = append(missing, fmt.Sprintf("%s (%s)", c.ID, c.Name))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("agent: Resume: no decision for pending call %s; nothing was run", strings.Join(missing, ", "))
	}
	for id := range decisions {
		if !pending[id] {
			return fmt.Errorf("agent: Resume: a decision for call %q, which is not pending; nothing was run", id)
		}
	}
	return nil
}

// resumeStep completes the step that paused, the last of the Result.
func (r *run) resumeStep(ctx context.Context, pending []llm.ToolCall, decisions map[string]Decision) error {
	// The calls may be of a tool source's tools, which the run's Set has only once the
	// sources are asked, as a step does before its model call. A failure leaves the Result
	// as it was, paused.
	if err := r.refreshTools(ctx); err != nil {
		return err
	}
	r.res.Pending = nil
	n := len(r.res.Steps) - 1
	st := r.res.Steps[n]
	r.res.Steps = r.res.Steps[:n] // act records it again, complete
	denied := make(map[string]string)
	for _, c := range pending {
		if d := decisions[c.ID]; !d.Approved {
			denied[c.ID] = d.Reason
		}
	}
	ctx, endStep := r.startStep(ctx)
	defer endStep()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	return r.act(ctx, st, time.Now(), denied)
}
