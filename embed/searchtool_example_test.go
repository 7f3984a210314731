package embed_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

func ExampleIndex_SearchTool() {
	// The emulator stands in for Workers AI; with real credentials use llm.NewClient().
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	ix := embed.NewIndex(embed.New(client, "@cf/baai/bge-small-en-v1.5"))
	err = ix.Add(ctx,
		embed.Document{ID: "reset", Text: "To reset your password, open Settings and choose Security.", Meta: map[string]string{"source": "faq.md"}},
		embed.Document{ID: "billing", Text: "Invoices are sent on the first day of each month.", Meta: map[string]string{"source": "billing.md"}},
	)
	if err != nil {
		log.Fatal(err)
	}
	search := ix.SearchTool("search_docs", "Search the help pages; cite the source of what you use.", 1)

	// What the model reads when it calls the tool:
	out, err := search.Call(ctx, json.RawMessage(`{"query":"To reset your password, open Settings and choose Security."}`))
	if err != nil {
		log.Fatal(err)
	}
	var hits []embed.SearchHit
	if err := json.Unmarshal([]byte(out), &hits); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s from %s, score %.2f\n", hits[0].ID, hits[0].Source, hits[0].Score)

	// Given to an agent, the model decides when to search; the emulator's test model calls
	// every tool it is offered once, then answers.
	a := agent.New(client.Model("@cf/meta/llama-3.3-70b-instruct-fp8-fast"), agent.WithTools(search))
	res, err := a.RunMessages(ctx, []llm.Message{llm.User("How do I reset my password?")})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Steps[0].Results[0].Call.Name)
	// Output:
	// reset from faq.md, score 1.00
	// search_docs
}
