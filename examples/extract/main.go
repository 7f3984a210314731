// Command extract pulls typed invoices out of free-form text: one document per section of
// a text file, several extracted concurrently, each validated against the Invoice schema.
//
//	go run ./examples/extract
//	go run ./examples/extract -file my-invoices.txt -sep '---' -parallel 4
//
// The backend comes from the environment (-h says how): real Workers AI, an
// OpenAI-compatible server, or by default the offline llmtest emulator, whose test model
// does not read the text: each record is the schema's examples, varied per document.
package main

import (
	"cmp"
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gowai/gowai/examples/internal/backend"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/structured"
)

//go:embed invoices.txt
var bundled string

// Invoice is the record extracted from each document.
type Invoice struct {
	Number   string     `json:"number" jsonschema_description:"The invoice or order number as printed" jsonschema:"example=2026-0412"`
	Supplier string     `json:"supplier" jsonschema_description:"Who issued the invoice" jsonschema:"example=Northwind Traders Ltd"`
	Date     string     `json:"date" jsonschema_description:"Issue date as YYYY-MM-DD" jsonschema:"format=date,example=2026-11-03"`
	Currency string     `json:"currency" jsonschema_description:"ISO 4217 code" jsonschema:"pattern=^[A-Z]{3}$,example=EUR"`
	Lines    []LineItem `json:"lines" jsonschema:"minItems=1"`
	Total    float64    `json:"total" jsonschema:"minimum=0,example=18"`
}

// LineItem is one billed item.
type LineItem struct {
	Description string  `json:"description" jsonschema:"example=Oat milk 1L"`
	Quantity    float64 `json:"quantity" jsonschema:"exclusiveMinimum=0,example=10"`
	Amount      float64 `json:"amount" jsonschema_description:"Line total" jsonschema:"minimum=0,example=18"`
}

// Validate checks what a schema cannot: the lines add up to the total (to the cent). A
// failure is sent back to the model, which then gets another try.
func (inv Invoice) Validate() error {
	var sum float64
	for _, l := range inv.Lines {
		sum += l.Amount
	}
	if d := sum - inv.Total; d > 0.005 || d < -0.005 {
		return fmt.Errorf("the line amounts add up to %.2f but total is %.2f", sum, inv.Total)
	}
	return nil
}

func main() {
	file := flag.String("file", "", "text file to read (default: the bundled invoices)")
	sep := flag.String("sep", "---", "line that separates documents")
	parallel := flag.Int("parallel", 3, "documents extracted at once")
	backend.Main("extract", "Extract pulls typed invoices out of free-form text with structured.GenerateFrom[Invoice]:\n"+
		"one document per section of a text file, several at once, each validated against the\n"+
		"schema and the Invoice.Validate check (the lines add up to the total).",
		func(ctx context.Context) error { return run(ctx, *file, *sep, *parallel) })
}

func run(ctx context.Context, file, sep string, parallel int) error {
	if parallel < 1 {
		return backend.BadFlag("-parallel %d: want at least 1", parallel)
	}
	text := bundled
	if file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("read -file: %w", err)
		}
		text = string(b)
	}
	var docs []string
	for d := range strings.SplitSeq(text, "\n"+sep+"\n") {
		if d = strings.TrimSpace(d); d != "" {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		return fmt.Errorf("read documents: %s has no text", cmp.Or(file, "the bundled file"))
	}

	b, err := backend.Open("@cf/meta/llama-3.3-70b-instruct-fp8-fast", os.Stderr)
	if err != nil {
		return fmt.Errorf("choose backend: %w", err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	results := make([]*structured.Result[Invoice], len(docs))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(parallel)
	for i, doc := range docs {
		g.Go(func() error {
			if err := ctx.Err(); err != nil {
				return err
			}
			r, err := structured.GenerateFrom[Invoice](ctx, b.Model, []llm.Message{
				llm.System("Extract the invoice in the user's message. Amounts are numbers without currency symbols."),
				llm.User(doc),
			})
			if err != nil {
				return fmt.Errorf("extract document %d: %w", i+1, err)
			}
			results[i] = r
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	var usage llm.Usage
	enc := json.NewEncoder(os.Stdout)
	for i, r := range results {
		usage = usage.Add(r.Usage)
		fmt.Printf("document %d (%s mode, %d attempt(s)):\n", i+1, r.Mode, r.Attempts)
		enc.Encode(r.Value)
	}
	fmt.Fprintf(os.Stderr, "%d documents, %d tokens in all\n", len(docs), usage.TotalTokens)
	fmt.Fprintln(os.Stderr, backend.Cost(usage, b.Offline))
	return nil
}
