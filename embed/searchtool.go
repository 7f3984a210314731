package embed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// SearchOption configures a tool made by Index.SearchToolWith.
type SearchOption func(*searchConfig)

type searchConfig struct {
	rerank     *llm.Client
	candidates int
	filterKeys []string
}

// WithRerank makes the tool re-score the index's best candidates matches (at least k; 0
// means four times k) with Rerank on c before answering the k best. Scores are then the
// reranker's, not cosine similarities.
func WithRerank(c *llm.Client, candidates int) SearchOption {
	return func(s *searchConfig) { s.rerank, s.candidates = c, candidates }
}

// WithFilterKeys offers the model an optional "filter" argument: an object whose properties
// are the given metadata keys, each an exact string value a chunk's Meta must have. A
// Vectorize index filters only on properties it has a metadata index for.
func WithFilterKeys(keys ...string) SearchOption {
	return func(s *searchConfig) { s.filterKeys = append(s.filterKeys, keys...) }
}

// SearchHit is one chunk in a search tool's answer, as the model reads it.
type SearchHit struct {
	ID     string            `json:"id"`
	Source string            `json:"source"` // Meta["source"], or the ID when there is none
	Score  float32           `json:"score"`  // cosine similarity, or the reranker's score with WithRerank
	Text   string            `json:"text"`
	Meta   map[string]string `json:"meta,omitempty"`
}

// SearchTool returns a tool that lets a model search the index. The model sends
// {"query": "..."} (and, with WithFilterKeys, an optional "filter"); the tool answers the k
// best chunks, best first, as a JSON array of SearchHit objects ({"id", "source", "score",
// "text", "meta"}) that the model can cite by source. An empty query, or k below 1, is an
// error the model reads as the call's result. When the index has a reranker (WithReranker),
// the candidates are reranked first; SearchToolWith sets reranking and filters per tool.
//
// Like any tool, several searches the model asks for in one step run at the same time
// (tools.Set, agent).
func (ix *Index) SearchTool(name, description string, k int) tools.Tool {
	return ix.SearchToolWith(name, description, k)
}

// SearchToolWith is SearchTool with options: with WithRerank the index's best candidates are
// re-scored by a cross-encoder first, and with WithFilterKeys the model may filter on
// metadata.
func (ix *Index) SearchToolWith(name, description string, k int, opts ...SearchOption) tools.Tool {
	cfg := searchConfig{rerank: ix.rerank, candidates: ix.candidates}
	for _, o := range opts {
		o(&cfg)
	}
	params := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"query": map[string]any{"type": "string", "description": "what to look for, in words"},
		},
		"required":             []string{"query"},
		"additionalProperties": false,
	}
	if len(cfg.filterKeys) > 0 {
		props := map[string]any{}
		for _, key := range cfg.filterKeys {
			props[key] = map[string]any{"type": "string"}
		}
		params["properties"].(map[string]any)["filter"] = map[string]any{
			"type":                 "object",
			"description":          "optional: only chunks whose metadata has exactly these values",
			"properties":           props,
			"additionalProperties": false,
		}
	}
	schema, err := json.Marshal(params)
	if err != nil {
		panic(err) // only maps of strings: cannot fail
	}
	return tools.Func(name, description, schema, func(ctx context.Context, raw json.RawMessage) (string, error) {
		var args struct {
			Query  string            `json:"query"`
			Filter map[string]string `json:"filter"`
		}
		if err := json.Unmarshal(raw, &args); err != nil {
			return "", toolError{name, err}
		}
		hits, err := ix.searchTool(ctx, cfg, args.Query, args.Filter, k)
		if err != nil {
			return "", toolError{name, err}
		}
		b, err := json.Marshal(hits)
		if err != nil {
			return "", toolError{name, err}
		}
		return string(b), nil
	})
}

// toolError is the error of a search tool's call: "embed: <tool name>: " and the error,
// which says "embed: " once even when err already starts with it (the Embedder's, the
// Store's, Rerank's). The model reads it as the call's result.
type toolError struct {
	name string
	err  error
}

func (e toolError) Error() string {
	return "embed: " + e.name + ": " + strings.TrimPrefix(e.err.Error(), "embed: ")
}

func (e toolError) Unwrap() error { return e.err }

// searchTool runs one search of a SearchTool.
func (ix *Index) searchTool(ctx context.Context, cfg searchConfig, query string, filter map[string]string, k int) ([]SearchHit, error) {
	switch {
	case k < 1:
		return nil, fmt.Errorf("the tool was made with k %d: it must be at least 1", k)
	case isBlank(query):
		return nil, errors.New("empty query: send what to look for in \"query\"")
	}
	if err := ix.check("search"); err != nil {
		return nil, err
	}
	n := k
	if cfg.rerank != nil {
		n = max(cfg.candidates, k)
		if cfg.candidates <= 0 {
			n = 4 * k
		}
	}
	vecs, err := ix.e.Embed(ctx, []string{query})
	if err != nil {
		return nil, err
	}
	if len(vecs) != 1 {
		return nil, fmt.Errorf("the Embedder returned %d vectors for 1 text", len(vecs))
	}
	q := Query{TopK: n, ReturnMetadata: true}
	if len(filter) > 0 {
		q.Filter = make(map[string]any, len(filter))
		for key, v := range filter {
			q.Filter[key] = v
		}
	}
	found, err := ix.store.Query(ctx, vecs[0], q)
	if err != nil {
		return nil, err
	}
	hits := make([]SearchHit, len(found))
	for i, h := range found {
		hits[i] = SearchHit{ID: h.ID, Score: h.Score}
		for key, v := range h.Metadata {
			s, ok := v.(string)
			if !ok {
				s = fmt.Sprint(v)
			}
			if key == TextKey {
				hits[i].Text = s
				continue
			}
			if hits[i].Meta == nil {
				hits[i].Meta = make(map[string]string, len(h.Metadata))
			}
			hits[i].Meta[key] = s
		}
		hits[i].Source = hits[i].Meta["source"]
		if hits[i].Source == "" {
			hits[i].Source = h.ID
		}
	}
	if cfg.rerank == nil || len(hits) == 0 {
		return hits, nil
	}
	// Rerank refuses blank documents; a chunk without text cannot answer anything.
	hits = slices.DeleteFunc(hits, func(h SearchHit) bool { return isBlank(h.Text) })
	texts := make([]string, len(hits))
	for i, h := range hits {
		texts[i] = h.Text
	}
	ranked, err := Rerank(ctx, cfg.rerank, query, texts, k)
	if err != nil {
		return nil, err
	}
	out := make([]SearchHit, len(ranked))
	for i, r := range ranked {
		out[i] = hits[r.Index]
		out[i].Score = r.Score
	}
	return out, nil
}
