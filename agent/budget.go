package agent

import (
	"context"
	"fmt"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// charge adds what a model call used to the run: its usage, and its neurons for the budget,
// estimated from the catalog's prices when the reply reports none. It fails when MaxNeurons
// or MaxDollars is set but the neurons can be neither read nor estimated.
func (r *run) charge(u llm.Usage) error {
	n, estimated := u.Neurons, u.NeuronsEstimated
	if n <= 0 {
		var ok bool
		n, ok = r.a.estimateNeurons(u)
		if !ok && (r.a.budget.MaxNeurons > 0 || r.a.budget.MaxDollars > 0) {
			r.add(u, 0, false)
			return fmt.Errorf("agent: Budget.MaxNeurons and MaxDollars cannot be enforced: %s reports no neurons and has no prices in the catalog "+
				"to estimate them from, so the cap would never trigger; cap MaxTokens instead", r.a.modelName())
		}
		estimated = n > 0
	}
	r.add(u, n, estimated)
	return nil
}

// add adds usage and neurons to the run and to the runs it is a sub-agent of.
func (r *run) add(u llm.Usage, neurons float64, estimated bool) {
	r.upward(func(p *run) {
		p.res.Usage = p.res.Usage.Add(u)
		p.res.Spent.Neurons += neurons
		p.res.Spent.NeuronsEstimated = p.res.Spent.NeuronsEstimated || estimated
	})
}

// count adds n tool calls run to the run and to the runs it is a sub-agent of.
func (r *run) count(n int) {
	r.upward(func(p *run) { p.res.Spent.ToolCalls += n })
}

// overBudget returns an error matching ErrBudgetExceeded if the run may not go on to run
// calls more tool calls (0 when only the tokens and neurons matter): if its own Budget or
// that of a run it is a sub-agent of is spent.
func (r *run) overBudget(calls int) error {
	if err := r.overOwnBudget(calls); err != nil {
		return err
	}
	for _, p := range r.ancestors() {
		if err := p.overOwnBudget(calls); err != nil {
			return fmt.Errorf("the calling agent's budget: %w", err)
		}
	}
	return nil
}

// overOwnBudget is overBudget for r's own Budget.
func (r *run) overOwnBudget(calls int) error {
	r.mu.Lock()
	u, sp := r.res.Usage, r.res.Spent
	r.mu.Unlock()
	b := r.a.budget
	tokens := u.TotalTokens
	if tokens == 0 {
		tokens = u.PromptTokens + u.CompletionTokens
	}
	how := ""
	if sp.NeuronsEstimated {
		how = " (partly estimated from the catalog's prices)"
	}
	switch {
	case b.MaxTokens > 0 && tokens > b.MaxTokens:
		return fmt.Errorf("%w: %d tokens used, the budget is %d", ErrBudgetExceeded, tokens, b.MaxTokens)
	case b.MaxNeurons > 0 && sp.Neurons > b.MaxNeurons:
		return fmt.Errorf("%w: %.2f neurons used%s, the budget is %.2f", ErrBudgetExceeded, sp.Neurons, how, b.MaxNeurons)
	case b.MaxDollars > 0 && sp.Neurons*llm.USDPerNeuron > b.MaxDollars:
		return fmt.Errorf("%w: $%.6f spent (%.2f neurons%s), the budget is $%.6f",
			ErrBudgetExceeded, sp.Neurons*llm.USDPerNeuron, sp.Neurons, how, b.MaxDollars)
	case b.MaxToolCalls > 0 && sp.ToolCalls+calls > b.MaxToolCalls:
		return fmt.Errorf("%w: %d tool calls asked for after %d, the budget is %d", ErrBudgetExceeded, calls, sp.ToolCalls, b.MaxToolCalls)
	}
	return nil
}

// toolContext is the context the step's tool calls run under: ctx with the images of the
// run's input as tools.Attachments, and reporting the usage of the Workers AI calls the tools
// make (llm.WithUsageFunc) to the run.
func (r *run) toolContext(ctx context.Context) context.Context {
	if len(r.images) > 0 {
		ctx = tools.WithAttachments(ctx, r.images)
	}
	// What the tools spend on Workers AI (a vision model, embeddings, a task model) counts
	// toward the run's usage and budget like its own model calls.
	return llm.WithUsageFunc(ctx, func(u llm.Usage) { r.add(u, u.Neurons, u.NeuronsEstimated) })
}
