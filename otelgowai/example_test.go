package otelgowai_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/otelgowai"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// An agent run on an instrumented client, with the spans kept in memory. A real program
// gives the TracerProvider an exporter (OTLP, stdout) instead, or installs it globally with
// otel.SetTracerProvider and calls otelgowai.New() without options.
func Example() {
	spans := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(spans))
	defer tp.Shutdown(context.Background())
	tel := otelgowai.New(otelgowai.WithTracerProvider(tp))

	srv := llmtest.NewServer(nil) // the offline emulator; llm.NewClient(tel.ClientOption()) for Workers AI
	defer srv.Close()
	c, err := srv.Client(tel.ClientOption())
	if err != nil {
		log.Fatal(err)
	}
	a := agent.New(c.Model("@cf/meta/llama-3.1-8b-instruct"), tel.AgentOption(), agent.WithName("greeter"))
	if _, err := a.Run(context.Background(), "Say hello."); err != nil {
		log.Fatal(err)
	}
	for _, s := range spans.Ended() {
		fmt.Println(s.Name())
	}
	// Output:
	// chat @cf/meta/llama-3.1-8b-instruct
	// step 1
	// invoke_agent greeter
}
