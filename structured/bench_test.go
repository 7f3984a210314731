package structured_test

import (
	"context"
	"encoding/json"
	"iter"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/structured"
)

// fixedModel answers every request with the same text, in memory: what is left to measure
// is structured's own work (schema lookup, request building, extraction, validation,
// decoding).
type fixedModel struct{ text string }

func (m fixedModel) Generate(context.Context, llm.Request) (*llm.Response, error) {
	return &llm.Response{Text: m.text, FinishReason: "stop"}, nil
}

func (m fixedModel) Stream(context.Context, llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) { yield(llm.Delta{Text: m.text}, nil) }
}

// BenchmarkGenerate is Generate[T]'s overhead with the schema cache warm, next to the
// json.Unmarshal of the same bytes into the same type that any hand-rolled loop pays.
func BenchmarkGenerate(b *testing.B) {
	m := fixedModel{validOrder}
	ctx := context.Background()
	b.Run("generate", func(b *testing.B) {
		if _, err := structured.Generate[Order](ctx, m, "x", structured.WithMode(structured.ModeJSONSchema)); err != nil {
			b.Fatal(err)
		}
		b.ReportAllocs()
		for b.Loop() {
			if _, err := structured.Generate[Order](ctx, m, "x", structured.WithMode(structured.ModeJSONSchema)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("unmarshal-baseline", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var o Order
			if err := json.Unmarshal([]byte(validOrder), &o); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("test-model", func(b *testing.B) {
		tm := llmtest.NewTestModel()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := structured.Generate[Order](ctx, tm, "x", structured.WithMode(structured.ModeJSONSchema)); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// The first call for a type also builds and compiles its schema: see BenchmarkForCold in
// internal/schema for that one-off cost.
