// Command observe runs a tool-using agent under OpenTelemetry (package otelgowai) and prints
// what was recorded: the span tree of the run (invoke_agent, its steps, the model calls and
// the tool calls beneath them, with durations and key attributes) and the metrics
// (token usage, operation duration, neurons).
//
//	go run ./examples/observe
//	go run ./examples/observe -content -q "Weather and local time in Lisbon?"
//
// The backend comes from the environment (-h says how): real Workers AI, an
// OpenAI-compatible server, or by default the offline llmtest emulator, whose test model
// calls each tool once and then answers with a summary of what it received. The spans are
// kept in memory by the OpenTelemetry SDK's span recorder and printed by a small tree
// printer; a real program would export them (OTLP, stdout) instead.
package main

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/examples/internal/backend"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/otelgowai"
	"github.com/gowai/gowai/tools"
	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

const model = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"

func main() {
	q := flag.String("q", "What is the weather in Paris, and what time is it there?", "the question")
	content := flag.Bool("content", false, "record prompts, answers and tool arguments and results in the spans")
	backend.Main("observe", "Observe runs a tool-using agent with two tools under OpenTelemetry (package otelgowai)\n"+
		"and prints the span tree of the run and the metrics recorded.",
		func(ctx context.Context) error { return run(ctx, os.Stdout, *q, *content) })
}

func run(ctx context.Context, out io.Writer, q string, content bool) error {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer tp.Shutdown(context.Background())
	defer mp.Shutdown(context.Background())
	tel := otelgowai.New(otelgowai.WithTracerProvider(tp), otelgowai.WithMeterProvider(mp), otelgowai.WithContent(content))

	m, offline, closeModel, err := openModel(tel)
	if err != nil {
		return fmt.Errorf("choose backend: %w", err)
	}
	defer closeModel()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	a := agent.New(m,
		agent.WithName("concierge"),
		agent.WithSystem("You answer travel questions briefly. Use the tools for weather and local time; never guess."),
		agent.WithTools(weatherTool(), timeTool()),
		agent.WithParallelism(2),
		tel.AgentOption(),
	)
	res, err := a.Run(ctx, q)
	if err != nil {
		return fmt.Errorf("run the agent: %w", err)
	}
	fmt.Fprintf(out, "answer: %s\n\nspans:\n", res.Text)
	printTree(out, spans.Ended())
	fmt.Fprintln(out, "\nmetrics:")
	if err := printMetrics(ctx, out, reader); err != nil {
		return err
	}
	fmt.Fprintln(os.Stderr, backend.Cost(res.Usage, offline))
	return nil
}

// openModel is the model of the backend the environment chooses, on a client instrumented
// by tel. backend.Open names the backend on stderr and checks the environment; the client is
// then made again here with the instrumentation, the one thing Open cannot add.
func openModel(tel *otelgowai.Instrumentation) (m llm.Model, offline bool, closeFn func(), err error) {
	b, err := backend.Open(model, os.Stderr)
	if err != nil {
		return nil, false, nil, err
	}
	b.Close()
	switch {
	case b.Offline:
		srv := llmtest.NewServer(nil)
		c, err := srv.Client(tel.ClientOption())
		if err != nil {
			srv.Close()
			return nil, false, nil, err
		}
		return c.Model(model), true, srv.Close, nil
	case b.Client != nil:
		c, err := llm.NewClient(tel.ClientOption())
		if err != nil {
			return nil, false, nil, err
		}
		return c.Model(model), false, func() {}, nil
	}
	name := cmp.Or(os.Getenv(backend.EnvModel), backend.DefaultOpenAIModel)
	return llm.NewOpenAICompatible(os.Getenv(backend.EnvBaseURL), os.Getenv(backend.EnvAPIKey), name, tel.ClientOption()), false, func() {}, nil
}

type cityArgs struct {
	City string `json:"city" jsonschema:"description=the city, e.g. Paris"`
}

// weatherTool and timeTool answer from fixed tables: the example is about what is recorded,
// not about weather.
func weatherTool() tools.Tool {
	return tools.New("weather", "Current weather in a city.", func(ctx context.Context, in cityArgs) (string, error) {
		return fmt.Sprintf("%s: 18 °C, light wind, clear sky", cmp.Or(in.City, "the city")), nil
	})
}

func timeTool() tools.Tool {
	offsets := map[string]int{"paris": 1, "lisbon": 0, "london": 0, "tokyo": 9, "new york": -5}
	return tools.New("local_time", "Current local time in a city.", func(ctx context.Context, in cityArgs) (string, error) {
		h, ok := offsets[strings.ToLower(strings.TrimSpace(in.City))]
		if !ok {
			return "", fmt.Errorf("no time zone known for %q", in.City)
		}
		return fmt.Sprintf("%s: %s (UTC%+d, standard time)", in.City, time.Now().UTC().Add(time.Duration(h)*time.Hour).Format("15:04"), h), nil
	})
}

// printTree prints the spans indented beneath their parents, in start order.
func printTree(w io.Writer, spans []sdktrace.ReadOnlySpan) {
	children := map[trace.SpanID][]sdktrace.ReadOnlySpan{}
	ids := map[trace.SpanID]bool{}
	for _, s := range spans {
		ids[s.SpanContext().SpanID()] = true
	}
	var roots []sdktrace.ReadOnlySpan
	for _, s := range spans {
		if p := s.Parent().SpanID(); p.IsValid() && ids[p] {
			children[p] = append(children[p], s)
		} else {
			roots = append(roots, s)
		}
	}
	byStart := func(a, b sdktrace.ReadOnlySpan) int { return a.StartTime().Compare(b.StartTime()) }
	var walk func(s sdktrace.ReadOnlySpan, depth int)
	walk = func(s sdktrace.ReadOnlySpan, depth int) {
		fmt.Fprintf(w, "%s%s  %v%s\n", strings.Repeat("  ", depth+1), s.Name(),
			s.EndTime().Sub(s.StartTime()).Round(10*time.Microsecond), keyAttributes(s))
		for _, e := range s.Events() {
			fmt.Fprintf(w, "%s  event %s%s\n", strings.Repeat("  ", depth+1), e.Name, formatAttrs(e.Attributes, nil))
		}
		kids := children[s.SpanContext().SpanID()]
		slices.SortFunc(kids, byStart)
		for _, c := range kids {
			walk(c, depth+1)
		}
	}
	slices.SortFunc(roots, byStart)
	for _, r := range roots {
		walk(r, 0)
	}
}

// shown are the attributes the tree prints, in this order; content attributes are shortened.
var shown = []string{
	"gen_ai.tool.call.id", "gen_ai.usage.input_tokens", "gen_ai.usage.output_tokens",
	"gen_ai.response.finish_reasons", "cloudflare.workers_ai.neurons", "cloudflare.workers_ai.attempts",
	"cloudflare.workers_ai.request_id", "error.type",
	"gen_ai.input.messages", "gen_ai.output.messages", "gen_ai.tool.call.arguments", "gen_ai.tool.call.result",
}

func keyAttributes(s sdktrace.ReadOnlySpan) string { return formatAttrs(s.Attributes(), shown) }

func formatAttrs(attrs []attribute.KeyValue, only []string) string {
	var b strings.Builder
	emit := func(kv attribute.KeyValue) {
		v := kv.Value.Emit()
		if len(v) > 60 {
			v = v[:57] + "..."
		}
		short := strings.TrimPrefix(strings.TrimPrefix(string(kv.Key), "gen_ai."), "cloudflare.workers_ai.")
		fmt.Fprintf(&b, " %s=%s", short, v)
	}
	if only == nil {
		for _, kv := range attrs {
			emit(kv)
		}
		return b.String()
	}
	for _, k := range only {
		for _, kv := range attrs {
			if string(kv.Key) == k {
				emit(kv)
			}
		}
	}
	return b.String()
}

// printMetrics prints every metric the reader holds: histograms as count and sum, counters
// as their value, one line per attribute set.
func printMetrics(ctx context.Context, w io.Writer, reader *sdkmetric.ManualReader) error {
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(ctx, &rm); err != nil {
		return fmt.Errorf("collect metrics: %w", err)
	}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			fmt.Fprintf(w, "  %s (%s)\n", m.Name, m.Unit)
			var lines []string
			switch d := m.Data.(type) {
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("count=%d sum=%d%s", dp.Count, dp.Sum, pointAttrs(dp.Attributes)))
				}
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("count=%d sum=%.4f%s", dp.Count, dp.Sum, pointAttrs(dp.Attributes)))
				}
			case metricdata.Sum[float64]:
				for _, dp := range d.DataPoints {
					lines = append(lines, fmt.Sprintf("value=%.2f%s", dp.Value, pointAttrs(dp.Attributes)))
				}
			}
			slices.Sort(lines)
			for _, l := range lines {
				fmt.Fprintf(w, "    %s\n", l)
			}
		}
	}
	return nil
}

// pointAttrs prints the attributes that tell a metric's points apart.
func pointAttrs(set attribute.Set) string {
	var b strings.Builder
	for _, k := range []string{"gen_ai.operation.name", "gen_ai.request.model", "gen_ai.token.type", "error.type"} {
		if v, ok := set.Value(attribute.Key(k)); ok {
			fmt.Fprintf(&b, " %s=%s", strings.TrimPrefix(k, "gen_ai."), v.Emit())
		}
	}
	return b.String()
}
