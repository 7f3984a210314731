package embed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/gowai/gowai/llm"
)

// RerankModel is the Workers AI model Rerank uses.
const RerankModel = "@cf/baai/bge-reranker-base"

// Ranked is one document scored by Rerank.
type Ranked struct {
	Index int    // position in the docs given to Rerank
	Text  string // docs[Index]
	Score float32
}

// Rerank scores how well each of docs answers query with a cross-encoder (RerankModel),
// which reads query and document together and so ranks more precisely than comparing
// embeddings; use it on the few dozen best matches of an Index search. It returns the k
// best, highest score first (ties in docs order), or all of them when k <= 0; a reply that
// scores fewer is an error, not a shorter ranking. No docs give no results and no request.
func Rerank(ctx context.Context, c *llm.Client, query string, docs []string, k int) ([]Ranked, error) {
	switch {
	case c == nil:
		return nil, errors.New("embed: rerank: nil llm.Client")
	case isBlank(query):
		return nil, errors.New("embed: rerank: empty query")
	case len(docs) == 0:
		return nil, nil
	}
	type passage struct {
		Text string `json:"text"`
	}
	in := struct {
		Query    string    `json:"query"`
		Contexts []passage `json:"contexts"`
		TopK     int       `json:"top_k,omitempty"`
	}{Query: query, Contexts: make([]passage, len(docs))}
	for i, d := range docs {
		if isBlank(d) {
			return nil, fmt.Errorf("embed: rerank: document %d is empty", i)
		}
		in.Contexts[i].Text = d
	}
	if k > 0 && k < len(docs) {
		in.TopK = k
	} else {
		k = len(docs)
	}
	// The reply is {response:[{id, score}]}, id indexing contexts; usage sits beside it
	// (testdata/recorded/marmarko__brainz__ai-run-bge-reranker-base.json).
	var out struct {
		Response []struct {
			ID    int     `json:"id"`
			Score float32 `json:"score"`
		} `json:"response"`
	}
	if err := c.Run(ctx, RerankModel, in, &out); err != nil {
		return nil, fmt.Errorf("embed: rerank: %w", err)
	}
	if len(out.Response) == 0 {
		return nil, fmt.Errorf("embed: rerank: %s returned no scores for %d documents", RerankModel, len(docs))
	}
	seen := make([]bool, len(docs))
	ranked := make([]Ranked, 0, len(out.Response))
	for _, r := range out.Response {
		if r.ID < 0 || r.ID >= len(docs) || seen[r.ID] {
			return nil, fmt.Errorf("embed: rerank: %s returned a bad or repeated id %d for %d documents", RerankModel, r.ID, len(docs))
		}
		seen[r.ID] = true
		ranked = append(ranked, Ranked{Index: r.ID, Text: docs[r.ID], Score: r.Score})
	}
	if len(ranked) < k {
		// Documents left unscored would vanish from the ranking without a word.
		return nil, fmt.Errorf("embed: rerank: %s returned %d scores for %d documents; %d were asked for", RerankModel, len(ranked), len(docs), k)
	}
	slices.SortFunc(ranked, func(a, b Ranked) int {
		return cmp.Or(cmp.Compare(b.Score, a.Score), cmp.Compare(a.Index, b.Index))
	})
	return ranked[:min(k, len(ranked))], nil
}
