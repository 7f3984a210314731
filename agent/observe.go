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

// RunInfo is what a RunInfoObserver is told about a run as it starts. Its slices are the
// run's own: read them, do not keep or change them.
type RunInfo struct {
	Model    string        // the model's id, when the model has an ID() string method
	Messages []llm.Message // the conversation the run starts from, the system prompt first
	Tools    []llm.ToolDef // the tools offered at the start
}

// RunInfoObserver is an Observer that is also told the model, the messages and the tools of
// each run: RunStarted is called right after StartRun, with the context StartRun returned.
// otelgowai uses it for gen_ai.request.model and, with content capture on, the input
// messages of its invoke_agent spans.
type RunInfoObserver interface {
	Observer
	RunStarted(ctx context.Context, info RunInfo)
}
