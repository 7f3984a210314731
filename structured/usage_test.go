package structured_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/structured"
)

func usage(total int) llm.Usage {
	return llm.Usage{PromptTokens: total - 5, CompletionTokens: 5, TotalTokens: total}
}

func TestFailedCallsStillReportWhatTheyCost(t *testing.T) {
	bad1 := `{"customer":"Ada","status":"lost","items":[]}`
	bad2 := `{"customer":"Ada","status":"open","items":[]}`
	_, c := newServer(t, llmtest.Script(llmtest.Text(bad1).WithUsage(usage(15)), llmtest.Text(bad2).WithUsage(usage(25))))
	r, err := structured.GenerateFrom[Order](t.Context(), c.Model(promptModel), []llm.Message{llm.User("x")}, structured.WithMaxAttempts(2))
	var ve *structured.ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("err = %v", err)
	}
	if r == nil {
		t.Fatal("nil Result with a validation error")
	}
	if r.Usage.TotalTokens != 40 || r.Attempts != 2 || r.Raw != bad2 || r.Mode != structured.ModePrompt || r.Value.Customer != "" {
		t.Errorf("result %+v", r)
	}
	if ve.Usage.TotalTokens != 40 {
		t.Errorf("ValidationError.Usage = %+v", ve.Usage)
	}

	// A model error after a billed attempt: the Result keeps what that attempt cost.
	_, c = newServer(t, llmtest.Script(llmtest.Text(bad1).WithUsage(usage(15)), llmtest.Fail(400, 5006, "AiError: Bad input: messages too long")))
	r, err = structured.GenerateFrom[Order](t.Context(), c.Model(promptModel), []llm.Message{llm.User("x")})
	if !errors.Is(err, llm.ErrBadInput) || r == nil {
		t.Fatalf("r = %+v, err = %v", r, err)
	}
	if r.Usage.TotalTokens != 15 || r.Attempts != 1 || r.Raw != bad1 {
		t.Errorf("result %+v", r)
	}

	// Before any request, there is nothing to report.
	if r, err := structured.GenerateFrom[Order](t.Context(), c.Model(promptModel), nil); err == nil || r != nil {
		t.Errorf("no messages: r = %+v, err = %v", r, err)
	}
}

// cutAnswer is a Workers AI reply from a chat-style model whose call to the answer tool was
// cut off by max_tokens in the middle of its arguments; 56 tokens were billed for it.
var cutAnswer = llmtest.Raw("application/json", []byte(`{"result":{"id":"chatcmpl-cut","object":"chat.completion","created":1767225600,`+
	`"model":"@cf/moonshotai/kimi-k2.6","choices":[{"index":0,"message":{"role":"assistant","content":null,`+
	`"tool_calls":[{"id":"call_cut","type":"function","function":{"name":"answer","arguments":"{\"customer\":\"Ada\",\"sta"}}]},`+
	`"finish_reason":"length"}],"usage":{"prompt_tokens":40,"completion_tokens":16,"total_tokens":56}},`+
	`"success":true,"errors":[],"messages":[]}`))

func TestToolCallCutOffAtMaxTokensIsRetried(t *testing.T) {
	srv, c := newServer(t, llmtest.Script(
		cutAnswer,
		llmtest.Calls(llm.ToolCall{Name: "answer", Arguments: json.RawMessage(validOrder)}).WithUsage(usage(90)),
	))
	r, err := structured.GenerateFrom[Order](t.Context(), c.Model("@cf/moonshotai/kimi-k2.6"), []llm.Message{llm.User("an order")},
		structured.WithMode(structured.ModeTool))
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 2 || r.Usage.TotalTokens != 56+90 || r.Value.Customer != "Ada" {
		t.Errorf("attempts %d, usage %+v, value %+v", r.Attempts, r.Usage, r.Value)
	}
	msgs := sent(t, srv)[1].Messages
	n := len(msgs)
	if msgs[n-2].Role != "assistant" || msgs[n-2].Content != `{"customer":"Ada","sta` {
		t.Errorf("the cut arguments are not the previous answer: %+v", msgs[n-2])
	}
	if !strings.Contains(msgs[n-1].Content, "cut off at max_tokens") || !strings.Contains(msgs[n-1].Content, "answer more briefly") {
		t.Errorf("feedback = %q", msgs[n-1].Content)
	}

	// Cut off every time: a ValidationError that says so, with every attempt's usage.
	_, c = newServer(t, llmtest.Script(cutAnswer, cutAnswer))
	r, err = structured.GenerateFrom[Order](t.Context(), c.Model("@cf/moonshotai/kimi-k2.6"), []llm.Message{llm.User("an order")},
		structured.WithMode(structured.ModeTool), structured.WithMaxAttempts(2))
	var ve *structured.ValidationError
	if !errors.As(err, &ve) || !strings.Contains(ve.Error(), "cut off at max_tokens") {
		t.Fatalf("err = %v", err)
	}
	if r == nil || r.Usage.TotalTokens != 112 || ve.Usage.TotalTokens != 112 || ve.Output != `{"customer":"Ada","sta` {
		t.Errorf("result %+v, error %+v", r, ve)
	}
}
