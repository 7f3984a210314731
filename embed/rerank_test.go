package embed_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

var passages = []string{
	"Paris is the capital of France.",
	"The Eiffel Tower is in Paris, the capital.",
	"Bananas are yellow.",
	"France borders Spain.",
}

func TestRerankMapsScoresBackToTheDocs(t *testing.T) {
	// The emulator scores by the share of query words a passage contains: "capital" and
	// "france" → 2/2 for passage 0, 1/2 for 1 and 3, 0 for 2.
	tests := []struct {
		name     string
		k        int
		wantTopK *int
		want     []embed.Ranked
	}{
		{"all when k is 0", 0, nil, []embed.Ranked{
			{Index: 0, Text: passages[0], Score: 1},
			{Index: 1, Text: passages[1], Score: 0.5},
			{Index: 3, Text: passages[3], Score: 0.5},
			{Index: 2, Text: passages[2], Score: 0},
		}},
		{"top 2", 2, new(2), []embed.Ranked{
			{Index: 0, Text: passages[0], Score: 1},
			{Index: 1, Text: passages[1], Score: 0.5},
		}},
		{"k over the count is all", 9, nil, []embed.Ranked{
			{Index: 0, Text: passages[0], Score: 1},
			{Index: 1, Text: passages[1], Score: 0.5},
			{Index: 3, Text: passages[3], Score: 0.5},
			{Index: 2, Text: passages[2], Score: 0},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newServer(t, nil)
			got, err := embed.Rerank(t.Context(), c, "capital France", passages, tt.k)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("ranking (-want +got):\n%s", diff)
			}
			r := srv.Requests()[0]
			if r.Model != embed.RerankModel {
				t.Errorf("model %q, want %s", r.Model, embed.RerankModel)
			}
			var in struct {
				Query    string `json:"query"`
				Contexts []struct {
					Text string `json:"text"`
				} `json:"contexts"`
				TopK *int `json:"top_k"`
			}
			if err := json.Unmarshal(r.Body, &in); err != nil {
				t.Fatal(err)
			}
			if in.Query != "capital France" || len(in.Contexts) != 4 || in.Contexts[2].Text != passages[2] {
				t.Errorf("body %s", r.Body)
			}
			if !cmp.Equal(in.TopK, tt.wantTopK) {
				t.Errorf("top_k %v sent, want %v", in.TopK, tt.wantTopK)
			}
		})
	}
}

func TestRerankRecordedReply(t *testing.T) {
	// Recording #20: two passages, usage beside response.
	result := recordedBody(t, "marmarko__brainz__ai-run-bge-reranker-base.json")["result"]
	_, c := newServer(t, llmtest.Script(llmtest.JSON(result)))
	got, err := embed.Rerank(t.Context(), c, "q", []string{"first", "second"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	want := []embed.Ranked{{Index: 0, Text: "first", Score: 0.7441944479942322}, {Index: 1, Text: "second", Score: 0.000037429923395393416}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ranking (-want +got):\n%s", diff)
	}
}

func TestRerankSortsAnUnsortedReply(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.JSON(map[string]any{"response": []map[string]any{
		{"id": 2, "score": 0.1}, {"id": 0, "score": 0.9}, {"id": 1, "score": 0.9},
	}})))
	got, err := embed.Rerank(t.Context(), c, "q", []string{"a", "b", "c"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].Index != 0 || got[1].Index != 1 || got[2].Index != 2 {
		t.Fatalf("order %+v, want by score, ties in docs order", got)
	}
}

func TestRerankErrors(t *testing.T) {
	tests := []struct {
		name  string
		reply llmtest.Reply
		docs  []string
		want  string
	}{
		{"id out of range", llmtest.JSON(map[string]any{"response": []map[string]any{{"id": 5, "score": 1}}}), []string{"a", "b"}, "bad or repeated id 5 for 2 documents"},
		{"negative id", llmtest.JSON(map[string]any{"response": []map[string]any{{"id": -1, "score": 1}}}), []string{"a"}, "bad or repeated id -1"},
		{"repeated id", llmtest.JSON(map[string]any{"response": []map[string]any{{"id": 0, "score": 1}, {"id": 0, "score": 1}}}), []string{"a", "b"}, "bad or repeated id 0"},
		{"no scores", llmtest.JSON(map[string]any{"response": []any{}}), []string{"a"}, "no scores for 1 documents"},
		{"fewer scores than documents", llmtest.JSON(map[string]any{"response": []map[string]any{{"id": 1, "score": 1}}}), []string{"a", "b", "c"}, "returned 1 scores for 3 documents; 3 were asked for"},
		{"blank document", llmtest.Model(), []string{"a", " "}, "document 1 is empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, c := newServer(t, llmtest.Script(tt.reply))
			_, err := embed.Rerank(t.Context(), c, "q", tt.docs, 0)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want %q", err, tt.want)
			}
		})
	}

	_, c := newServer(t, llmtest.Script(llmtest.Fail(http.StatusBadRequest, 5006, "Bad input")))
	if _, err := embed.Rerank(t.Context(), c, "q", []string{"a"}, 0); !errors.Is(err, llm.ErrBadInput) {
		t.Errorf("a service error %v does not wrap llm.ErrBadInput", err)
	}
	if _, err := embed.Rerank(t.Context(), c, " ", []string{"a"}, 0); err == nil || !strings.Contains(err.Error(), "empty query") {
		t.Errorf("error %v for a blank query", err)
	}
	if _, err := embed.Rerank(t.Context(), nil, "q", []string{"a"}, 0); err == nil {
		t.Error("no error for a nil client")
	}
	srv, c := newServer(t, nil)
	if got, err := embed.Rerank(t.Context(), c, "q", nil, 3); err != nil || got != nil || len(srv.Requests()) != 0 {
		t.Errorf("no docs: %v, %v, %d requests; want nothing", got, err, len(srv.Requests()))
	}
}
