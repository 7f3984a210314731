package agent

import (
	"context"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// Observer follows runs from outside the loop, for tracing and metrics. Each Start method
// returns the context the work beneath it runs under (the model calls of a step, a tool's
// call), and the matching End method is given that context back. Methods may be called
// from several goroutines at once: StartTool and EndTool run in the goroutine of the call,
// with the step's context as parent, so the calls of one step are siblings.
//
// The package otelgowai implements Observer with OpenTelemetry spans.
type Observer interface {
	// StartRun is called when a run (or a resumed run) starts; name is the agent's name
	// (WithName) and affinity the run's session-affinity key.
	StartRun(ctx context.Context, name, affinity string) context.Context
	// EndRun is called once when the run returns, with what it returns.
	EndRun(ctx context.Context, res *Result, err error)
	// StartStep is called before the model call of step n (counted from 1). A step that
	// pauses for approval ends at the pause (its Results empty) and starts again, with the
	// same n, in Resume.
	StartStep(ctx context.Context, n int) context.Context
	// EndStep is called when the step is complete.
	EndStep(ctx context.Context, s Step)
	// StartTool is called before a tool call runs; EndTool after it returned.
	StartTool(ctx context.Context, call llm.ToolCall) context.Context
	EndTool(ctx context.Context, r tools.Result)
}

// WithObserver has o follow every run of the Agent.
func WithObserver(o Observer) Option { return func(a *Agent) { a.observer = o } }

// WithName names the Agent in events, traces and logs; sub-agents made with AsTool are
// named after their tool. The default is "agent".
func WithName(name string) Option { return func(a *Agent) { a.name = name } }
