package embed_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

var searchDocs = []embed.Document{
	{ID: "faq#1", Text: "Reset your password from the account page.", Meta: map[string]string{"source": "faq.md", "lang": "en"}},
	{ID: "faq#2", Text: "Passwords expire every ninety days.", Meta: map[string]string{"source": "faq.md", "lang": "en"}},
	{ID: "faq#3", Text: "Réinitialisez votre mot de passe depuis la page du compte.", Meta: map[string]string{"source": "faq-fr.md", "lang": "fr"}},
	{ID: "notes", Text: "The office closes at six on Fridays."},
}

func newSearchIndex(t *testing.T, c *llm.Client) *embed.Index {
	t.Helper()
	return newSearchIndexOn(t, c, embed.NewMemoryStore())
}

// newSearchIndexOn adds searchDocs to an index on s.
func newSearchIndexOn(t *testing.T, c *llm.Client, s embed.Store) *embed.Index {
	t.Helper()
	ix := embed.NewIndexOn(embed.New(c, small), s)
	if err := ix.Add(t.Context(), searchDocs...); err != nil {
		t.Fatal(err)
	}
	return ix
}

func callSearch(t *testing.T, tool tools.Tool, args string) []embed.SearchHit {
	t.Helper()
	out, err := tool.Call(t.Context(), json.RawMessage(args))
	if err != nil {
		t.Fatalf("Call(%s): %v", args, err)
	}
	var hits []embed.SearchHit
	if err := json.Unmarshal([]byte(out), &hits); err != nil {
		t.Fatalf("answer %s: %v", out, err)
	}
	return hits
}

func TestSearchToolAnswersCitableChunks(t *testing.T) {
	_, c := newServer(t, nil)
	ix := newSearchIndex(t, c)
	tool := ix.SearchTool("search_docs", "Search the help pages", 3)
	def := tool.Def()
	if def.Name != "search_docs" || def.Description != "Search the help pages" || !strings.Contains(string(def.Parameters), `"query"`) ||
		strings.Contains(string(def.Parameters), "filter") {
		t.Fatalf("Def = %+v", def)
	}
	query := "How do I reset my password?"
	hits := callSearch(t, tool, `{"query":"How do I reset my password?"}`)
	want, err := ix.Search(t.Context(), query, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 3 {
		t.Fatalf("%d hits, want 3: %+v", len(hits), hits)
	}
	for i, h := range hits {
		w := want[i]
		source := w.Meta["source"]
		if source == "" {
			source = w.ID
		}
		if h.ID != w.ID || h.Text != w.Text || h.Score != w.Score || h.Source != source || len(h.Meta) != len(w.Meta) {
			t.Errorf("hit %d = %+v, want %+v from %s", i, h, w, source)
		}
		if _, ok := h.Meta[embed.TextKey]; ok {
			t.Errorf("hit %d repeats the text in meta", i)
		}
	}
	// The raw answer has the documented keys.
	out, _ := tool.Call(t.Context(), json.RawMessage(`{"query":"office hours"}`))
	for _, key := range []string{`"id":`, `"source":`, `"score":`, `"text":`} {
		if !strings.Contains(out, key) {
			t.Errorf("answer %s lacks %s", out, key)
		}
	}
}

func TestSearchToolFilters(t *testing.T) {
	_, c := newServer(t, nil)
	ix := newSearchIndex(t, c)
	tool := ix.SearchToolWith("search_docs", "Search the help pages", 4, embed.WithFilterKeys("lang", "source"))
	if p := string(tool.Def().Parameters); !strings.Contains(p, `"filter"`) || !strings.Contains(p, `"lang"`) {
		t.Fatalf("parameters %s offer no filter", p)
	}
	hits := callSearch(t, tool, `{"query":"password","filter":{"lang":"fr"}}`)
	if len(hits) != 1 || hits[0].ID != "faq#3" || hits[0].Source != "faq-fr.md" {
		t.Errorf("filtered hits = %+v, want faq#3 only", hits)
	}
	if hits := callSearch(t, tool, `{"query":"password","filter":{"lang":"de"}}`); hits == nil || len(hits) != 0 {
		t.Errorf("no match: hits = %#v, want an empty array", hits)
	}
	// A key not offered is refused before searching.
	if _, err := tool.Call(t.Context(), json.RawMessage(`{"query":"x","filter":{"year":"2024"}}`)); err == nil {
		t.Error("a filter on a key not offered was accepted")
	}
	plain := ix.SearchTool("search_docs", "Search", 4)
	if _, err := plain.Call(t.Context(), json.RawMessage(`{"query":"x","filter":{"lang":"fr"}}`)); err == nil {
		t.Error("a tool without filter keys accepted a filter")
	}
}

func TestSearchToolErrorsTheModelCanRead(t *testing.T) {
	srv, c := newServer(t, nil)
	ix := newSearchIndex(t, c)
	before := len(srv.Requests())
	for _, tc := range []struct {
		k          int
		args, want string
	}{
		{3, `{"query":"  "}`, "empty query"},
		{3, `{}`, "query"},
		{0, `{"query":"password"}`, "k 0"},
		{-2, `{"query":"password"}`, "k -2"},
	} {
		_, err := ix.SearchTool("search_docs", "Search", tc.k).Call(t.Context(), json.RawMessage(tc.args))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("k %d, %s: err = %v, want it to say %q", tc.k, tc.args, err, tc.want)
		}
	}
	if n := len(srv.Requests()) - before; n != 0 {
		t.Errorf("%d requests for searches that cannot run, want 0", n)
	}
	// The Embedder's failure reaches the model too.
	var nilIndex embed.Index
	if _, err := nilIndex.SearchTool("s", "d", 1).Call(t.Context(), json.RawMessage(`{"query":"x"}`)); err == nil ||
		err.Error() != "embed: s: search: the index has no Embedder" {
		t.Errorf("zero Index: err = %v; want it to name the tool and say embed: once", err)
	}
}

func TestSearchToolReranks(t *testing.T) {
	srv, c := newServer(t, nil)
	ix := newSearchIndex(t, c)
	tool := ix.SearchToolWith("search_docs", "Search", 2, embed.WithRerank(c, 0))
	query := "page account password reset"
	hits := callSearch(t, tool, `{"query":"page account password reset"}`)
	var contexts int
	for _, r := range srv.Requests() {
		if r.Model == embed.RerankModel {
			var in struct {
				Contexts []json.RawMessage `json:"contexts"`
			}
			if err := json.Unmarshal(r.Body, &in); err != nil {
				t.Fatal(err)
			}
			contexts = len(in.Contexts)
		}
	}
	if contexts != 4 { // four times k, but the index holds four documents
		t.Fatalf("the reranker saw %d candidates, want 4", contexts)
	}
	cands, err := ix.Search(t.Context(), query, 4)
	if err != nil {
		t.Fatal(err)
	}
	texts := make([]string, len(cands))
	for i, m := range cands {
		texts[i] = m.Text
	}
	ranked, err := embed.Rerank(t.Context(), c, query, texts, 2)
	if err != nil {
		t.Fatal(err)
	}
	if len(hits) != 2 {
		t.Fatalf("hits = %+v", hits)
	}
	for i, r := range ranked {
		if hits[i].ID != cands[r.Index].ID || hits[i].Score != r.Score {
			t.Errorf("hit %d = %s %v, want the reranker's %s %v", i, hits[i].ID, hits[i].Score, cands[r.Index].ID, r.Score)
		}
	}
}

// Two searches asked for in one step run at the same time: with each embedding reply taking
// a second, the step takes one second of fake time, not two.
func TestTwoSearchesInOneStepRunConcurrently(t *testing.T) {
	const chat = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	const latency = time.Second
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		turn, embeddings := 0, 0
		slow := false
		h := llmtest.NewHandler(func(model string, _ []byte) llmtest.Reply {
			mu.Lock()
			defer mu.Unlock()
			if model != chat {
				embeddings++
				if slow {
					return llmtest.Model().WithLatency(latency)
				}
				return llmtest.Model()
			}
			turn++
			if turn == 1 {
				return llmtest.Calls(
					llm.ToolCall{ID: "s1", Name: "search_docs", Arguments: json.RawMessage(`{"query":"reset password"}`)},
					llm.ToolCall{ID: "s2", Name: "search_docs", Arguments: json.RawMessage(`{"query":"office hours"}`)},
				)
			}
			return llmtest.Text("Use the account page; the office closes at six on Fridays.")
		})
		c, err := llm.NewClient(llm.WithBaseURL("http://emulator.invalid"), llm.WithAccount("acc", "token"),
			llm.WithHTTPClient(&http.Client{Transport: llmtest.InProcess(h)}))
		if err != nil {
			t.Fatal(err)
		}
		// The pacing of one embeddings request per 20 ms is lifted so that only the
		// latency counts.
		ix := embed.NewIndex(embed.New(c, small, embed.WithRequestsPerMinute(60_000_000)))
		if err := ix.Add(t.Context(), searchDocs...); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		slow = true
		mu.Unlock()

		a := agent.New(c.Model(chat), agent.WithTools(ix.SearchTool("search_docs", "Search the help pages", 2)))
		start := time.Now()
		res, err := a.Run(t.Context(), "How do I reset my password, and when does the office close?")
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < latency || took >= latency+10*time.Millisecond {
			t.Fatalf("the run took %s of fake time, want one latency of %s (two would mean the searches ran one after the other)", took, latency)
		}
		if len(res.Steps) < 1 || len(res.Steps[0].Results) != 2 {
			t.Fatalf("steps = %+v", res.Steps)
		}
		for _, r := range res.Steps[0].Results {
			if r.Err != nil || !strings.Contains(r.Output, `"source"`) {
				t.Errorf("result %+v", r)
			}
		}
		if embeddings != 3 { // the Add, then one per search
			t.Errorf("%d embeddings requests, want 3", embeddings)
		}
	})
}

// An index with a reranker reranks through the plain SearchTool too.
func TestSearchToolUsesTheIndexsReranker(t *testing.T) {
	srv, c := newServer(t, nil)
	ix := newSearchIndex(t, c).WithReranker(c, 0)
	hits := callSearch(t, ix.SearchTool("search_docs", "Search", 2), `{"query":"page account password reset"}`)
	reranked := 0
	for _, r := range srv.Requests() {
		if r.Model == embed.RerankModel {
			reranked++
		}
	}
	if reranked != 1 || len(hits) != 2 {
		t.Fatalf("%d rerank requests and %d hits, want 1 and 2", reranked, len(hits))
	}
	before := len(srv.Requests())
	callSearch(t, newSearchIndex(t, c).SearchTool("search_docs", "Search", 2), `{"query":"page account password reset"}`)
	for _, r := range srv.Requests()[before:] {
		if r.Model == embed.RerankModel {
			t.Fatal("an index without a reranker reranked")
		}
	}
}
