package otelgowai_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/otelgowai"
	"github.com/gowai/gowai/structured"
	"github.com/gowai/gowai/tools"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	chatModel  = "@cf/meta/llama-3.1-8b-instruct"
	embedModel = "@cf/baai/bge-base-en-v1.5"
	// token is the API token the emulator expects; it must never be recorded.
	token = "tok9DistinctiveSecretValue0123456789abcd"
)

// harness is an emulator, a client instrumented into an in-memory span recorder and a
// manual metric reader.
type harness struct {
	srv    *llmtest.Server
	client *llm.Client
	tel    *otelgowai.Instrumentation
	spans  *tracetest.SpanRecorder
	reader *sdkmetric.ManualReader
	tp     *sdktrace.TracerProvider
}

func newHarness(t *testing.T, h llmtest.Handler, opts ...otelgowai.Option) *harness {
	t.Helper()
	x := &harness{spans: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	x.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(x.spans))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(x.reader))
	t.Cleanup(func() {
		_ = x.tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	x.tel = otelgowai.New(append([]otelgowai.Option{otelgowai.WithTracerProvider(x.tp), otelgowai.WithMeterProvider(mp)}, opts...)...)
	x.srv = llmtest.NewServer(h, llmtest.WithToken(token))
	t.Cleanup(x.srv.Close)
	c, err := x.srv.Client(x.tel.ClientOption())
	if err != nil {
		t.Fatal(err)
	}
	x.client = c
	return x
}

func (x *harness) ended() []sdktrace.ReadOnlySpan { return x.spans.Ended() }

func (x *harness) metrics(t *testing.T) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := x.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

func attrs(s sdktrace.ReadOnlySpan) map[string]attribute.Value {
	m := map[string]attribute.Value{}
	for _, kv := range s.Attributes() {
		m[string(kv.Key)] = kv.Value
	}
	return m
}

func spanNamed(t *testing.T, spans []sdktrace.ReadOnlySpan, name string) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, s := range spans {
		if s.Name() == name {
			return s
		}
	}
	var names []string
	for _, s := range spans {
		names = append(names, s.Name())
	}
	t.Fatalf("no span %q among %q", name, names)
	return nil
}

// noToken fails when the token appears anywhere in the spans.
func noToken(t *testing.T, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, s := range spans {
		text := fmt.Sprint(s.Name(), s.Attributes(), s.Events(), s.Status())
		if strings.Contains(text, token) {
			t.Errorf("span %q records the API token", s.Name())
		}
	}
}

var contentKeys = []string{"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.system_instructions",
	"gen_ai.tool.definitions", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result", "gowai.structured.problems"}

func noContent(t *testing.T, spans []sdktrace.ReadOnlySpan) {
	t.Helper()
	for _, s := range spans {
		a := attrs(s)
		for _, k := range contentKeys {
			if _, ok := a[k]; ok {
				t.Errorf("span %q records %s without WithContent", s.Name(), k)
			}
		}
	}
}

func TestResponseID(t *testing.T) {
	x := newHarness(t, llmtest.Script(llmtest.Text("Paris.")))
	r, err := x.client.Model("@cf/meta/llama-3.3-70b-instruct-fp8-fast").Generate(t.Context(),
		llm.Request{Messages: []llm.Message{llm.User("Capital of France?")}})
	if err != nil {
		t.Fatal(err)
	}
	spans := x.ended()
	if len(spans) != 1 || r.ID == "" {
		t.Fatalf("%d spans, reply id %q", len(spans), r.ID)
	}
	if id := attrs(spans[0])["gen_ai.response.id"].AsString(); id != r.ID {
		t.Errorf("gen_ai.response.id = %q, want the reply's id %q", id, r.ID)
	}
}

func TestChatSpanAndMetrics(t *testing.T) {
	x := newHarness(t, llmtest.Script(llmtest.Text("Paris.").WithUsage(llm.Usage{PromptTokens: 12, CompletionTokens: 3, TotalTokens: 15, CachedTokens: 4})))
	temp, topP, seed := 0.2, 0.9, int64(7)
	r, err := x.client.Model(chatModel).Generate(t.Context(), llm.Request{
		Messages:    []llm.Message{llm.System("Be brief."), llm.User("Capital of France?")},
		MaxTokens:   64,
		Temperature: &temp, TopP: &topP, Seed: &seed,
	})
	if err != nil {
		t.Fatal(err)
	}
	spans := x.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1", len(spans))
	}
	s := spans[0]
	if s.Name() != "chat "+chatModel || s.SpanKind() != trace.SpanKindClient || s.Status().Code == codes.Error {
		t.Errorf("span %q kind %v status %v", s.Name(), s.SpanKind(), s.Status())
	}
	a := attrs(s)
	want := map[string]any{
		"gen_ai.operation.name":                "chat",
		"gen_ai.provider.name":                 "cloudflare.workers_ai",
		"gen_ai.request.model":                 chatModel,
		"gen_ai.request.max_tokens":            int64(64),
		"gen_ai.request.temperature":           0.2,
		"gen_ai.request.top_p":                 0.9,
		"gen_ai.request.seed":                  int64(7),
		"gen_ai.usage.input_tokens":            int64(12),
		"gen_ai.usage.output_tokens":           int64(3),
		"gen_ai.usage.cache_read.input_tokens": int64(4),
		"server.address":                       "127.0.0.1",
		"cloudflare.workers_ai.attempts":       int64(1),
		"cloudflare.workers_ai.request_id":     r.RequestID,
		"cloudflare.workers_ai.neurons":        r.Usage.Neurons,
		"cloudflare.workers_ai.endpoint":       "native",
		"http.response.status_code":            int64(200),
	}
	for k, v := range want {
		if got, ok := a[k]; !ok || got.AsInterface() != v {
			t.Errorf("%s = %v, want %v", k, got.AsInterface(), v)
		}
	}
	if fr := a["gen_ai.response.finish_reasons"].AsStringSlice(); !slices.Equal(fr, []string{"stop"}) {
		t.Errorf("finish reasons %v", fr)
	}
	if _, ok := a["gen_ai.response.id"]; ok {
		t.Errorf("gen_ai.response.id set for a legacy reply, which has no id")
	}
	if _, ok := a["gen_ai.request.top_k"]; ok {
		t.Error("top_k recorded although it was not sent")
	}
	if _, ok := a["error.type"]; ok {
		t.Error("error.type on a success")
	}
	noContent(t, spans)
	noToken(t, spans)

	ms := x.metrics(t)
	tok, ok := ms[otelgowai.MetricTokenUsage].Data.(metricdata.Histogram[int64])
	if !ok || len(tok.DataPoints) != 2 {
		t.Fatalf("token usage = %+v", ms[otelgowai.MetricTokenUsage])
	}
	if ms[otelgowai.MetricTokenUsage].Unit != "{token}" {
		t.Errorf("token usage unit %q", ms[otelgowai.MetricTokenUsage].Unit)
	}
	sums := map[string]int64{}
	for _, dp := range tok.DataPoints {
		typ, _ := dp.Attributes.Value("gen_ai.token.type")
		sums[typ.AsString()] = dp.Sum
		if op, _ := dp.Attributes.Value("gen_ai.operation.name"); op.AsString() != "chat" {
			t.Errorf("token point without the operation: %v", dp.Attributes)
		}
		if m, _ := dp.Attributes.Value("gen_ai.request.model"); m.AsString() != chatModel {
			t.Errorf("token point without the model: %v", dp.Attributes)
		}
		if dp.Bounds[0] != 1 || dp.Bounds[len(dp.Bounds)-1] != 67108864 {
			t.Errorf("token buckets %v", dp.Bounds)
		}
	}
	if sums["input"] != 12 || sums["output"] != 3 {
		t.Errorf("token sums %v", sums)
	}
	dur, ok := ms[otelgowai.MetricDuration].Data.(metricdata.Histogram[float64])
	if !ok || len(dur.DataPoints) != 1 || dur.DataPoints[0].Count != 1 || ms[otelgowai.MetricDuration].Unit != "s" {
		t.Fatalf("duration = %+v", ms[otelgowai.MetricDuration])
	}
	if b := dur.DataPoints[0].Bounds; b[0] != 0.01 || b[len(b)-1] != 81.92 {
		t.Errorf("duration buckets %v", b)
	}
	neu, ok := ms[otelgowai.MetricNeurons].Data.(metricdata.Sum[float64])
	if !ok || len(neu.DataPoints) != 1 || neu.DataPoints[0].Value != r.Usage.Neurons || !neu.IsMonotonic {
		t.Errorf("neurons = %+v", ms[otelgowai.MetricNeurons])
	}
}

func TestStreamSpan(t *testing.T) {
	x := newHarness(t, nil)
	var text strings.Builder
	deltas := 0
	for d, err := range x.client.Model(chatModel).Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("Tell me about Workers AI")}}) {
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(d.Text)
		deltas++
	}
	s := spanNamed(t, x.ended(), "chat "+chatModel)
	a := attrs(s)
	if !a["gen_ai.request.stream"].AsBool() || a["gen_ai.response.time_to_first_chunk"].AsFloat64() <= 0 ||
		a["gen_ai.response.time_to_first_chunk"].AsFloat64() > s.EndTime().Sub(s.StartTime()).Seconds() || a["gen_ai.usage.output_tokens"].AsInt64() == 0 ||
		a["cloudflare.workers_ai.neurons"].AsFloat64() == 0 || len(a["gen_ai.response.finish_reasons"].AsStringSlice()) != 1 {
		t.Errorf("stream span attributes %v", a)
	}
	// A consumer that breaks still ends the span, marked abandoned.
	for range x.client.Model(chatModel).Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("Tell me about Workers AI")}}) {
		break
	}
	spans := x.ended()
	if len(spans) != 2 || !attrs(spans[1])["cloudflare.workers_ai.stream.abandoned"].AsBool() {
		t.Errorf("abandoned stream: %d spans, last %v", len(spans), attrs(spans[len(spans)-1]))
	}
	noContent(t, spans)
	ttfc, ok := x.metrics(t)[otelgowai.MetricTimeToFirstChunk].Data.(metricdata.Histogram[float64])
	if !ok || len(ttfc.DataPoints) != 1 || ttfc.DataPoints[0].Count != 2 {
		t.Errorf("time to first chunk = %+v, want both streams", ttfc)
	}
	// Every delta after the first, of the stream read to its end (the other stopped at one).
	perChunk, ok := x.metrics(t)[otelgowai.MetricTimePerOutputChunk].Data.(metricdata.Histogram[float64])
	if deltas < 2 || !ok || len(perChunk.DataPoints) != 1 || perChunk.DataPoints[0].Count != uint64(deltas-1) {
		t.Errorf("time per output chunk = %+v, want %d chunks", perChunk, deltas-1)
	}
	// A call that does not stream records no time to first chunk.
	if _, err := x.client.Model(chatModel).Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}); err != nil {
		t.Fatal(err)
	}
	if _, ok := attrs(x.ended()[2])["gen_ai.response.time_to_first_chunk"]; ok {
		t.Error("time to first chunk on a call that does not stream")
	}
	if ttfc := x.metrics(t)[otelgowai.MetricTimeToFirstChunk].Data.(metricdata.Histogram[float64]); ttfc.DataPoints[0].Count != 2 {
		t.Errorf("time to first chunk counts %d calls, want the 2 streams", ttfc.DataPoints[0].Count)
	}
}

func TestFailedCallAfterRetries(t *testing.T) {
	fail := llmtest.Fail(429, 3040, "Capacity temporarily exceeded, token "+token)
	x := newHarness(t, llmtest.Script(fail, fail, fail, fail))
	_, err := x.client.Model(chatModel).Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}})
	if !errors.Is(err, llm.ErrCapacity) {
		t.Fatalf("err = %v", err)
	}
	spans := x.ended()
	if len(spans) != 1 {
		t.Fatalf("%d spans, want 1 for the call and its retries", len(spans))
	}
	s := spans[0]
	a := attrs(s)
	if s.Status().Code != codes.Error || a["error.type"].AsString() != "429" || a["cloudflare.workers_ai.attempts"].AsInt64() != 4 {
		t.Errorf("status %v, attributes %v", s.Status(), a)
	}
	ev := s.Events()
	if len(ev) != 4 {
		t.Fatalf("%d attempt events, want 4", len(ev))
	}
	for i, e := range ev {
		ea := map[string]attribute.Value{}
		for _, kv := range e.Attributes {
			ea[string(kv.Key)] = kv.Value
		}
		if e.Name != "cloudflare.workers_ai.attempt_failed" || ea["cloudflare.workers_ai.attempt"].AsInt64() != int64(i+1) ||
			ea["http.response.status_code"].AsInt64() != 429 || (ea["cloudflare.workers_ai.retry.wait_seconds"].AsFloat64() > 0) != (i < 3) {
			t.Errorf("event %d: %s %v", i, e.Name, ea)
		}
	}
	noToken(t, spans)
	dur := x.metrics(t)[otelgowai.MetricDuration].Data.(metricdata.Histogram[float64])
	if et, _ := dur.DataPoints[0].Attributes.Value("error.type"); et.AsString() != "429" {
		t.Errorf("duration point attributes %v", dur.DataPoints[0].Attributes)
	}
}

func TestEmbeddingBatch(t *testing.T) {
	x := newHarness(t, nil)
	m := embed.New(x.client, embedModel, embed.WithBatchSize(2), embed.WithConcurrency(1))
	vecs, err := m.Embed(t.Context(), []string{"a", "b", "c", "d", "e"})
	if err != nil || len(vecs) != 5 {
		t.Fatalf("Embed: %d vectors, %v", len(vecs), err)
	}
	spans := x.ended()
	if len(spans) != 3 {
		t.Fatalf("%d spans, want one per batch of 2: 3", len(spans))
	}
	for _, s := range spans {
		a := attrs(s)
		if s.Name() != "embeddings "+embedModel || a["gen_ai.operation.name"].AsString() != "embeddings" ||
			a["gen_ai.request.model"].AsString() != embedModel || a["cloudflare.workers_ai.neurons"].AsFloat64() == 0 {
			t.Errorf("span %q attributes %v", s.Name(), a)
		}
	}
	ms := x.metrics(t)
	dur, _ := ms[otelgowai.MetricDuration].Data.(metricdata.Histogram[float64])
	if len(dur.DataPoints) != 1 || dur.DataPoints[0].Count != 3 {
		t.Fatalf("duration points %+v, want one attribute set with 3 calls", dur.DataPoints)
	}
	if op, _ := dur.DataPoints[0].Attributes.Value("gen_ai.operation.name"); op.AsString() != "embeddings" {
		t.Errorf("duration point attributes %v", dur.DataPoints[0].Attributes)
	}
	var spent float64
	for _, s := range spans {
		spent += attrs(s)["cloudflare.workers_ai.neurons"].AsFloat64()
	}
	neu, _ := ms[otelgowai.MetricNeurons].Data.(metricdata.Sum[float64])
	if len(neu.DataPoints) != 1 || math.Abs(neu.DataPoints[0].Value-spent) > 1e-9 {
		t.Errorf("neurons points %+v, want %v in all", neu.DataPoints, spent)
	}
}

type cityArgs struct {
	City string `json:"city"`
}

func weatherTools() []tools.Tool {
	return []tools.Tool{
		tools.New("weather", "Weather in a city.", func(ctx context.Context, in cityArgs) (string, error) {
			return "sunny in " + in.City, nil
		}),
		tools.New("population", "Population of a city.", func(ctx context.Context, in cityArgs) (int, error) {
			return 2_100_000, nil
		}),
	}
}

func TestAgentSpans(t *testing.T) {
	x := newHarness(t, nil)
	a := agent.New(x.client.Model(chatModel), x.tel.AgentOption(), agent.WithName("planner"),
		agent.WithTools(weatherTools()...), agent.WithParallelism(2))
	if _, err := a.Run(t.Context(), "Weather and population of Paris?"); err != nil {
		t.Fatal(err)
	}
	spans := x.ended()
	run := spanNamed(t, spans, "invoke_agent planner")
	if attrs(run)["gen_ai.agent.name"].AsString() != "planner" || attrs(run)["gen_ai.operation.name"].AsString() != "invoke_agent" ||
		attrs(run)["gen_ai.provider.name"].AsString() != otelgowai.ProviderName || run.SpanKind() != trace.SpanKindInternal ||
		attrs(run)["gen_ai.request.model"].AsString() != chatModel {
		t.Errorf("run attributes %v", attrs(run))
	}
	if _, ok := attrs(run)["gen_ai.input.messages"]; ok {
		t.Error("the run's span records its input without WithContent")
	}
	step1 := spanNamed(t, spans, "step 1")
	if step1.Parent().SpanID() != run.SpanContext().SpanID() {
		t.Error("step 1 is not beneath the run")
	}
	weather, pop := spanNamed(t, spans, "execute_tool weather"), spanNamed(t, spans, "execute_tool population")
	for _, s := range []sdktrace.ReadOnlySpan{weather, pop} {
		if s.Parent().SpanID() != step1.SpanContext().SpanID() {
			t.Errorf("%s is not beneath step 1", s.Name())
		}
		ta := attrs(s)
		if ta["gen_ai.tool.call.id"].AsString() == "" || ta["gen_ai.operation.name"].AsString() != "execute_tool" {
			t.Errorf("%s attributes %v", s.Name(), ta)
		}
	}
	var chats int
	for _, s := range spans {
		if s.Name() == "chat "+chatModel {
			chats++
			parent := ""
			for _, p := range spans {
				if p.SpanContext().SpanID() == s.Parent().SpanID() {
					parent = p.Name()
				}
			}
			if !strings.HasPrefix(parent, "step ") {
				t.Errorf("chat span beneath %q, want a step", parent)
			}
		}
	}
	if chats < 2 {
		t.Errorf("%d chat spans, want one per step", chats)
	}
	noContent(t, spans)
	noToken(t, spans)
}

func TestSubAgentNestsUnderTool(t *testing.T) {
	x := newHarness(t, nil)
	inner := agent.New(x.client.Model(chatModel), x.tel.AgentOption(), agent.WithName("researcher"), agent.WithTools(weatherTools()[0]))
	delegate := tools.New("research", "Ask the researcher.", func(ctx context.Context, in cityArgs) (string, error) {
		res, err := inner.Run(ctx, "Weather in "+in.City+"?")
		if err != nil {
			return "", err
		}
		return res.Text, nil
	})
	outer := agent.New(x.client.Model(chatModel), x.tel.AgentOption(), agent.WithName("lead"), agent.WithTools(delegate))
	if _, err := outer.Run(t.Context(), "Research Paris."); err != nil {
		t.Fatal(err)
	}
	spans := x.ended()
	tool := spanNamed(t, spans, "execute_tool research")
	sub := spanNamed(t, spans, "invoke_agent researcher")
	if sub.Parent().SpanID() != tool.SpanContext().SpanID() || sub.SpanContext().TraceID() != tool.SpanContext().TraceID() {
		t.Error("the sub-agent's run is not beneath the tool call that started it")
	}
	spanNamed(t, spans, "execute_tool weather")
}

// A sub-agent made with AsTool is named after its tool and runs beneath its call, with its
// model calls beneath its own steps.
func TestAsToolNestsUnderTool(t *testing.T) {
	x := newHarness(t, nil)
	inner := agent.New(x.client.Model(chatModel), x.tel.AgentOption(), agent.WithTools(weatherTools()[0]))
	outer := agent.New(x.client.Model(chatModel), x.tel.AgentOption(), agent.WithName("lead"),
		agent.WithTools(inner.AsTool("researcher", "Ask the researcher.")))
	if _, err := outer.Run(t.Context(), "Research Paris."); err != nil {
		t.Fatal(err)
	}
	spans := x.ended()
	tool := spanNamed(t, spans, "execute_tool researcher")
	sub := spanNamed(t, spans, "invoke_agent researcher")
	if sub.Parent().SpanID() != tool.SpanContext().SpanID() {
		t.Error("the sub-agent's run is not beneath the tool call that started it")
	}
	weather := spanNamed(t, spans, "execute_tool weather")
	step := parentOf(t, spans, weather)
	if parentOf(t, spans, step).SpanContext().SpanID() != sub.SpanContext().SpanID() {
		t.Error("the sub-agent's tool call is not beneath one of its steps")
	}
}

// parentOf is the span among spans that is s's parent.
func parentOf(t *testing.T, spans []sdktrace.ReadOnlySpan, s sdktrace.ReadOnlySpan) sdktrace.ReadOnlySpan {
	t.Helper()
	for _, p := range spans {
		if p.SpanContext().SpanID() == s.Parent().SpanID() {
			return p
		}
	}
	t.Fatalf("no parent of %s among the spans", s.Name())
	return nil
}

func TestContentWhenEnabled(t *testing.T) {
	x := newHarness(t, nil, otelgowai.WithContent(true))
	a := agent.New(x.client.Model(chatModel), x.tel.AgentOption(), agent.WithSystem("You are terse."), agent.WithTools(weatherTools()...))
	if _, err := a.Run(t.Context(), "Weather in Paris?"); err != nil {
		t.Fatal(err)
	}
	spans := x.ended()
	if ra := attrs(spanNamed(t, spans, "invoke_agent agent")); !strings.Contains(ra["gen_ai.input.messages"].AsString(), "Weather in Paris?") ||
		!strings.Contains(ra["gen_ai.system_instructions"].AsString(), "You are terse.") || !strings.Contains(ra["gen_ai.tool.definitions"].AsString(), `"weather"`) {
		t.Errorf("the run's span lacks its input: %v", ra)
	}
	var chat sdktrace.ReadOnlySpan
	for _, s := range spans {
		if s.Name() == "chat "+chatModel {
			chat = s
			break
		}
	}
	ca := attrs(chat)
	if !strings.Contains(ca["gen_ai.input.messages"].AsString(), "Weather in Paris?") ||
		!strings.Contains(ca["gen_ai.system_instructions"].AsString(), "You are terse.") ||
		!strings.Contains(ca["gen_ai.tool.definitions"].AsString(), `"weather"`) ||
		ca["gen_ai.output.messages"].AsString() == "" {
		t.Errorf("chat content %v", ca)
	}
	var out []map[string]any
	runOut := attrs(spanNamed(t, spans, "invoke_agent agent"))["gen_ai.output.messages"].AsString()
	if err := json.Unmarshal([]byte(runOut), &out); err != nil || len(out) != 1 || out[0]["finish_reason"] != "stop" || out[0]["role"] != "assistant" {
		t.Errorf("run output messages %s, want the answer with its finish reason", runOut)
	}
	ta := attrs(spanNamed(t, spans, "execute_tool weather"))
	if !strings.Contains(ta["gen_ai.tool.call.arguments"].AsString(), "city") || !strings.Contains(ta["gen_ai.tool.call.result"].AsString(), "sunny") {
		t.Errorf("tool content %v", ta)
	}
	noToken(t, spans)
}

type answer struct {
	Status string `json:"status" jsonschema:"enum=open,enum=shipped"`
}

func TestStructuredAttempts(t *testing.T) {
	x := newHarness(t, llmtest.Script(llmtest.Text(`{"status":"lost"}`), llmtest.Text(`{"status":"open"}`)))
	ctx, parent := x.tp.Tracer("test").Start(t.Context(), "extract")
	v, err := structured.Generate[answer](ctx, x.client.Model("@cf/meta/llama-3.2-1b-instruct"), "Status?", x.tel.StructuredOption())
	parent.End()
	if err != nil || v.Status != "open" {
		t.Fatalf("Generate = %+v, %v", v, err)
	}
	ev := spanNamed(t, x.ended(), "extract").Events()
	if len(ev) != 2 {
		t.Fatalf("%d events, want 2", len(ev))
	}
	first := map[string]attribute.Value{}
	for _, kv := range ev[0].Attributes {
		first[string(kv.Key)] = kv.Value
	}
	if ev[0].Name != "gowai.structured.attempt" || first["gowai.structured.valid"].AsBool() ||
		!slices.Equal(first["gowai.structured.problem_paths"].AsStringSlice(), []string{"/status"}) {
		t.Errorf("first attempt event %v", first)
	}
	if _, ok := first["gowai.structured.problems"]; ok {
		t.Error("problem texts recorded without WithContent")
	}
}

// TestTraceContextFromCaller: a call's span is a child of the span in the caller's context,
// and the HTTP request goes out under the call's span, so that an instrumented transport
// nests beneath it.
func TestTraceContextFromCaller(t *testing.T) {
	x := newHarness(t, nil)
	var sent []trace.SpanContext
	hc := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent = append(sent, trace.SpanContextFromContext(r.Context()))
		return http.DefaultTransport.RoundTrip(r)
	})}
	c, err := x.srv.Client(x.tel.ClientOption(), llm.WithHTTPClient(hc))
	if err != nil {
		t.Fatal(err)
	}
	ctx, parent := x.tp.Tracer("test").Start(t.Context(), "handler")
	if _, err := c.Model(chatModel).Generate(ctx, llm.Request{Messages: []llm.Message{llm.User("hi")}}); err != nil {
		t.Fatal(err)
	}
	parent.End()
	http.DefaultTransport.(*http.Transport).CloseIdleConnections()
	chat := spanNamed(t, x.ended(), "chat "+chatModel)
	if chat.Parent().SpanID() != parent.SpanContext().SpanID() || chat.SpanContext().TraceID() != parent.SpanContext().TraceID() {
		t.Error("the chat span is not a child of the caller's span")
	}
	if len(sent) != 1 || sent[0].SpanID() != chat.SpanContext().SpanID() {
		t.Errorf("the request went out under %v, want the chat span %v", sent, chat.SpanContext().SpanID())
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestOutputTypeJSON: a request for JSON says so with gen_ai.output.type; a plain one does not.
func TestOutputTypeJSON(t *testing.T) {
	x := newHarness(t, llmtest.Script(llmtest.Text(`{"a":1}`), llmtest.Text("plain")))
	m := x.client.Model(chatModel)
	if _, err := m.Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("json")}, Format: &llm.Format{}}); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("text")}}); err != nil {
		t.Fatal(err)
	}
	spans := x.ended()
	if got := attrs(spans[0])["gen_ai.output.type"].AsString(); got != "json" {
		t.Errorf("gen_ai.output.type = %q, want json", got)
	}
	if _, ok := attrs(spans[1])["gen_ai.output.type"]; ok {
		t.Error("gen_ai.output.type set on a request that did not ask for JSON")
	}
}

// TestErrorTypeOfCode: an error the service reports in a 2xx reply, or inside a stream, is
// typed by its Workers AI code, not by the 200 status it came with.
func TestErrorTypeOfCode(t *testing.T) {
	body := `{"result":null,"success":false,"errors":[{"code":5006,"message":"bad input"}],"messages":[]}`
	x := newHarness(t, llmtest.Script(
		llmtest.Raw("application/json", []byte(body)),
		llmtest.SSE(`{"response":"par"}`, `{"errors":[{"code":3040,"message":"capacity"}]}`),
	))
	m := x.client.Model(chatModel)
	if _, err := m.Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}); err == nil {
		t.Fatal("Generate succeeded on a failed envelope")
	}
	var streamErr error
	for _, err := range m.Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}) {
		if err != nil {
			streamErr = err
		}
	}
	if streamErr == nil {
		t.Fatal("the stream's error event was not reported")
	}
	spans := x.ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for i, want := range []string{"5006", "3040"} {
		if got := attrs(spans[i])["error.type"].AsString(); got != want || spans[i].Status().Code != codes.Error {
			t.Errorf("span %d: error.type %q status %v, want %q", i, got, spans[i].Status(), want)
		}
	}
	dur := x.metrics(t)[otelgowai.MetricDuration].Data.(metricdata.Histogram[float64])
	var types []string
	for _, dp := range dur.DataPoints {
		et, _ := dp.Attributes.Value("error.type")
		types = append(types, et.AsString())
	}
	slices.Sort(types)
	if !slices.Equal(types, []string{"3040", "5006"}) {
		t.Errorf("duration points' error.type %v", types)
	}
}

// TestStructuredContentWhenEnabled: with WithContent the problems' texts are recorded too.
func TestStructuredContentWhenEnabled(t *testing.T) {
	x := newHarness(t, llmtest.Script(llmtest.Text(`{"status":"lost"}`), llmtest.Text(`{"status":"open"}`)), otelgowai.WithContent(true))
	ctx, parent := x.tp.Tracer("test").Start(t.Context(), "extract")
	_, err := structured.Generate[answer](ctx, x.client.Model("@cf/meta/llama-3.2-1b-instruct"), "Status?", x.tel.StructuredOption())
	parent.End()
	if err != nil {
		t.Fatal(err)
	}
	ev := spanNamed(t, x.ended(), "extract").Events()
	if len(ev) != 2 {
		t.Fatalf("%d events, want 2", len(ev))
	}
	var problems []string
	for _, kv := range ev[0].Attributes {
		if kv.Key == "gowai.structured.problems" {
			problems = kv.Value.AsStringSlice()
		}
	}
	if len(problems) != 1 || !strings.HasPrefix(problems[0], "/status") {
		t.Errorf("problems %q, want the /status problem's text", problems)
	}
	for _, kv := range ev[1].Attributes {
		if kv.Key == "gowai.structured.problems" {
			t.Error("a valid answer records problems")
		}
	}
	noToken(t, x.ended())
}

// TestStreamContent: a stream's answer is recorded with WithContent, and only then.
func TestStreamContent(t *testing.T) {
	for _, content := range []bool{false, true} {
		x := newHarness(t, nil, otelgowai.WithContent(content))
		var text strings.Builder
		for d, err := range x.client.Model(chatModel).Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("Tell me about Workers AI")}}) {
			if err != nil {
				t.Fatal(err)
			}
			text.WriteString(d.Text)
		}
		spans := x.ended()
		a := attrs(spanNamed(t, spans, "chat "+chatModel))
		if !content {
			noContent(t, spans)
			continue
		}
		var out []struct {
			Role  string `json:"role"`
			Parts []struct {
				Type, Content string
			} `json:"parts"`
		}
		if err := json.Unmarshal([]byte(a["gen_ai.output.messages"].AsString()), &out); err != nil || len(out) != 1 ||
			len(out[0].Parts) == 0 || out[0].Parts[len(out[0].Parts)-1].Content != text.String() {
			t.Errorf("output messages %s (%v), want the streamed text %q", a["gen_ai.output.messages"].AsString(), err, text.String())
		}
		if !strings.Contains(a["gen_ai.input.messages"].AsString(), "Tell me about Workers AI") {
			t.Errorf("input messages %s", a["gen_ai.input.messages"].AsString())
		}
		noToken(t, spans)
	}
}

// TestGatewaySpan: a call through AI Gateway records the gateway's log id and cache status,
// and neither the API token nor the gateway's token.
func TestGatewaySpan(t *testing.T) {
	const gwToken = "gw7DistinctiveGatewaySecret0123456789xyz"
	x := newHarness(t, nil)
	c, err := x.srv.Client(x.tel.ClientOption(), llm.WithGateway("my-gateway", llm.WithCacheTTL(time.Minute), llm.WithGatewayToken(gwToken)))
	if err != nil {
		t.Fatal(err)
	}
	req := llm.Request{Messages: []llm.Message{llm.User("Capital of France?")}}
	var replies []*llm.Response
	for range 2 {
		r, err := c.Model(chatModel).Generate(t.Context(), req)
		if err != nil {
			t.Fatal(err)
		}
		replies = append(replies, r)
	}
	spans := x.ended()
	if len(spans) != 2 {
		t.Fatalf("%d spans, want 2", len(spans))
	}
	for i, want := range []string{"MISS", "HIT"} {
		a := attrs(spans[i])
		if a["cloudflare.workers_ai.gateway.log_id"].AsString() != replies[i].Gateway.LogID || replies[i].Gateway.LogID == "" ||
			a["cloudflare.workers_ai.gateway.cache_status"].AsString() != want || a["cloudflare.workers_ai.endpoint"].AsString() != "gateway" {
			t.Errorf("call %d: attributes %v, want log id %q and cache status %s", i, a, replies[i].Gateway.LogID, want)
		}
	}
	noToken(t, spans)
	for _, s := range spans {
		if strings.Contains(fmt.Sprint(s.Attributes(), s.Events(), s.Status()), gwToken) {
			t.Errorf("span %q records the gateway token", s.Name())
		}
	}
}

// TestCutToolCallMetrics: a reply cut off in a tool call's arguments fails, yet its tokens
// and neurons were billed and are measured.
func TestCutToolCallMetrics(t *testing.T) {
	cut := llmtest.Raw("application/json", []byte(`{"result":{"object":"chat.completion","choices":[{"message":{"content":"",`+
		`"tool_calls":[{"id":"call_w","type":"function","function":{"name":"write","arguments":"{\"a\": 1, \"b"}}]},`+
		`"finish_reason":"length"}],"usage":{"prompt_tokens":40,"completion_tokens":64,"total_tokens":104}},"success":true,"errors":[],"messages":[]}`)).
		WithHeader("cf-ai-neurons", "2.5")
	x := newHarness(t, llmtest.Script(cut))
	_, err := x.client.Model("@cf/qwen/qwen3-30b-a3b-fp8").Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("write it")}})
	if _, ok := errors.AsType[*llm.TruncatedToolCallError](err); !ok {
		t.Fatalf("err = %v", err)
	}
	a := attrs(x.ended()[0])
	if a["gen_ai.usage.output_tokens"].AsInt64() != 64 || a["cloudflare.workers_ai.neurons"].AsFloat64() != 2.5 || a["error.type"].AsString() != "truncated_tool_call" {
		t.Errorf("span attributes %v", a)
	}
	ms := x.metrics(t)
	tok, _ := ms[otelgowai.MetricTokenUsage].Data.(metricdata.Histogram[int64])
	neu, _ := ms[otelgowai.MetricNeurons].Data.(metricdata.Sum[float64])
	if len(tok.DataPoints) != 2 || len(neu.DataPoints) != 1 || neu.DataPoints[0].Value != 2.5 {
		t.Errorf("token usage %+v, neurons %+v", tok.DataPoints, neu.DataPoints)
	}
}

// TestInputMessagesForm: recorded messages follow the conventions' JSON form: a tool result
// always has its response, even an empty one, and an image is named, not copied.
func TestInputMessagesForm(t *testing.T) {
	x := newHarness(t, nil, otelgowai.WithContent(true))
	img := llm.Image{Data: []byte("\x89PNG\r\n\x1a\nnot-really-an-image-but-bytes"), MIME: "image/png"}
	call := llm.ToolCall{ID: "call_1", Name: "weather", Arguments: json.RawMessage(`{"city":"Paris"}`)}
	msgs := []llm.Message{
		llm.User("What is in this picture? (x > y)", img),
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{call}},
		llm.ToolResult("call_1", ""),
	}
	_, _ = x.client.Model("@cf/meta/llama-3.2-11b-vision-instruct").Generate(t.Context(), llm.Request{Messages: msgs})
	a := attrs(x.ended()[0])
	var got []struct {
		Role  string           `json:"role"`
		Parts []map[string]any `json:"parts"`
	}
	if err := json.Unmarshal([]byte(a["gen_ai.input.messages"].AsString()), &got); err != nil || len(got) != 3 {
		t.Fatalf("input messages %s: %v", a["gen_ai.input.messages"].AsString(), err)
	}
	image := got[0].Parts[1]
	if image["type"] != "image" || image["mime_type"] != "image/png" || image["size"] != float64(len(img.Data)) || image["content"] != nil {
		t.Errorf("image part %v", image)
	}
	if tc := got[1].Parts[0]; tc["type"] != "tool_call" || tc["name"] != "weather" || tc["id"] != "call_1" {
		t.Errorf("tool call part %v", tc)
	}
	resp, ok := got[2].Parts[0]["response"]
	if got[2].Role != "tool" || got[2].Parts[0]["type"] != "tool_call_response" || !ok || resp != "" {
		t.Errorf("tool result part %v, want an empty response present", got[2].Parts[0])
	}
	if s := a["gen_ai.input.messages"].AsString(); strings.HasSuffix(s, "\n") || strings.Contains(s, `\u003e`) {
		t.Errorf("input messages %q: want compact JSON with > as it is", s)
	}
	if strings.Contains(a["gen_ai.input.messages"].AsString(), "not-really-an-image") {
		t.Error("the image's bytes are recorded")
	}
}

// TestRunOutcomes: a run stopped by its budget fails with error.type budget_exceeded; a run
// that pauses for approval has not failed, and its span says how many calls wait.
func TestRunOutcomes(t *testing.T) {
	x := newHarness(t, nil)
	m := x.client.Model(chatModel)
	_, err := agent.New(m, x.tel.AgentOption(), agent.WithName("frugal"), agent.WithTools(weatherTools()...),
		agent.WithBudget(agent.Budget{MaxTokens: 1})).Run(t.Context(), "Weather in Paris?")
	if !errors.Is(err, agent.ErrBudgetExceeded) {
		t.Fatalf("err = %v, want ErrBudgetExceeded", err)
	}
	res, err := agent.New(m, x.tel.AgentOption(), agent.WithName("careful"), agent.WithTools(weatherTools()...),
		agent.WithHooks(agent.Hooks{NeedsApproval: func(llm.ToolCall) bool { return true }})).Run(t.Context(), "Weather in Paris?")
	if !errors.Is(err, agent.ErrApprovalRequired) || res == nil || len(res.Pending) == 0 {
		t.Fatalf("res = %+v, err = %v, want a pause for approval", res, err)
	}
	spans := x.ended()
	frugal := spanNamed(t, spans, "invoke_agent frugal")
	if attrs(frugal)["error.type"].AsString() != "budget_exceeded" || frugal.Status().Code != codes.Error {
		t.Errorf("budget run: status %v, attributes %v", frugal.Status(), attrs(frugal))
	}
	careful := spanNamed(t, spans, "invoke_agent careful")
	ca := attrs(careful)
	if _, failed := ca["error.type"]; failed || careful.Status().Code == codes.Error || ca["gowai.agent.pending"].AsInt64() != int64(len(res.Pending)) {
		t.Errorf("paused run: status %v, attributes %v", careful.Status(), ca)
	}
}

// TestTwoInstrumentations: two Instrumentations on one client each end their own span.
func TestTwoInstrumentations(t *testing.T) {
	x := newHarness(t, nil)
	other := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(other))
	defer tp.Shutdown(context.Background())
	c, err := x.srv.Client(x.tel.ClientOption(), otelgowai.New(otelgowai.WithTracerProvider(tp)).ClientOption())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Model(chatModel).Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}); err != nil {
		t.Fatal(err)
	}
	for name, rec := range map[string]*tracetest.SpanRecorder{"first": x.spans, "second": other} {
		if len(rec.Started()) != 1 || len(rec.Ended()) != 1 {
			t.Errorf("%s: %d spans started, %d ended, want 1 and 1", name, len(rec.Started()), len(rec.Ended()))
			continue
		}
		if a := attrs(rec.Ended()[0]); a["cloudflare.workers_ai.attempts"].AsInt64() != 1 {
			t.Errorf("%s: span attributes %v", name, a)
		}
	}
}

// TestTaskSpanNames: calls of other tasks are named after their operation and model.
func TestTaskSpanNames(t *testing.T) {
	x := newHarness(t, nil)
	const imageModel = "@cf/black-forest-labs/flux-1-schnell"
	if _, _, err := x.client.RunBytes(t.Context(), imageModel, map[string]any{"prompt": "a lighthouse"}); err != nil {
		t.Fatal(err)
	}
	s := spanNamed(t, x.ended(), "text_to_image "+imageModel)
	if a := attrs(s); a["gen_ai.operation.name"].AsString() != "text_to_image" || a["gen_ai.request.model"].AsString() != imageModel ||
		s.SpanKind() != trace.SpanKindClient {
		t.Errorf("span attributes %v", a)
	}
	noToken(t, x.ended())
}
