package otelgowai

import (
	"context"
	"errors"
	"strconv"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/structured"
	"github.com/gowai/gowai/tools"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of agents, steps, tools and structured output.
const (
	keyAgentName      = "gen_ai.agent.name"
	keyConversationID = "gen_ai.conversation.id"
	keyToolName       = "gen_ai.tool.name"
	keyToolCallID     = "gen_ai.tool.call.id"
	keyToolType       = "gen_ai.tool.type"
	keyToolArguments  = "gen_ai.tool.call.arguments"
	keyToolResult     = "gen_ai.tool.call.result"

	keyStep          = "gowai.agent.step"
	keySteps         = "gowai.agent.steps"
	keyToolCalls     = "gowai.agent.tool_calls"
	keyPending       = "gowai.agent.pending"
	keyStepAttempts  = "gowai.agent.step.attempts"
	keyAttempt       = "gowai.structured.attempt"
	keyMode          = "gowai.structured.mode"
	keyValid         = "gowai.structured.valid"
	keyProblemCount  = "gowai.structured.problem_count"
	keyProblemPaths  = "gowai.structured.problem_paths"
	keyProblems      = "gowai.structured.problems"
	eventStructured  = "gowai.structured.attempt"
	operationAgent   = "invoke_agent"
	operationTool    = "execute_tool"
	defaultAgentName = "agent"
)

// StartRun starts the "invoke_agent {name}" span of a run. It implements agent.Observer.
func (in *Instrumentation) StartRun(ctx context.Context, name, affinity string) context.Context {
	if name == "" {
		name = defaultAgentName
	}
	attrs := []attribute.KeyValue{
		attribute.String(keyOperation, operationAgent),
		attribute.String(keyProvider, ProviderName),
		attribute.String(keyAgentName, name),
	}
	if affinity != "" {
		attrs = append(attrs, attribute.String(keyConversationID, affinity))
	}
	ctx, _ = in.tracer.Start(ctx, operationAgent+" "+name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	return ctx
}

// RunStarted adds the run's model (gen_ai.request.model) to its span and, with content
// capture on, its input messages, system instructions and tool definitions. It implements
// agent.RunInfoObserver.
func (in *Instrumentation) RunStarted(ctx context.Context, info agent.RunInfo) {
	span := trace.SpanFromContext(ctx)
	if info.Model != "" {
		span.SetAttributes(attribute.String(keyRequestModel, info.Model))
	}
	if in.content {
		span.SetAttributes(inputContent(&llm.Request{Messages: info.Messages, Tools: info.Tools})...)
	}
}

// EndRun completes the run's span with its usage and outcome. It implements agent.Observer.
// A run that pauses for approval (agent.ErrApprovalRequired) has not failed: its span
// records the calls that wait (gowai.agent.pending) and no error.
func (in *Instrumentation) EndRun(ctx context.Context, res *agent.Result, err error) {
	span := trace.SpanFromContext(ctx)
	if errors.Is(err, agent.ErrApprovalRequired) {
		if res != nil {
			span.SetAttributes(attribute.Int(keyPending, len(res.Pending)))
		}
		err = nil
	}
	if res != nil {
		span.SetAttributes(usageAttrs(res.Usage)...)
		span.SetAttributes(attribute.Int(keySteps, len(res.Steps)))
		if in.content && res.Text != "" {
			final := &llm.Response{Text: res.Text, FinishReason: "stop"}
			if n := len(res.Steps); n > 0 && res.Steps[n-1].Response != nil && res.Steps[n-1].Response.FinishReason != "" {
				final.FinishReason = res.Steps[n-1].Response.FinishReason
			}
			span.SetAttributes(outputContent(final))
		}
	}
	endWithError(span, err)
}

// StartStep starts the "step {n}" span beneath the run. It implements agent.Observer.
func (in *Instrumentation) StartStep(ctx context.Context, n int) context.Context {
	ctx, _ = in.tracer.Start(ctx, "step "+strconv.Itoa(n), trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(attribute.Int(keyStep, n)))
	return ctx
}

// EndStep completes the step's span. It implements agent.Observer.
func (in *Instrumentation) EndStep(ctx context.Context, s agent.Step) {
	span := trace.SpanFromContext(ctx)
	span.SetAttributes(usageAttrs(s.Usage)...)
	span.SetAttributes(attribute.Int(keyToolCalls, len(s.Calls)), attribute.Int(keyStepAttempts, s.Attempts))
	if r := s.Response; r != nil && r.FinishReason != "" {
		span.SetAttributes(attribute.StringSlice(keyFinishReasons, []string{r.FinishReason}))
	}
	span.End()
}

// StartTool starts the "execute_tool {name}" span of a tool call beneath its step. It
// implements agent.Observer.
func (in *Instrumentation) StartTool(ctx context.Context, call llm.ToolCall) context.Context {
	attrs := []attribute.KeyValue{
		attribute.String(keyOperation, operationTool),
		attribute.String(keyToolName, call.Name),
		attribute.String(keyToolType, "function"),
	}
	if call.ID != "" {
		attrs = append(attrs, attribute.String(keyToolCallID, call.ID))
	}
	if in.content {
		attrs = append(attrs, attribute.String(keyToolArguments, string(call.Arguments)))
	}
	ctx, _ = in.tracer.Start(ctx, operationTool+" "+call.Name, trace.WithSpanKind(trace.SpanKindInternal), trace.WithAttributes(attrs...))
	return ctx
}

// EndTool completes the tool call's span. It implements agent.Observer.
func (in *Instrumentation) EndTool(ctx context.Context, r tools.Result) {
	span := trace.SpanFromContext(ctx)
	if in.content && r.Err == nil {
		span.SetAttributes(attribute.String(keyToolResult, r.Output))
	}
	endWithError(span, r.Err)
}

// structuredAttempt adds a checked answer of a structured call to the current span.
func (in *Instrumentation) structuredAttempt(ctx context.Context, a structured.AttemptInfo) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.Int(keyAttempt, a.Attempt),
		attribute.String(keyMode, a.Mode.String()),
		attribute.Bool(keyValid, a.Problems == nil),
		attribute.Int(keyProblemCount, len(a.Problems)),
	}
	if len(a.Problems) > 0 {
		// The paths name the schema's fields; the messages may quote the answer.
		paths := make([]string, len(a.Problems))
		for i, p := range a.Problems {
			paths[i] = problemPath(p)
		}
		attrs = append(attrs, attribute.StringSlice(keyProblemPaths, paths))
		if in.content {
			attrs = append(attrs, attribute.StringSlice(keyProblems, a.Problems))
		}
	}
	span.AddEvent(eventStructured, trace.WithAttributes(attrs...))
}

// problemPath is the JSON pointer a "/pointer: message" problem starts with.
func problemPath(p string) string {
	for i := range len(p) {
		if p[i] == ':' {
			return p[:i]
		}
	}
	return p
}

// usageAttrs describes a usage.
func usageAttrs(u llm.Usage) []attribute.KeyValue {
	attrs := []attribute.KeyValue{
		attribute.Int(keyInputTokens, u.PromptTokens),
		attribute.Int(keyOutputTokens, u.CompletionTokens),
	}
	if u.CachedTokens != 0 {
		attrs = append(attrs, attribute.Int(keyCacheReadTokens, u.CachedTokens))
	}
	if u.Neurons != 0 {
		attrs = append(attrs, attribute.Float64(keyCFNeurons, u.Neurons))
		if u.NeuronsEstimated {
			attrs = append(attrs, attribute.Bool(keyCFNeuronsEstimated, true))
		}
	}
	return attrs
}

// endWithError ends span, marking it failed when err is not nil.
func endWithError(span trace.Span, err error) {
	if err != nil {
		span.SetAttributes(attribute.String(keyErrorType, errorType(err)))
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}
