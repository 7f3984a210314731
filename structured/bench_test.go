package structured_test

import (
	"context"
	"encoding/json"
	"fmt"
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

// chunkedModel streams its text in deltas of size bytes, as a model streams tokens.
type chunkedModel struct {
	text string
	size int
}

func (m chunkedModel) Generate(context.Context, llm.Request) (*llm.Response, error) {
	return &llm.Response{Text: m.text, FinishReason: "stop"}, nil
}

func (m chunkedModel) Stream(context.Context, llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) {
		for i := 0; i < len(m.text); i += m.size {
			if !yield(llm.Delta{Text: m.text[i:min(i+m.size, len(m.text))]}, nil) {
				return
			}
		}
		yield(llm.Delta{FinishReason: "stop", Usage: &llm.Usage{TotalTokens: len(m.text) / 4}}, nil)
	}
}

type Catalog struct {
	Title string        `json:"title"`
	Items []CatalogItem `json:"items"`
}

type CatalogItem struct {
	Name  string `json:"name"`
	Qty   int    `json:"qty"`
	Notes string `json:"notes"`
}

// catalogJSON is a Catalog document of about n bytes.
func catalogJSON(n int) string {
	var c Catalog
	c.Title = "Inventory"
	for i := 0; ; i++ {
		c.Items = append(c.Items, CatalogItem{Name: fmt.Sprintf("item %d", i), Qty: i, Notes: "kept in aisle 4, second shelf from the top"})
		if b, _ := json.Marshal(c); len(b) >= n {
			return string(b)
		}
	}
}

// BenchmarkStream is a whole Stream[T] of an answer arriving in 4-byte deltas, next to
// decoding the same answer once: the partials must not make the cost grow faster than the
// answer.
func BenchmarkStream(b *testing.B) {
	ctx := context.Background()
	for _, size := range []int{10_000, 100_000} {
		text := catalogJSON(size)
		name := fmt.Sprintf("%dKB", size/1000)
		b.Run(name+"/stream-4B-deltas", func(b *testing.B) {
			m := chunkedModel{text, 4}
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				var done bool
				for p, err := range structured.Stream[Catalog](ctx, m, "x") {
					if err != nil {
						b.Fatal(err)
					}
					done = p.Done
				}
				if !done {
					b.Fatal("no final value")
				}
			}
		})
		b.Run(name+"/decode-once", func(b *testing.B) {
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				var c Catalog
				if err := json.Unmarshal([]byte(text), &c); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/generate", func(b *testing.B) {
			m := chunkedModel{text, 4}
			b.SetBytes(int64(len(text)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := structured.Generate[Catalog](ctx, m, "x"); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
