package agent_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// cutCall is a Workers AI reply from a chat-style model whose call to add was cut off by
// max_tokens in the middle of its arguments; 56 tokens were billed for it.
var cutCall = llmtest.Raw("application/json", []byte(`{"result":{"id":"chatcmpl-cut","object":"chat.completion","created":1767225600,`+
	`"model":"@cf/moonshotai/kimi-k2.6","choices":[{"index":0,"message":{"role":"assistant","content":null,`+
	`"tool_calls":[{"id":"call_cut","type":"function","function":{"name":"add","arguments":"{\"a\": 1, \"b\""}}]},`+
	`"finish_reason":"length"}],"usage":{"prompt_tokens":40,"completion_tokens":16,"total_tokens":56}},`+
	`"success":true,"errors":[],"messages":[]}`))

// These tests need llm to return *llm.TruncatedToolCallError for a tool call cut off at
// max_tokens; until it does, the cut reply fails the run with a decode error.

func TestToolCallCutOffAtMaxTokensIsShownToTheModel(t *testing.T) {
	srv, m := emulator(t, kimi,
		cutCall,
		llmtest.Calls(add("c2", 1, 2)).WithUsage(llm.Usage{PromptTokens: 80, CompletionTokens: 10, TotalTokens: 90}),
		llmtest.Text("1 + 2 = 3").WithUsage(llm.Usage{PromptTokens: 100, CompletionTokens: 5, TotalTokens: 105}))
	res, err := agent.New(m, agent.WithTools(addTool(nil))).Run(t.Context(), "1+2?")
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "1 + 2 = 3" || len(res.Steps) != 3 {
		t.Fatalf("Text = %q after %d steps, want the answer after 3", res.Text, len(res.Steps))
	}
	cut := res.Steps[0]
	if len(cut.Calls) != 0 || len(cut.Results) != 0 || cut.Usage.TotalTokens != 56 || cut.Response == nil || cut.Response.FinishReason != "length" {
		t.Fatalf("the cut step = %+v; want no calls run, its 56 tokens, the reply kept", cut)
	}
	if res.Usage.TotalTokens != 56+90+105 {
		t.Fatalf("Usage = %+v, want the cut reply's 56 tokens counted too", res.Usage)
	}
	note := bodies(t, srv)[1].Messages
	last := note[len(note)-1]
	if last.Role != "user" || !strings.Contains(last.Content, "add") || !strings.Contains(last.Content, "max_tokens") ||
		!strings.Contains(last.Content, `{"a": 1, "b"`) {
		t.Fatalf("second request ends with %+v; want a user turn naming the tool, max_tokens and the arguments so far", last)
	}
	roles := []llm.Role{}
	for _, msg := range res.Messages {
		roles = append(roles, msg.Role)
	}
	want := []llm.Role{llm.RoleUser, llm.RoleUser, llm.RoleAssistant, llm.RoleTool, llm.RoleAssistant}
	if len(roles) != len(want) {
		t.Fatalf("Messages roles = %v, want %v", roles, want)
	}
	for i := range want {
		if roles[i] != want[i] {
			t.Fatalf("Messages roles = %v, want %v", roles, want)
		}
	}
}

func TestToolCallsCutOffEveryTimeEndAtTheStepLimit(t *testing.T) {
	srv, m := emulator(t, kimi, cutCall, cutCall, llmtest.Text("I could not finish the call.").WithUsage(llm.Usage{TotalTokens: 7}))
	res, err := agent.New(m, agent.WithTools(addTool(nil)), agent.WithMaxSteps(2)).Run(t.Context(), "1+2?")
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "I could not finish the call." || len(res.Steps) != 3 || len(srv.Requests()) != 3 {
		t.Fatalf("Text = %q after %d steps and %d requests", res.Text, len(res.Steps), len(srv.Requests()))
	}
	if res.Usage.TotalTokens != 56+56+7 {
		t.Fatalf("Usage = %+v", res.Usage)
	}
}

func TestToolCallCutOffOverBudgetStopsTheRun(t *testing.T) {
	srv, m := emulator(t, kimi, cutCall)
	res, err := agent.New(m, agent.WithTools(addTool(nil)), agent.WithBudget(agent.Budget{MaxTokens: 50})).Run(t.Context(), "1+2?")
	if !errors.Is(err, agent.ErrBudgetExceeded) {
		t.Fatalf("error = %v, want ErrBudgetExceeded", err)
	}
	if len(res.Steps) != 1 || res.Usage.TotalTokens != 56 || len(srv.Requests()) != 1 {
		t.Fatalf("%d steps, usage %+v, %d requests", len(res.Steps), res.Usage, len(srv.Requests()))
	}
	if last := res.Messages[len(res.Messages)-1]; last.Role != llm.RoleUser || !strings.Contains(last.Content, "max_tokens") {
		t.Fatalf("history ends with %+v", last)
	}
}

// cutStream is cutCall as a chat-style event stream.
var cutStream = llmtest.SSE(
	`{"id":"chatcmpl-cut","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"role":"assistant","content":"Adding."}}]}`,
	`{"id":"chatcmpl-cut","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"id":"call_cut","type":"function","function":{"name":"add","arguments":""}}]}}]}`,
	`{"id":"chatcmpl-cut","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"a\": 1, \"b\""}}]}}]}`,
	`{"id":"chatcmpl-cut","object":"chat.completion.chunk","choices":[{"index":0,"delta":{},"finish_reason":"length"}],"usage":{"prompt_tokens":40,"completion_tokens":16,"total_tokens":56}}`,
	"[DONE]")

func TestStreamedToolCallCutOffAtMaxTokensIsShownToTheModel(t *testing.T) {
	srv, m := emulator(t, kimi,
		cutStream,
		llmtest.Calls(add("c2", 1, 2)).WithUsage(llm.Usage{PromptTokens: 80, CompletionTokens: 10, TotalTokens: 90}),
		llmtest.Text("1 + 2 = 3").WithUsage(llm.Usage{PromptTokens: 100, CompletionTokens: 5, TotalTokens: 105}))
	var res *agent.Result
	steps := 0
	for ev, err := range agent.New(m, agent.WithTools(addTool(nil))).Stream(t.Context(), "1+2?") {
		if err != nil {
			t.Fatal(err)
		}
		switch ev.Kind {
		case agent.EventStepFinished:
			steps++
		case agent.EventDone:
			res = ev.Result
		}
	}
	if res == nil || res.Text != "1 + 2 = 3" || steps != 3 || len(res.Steps) != 3 || res.Usage.TotalTokens != 56+90+105 {
		t.Fatalf("result %+v after %d step events", res, steps)
	}
	msgs := bodies(t, srv)[1].Messages
	if last := msgs[len(msgs)-1]; last.Role != "user" || !strings.Contains(last.Content, `{"a": 1, "b"`) {
		t.Fatalf("second request ends with %+v", last)
	}
	// The text streamed before the cut-off call stays in the conversation.
	if said := msgs[len(msgs)-2]; said.Role != "assistant" || said.Content != "Adding." {
		t.Fatalf("the streamed text is not in the history: %+v", said)
	}
}
