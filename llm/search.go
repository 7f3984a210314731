package llm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// RemoteModel is one entry of the account's live model catalog (/ai/models/search).
type RemoteModel struct {
	ID          string // the service's uuid for the model
	Name        string // the model id used in calls, e.g. "@cf/openai/gpt-oss-120b"
	Description string
	Task        string // e.g. "Text Generation"
	// Properties holds the catalog properties by id ("context_window", "function_calling",
	// "price", "reasoning_effort", ...). Most values are JSON strings ("24000", "true"); price
	// and reasoning_effort are structured (testdata/recorded/*models-search-gpt-oss.json).
	Properties map[string]json.RawMessage
}

// SearchModels lists the models the service offers whose name or description matches
// query ("" lists the first page of all). It complements LookupModel, which is compiled
// in and works offline.
func (c *Client) SearchModels(ctx context.Context, query string) ([]RemoteModel, error) {
	u := c.accountURL("ai/models/search")
	if query = strings.TrimSpace(query); query != "" {
		u += "?search=" + url.QueryEscape(query)
	}
	var raw []struct {
		ID          string `json:"id"`
		Name        string `json:"name"`
		Description string `json:"description"`
		Task        struct {
			Name string `json:"name"`
		} `json:"task"`
		Properties []struct {
			ID    string          `json:"property_id"`
			Value json.RawMessage `json:"value"`
		} `json:"properties"`
	}
	if err := c.doJSON(ctx, http.MethodGet, u, nil, &raw); err != nil {
		return nil, fmt.Errorf("llm: search models: %w", err)
	}
	out := make([]RemoteModel, len(raw))
	for i, m := range raw {
		props := make(map[string]json.RawMessage, len(m.Properties))
		for _, p := range m.Properties {
			props[p.ID] = p.Value
		}
		out[i] = RemoteModel{ID: m.ID, Name: m.Name, Description: m.Description, Task: m.Task.Name, Properties: props}
	}
	return out, nil
}
