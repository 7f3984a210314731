package llm_test

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

func TestWithUsageFuncReportsEachCall(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Text("a").WithUsage(llm.Usage{PromptTokens: 3, CompletionTokens: 1, TotalTokens: 4, Neurons: 2}),
		llmtest.Text("b").WithUsage(llm.Usage{PromptTokens: 5, CompletionTokens: 1, TotalTokens: 6, Neurons: 3}),
		llmtest.Text("c")))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []llm.Usage
	ctx := llm.WithUsageFunc(t.Context(), func(u llm.Usage) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, u)
	})
	m := c.Model("@cf/meta/llama-3.3-70b-instruct-fp8-fast")
	req := llm.Request{Messages: []llm.Message{llm.User("hi")}}
	if _, err := m.Generate(ctx, req); err != nil {
		t.Fatal(err)
	}
	for _, err := range m.Stream(ctx, req) {
		if err != nil {
			t.Fatal(err)
		}
	}
	// A nil func stops the reports a parent context asked for.
	if _, err := m.Generate(llm.WithUsageFunc(ctx, nil), req); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].TotalTokens != 4 || got[0].Neurons != 2 || got[1].TotalTokens != 6 || got[1].Neurons != 3 {
		t.Fatalf("reported %+v, want the two calls' usage", got)
	}
}

func TestByteArrayMarshalsAsNumbers(t *testing.T) {
	b, err := json.Marshal(map[string]any{"audio": llm.ByteArray{0, 7, 255}, "none": llm.ByteArray{}})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(b); got != `{"audio":[0,7,255],"none":[]}` {
		t.Errorf("got %s", got)
	}
}
