// Command quickstart asks a model for a typed recipe and prints the validated result.
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -dish "a vegan lasagne"
//
// The backend comes from the environment (-h says how): real Workers AI when
// CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN are set, an OpenAI-compatible server when
// OPENAI_BASE_URL is set, and otherwise the offline llmtest emulator, whose test model
// answers from the schema's examples, varied by the request.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/gowai/gowai/examples/internal/backend"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/structured"
)

// Recipe is what we want back. The tags become the JSON Schema the model must satisfy:
// descriptions guide it, enums and bounds are enforced, and examples let the offline test
// model answer with something readable.
type Recipe struct {
	Title       string       `json:"title" jsonschema_description:"Name of the dish" jsonschema:"example=Vegan lasagne"`
	Cuisine     string       `json:"cuisine" jsonschema:"enum=italian,enum=french,enum=indian,enum=japanese,enum=mexican,enum=other"`
	Servings    int          `json:"servings" jsonschema:"minimum=1,maximum=12,example=4"`
	Minutes     int          `json:"minutes" jsonschema_description:"Total time in minutes" jsonschema:"minimum=5,maximum=600,example=75"`
	Difficulty  string       `json:"difficulty" jsonschema:"enum=easy,enum=medium,enum=hard"`
	Steps       []string     `json:"steps" jsonschema:"minItems=1,maxItems=12,example=Preheat the oven to 200°C."`
	Ingredients []Ingredient `json:"ingredients" jsonschema:"minItems=1"`
}

// Ingredient is one line of the shopping list.
type Ingredient struct {
	Name     string  `json:"name" jsonschema:"example=lasagne sheets"`
	Quantity float64 `json:"quantity" jsonschema:"exclusiveMinimum=0,example=250"`
	Unit     string  `json:"unit" jsonschema:"enum=g,enum=kg,enum=ml,enum=l,enum=tbsp,enum=tsp,enum=piece"`
}

func main() {
	dish := flag.String("dish", "a vegan lasagne", "what to cook")
	backend.Main("quickstart", "Quickstart asks a model for a typed recipe with structured.GenerateFrom[Recipe] and prints\n"+
		"the validated result: the struct's tags become the JSON Schema the answer must satisfy.",
		func(ctx context.Context) error { return run(ctx, *dish) })
}

func run(ctx context.Context, dish string) error {
	b, err := backend.Open("@cf/meta/llama-3.1-8b-instruct", os.Stderr)
	if err != nil {
		return fmt.Errorf("choose backend: %w", err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()

	r, err := structured.GenerateFrom[Recipe](ctx, b.Model, []llm.Message{llm.User("Write a recipe for " + dish + ".")},
		structured.WithSystem("You are a precise recipe writer. Quantities are metric."))
	if err != nil {
		return fmt.Errorf("generate recipe: %w", err)
	}
	rec := r.Value
	fmt.Printf("%s (%s, %s) — serves %d, %d min\n", rec.Title, rec.Cuisine, rec.Difficulty, rec.Servings, rec.Minutes)
	for _, in := range rec.Ingredients {
		fmt.Printf("  - %g %s %s\n", in.Quantity, in.Unit, in.Name)
	}
	for i, s := range rec.Steps {
		fmt.Printf("  %d. %s\n", i+1, strings.TrimSpace(s))
	}
	fmt.Fprintf(os.Stderr, "mode %s, %d attempt(s), %d tokens\n", r.Mode, r.Attempts, r.Usage.TotalTokens)
	fmt.Fprintln(os.Stderr, backend.Cost(r.Usage, b.Offline))
	return nil
}
