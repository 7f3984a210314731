package structured_test

import (
	"context"
	"fmt"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/structured"
)

type City struct {
	Name       string `json:"name" jsonschema:"example=Lisbon"`
	Country    string `json:"country" jsonschema:"example=Portugal"`
	Population int    `json:"population" jsonschema:"minimum=0,example=545000"`
}

// Generate returns a validated value. Here the offline emulator answers; with credentials,
// llm.NewClient() reaches real Workers AI and nothing else changes.
func ExampleGenerate() {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, _ := srv.Client()

	city, err := structured.Generate[City](context.Background(), c.Model("@cf/meta/llama-3.1-8b-instruct"), "The capital of Portugal")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s, %s\n", city.Name, city.Country)
	// Output: Lisbon, Portugal
}

// An invalid answer is sent back with its problems; the second answer is valid.
func ExampleGenerateFrom() {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Text(`{"name":"Lisbon","country":"Portugal","population":-1}`),
		llmtest.Text("```json\n{\"name\":\"Lisbon\",\"country\":\"Portugal\",\"population\":545000}\n```"),
	))
	defer srv.Close()
	c, _ := srv.Client()

	r, err := structured.GenerateFrom[City](context.Background(), c.Model("@cf/meta/llama-3.1-8b-instruct"),
		[]llm.Message{llm.System("Answer with facts."), llm.User("The capital of Portugal")})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(r.Value.Name, r.Attempts, r.Mode)
	// Output: Lisbon 2 json_schema
}

// Stream delivers partial values as the JSON arrives; the last one is validated.
func ExampleStream() {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, _ := srv.Client()

	for p, err := range structured.Stream[City](context.Background(), c.Model("@cf/meta/llama-3.1-8b-instruct"), "The capital of Portugal") {
		if err != nil {
			fmt.Println(err)
			return
		}
		if p.Done {
			fmt.Println(p.Value.Name, p.Value.Country)
		}
	}
	// Output: Lisbon Portugal
}
