package agent_test

import (
	"context"
	"errors"
	"testing"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

// What a tool spends on Workers AI through a Client counts toward the run's usage and budget.
func TestToolsWorkersAICallsCountTowardTheRun(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Calls(llm.ToolCall{ID: "c1", Name: "ask", Arguments: []byte(`{}`)}).WithUsage(llm.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}),
		llmtest.Text("inner").WithUsage(llm.Usage{PromptTokens: 100, CompletionTokens: 50, TotalTokens: 150, Neurons: 7}),
		llmtest.Text("done").WithUsage(llm.Usage{PromptTokens: 20, CompletionTokens: 5, TotalTokens: 25})))
	t.Cleanup(srv.Close)
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ask := tools.New("ask", "Ask another model", func(ctx context.Context, _ struct{}) (string, error) {
		r, err := c.Model(llama).Generate(ctx, llm.Request{Messages: []llm.Message{llm.User("inner question")}})
		if err != nil {
			return "", err
		}
		return r.Text, nil
	})
	res, err := agent.New(c.Model(llama), agent.WithTools(ask)).Run(t.Context(), "go")
	if err != nil || res.Text != "done" {
		t.Fatalf("Run = %q, %v", res.Text, err)
	}
	if u := res.Usage; u.TotalTokens != 190 || u.PromptTokens != 130 {
		t.Errorf("Usage = %+v, want the tool's 150 tokens in the run's 190", u)
	}
	if res.Spent.Neurons < 7 {
		t.Errorf("Spent = %+v, want the tool's 7 neurons in it", res.Spent)
	}

	// A budget the tool's call used up stops the run before its next model call.
	srv2 := llmtest.NewServer(llmtest.Script(
		llmtest.Calls(llm.ToolCall{ID: "c1", Name: "ask", Arguments: []byte(`{}`)}).WithUsage(llm.Usage{TotalTokens: 15}),
		llmtest.Text("inner").WithUsage(llm.Usage{TotalTokens: 150}),
		llmtest.Text("never asked")))
	t.Cleanup(srv2.Close)
	if c, err = srv2.Client(); err != nil {
		t.Fatal(err)
	}
	_, err = agent.New(c.Model(llama), agent.WithTools(ask), agent.WithBudget(agent.Budget{MaxTokens: 100})).Run(t.Context(), "go")
	if !errors.Is(err, agent.ErrBudgetExceeded) || len(srv2.Requests()) != 2 {
		t.Fatalf("error = %v after %d requests, want ErrBudgetExceeded after the tool's call", err, len(srv2.Requests()))
	}
}
