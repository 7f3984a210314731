package embed_test

import (
	"bytes"
	"context"
	"fmt"
	"log"

	"github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/llm/llmtest"
)

func ExampleIndex() {
	// The emulator stands in for Workers AI; with real credentials use llm.NewClient().
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()

	m := embed.New(client, "@cf/baai/bge-small-en-v1.5")
	ix := embed.NewIndex(m)
	err = ix.Add(ctx,
		embed.Document{ID: "reset", Text: "To reset your password, open Settings and choose Security.", Meta: map[string]string{"source": "faq.md"}},
		embed.Document{ID: "billing", Text: "Invoices are sent on the first day of each month.", Meta: map[string]string{"source": "billing.md"}},
	)
	if err != nil {
		log.Fatal(err)
	}

	// Save and load: the file remembers the model, so it cannot be searched with another.
	var file bytes.Buffer
	if err := ix.Save(&file); err != nil {
		log.Fatal(err)
	}
	ix, err = embed.LoadIndex(&file, m)
	if err != nil {
		log.Fatal(err)
	}

	// The emulator's vectors are hash-based, not semantic: only the same text is similar.
	// With Workers AI, "How do I change my password?" finds the same document.
	matches, err := ix.Search(ctx, "To reset your password, open Settings and choose Security.", 1)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d documents, %d dimensions\n", ix.Len(), m.Dimensions())
	fmt.Printf("%s (%s) %.2f\n", matches[0].ID, matches[0].Meta["source"], matches[0].Score)
	// Output:
	// 2 documents, 384 dimensions
	// reset (faq.md) 1.00
}

func ExampleChunk() {
	text := "Workers AI runs models on Cloudflare's network.\n\n" +
		"Embeddings turn text into vectors. Similar texts get similar vectors."
	for _, c := range embed.Chunk(text, 50, 10) {
		fmt.Printf("%q\n", c)
	}
	// Output:
	// "Workers AI runs models on Cloudflare's network."
	// "network.\n\nEmbeddings turn text into vectors."
	// "vectors. Similar texts get similar vectors."
}

func ExampleRerank() {
	srv := llmtest.NewServer(nil) // its reranker scores shared words, which suits an example
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	docs := []string{
		"Bananas are yellow.",
		"Paris is the capital of France.",
		"France borders Spain.",
	}
	ranked, err := embed.Rerank(context.Background(), client, "capital of France", docs, 2)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range ranked {
		fmt.Printf("%d %.2f %s\n", r.Index, r.Score, r.Text)
	}
	// Output:
	// 1 1.00 Paris is the capital of France.
	// 2 0.33 France borders Spain.
}

func ExampleModel_Embed() {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	m := embed.New(client, "@cf/baai/bge-base-en-v1.5",
		embed.WithConcurrency(8),
		embed.WithProgress(func(done, total int) { fmt.Printf("%d/%d\n", done, total) }))
	texts := make([]string, 200) // two requests of 100
	for i := range texts {
		texts[i] = fmt.Sprintf("passage %d", i)
	}
	vecs, err := m.Embed(context.Background(), texts)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(vecs), "vectors of", len(vecs[0]), "dimensions")
	fmt.Printf("similarity to itself %.2f\n", embed.Cosine(vecs[0], vecs[0]))
	// Output:
	// 100/200
	// 200/200
	// 200 vectors of 768 dimensions
	// similarity to itself 1.00
}
