// Package otelgowai traces and measures gowai with OpenTelemetry, following the OpenTelemetry
// semantic conventions for generative AI (https://opentelemetry.io/docs/specs/semconv/gen-ai/).
//
// It uses the OpenTelemetry API only: spans and metrics go to the TracerProvider and
// MeterProvider given with WithTracerProvider and WithMeterProvider, or to the global ones
// (otel.GetTracerProvider, otel.GetMeterProvider), which do nothing until an SDK is installed.
// The packages llm, agent and structured do not import OpenTelemetry: a program that does not
// use this package does not compile it.
//
// One Instrumentation gives three options:
//
//   - ClientOption, for llm.NewClient: a span per call to the service, named
//     "{operation} {model}" ("chat @cf/meta/llama-3.1-8b-instruct", "embeddings ...",
//     "text_to_image ..."), of kind CLIENT, with the request's model and sampling settings,
//     gen_ai.output.type "json" when the request asked for JSON, the reply's id, model,
//     finish reasons and token usage, server.address and server.port, and error.type on
//     failure. What only Workers AI reports is under cloudflare.workers_ai.*:
//     neurons (and whether they are estimated), the cf-ai-req-id request id, the AI Gateway
//     log id and cache status, the attempts made. Each failed attempt is a span event with its
//     HTTP status, error and the wait before the next. A stream has gen_ai.request.stream
//     and gen_ai.response.time_to_first_chunk; its span ends when the stream does, also when
//     its consumer stops reading (cloudflare.workers_ai.stream.abandoned). The metrics
//     gen_ai.client.token.usage, gen_ai.client.operation.duration and, for streams,
//     gen_ai.client.operation.time_to_first_chunk and time_per_output_chunk are recorded
//     with the conventions' attributes and bucket boundaries, and
//     cloudflare.workers_ai.neurons counts neurons.
//   - AgentOption, for agent.New: an "invoke_agent {name}" span around each run (with
//     gen_ai.provider.name, gen_ai.agent.name and its total usage), a
//     "step {n}" span for each step beneath it (the step's model calls nest under it), and an
//     "execute_tool {name}" span for each tool call, beneath its step. The calls of one step
//     run concurrently and their spans are siblings; a sub-agent run by a tool nests under
//     that tool's span. A run that pauses for a human decision has not failed: its span
//     ends without error and says how many calls wait (gowai.agent.pending).
//   - StructuredOption, for structured.Generate and its kin: each checked answer is a span
//     event on the caller's current span, with the problems that caused a retry.
//
// The error.type of a failed call, run or tool call is one of:
//
//   - the HTTP status of the service's error reply ("429", "400", "500", ...);
//   - the Workers AI error code ("3040", "5006", ...) of an error sent inside a stream or in
//     a 2xx reply whose envelope says it failed;
//   - "canceled" or "deadline_exceeded" when the caller's context ended the call;
//   - "timeout" (llm.ErrTimeout), "unreachable" (llm.ErrUnreachable), "truncated_stream"
//     (llm.ErrTruncatedStream), "truncated_tool_call" (*llm.TruncatedToolCallError: the
//     reply was cut off at max_tokens in a tool call; its tokens are recorded, as they were
//     billed), "context_window" (llm.ErrContextWindow) or "budget_exceeded"
//     (agent.ErrBudgetExceeded);
//   - "_OTHER" for anything else, such as an error a tool returned.
//
// Prompts, answers, tool arguments and tool results are sensitive: they are recorded only
// with WithContent(true). The API token is never recorded.
//
// Usage:
//
//	package main
//
//	import (
//		"context"
//		"fmt"
//		"log"
//
//		"github.com/gowai/gowai/agent"
//		"github.com/gowai/gowai/llm"
//		"github.com/gowai/gowai/otelgowai"
//		"go.opentelemetry.io/otel"
//		sdktrace "go.opentelemetry.io/otel/sdk/trace"
//	)
//
//	func main() {
//		ctx := context.Background()
//		tp := sdktrace.NewTracerProvider() // add an exporter: sdktrace.WithBatcher(exp)
//		defer tp.Shutdown(ctx)
//		otel.SetTracerProvider(tp)
//
//		tel := otelgowai.New() // the global providers; WithContent(true) records prompts
//		c, err := llm.NewClient(tel.ClientOption())
//		if err != nil {
//			log.Fatal(err)
//		}
//		a := agent.New(c.Model("@cf/meta/llama-3.1-8b-instruct"), tel.AgentOption(), agent.WithName("helper"))
//		res, err := a.Run(ctx, "Say hello.")
//		if err != nil {
//			log.Fatal(err)
//		}
//		fmt.Printf("%s\ncost: %.2f neurons ≈ $%.6f\n", res.Text, res.Usage.Neurons, res.Usage.Dollars())
//	}
package otelgowai

import (
	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/structured"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// ScopeName is the instrumentation scope of the tracer and the meter.
const ScopeName = "github.com/gowai/gowai/otelgowai"

// ProviderName is the gen_ai.provider.name of calls to Workers AI. The conventions list no
// value for Cloudflare; this one follows their "{company}.{product}" form.
const ProviderName = "cloudflare.workers_ai"

// Option configures New.
type Option func(*config)

type config struct {
	tp      trace.TracerProvider
	mp      metric.MeterProvider
	content bool
}

// WithTracerProvider sets where spans go; the default is otel.GetTracerProvider() at New.
func WithTracerProvider(tp trace.TracerProvider) Option {
	return func(c *config) { c.tp = tp }
}

// WithMeterProvider sets where metrics go; the default is otel.GetMeterProvider() at New.
func WithMeterProvider(mp metric.MeterProvider) Option {
	return func(c *config) { c.mp = mp }
}

// WithContent records prompts, answers, tool arguments and tool results, and the text of
// structured-output problems, as span attributes (gen_ai.input.messages,
// gen_ai.output.messages, gen_ai.tool.call.arguments, ...). Images are recorded as their
// media type and size, never their bytes. Off by default: they are sensitive.
func WithContent(on bool) Option { return func(c *config) { c.content = on } }

// Instrumentation records gowai's work as OpenTelemetry spans and metrics. It implements
// llm.Observer and agent.Observer; it is safe for concurrent use, and one serves any number
// of clients and agents.
type Instrumentation struct {
	tracer  trace.Tracer
	content bool

	tokens     metric.Int64Histogram
	duration   metric.Float64Histogram
	neurons    metric.Float64Counter
	firstChunk metric.Float64Histogram
	perChunk   metric.Float64Histogram
}

// New returns an Instrumentation for the given providers.
func New(opts ...Option) *Instrumentation {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.tp == nil {
		cfg.tp = otel.GetTracerProvider()
	}
	if cfg.mp == nil {
		cfg.mp = otel.GetMeterProvider()
	}
	in := &Instrumentation{
		tracer:  cfg.tp.Tracer(ScopeName),
		content: cfg.content,
	}
	in.newInstruments(cfg.mp.Meter(ScopeName))
	return in
}

// ClientOption has the Instrumentation observe every call of an llm.Client.
func (in *Instrumentation) ClientOption() llm.Option { return llm.WithObserver(in) }

// AgentOption has the Instrumentation follow every run of an agent.Agent.
func (in *Instrumentation) AgentOption() agent.Option { return agent.WithObserver(in) }

// StructuredOption records each answer of a structured call as an event on the span of the
// context the call runs under (an agent's step, a server's request span, or one the caller
// starts): its attempt number, mode, whether it was valid, and the JSON pointers of the
// problems that caused a retry (their texts too with WithContent). The model calls of the
// attempts are spans of their own beneath that span. Without a recording span in the
// context, the events are not recorded.
func (in *Instrumentation) StructuredOption() structured.Option {
	return structured.WithAttemptHook(in.structuredAttempt)
}

// RecordsContent reports whether the Instrumentation records prompts and answers
// (WithContent). It implements llm.ContentObserver: without content, a stream's text is not
// gathered for it.
func (in *Instrumentation) RecordsContent() bool { return in.content }

var (
	_ llm.ContentObserver = (*Instrumentation)(nil)
	_ llm.ChunkObserver   = (*Instrumentation)(nil)
	_ llm.Observer        = (*Instrumentation)(nil)
	_ agent.Observer      = (*Instrumentation)(nil)
)
