package otelgowai_test

import (
	"context"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/otelgowai"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// BenchmarkChatRoundTrip is one non-streamed chat call against the emulator, without
// instrumentation, with the instrumentation on no-op providers, and with the SDK recording
// every span (exported synchronously to a no-op exporter) and every metric.
func BenchmarkChatRoundTrip(b *testing.B) {
	srv := llmtest.NewServer(func(string, []byte) llmtest.Reply {
		return llmtest.Text("Workers AI runs machine learning models on Cloudflare's global network.")
	})
	defer srv.Close()
	req := llm.Request{Messages: []llm.Message{llm.System("Be brief."), llm.User("What is Workers AI?")}}
	run := func(b *testing.B, opts ...llm.Option) {
		c, err := srv.Client(opts...)
		if err != nil {
			b.Fatal(err)
		}
		m := c.Model("@cf/meta/llama-3.1-8b-instruct")
		b.ReportAllocs()
		for b.Loop() {
			if _, err := m.Generate(b.Context(), req); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("uninstrumented", func(b *testing.B) { run(b) })
	b.Run("noop", func(b *testing.B) {
		tel := otelgowai.New(otelgowai.WithTracerProvider(tracenoop.NewTracerProvider()), otelgowai.WithMeterProvider(metricnoop.NewMeterProvider()))
		run(b, tel.ClientOption())
	})
	b.Run("sdk", func(b *testing.B) {
		tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(tracetest.NewNoopExporter()))
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
		defer tp.Shutdown(context.Background())
		defer mp.Shutdown(context.Background())
		tel := otelgowai.New(otelgowai.WithTracerProvider(tp), otelgowai.WithMeterProvider(mp))
		run(b, tel.ClientOption())
	})
}
