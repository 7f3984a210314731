// Command rag answers a question from a folder of Markdown files: it splits them into
// chunks, embeds and indexes them, saves the index and loads it back, finds the passages
// closest to the question, reranks them, and has a model answer from them with sources.
//
//	go run ./examples/rag -q "How do I test my app offline?"
//	go run ./examples/rag -dir docs -index /tmp/docs.idx -rerank=false
//	go run ./examples/rag -store vectorize -vindex my-docs
//
// With -store vectorize the vectors go to a Cloudflare Vectorize index (created when
// missing) instead of a file; the question is answered by the same code either way.
// Offline by default (the llmtest emulator, whose vectors are hash-based, so the ranking
// means nothing); real Workers AI with CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN set.
// With OPENAI_BASE_URL the answer comes from that server and the embeddings from the
// emulator, since such servers have no Workers AI embeddings models.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/examples/internal/backend"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

const (
	chatModel  = "@cf/meta/llama-3.1-8b-instruct"
	embedModel = "@cf/baai/bge-small-en-v1.5"
	maxFile    = 1 << 20 // larger files are skipped: this example reads whole files
	topK       = 4
)

func main() {
	dir := flag.String("dir", ".", "folder whose *.md files (README.md included) are indexed; subfolders are not read")
	question := flag.String("q", "How do I test my app offline?", "the question to answer")
	indexPath := flag.String("index", filepath.Join(os.TempDir(), "gowai-rag.idx"), "file the index is saved to")
	rerank := flag.Bool("rerank", true, "rerank the matches with "+embed.RerankModel)
	store := flag.String("store", "memory", "where the vectors live: memory (saved to -index) or vectorize (a Cloudflare Vectorize index; the emulator's when offline)")
	vindex := flag.String("vindex", "gowai-rag", "the Vectorize index of -store vectorize; created when missing")
	backend.Main("rag", "Rag answers a question from the Markdown files in -dir: it chunks them, embeds and indexes\n"+
		"the chunks (package embed; in memory, saved and loaded back, or in Cloudflare Vectorize),\n"+
		"finds the passages closest to the question, reranks them, and has a model answer from\n"+
		"them with numbered sources. Offline the vectors are hash-based, so rankings mean nothing;\n"+
		"with OPENAI_BASE_URL only the answer comes from that server, the embeddings from the emulator.",
		func(ctx context.Context) error {
			ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			return run(ctx, *dir, *question, *indexPath, *rerank, *store, *vindex)
		})
}

func run(ctx context.Context, dir, question, indexPath string, rerank bool, store, vindex string) error {
	if store != "memory" && store != "vectorize" {
		return backend.BadFlag("-store %q: want memory or vectorize", store)
	}
	b, err := backend.Open(chatModel, os.Stderr)
	if err != nil {
		return fmt.Errorf("choose backend: %w", err)
	}
	defer b.Close()
	client, offline := b.Client, b.Offline
	if client == nil {
		srv := llmtest.NewServer(nil)
		defer srv.Close()
		if client, err = srv.Client(); err != nil {
			return fmt.Errorf("start the emulator for embeddings: %w", err)
		}
		offline = true
		fmt.Fprintln(os.Stderr, "embeddings: an OpenAI-compatible server has no Workers AI embeddings; using the offline emulator for them")
	}
	if offline {
		fmt.Fprintln(os.Stderr, "offline: vectors are hash-based, rankings are not semantic")
	}

	docs, err := readDocs(dir)
	if err != nil {
		return fmt.Errorf("read -dir: %w", err)
	}
	m := embed.New(client, embedModel,
		embed.WithProgress(func(done, total int) {
			fmt.Fprintf(os.Stderr, "\rembedding %d/%d chunks", done, total)
			if done == total {
				fmt.Fprintln(os.Stderr)
			}
		}),
		// Chunks are sized to fit bge's 512 tokens, but text dense with symbols (tables,
		// code) can estimate higher: cut those, and say so, rather than fail.
		embed.WithTruncate(func(t embed.Truncation) {
			fmt.Fprintf(os.Stderr, "note: %s cut to %d of %d runes to fit the model\n", docs[t.Index].ID, t.KeptRunes, t.Runes)
		}))
	var ix *embed.Index
	if store == "vectorize" {
		v, err := openVectorize(ctx, client, vindex, m.Dimensions())
		if err != nil {
			return fmt.Errorf("open Vectorize index %s: %w", vindex, err)
		}
		ix = embed.NewIndexOn(m, v)
		if err := ix.Add(ctx, docs...); err != nil {
			return fmt.Errorf("index %d chunks: %w", len(docs), err)
		}
		// Vectorize applies writes a few seconds after accepting them: wait, so that the
		// search below sees every chunk.
		if err := v.Sync(ctx); err != nil {
			return fmt.Errorf("wait for Vectorize index %s: %w", vindex, err)
		}
		fmt.Fprintf(os.Stderr, "index: %d chunks in Vectorize index %s\n", len(docs), vindex)
	} else {
		ix = embed.NewIndex(m)
		if err := ix.Add(ctx, docs...); err != nil {
			return fmt.Errorf("index %d chunks: %w", len(docs), err)
		}
		if err := save(ix, indexPath); err != nil {
			return fmt.Errorf("save index: %w", err)
		}
		// A fresh Model, as a later run would make: loading checks it is the same model.
		if ix, err = load(indexPath, embed.New(client, embedModel)); err != nil {
			return fmt.Errorf("load index: %w", err)
		}
		fmt.Fprintf(os.Stderr, "index: %d chunks saved to and loaded from %s\n", ix.Len(), indexPath)
	}

	matches, err := ix.Search(ctx, question, topK)
	if err != nil {
		return fmt.Errorf("search: %w", err)
	}
	rerankScores := make([]float32, len(matches))
	if rerank && len(matches) > 1 {
		texts := make([]string, len(matches))
		for i, mt := range matches {
			texts[i] = mt.Text
		}
		ranked, err := embed.Rerank(ctx, client, question, texts, 0)
		if err != nil {
			return fmt.Errorf("rerank: %w", err)
		}
		reordered := make([]embed.Match, len(ranked))
		for i, r := range ranked {
			reordered[i], rerankScores[i] = matches[r.Index], r.Score
		}
		matches = reordered
	}

	var prompt strings.Builder
	for i, mt := range matches {
		fmt.Fprintf(&prompt, "[%d] (%s)\n%s\n\n", i+1, mt.ID, mt.Text)
	}
	fmt.Fprintf(&prompt, "Question: %s", question)
	resp, err := b.Model.Generate(ctx, llm.Request{
		Messages: []llm.Message{
			llm.System("Answer the question using only the numbered passages. Cite passages as [n]. " +
				"If they do not contain the answer, say so."),
			llm.User(prompt.String()),
		},
		MaxTokens: 500,
	})
	if err != nil {
		return fmt.Errorf("answer: %w", err)
	}
	fmt.Println(resp.Text)
	// The embedding calls report no usage to the caller; this is the answer's cost.
	fmt.Fprintln(os.Stderr, "answer "+backend.Cost(resp.Usage, b.Offline))
	fmt.Println("\nSources:")
	for i, mt := range matches {
		line := fmt.Sprintf("[%d] %s  cosine %.3f", i+1, mt.ID, mt.Score)
		if rerank && len(matches) > 1 {
			line += fmt.Sprintf("  rerank %.3f", rerankScores[i])
		}
		fmt.Println(line)
	}
	return nil
}

// openVectorize returns the Vectorize index name, creating it for the embeddings model
// when it does not exist yet.
func openVectorize(ctx context.Context, c *llm.Client, name string, dims int) (*embed.Vectorize, error) {
	if name == "" {
		return nil, errors.New("-store vectorize needs an index name (-vindex)")
	}
	v := embed.NewVectorize(c, name)
	desc, err := v.Describe(ctx)
	switch {
	case errors.Is(err, embed.ErrIndexNotFound):
		if _, err := v.Create(ctx, embed.IndexConfig{Model: embedModel, Description: "gowai examples/rag"}); err != nil {
			return nil, err
		}
		fmt.Fprintf(os.Stderr, "vectorize: created index %s for %s\n", name, embedModel)
	case err != nil:
		return nil, err
	case desc.Dimensions != dims:
		return nil, fmt.Errorf("vectorize index %s holds %d-dimensional vectors; %s makes %d: pick another -vindex", name, desc.Dimensions, embedModel, dims)
	}
	return v, nil
}

// readDocs chunks every *.md file directly in dir into documents "file#n".
func readDocs(dir string) ([]embed.Document, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var docs []embed.Document
	for _, e := range entries {
		if e.IsDir() || !strings.EqualFold(filepath.Ext(e.Name()), ".md") {
			continue
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		if info.Size() > maxFile {
			fmt.Fprintf(os.Stderr, "skipping %s: %d bytes, over 1 MiB\n", e.Name(), info.Size())
			continue
		}
		text, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		// 800 runes is about 270 estimated tokens of prose: well inside bge's 512.
		for i, chunk := range embed.Chunk(string(text), 800, 100) {
			docs = append(docs, embed.Document{
				ID:   e.Name() + "#" + strconv.Itoa(i+1),
				Text: chunk,
				Meta: map[string]string{"source": e.Name()},
			})
		}
	}
	if len(docs) == 0 {
		return nil, fmt.Errorf("no .md files with text in %s", dir)
	}
	return docs, nil
}

func save(ix *embed.Index, path string) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() { err = errors.Join(err, f.Close()) }()
	return ix.Save(f)
}

func load(path string, m *embed.Model) (*embed.Index, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return embed.LoadIndex(f, m)
}
