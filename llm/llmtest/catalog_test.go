package llmtest_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// TestSearchModels reads the emulated catalog through gowai's client: the search matches
// names, the properties come from llm's catalog, and the task, page and per_page
// parameters narrow the list.
func TestSearchModels(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ms, err := c.SearchModels(t.Context(), "GPT-OSS")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range ms {
		names = append(names, m.Name)
	}
	if !slices.Equal(names, []string{"@cf/openai/gpt-oss-120b", "@cf/openai/gpt-oss-20b"}) {
		t.Fatalf("found %q", names)
	}
	big := ms[0]
	if big.Task != "Text Generation" || big.ID == "" || big.ID == ms[1].ID ||
		string(big.Properties["context_window"]) != `"128000"` || string(big.Properties["function_calling"]) != `"true"` ||
		string(big.Properties["async_queue"]) != `"true"` || big.Properties["reasoning_effort"] == nil {
		t.Errorf("gpt-oss-120b listed as %+v", big)
	}
	var prices []struct {
		Unit  string  `json:"unit"`
		Price float64 `json:"price"`
	}
	if err := json.Unmarshal(big.Properties["price"], &prices); err != nil || len(prices) != 2 ||
		prices[0].Unit != "per M input tokens" || prices[0].Price != 0.35 || prices[1].Price != 0.75 {
		t.Errorf("price %s (%v), want $0.35 and $0.75 per M tokens", big.Properties["price"], err)
	}
	if _, ok := ms[1].Properties["async_queue"]; ok {
		t.Errorf("gpt-oss-20b, which the catalog does not batch, lists async_queue")
	}

	all, err := c.SearchModels(t.Context(), "")
	if err != nil {
		t.Fatal(err)
	}
	if want := min(len(llm.Models()), 100); len(all) != want {
		t.Errorf("an empty search lists %d models, want the first page of %d", len(all), want)
	}

	type info struct {
		Count      int `json:"count"`
		Page       int `json:"page"`
		PerPage    int `json:"per_page"`
		TotalCount int `json:"total_count"`
	}
	type page struct {
		Result []struct {
			Name string `json:"name"`
			Task struct {
				Name string `json:"name"`
			} `json:"task"`
		} `json:"result"`
		ResultInfo info `json:"result_info"`
	}
	get := func(query string) (int, page) {
		t.Helper()
		resp, body := send(t, srv, http.MethodGet, "/client/v4/accounts/a/ai/models/search?"+query, "")
		var p page
		if resp.StatusCode == http.StatusOK {
			if err := json.Unmarshal(body, &p); err != nil {
				t.Fatal(err)
			}
		}
		return resp.StatusCode, p
	}
	var embedders []string
	for _, m := range llm.Models() {
		if m.Task == llm.TaskTextEmbeddings {
			embedders = append(embedders, m.ID)
		}
	}
	status, p := get("task=text+embeddings&per_page=2&page=2")
	if status != 200 || len(p.Result) != min(2, max(len(embedders)-2, 0)) || p.Result[0].Name != embedders[2] ||
		p.Result[0].Task.Name != "Text Embeddings" || p.ResultInfo != (info{len(p.Result), 2, 2, len(llm.Models())}) {
		t.Errorf("second page of 2 embedding models: %d %+v, want it to start at %s", status, p, embedders[2])
	}
	if status, p := get("search=no-such-model"); status != 200 || p.Result == nil || len(p.Result) != 0 {
		t.Errorf("a search that finds nothing: %d %+v, want an empty list", status, p)
	}
	for _, q := range []string{"page=0", "per_page=x"} {
		if status, _ := get(q); status != http.StatusBadRequest {
			t.Errorf("%s: status %d, want 400", q, status)
		}
	}
	if resp, _ := post(t, srv, "/accounts/a/ai/models/search", `{}`); resp.StatusCode != http.StatusBadRequest {
		t.Errorf("POST: status %d, want the 400 of an unknown route", resp.StatusCode)
	}
}
