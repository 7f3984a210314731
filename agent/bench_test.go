package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"testing"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// BenchmarkAgentStep measures the loop's cost per step. One op is a run of two steps (the
// model calls add, then answers), so ns/step is half of ns/op. "TestModel" runs against the
// in-process llmtest.TestModel, whose own argument generation is most of the cost; "fixed
// replies" uses a model that returns canned responses, leaving the agent, the tool Set and
// argument validation.
func BenchmarkAgentStep(b *testing.B) {
	models := []struct {
		name string
		m    llm.Model
	}{
		{"TestModel", llmtest.NewTestModel()},
		{"fixed replies", fixedModel{}},
	}
	for _, bm := range models {
		b.Run(bm.name, func(b *testing.B) {
			a := agent.New(bm.m, agent.WithTools(addTool(nil)))
			b.ReportAllocs()
			for b.Loop() {
				res, err := a.Run(b.Context(), "What is 2 + 3?")
				if err != nil || len(res.Steps) != 2 {
					b.Fatalf("Run: %v (%+v)", err, res)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(2*b.N), "ns/step")
		})
	}
}

// fixedModel calls add once, then answers.
type fixedModel struct{}

var (
	fixedCall   = &llm.Response{ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "add", Arguments: json.RawMessage(`{"a":2,"b":3}`)}}, Usage: llm.Usage{TotalTokens: 20}}
	fixedAnswer = &llm.Response{Text: "5", Usage: llm.Usage{TotalTokens: 25}}
)

func (fixedModel) Generate(_ context.Context, req llm.Request) (*llm.Response, error) {
	if req.Messages[len(req.Messages)-1].Role == llm.RoleTool {
		return fixedAnswer, nil
	}
	return fixedCall, nil
}

func (fixedModel) Stream(context.Context, llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) { yield(llm.Delta{}, errors.New("fixedModel does not stream")) }
}
