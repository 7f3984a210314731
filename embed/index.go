package embed

import (
	"context"
	"fmt"
	"github.com/gowai/gowai/llm"
)

// Document is a text to index. Meta travels with it and comes back with search results.
type Document struct {
	ID   string
	Text string
	Meta map[string]string
}

// Match is a document found by Index.Search, with its cosine similarity to the query.
type Match struct {
	Document
	Score float32
}

// TextKey is the metadata key under which an Index keeps each document's text in its Store,
// beside the document's Meta; Meta may not use it.
const TextKey = "text"

// Index finds the documents most similar in meaning to a query. It embeds documents with an
// Embedder and keeps the vectors in a Store. An Index is safe for concurrent use: searches go
// on while documents are added, since embedding happens before the Store is locked.
type Index struct {
	e     Embedder
	store Store

	// The reranker of the index's search tools (WithReranker).
	rerank     *llm.Client
	candidates int
}

// NewIndex returns an empty Index in memory (on a MemoryStore), which Save can write out.
func NewIndex(e Embedder) *Index { return NewIndexOn(e, NewMemoryStore()) }

// NewIndexOn returns an Index over the documents in s, which may already hold some.
func NewIndexOn(e Embedder, s Store) *Index { return &Index{e: e, store: s} }

// WithReranker gives the index a reranker: the search tools it makes (SearchTool,
// SearchToolWith) re-score their candidates with Rerank on c, as WithRerank(c, candidates)
// does for one tool. Call it before the index is used; it returns ix.
func (ix *Index) WithReranker(c *llm.Client, candidates int) *Index {
	ix.rerank, ix.candidates = c, candidates
	return ix
}

func (ix *Index) check(op string) error {
	switch {
	case ix.e == nil:
		return fmt.Errorf("embed: %s: the index has no Embedder", op)
	case ix.store == nil:
		return fmt.Errorf("embed: %s: the index has no Store", op)
	}
	return nil
}

// Add indexes docs. Only documents that are new, or whose text changed, are embedded: a
// document already stored with the same ID and text is skipped, or, if only its Meta
// changed, stored again with its old vector. Every document needs a non-empty ID, unique
// within the call, and a non-blank text.
//
// When embedding fails nothing is stored, and the error is the Embedder's: the text indexes
// it names count only the documents that needed embedding, in the order given.
func (ix *Index) Add(ctx context.Context, docs ...Document) error {
	if err := ix.check("add"); err != nil {
		return err
	}
	if len(docs) == 0 {
		return nil
	}
	ids := make([]string, len(docs))
	seen := make(map[string]bool, len(docs))
	for i, d := range docs {
		switch {
		case d.ID == "":
			return fmt.Errorf("embed: add: document %d has an empty ID", i)
		case seen[d.ID]:
			return fmt.Errorf("embed: add: document %d repeats the ID %q", i, d.ID)
		case isBlank(d.Text):
			return fmt.Errorf("embed: add: document %q has no text", d.ID)
		}
		if _, ok := d.Meta[TextKey]; ok {
			return fmt.Errorf("embed: add: document %q: Meta key %q is reserved for the text", d.ID, TextKey)
		}
		seen[d.ID] = true
		ids[i] = d.ID
	}
	stored, err := ix.store.Get(ctx, ids...)
	if err != nil {
		return fmt.Errorf("embed: add: %w", err)
	}
	old := make(map[string]Vector, len(stored))
	for _, v := range stored {
		old[v.ID] = v
	}

	var (
		upsert []Vector
		texts  []string
		at     []int // upsert[at[j]] gets the vector of texts[j]
	)
	for _, d := range docs {
		md := metadata(d)
		prev, ok := old[d.ID]
		if ok && prev.Metadata[TextKey] == d.Text {
			if !sameMetadata(prev.Metadata, md) {
				upsert = append(upsert, Vector{ID: d.ID, Values: prev.Values, Metadata: md, Namespace: prev.Namespace})
			}
			continue
		}
		at = append(at, len(upsert))
		texts = append(texts, d.Text)
		upsert = append(upsert, Vector{ID: d.ID, Metadata: md})
	}
	if len(texts) > 0 {
		vecs, err := ix.e.Embed(ctx, texts)
		if err != nil {
			return fmt.Errorf("embed: add: %w", err)
		}
		if len(vecs) != len(texts) {
			return fmt.Errorf("embed: add: the Embedder returned %d vectors for %d texts", len(vecs), len(texts))
		}
		for j, v := range vecs {
			upsert[at[j]].Values = v
		}
	}
	if len(upsert) == 0 {
		return nil
	}
	if err := ix.store.Upsert(ctx, upsert); err != nil {
		return fmt.Errorf("embed: add: %w", err)
	}
	return nil
}

// metadata is what the Store keeps for d: its Meta and, under TextKey, its text.
func metadata(d Document) map[string]any {
	md := make(map[string]any, len(d.Meta)+1)
	for k, v := range d.Meta {
		md[k] = v
	}
	md[TextKey] = d.Text
	return md
}

// sameMetadata reports whether stored holds exactly the string values of md.
func sameMetadata(stored, md map[string]any) bool {
	if len(stored) != len(md) {
		return false
	}
	for k, v := range md {
		if s, ok := stored[k].(string); !ok || s != v {
			return false
		}
	}
	return true
}

// Search returns the k documents most similar to query, most similar first (fewer when the
// index holds fewer). The query is embedded with the index's Embedder.
func (ix *Index) Search(ctx context.Context, query string, k int) ([]Match, error) {
	if err := ix.check("search"); err != nil {
		return nil, err
	}
	switch {
	case k < 1:
		return nil, fmt.Errorf("embed: search: k %d: must be at least 1", k)
	case isBlank(query):
		return nil, fmt.Errorf("embed: search: empty query")
	}
	vecs, err := ix.e.Embed(ctx, []string{query})
	if err != nil {
		return nil, fmt.Errorf("embed: search: %w", err)
	}
	if len(vecs) != 1 {
		return nil, fmt.Errorf("embed: search: the Embedder returned %d vectors for 1 text", len(vecs))
	}
	hits, err := ix.store.Query(ctx, vecs[0], Query{TopK: k, ReturnMetadata: true})
	if err != nil {
		return nil, fmt.Errorf("embed: search: %w", err)
	}
	out := make([]Match, len(hits))
	for i, h := range hits {
		d := Document{ID: h.ID}
		for key, v := range h.Metadata {
			s, ok := v.(string)
			if !ok {
				s = fmt.Sprint(v) // only a Store filled by other means holds anything else
			}
			if key == TextKey {
				d.Text = s
				continue
			}
			if d.Meta == nil {
				d.Meta = make(map[string]string, len(h.Metadata)-1)
			}
			d.Meta[key] = s
		}
		out[i] = Match{Document: d, Score: h.Score}
	}
	return out, nil
}

// Delete removes the documents with the given IDs; unknown IDs are ignored.
func (ix *Index) Delete(ctx context.Context, ids ...string) error {
	if err := ix.check("delete"); err != nil {
		return err
	}
	if err := ix.store.Delete(ctx, ids...); err != nil {
		return fmt.Errorf("embed: delete: %w", err)
	}
	return nil
}

// Len returns the number of documents in the index, or -1 when its Store cannot count them
// (a Store counts when it has a Len() int method, as MemoryStore does).
func (ix *Index) Len() int {
	if s, ok := ix.store.(interface{ Len() int }); ok {
		return s.Len()
	}
	return -1
}
