package otelgowai

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// Attribute keys of the GenAI conventions and of Workers AI.
const (
	keyOperation         = "gen_ai.operation.name"
	keyProvider          = "gen_ai.provider.name"
	keyRequestModel      = "gen_ai.request.model"
	keyMaxTokens         = "gen_ai.request.max_tokens"
	keyOutputType        = "gen_ai.output.type"
	keyRequestStream     = "gen_ai.request.stream"
	keyTimeToFirstChunk  = "gen_ai.response.time_to_first_chunk"
	keyTemperature       = "gen_ai.request.temperature"
	keyTopP              = "gen_ai.request.top_p"
	keyTopK              = "gen_ai.request.top_k"
	keySeed              = "gen_ai.request.seed"
	keyFrequencyPenalty  = "gen_ai.request.frequency_penalty"
	keyPresencePenalty   = "gen_ai.request.presence_penalty"
	keyResponseID        = "gen_ai.response.id"
	keyResponseModel     = "gen_ai.response.model"
	keyFinishReasons     = "gen_ai.response.finish_reasons"
	keyInputTokens       = "gen_ai.usage.input_tokens"
	keyOutputTokens      = "gen_ai.usage.output_tokens"
	keyCacheReadTokens   = "gen_ai.usage.cache_read.input_tokens"
	keyInputMessages     = "gen_ai.input.messages"
	keyOutputMessages    = "gen_ai.output.messages"
	keySystemInstruction = "gen_ai.system_instructions"
	keyToolDefinitions   = "gen_ai.tool.definitions"
	keyTokenType         = "gen_ai.token.type"
	keyServerAddress     = "server.address"
	keyServerPort        = "server.port"
	keyErrorType         = "error.type"
	keyHTTPStatus        = "http.response.status_code"

	keyCFRepetitionPenalty = "cloudflare.workers_ai.request.repetition_penalty"
	keyCFEndpoint          = "cloudflare.workers_ai.endpoint"
	keyCFNeurons           = "cloudflare.workers_ai.neurons"
	keyCFNeuronsEstimated  = "cloudflare.workers_ai.neurons_estimated"
	keyCFRequestID         = "cloudflare.workers_ai.request_id"
	keyCFGatewayLogID      = "cloudflare.workers_ai.gateway.log_id"
	keyCFGatewayCache      = "cloudflare.workers_ai.gateway.cache_status"
	keyCFAttempts          = "cloudflare.workers_ai.attempts"
	keyCFAbandoned         = "cloudflare.workers_ai.stream.abandoned"
	keyCFAttempt           = "cloudflare.workers_ai.attempt"
	keyCFWait              = "cloudflare.workers_ai.retry.wait_seconds"
	keyErrorMessage        = "error.message"

	// eventAttempt is the span event of a failed attempt.
	eventAttempt = "cloudflare.workers_ai.attempt_failed"
)

// Metric names of the GenAI conventions and of Workers AI.
const (
	MetricTokenUsage = "gen_ai.client.token.usage"
	MetricDuration   = "gen_ai.client.operation.duration"
	MetricNeurons    = "cloudflare.workers_ai.neurons"
	// MetricTimeToFirstChunk is recorded for streamed calls whose first delta arrived.
	MetricTimeToFirstChunk = "gen_ai.client.operation.time_to_first_chunk"
	// MetricTimePerOutputChunk is recorded for each delta of a stream after the first.
	MetricTimePerOutputChunk = "gen_ai.client.operation.time_per_output_chunk"
)

// seconds is a histogram of durations in seconds, with the conventions' bucket boundaries.
// An instrument the meter refuses is a no-op one, returned with the error: recording goes
// on without it.
func seconds(m metric.Meter, name, description string) metric.Float64Histogram {
	h, _ := m.Float64Histogram(name, metric.WithDescription(description), metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92))
	return h
}

// newInstruments makes the Instrumentation's instruments with m (bucket boundaries and
// units as the conventions advise).
func (in *Instrumentation) newInstruments(m metric.Meter) {
	in.tokens, _ = m.Int64Histogram(MetricTokenUsage,
		metric.WithDescription("Number of input and output tokens used."),
		metric.WithUnit("{token}"),
		metric.WithExplicitBucketBoundaries(1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864))
	in.duration = seconds(m, MetricDuration, "Duration of GenAI operations.")
	in.firstChunk = seconds(m, MetricTimeToFirstChunk, "Time to receive the first chunk of a streamed response.")
	in.perChunk = seconds(m, MetricTimePerOutputChunk, "Time between two chunks of a streamed response.")
	in.neurons, _ = m.Float64Counter(MetricNeurons,
		metric.WithDescription("Neurons, Workers AI's billing unit, used by calls (estimated where the service reported none)."),
		metric.WithUnit("{neuron}"))
}

// providerOf is the gen_ai.provider.name of a call.
func providerOf(info llm.CallInfo) string {
	if info.Endpoint == llm.EndpointOpenAICompatible {
		return "openai_compatible"
	}
	return ProviderName
}

// spanName is "{operation} {model}", or the operation alone for calls without a model.
func spanName(op, model string) string {
	if model == "" {
		return op
	}
	return op + " " + model
}

// StartCall starts the span of a call to the service. It implements llm.Observer. The
// attributes a sampler may look at (operation, provider, model, server) are given at the
// start; the others only to a span that records.
func (in *Instrumentation) StartCall(ctx context.Context, info llm.CallInfo) context.Context {
	start := callAttrs(make([]attribute.KeyValue, 0, 5), info, "")
	ctx, span := in.tracer.Start(ctx, spanName(info.Operation, info.Model),
		trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(start...))
	if info.Stream && in.perChunk.Enabled(ctx) {
		// The attributes of every chunk's measurement, built once for the stream.
		ctx = context.WithValue(ctx, chunkAttrsKey{}, attribute.NewSet(callAttrs(make([]attribute.KeyValue, 0, 5), info, "")...))
	}
	if !span.IsRecording() {
		return ctx
	}
	attrs := make([]attribute.KeyValue, 0, 12)
	attrs = append(attrs, attribute.String(keyCFEndpoint, info.Endpoint))
	if info.Stream {
		attrs = append(attrs, attribute.Bool(keyRequestStream, true))
	}
	if r := info.Request; r != nil {
		attrs = append(attrs, attribute.Int(keyMaxTokens, r.MaxTokens))
		if r.Format != nil {
			attrs = append(attrs, attribute.String(keyOutputType, "json"))
		}
		attrs = appendFloat(attrs, keyTemperature, r.Temperature)
		attrs = appendFloat(attrs, keyTopP, r.TopP)
		if r.TopK != nil {
			attrs = append(attrs, attribute.Int(keyTopK, *r.TopK))
		}
		if r.Seed != nil {
			attrs = append(attrs, attribute.Int64(keySeed, *r.Seed))
		}
		attrs = appendFloat(attrs, keyFrequencyPenalty, r.FrequencyPenalty)
		attrs = appendFloat(attrs, keyPresencePenalty, r.PresencePenalty)
		attrs = appendFloat(attrs, keyCFRepetitionPenalty, r.RepetitionPenalty)
		if r.SessionAffinity != "" {
			attrs = append(attrs, attribute.String(keyConversationID, r.SessionAffinity))
		}
		if in.content {
			attrs = append(attrs, inputContent(r)...)
		}
	}
	span.SetAttributes(attrs...)
	return ctx
}

// callAttrs appends the attributes that identify a call, on its span and its metrics:
// operation, provider, model (the reply's too when known) and server.
func callAttrs(attrs []attribute.KeyValue, info llm.CallInfo, responseModel string) []attribute.KeyValue {
	attrs = append(attrs,
		attribute.String(keyOperation, info.Operation),
		attribute.String(keyProvider, providerOf(info)),
	)
	if info.Model != "" {
		attrs = append(attrs, attribute.String(keyRequestModel, info.Model))
	}
	if responseModel != "" {
		attrs = append(attrs, attribute.String(keyResponseModel, responseModel))
	}
	if info.ServerAddress != "" {
		attrs = append(attrs, attribute.String(keyServerAddress, info.ServerAddress))
		if info.ServerPort != 0 {
			attrs = append(attrs, attribute.Int(keyServerPort, info.ServerPort))
		}
	}
	return attrs
}

func appendFloat(attrs []attribute.KeyValue, key string, v *float64) []attribute.KeyValue {
	if v == nil {
		return attrs
	}
	return append(attrs, attribute.Float64(key, *v))
}

// chunkAttrsKey holds, in a stream's context, the attribute set of its chunks' measurements.
type chunkAttrsKey struct{}

// Chunk records the time between two deltas of a stream in
// gen_ai.client.operation.time_per_output_chunk. It implements llm.ChunkObserver.
func (in *Instrumentation) Chunk(ctx context.Context, info llm.CallInfo, sincePrevious time.Duration) {
	if set, ok := ctx.Value(chunkAttrsKey{}).(attribute.Set); ok {
		in.perChunk.Record(ctx, sincePrevious.Seconds(), metric.WithAttributeSet(set))
	}
}

// Attempt adds a failed attempt to the call's span as an event. It implements llm.Observer.
func (in *Instrumentation) Attempt(ctx context.Context, info llm.CallInfo, a llm.AttemptInfo) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		return
	}
	attrs := []attribute.KeyValue{
		attribute.Int(keyCFAttempt, a.Attempt),
		attribute.Float64(keyCFWait, a.Wait.Seconds()),
	}
	if a.Status != 0 {
		attrs = append(attrs, attribute.Int(keyHTTPStatus, a.Status))
	}
	if a.Err != nil {
		attrs = append(attrs, attribute.String(keyErrorType, errorType(a.Err)), attribute.String(keyErrorMessage, a.Err.Error()))
	}
	span.AddEvent(eventAttempt, trace.WithAttributes(attrs...))
}

// EndCall completes the call's span and records its metrics. It implements llm.Observer.
func (in *Instrumentation) EndCall(ctx context.Context, info llm.CallInfo, res llm.CallResult) {
	span := trace.SpanFromContext(ctx)
	if !span.IsRecording() {
		span.End()
		in.recordCall(ctx, info, responseModelOf(res), errorTypeOf(res.Err), res)
		return
	}
	u := res.Usage
	attrs := make([]attribute.KeyValue, 0, 16)
	attrs = append(attrs, attribute.Int(keyCFAttempts, res.Attempts))
	if res.Status != 0 {
		attrs = append(attrs, attribute.Int(keyHTTPStatus, res.Status))
	}
	responseModel := ""
	if r := res.Response; r != nil {
		responseModel = r.Model
		if r.ID != "" {
			attrs = append(attrs, attribute.String(keyResponseID, r.ID))
		}
		if r.Model != "" {
			attrs = append(attrs, attribute.String(keyResponseModel, r.Model))
		}
		if r.FinishReason != "" {
			attrs = append(attrs, attribute.StringSlice(keyFinishReasons, []string{r.FinishReason}))
		}
		if in.content {
			attrs = append(attrs, outputContent(r))
		}
	}
	if u.PromptTokens != 0 || u.CompletionTokens != 0 {
		attrs = append(attrs, attribute.Int(keyInputTokens, u.PromptTokens), attribute.Int(keyOutputTokens, u.CompletionTokens))
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
	if res.RequestID != "" {
		attrs = append(attrs, attribute.String(keyCFRequestID, res.RequestID))
	}
	if res.Gateway.LogID != "" {
		attrs = append(attrs, attribute.String(keyCFGatewayLogID, res.Gateway.LogID))
	}
	if res.Gateway.CacheStatus != "" {
		attrs = append(attrs, attribute.String(keyCFGatewayCache, res.Gateway.CacheStatus))
	}
	if res.Abandoned {
		attrs = append(attrs, attribute.Bool(keyCFAbandoned, true))
	}
	if res.TimeToFirstEvent > 0 {
		attrs = append(attrs, attribute.Float64(keyTimeToFirstChunk, res.TimeToFirstEvent.Seconds()))
	}
	errType := ""
	if res.Err != nil {
		errType = errorType(res.Err)
		attrs = append(attrs, attribute.String(keyErrorType, errType))
		span.SetStatus(codes.Error, res.Err.Error())
	}
	span.SetAttributes(attrs...)
	span.End()
	in.recordCall(ctx, info, responseModel, errType, res)
}

// recordCall records the metrics of a call. Instruments that are not enabled (a no-op
// meter) cost nothing beyond the check.
func (in *Instrumentation) recordCall(ctx context.Context, info llm.CallInfo, responseModel, errType string, res llm.CallResult) {
	u := res.Usage
	durOn := in.duration.Enabled(ctx)
	// A failed call that reports usage was billed for it (a reply cut off in a tool call).
	tokOn := (u.PromptTokens != 0 || u.CompletionTokens != 0) && in.tokens.Enabled(ctx)
	neuOn := u.Neurons > 0 && in.neurons.Enabled(ctx)
	ttfcOn := res.TimeToFirstEvent > 0 && in.firstChunk.Enabled(ctx)
	if !durOn && !tokOn && !neuOn && !ttfcOn {
		return
	}
	base := callAttrs(make([]attribute.KeyValue, 0, 8), info, responseModel)
	n := len(base)
	if durOn {
		attrs := base
		if errType != "" {
			attrs = append(base[:n:n], attribute.String(keyErrorType, errType))
		}
		in.duration.Record(ctx, res.Duration.Seconds(), metric.WithAttributeSet(attribute.NewSet(attrs...)))
	}
	if tokOn {
		in.tokens.Record(ctx, int64(u.PromptTokens), metric.WithAttributeSet(attribute.NewSet(append(base[:n:n], attribute.String(keyTokenType, "input"))...)))
		in.tokens.Record(ctx, int64(u.CompletionTokens), metric.WithAttributeSet(attribute.NewSet(append(base[:n:n], attribute.String(keyTokenType, "output"))...)))
	}
	if neuOn {
		in.neurons.Add(ctx, u.Neurons, metric.WithAttributeSet(attribute.NewSet(base...)))
	}
	if ttfcOn {
		in.firstChunk.Record(ctx, res.TimeToFirstEvent.Seconds(), metric.WithAttributeSet(attribute.NewSet(base...)))
	}
}

// responseModelOf is the model a reply names, "" when none.
func responseModelOf(res llm.CallResult) string {
	if res.Response == nil {
		return ""
	}
	return res.Response.Model
}

// errorTypeOf is errorType of err, "" for no error.
func errorTypeOf(err error) string {
	if err == nil {
		return ""
	}
	return errorType(err)
}

// errorType is a low-cardinality error.type for err: the HTTP status of a service error
// (its Workers AI error code when it came in a 2xx reply), or the kind of failure. The
// package documentation lists the values.
func errorType(err error) string {
	var e *llm.Error
	switch {
	case errors.As(err, &e) && e.Status != 0 && e.Status/100 != 2:
		return strconv.Itoa(e.Status)
	case e != nil && e.Code != 0:
		return strconv.Itoa(e.Code)
	case errors.Is(err, context.Canceled):
		return "canceled"
	case errors.Is(err, context.DeadlineExceeded):
		return "deadline_exceeded"
	case errors.Is(err, llm.ErrTimeout):
		return "timeout"
	case errors.Is(err, llm.ErrUnreachable):
		return "unreachable"
	case errors.Is(err, llm.ErrTruncatedStream):
		return "truncated_stream"
	case isCutToolCall(err):
		return "truncated_tool_call"
	case errors.Is(err, agent.ErrBudgetExceeded):
		return "budget_exceeded"
	case errors.Is(err, llm.ErrContextWindow):
		return "context_window"
	}
	return "_OTHER"
}

// isCutToolCall reports whether err is a reply cut off in a tool call's arguments.
func isCutToolCall(err error) bool {
	_, ok := errors.AsType[*llm.TruncatedToolCallError](err)
	return ok
}
