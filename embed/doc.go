// Package embed turns text into vectors with Workers AI embeddings models and finds
// documents by meaning: batching and concurrency for large corpora, cosine similarity, an
// index over a vector Store, text chunking, and reranking.
//
// A Model embeds texts with one model, splitting them into requests the service accepts
// (at most 100 texts and a token budget per request), sending several at once under the
// model's requests-per-minute limit, and returning unit-length vectors in input order:
//
//	m := embed.New(client, "@cf/baai/bge-small-en-v1.5", embed.WithConcurrency(8))
//	vecs, err := m.Embed(ctx, texts)
//
// A text longer than the model reads (512 tokens for the bge family) is an error naming it,
// never cut silently; split long documents with Chunk first (800 runes a chunk keeps prose
// well inside bge's limit), or opt in to cutting with WithTruncate.
//
// An Index keeps documents with their vectors and searches them:
//
//	ix := embed.NewIndex(m)
//	err := ix.Add(ctx, embed.Document{ID: "faq#1", Text: chunk, Meta: map[string]string{"source": "faq.md"}})
//	matches, err := ix.Search(ctx, "How do I reset my password?", 4)
//
// Add embeds only documents that are new or changed, so re-adding a corpus is cheap. The
// vectors live in a Store. NewIndex uses a MemoryStore, searched exhaustively (about 14 ms
// for 100,000 bge-small vectors on two cores); Save and LoadIndex write it to a file and
// read it back, and the file remembers the model, so that an index is never searched with
// another model's vectors. NewIndexOn takes any other Store, such as Cloudflare Vectorize
// for a corpus past one machine, with the same Add and Search code:
//
//	vz := embed.NewVectorize(client, "docs")
//	_, err := vz.Create(ctx, embed.IndexConfig{Model: "@cf/baai/bge-small-en-v1.5"})
//	ix := embed.NewIndexOn(m, vz)
//
// Vectorize writes are NDJSON batches of at most 5,000 vectors, checked against the
// service's limits before anything is sent; the service applies them asynchronously, so
// Vectorize.WaitFor (or WithWaitForWrites) waits until a write is searchable. Filters are
// built with Eq, In, Lt and friends and work on both stores.
//
// For very large corpora, WithQueue sends the work through Workers AI's asynchronous batch
// API (llm.Client.Queue) instead of many synchronous requests.
//
// Rerank re-scores the best matches with a cross-encoder, which reads query and document
// together, for a more precise order before they go into a prompt.
//
// Index.SearchTool hands retrieval to a model as a tool (for an agent, or any tools.Set):
// the model sends {"query": "..."} and reads back the k best chunks as JSON, each with its
// id, source (Meta["source"], else the id), score, text and metadata, so that it can cite
// what it used. An index given a reranker (WithReranker) re-scores the candidates with the
// cross-encoder first; with SearchToolWith, WithFilterKeys lets the model narrow a search by
// metadata values, and WithRerank sets reranking for one tool. Several searches asked
// for in one step run at the same time, like any tool calls:
//
//	search := ix.SearchToolWith("search_docs", "Search the help pages; cite sources.", 4,
//		embed.WithRerank(client, 20))
//	a := agent.New(client.Model("@cf/meta/llama-3.3-70b-instruct-fp8-fast"), agent.WithTools(search))
//
// Vectors of different models, or of one bge model with different poolings, do not
// compare: keep one Model per index.
package embed
