package llmtest_test

import (
	"context"
	"fmt"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// A scripted server: the first request is refused for capacity (and retried by the
// client, after a Retry-After that Server.Client shortens to 2 ms), the second gets the
// text. Requests records what arrived, token redacted.
func ExampleScript() {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Fail(429, 3040, "Capacity temporarily exceeded, please try again.").WithRetryAfter("2"),
		llmtest.Text("a short summary"),
	))
	defer srv.Close()
	c, _ := srv.Client()

	resp, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(context.Background(), llm.Request{
		Messages: []llm.Message{llm.User("summarise this")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
	for _, r := range srv.Requests() {
		fmt.Println(r.Status, r.Path, r.Header.Get("Authorization"))
	}
	// Output:
	// a short summary
	// 429 /accounts/test-account/ai/run/@cf/meta/llama-3.1-8b-instruct Bearer [REDACTED]
	// 200 /accounts/test-account/ai/run/@cf/meta/llama-3.1-8b-instruct Bearer [REDACTED]
}

// Without a script the deterministic test model answers: tools are called once each, then
// it replies; JSON requests get data valid for the schema.
func ExampleNewTestModel() {
	m := llmtest.NewTestModel()
	resp, _ := m.Generate(context.Background(), llm.Request{
		Messages: []llm.Message{llm.User("weather?")},
		Tools:    []llm.ToolDef{{Name: "weather", Parameters: []byte(`{"type":"object","properties":{"city":{"type":"string","examples":["Oslo"]}},"required":["city"]}`)}},
	})
	fmt.Println(resp.ToolCalls[0].Name, string(resp.ToolCalls[0].Arguments), resp.FinishReason)
	// Output: weather {"city":"Oslo"} tool_calls
}
