package llm_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// cutArgs is a tool call's arguments cut off by max_tokens.
const cutArgs = `{"a": 1, "b"`

// envelopeJSON wraps an /ai/run result in the Cloudflare envelope as a raw JSON reply.
func envelopeJSON(result string) llmtest.Reply {
	return llmtest.Raw("application/json", []byte(`{"result":`+result+`,"success":true,"errors":[],"messages":[]}`)).
		WithHeader("cf-ai-neurons", "2.50")
}

// quoted is s as a JSON string.
func quoted(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var readCall = llm.ToolCall{ID: "call_r", Name: "read", Arguments: json.RawMessage(`{"path":"a.txt"}`)}

// truncationCases are replies cut off (or not) in the middle of a tool call's arguments.
// want is nil when the reply must fail with a plain decode error naming the call instead.
var truncationCases = []struct {
	name      string
	model     string
	maxTokens int
	reply     llmtest.Reply
	want      *llm.TruncatedToolCallError
}{
	{
		name:  "chat.completion with finish_reason length keeps text, usage and the complete call",
		model: "@cf/qwen/qwen3-30b-a3b-fp8",
		reply: envelopeJSON(`{"object":"chat.completion","choices":[{"message":{"content":"Reading both.","tool_calls":[` +
			`{"id":"call_r","type":"function","function":{"name":"read","arguments":"{\"path\":\"a.txt\"}"}},` +
			`{"id":"call_w","type":"function","function":{"name":"write","arguments":` + quoted(cutArgs) + `}}]},` +
			`"finish_reason":"length"}],"usage":{"prompt_tokens":40,"completion_tokens":64,"total_tokens":104}}`),
		want: &llm.TruncatedToolCallError{
			Response: &llm.Response{Text: "Reading both.", FinishReason: "length", ToolCalls: []llm.ToolCall{readCall},
				Usage: llm.Usage{PromptTokens: 40, CompletionTokens: 64, TotalTokens: 104, Neurons: 2.5}},
			ID: "call_w", Name: "write", RawArguments: cutArgs,
		},
	},
	{
		name:      "legacy reply without a finish reason that used the whole budget",
		model:     "@cf/meta/llama-3.1-8b-instruct",
		maxTokens: 64,
		reply: envelopeJSON(`{"response":null,"tool_calls":[{"name":"write","arguments":` + quoted(cutArgs) + `}],` +
			`"usage":{"prompt_tokens":40,"completion_tokens":64,"total_tokens":104}}`),
		want: &llm.TruncatedToolCallError{
			Response: &llm.Response{FinishReason: "length", ToolCalls: []llm.ToolCall{},
				Usage: llm.Usage{PromptTokens: 40, CompletionTokens: 64, TotalTokens: 104, Neurons: 2.5}},
			Name: "write", RawArguments: cutArgs,
		},
	},
	{
		name:      "legacy reply without a finish reason within its budget is malformed",
		model:     "@cf/meta/llama-3.1-8b-instruct",
		maxTokens: 1000,
		reply: envelopeJSON(`{"response":null,"tool_calls":[{"name":"write","arguments":` + quoted(cutArgs) + `}],` +
			`"usage":{"prompt_tokens":40,"completion_tokens":64,"total_tokens":104}}`),
	},
	{
		name:  "finish_reason tool_calls with unfinished arguments is malformed",
		model: "@cf/qwen/qwen3-30b-a3b-fp8",
		reply: envelopeJSON(`{"object":"chat.completion","choices":[{"message":{"content":"","tool_calls":[` +
			`{"id":"call_w","type":"function","function":{"name":"write","arguments":` + quoted(cutArgs) + `}}]},` +
			`"finish_reason":"tool_calls"}]}`),
	},
	{
		name:  "arguments with a syntax error are malformed even at length",
		model: "@cf/qwen/qwen3-30b-a3b-fp8",
		reply: envelopeJSON(`{"object":"chat.completion","choices":[{"message":{"content":"","tool_calls":[` +
			`{"id":"call_w","type":"function","function":{"name":"write","arguments":"{\"a\":1}}"}}]},` +
			`"finish_reason":"length"}]}`),
	},
	{
		name:  "responses API object incomplete at max_output_tokens",
		model: "@cf/openai/gpt-oss-120b",
		reply: envelopeJSON(`{"object":"response","status":"incomplete","incomplete_details":{"reason":"max_output_tokens"},"output":[` +
			`{"type":"reasoning","content":[{"type":"reasoning_text","text":"need to write"}]},` +
			`{"type":"function_call","id":"fc_1","call_id":"call_w","name":"write","arguments":` + quoted(cutArgs) + `}],` +
			`"usage":{"input_tokens":40,"output_tokens":64,"total_tokens":104}}`),
		want: &llm.TruncatedToolCallError{
			Response: &llm.Response{Reasoning: "need to write", FinishReason: "length", ToolCalls: []llm.ToolCall{},
				Usage: llm.Usage{PromptTokens: 40, CompletionTokens: 64, TotalTokens: 104, Neurons: 2.5}},
			ID: "call_w", Name: "write", RawArguments: cutArgs,
		},
	},
	{
		name:  "a stream where none was asked for, cut at length",
		model: "@cf/qwen/qwen3-30b-a3b-fp8",
		reply: llmtest.SSE(
			`{"choices":[{"delta":{"content":"Writing."}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_w","function":{"name":"write","arguments":"{\"a\": 1, "}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"function":{"arguments":"\"b\""}}]},"finish_reason":"length"}]}`,
			`{"choices":[],"usage":{"prompt_tokens":40,"completion_tokens":64,"total_tokens":104}}`,
			`[DONE]`,
		).WithHeader("cf-ai-neurons", "2.50"),
		want: &llm.TruncatedToolCallError{
			Response: &llm.Response{Text: "Writing.", FinishReason: "length",
				Usage: llm.Usage{PromptTokens: 40, CompletionTokens: 64, TotalTokens: 104, Neurons: 2.5}},
			ID: "call_w", Name: "write", RawArguments: cutArgs,
		},
	},
}

func TestGenerateKeepsAReplyCutInAToolCall(t *testing.T) {
	for _, tt := range truncationCases {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(llmtest.Script(tt.reply))
			defer srv.Close()
			c, err := srv.Client()
			if err != nil {
				t.Fatal(err)
			}
			req := llm.Request{Messages: []llm.Message{llm.User("write it")}, MaxTokens: tt.maxTokens}
			resp, err := c.Model(tt.model).Generate(t.Context(), req)
			checkTruncation(t, resp, err, tt.want)
		})
	}
}

// checkTruncation checks the outcome of a call that was cut in a tool call (want set) or that
// carried malformed arguments (want nil).
func checkTruncation(t *testing.T, resp *llm.Response, err error, want *llm.TruncatedToolCallError) {
	t.Helper()
	if err == nil {
		t.Fatalf("reply %+v, want an error", resp)
	}
	got, isCut := errors.AsType[*llm.TruncatedToolCallError](err)
	if want == nil {
		if isCut || errors.Is(err, llm.ErrToolCallTruncated) {
			t.Fatalf("error %v is a truncation; want a decode error", err)
		}
		if !strings.Contains(err.Error(), "write") || !strings.HasPrefix(err.Error(), "llm: ") {
			t.Errorf("error %q does not name the call", err)
		}
		return
	}
	if !isCut || !errors.Is(err, llm.ErrToolCallTruncated) {
		t.Fatalf("error %v is not a *TruncatedToolCallError matching ErrToolCallTruncated", err)
	}
	if got.Response == nil || got.Response.RequestID == "" {
		t.Errorf("the reply %+v lacks the request id from the headers", got.Response)
	}
	if diff := cmp.Diff(want, got, cmpopts.IgnoreFields(llm.Response{}, "RequestID"), cmpopts.EquateEmpty()); diff != "" {
		t.Errorf("truncation (-want +got):\n%s", diff)
	}
	if !strings.Contains(err.Error(), `"write"`) || !strings.Contains(err.Error(), "max_tokens") {
		t.Errorf("error %q does not name the call and the cause", err)
	}
}

// streamTruncationCases are streams cut off (or not) in a tool call.
var streamTruncationCases = []struct {
	name      string
	maxTokens int
	events    []string
	wantText  string
	want      *llm.TruncatedToolCallError
}{
	{
		name: "chat chunks with finish_reason length: the deltas, then the truncation",
		events: []string{
			`{"choices":[{"delta":{"reasoning_content":"plan"}}]}`,
			`{"choices":[{"delta":{"content":"Reading "}}]}`,
			`{"choices":[{"delta":{"content":"both."}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_r","function":{"name":"read","arguments":"{\"path\":\"a.txt\"}"}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_w","function":{"name":"write","arguments":"{\"a\": 1, "}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":1,"function":{"arguments":"\"b\""}}]},"finish_reason":"length"}]}`,
			`{"response":"","usage":{"prompt_tokens":40,"completion_tokens":64,"total_tokens":104,"neurons":1.25}}`,
			`[DONE]`,
		},
		wantText: "Reading both.",
		want: &llm.TruncatedToolCallError{
			Response: &llm.Response{Text: "Reading both.", Reasoning: "plan", FinishReason: "length", ToolCalls: []llm.ToolCall{readCall},
				Usage: llm.Usage{PromptTokens: 40, CompletionTokens: 64, TotalTokens: 104, Neurons: 1.25}},
			ID: "call_w", Name: "write", RawArguments: cutArgs,
		},
	},
	{
		name:      "legacy stream without a finish reason that used the whole budget",
		maxTokens: 64,
		events: []string{
			`{"tool_calls":[{"index":0,"id":"call_w","function":{"name":"write","arguments":"{\"a\": 1, \"b\""}}]}`,
			`{"response":"","usage":{"prompt_tokens":40,"completion_tokens":64,"total_tokens":104,"neurons":1.25}}`,
			`[DONE]`,
		},
		want: &llm.TruncatedToolCallError{
			Response: &llm.Response{FinishReason: "length",
				Usage: llm.Usage{PromptTokens: 40, CompletionTokens: 64, TotalTokens: 104, Neurons: 1.25}},
			ID: "call_w", Name: "write", RawArguments: cutArgs,
		},
	},
	{
		name:      "legacy stream without a finish reason within its budget is malformed",
		maxTokens: 1000,
		events: []string{
			`{"tool_calls":[{"index":0,"id":"call_w","function":{"name":"write","arguments":"{\"a\": 1, \"b\""}}]}`,
			`{"response":"","usage":{"prompt_tokens":40,"completion_tokens":64,"total_tokens":104}}`,
			`[DONE]`,
		},
	},
	{
		name: "finish_reason stop with unfinished arguments is malformed",
		events: []string{
			`{"choices":[{"delta":{"content":"ok"}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_w","function":{"name":"write","arguments":"{\"a\": 1, \"b\""}}]},"finish_reason":"stop"}]}`,
			`[DONE]`,
		},
		wantText: "ok",
	},
	{
		name: "two unfinished calls are malformed",
		events: []string{
			`{"choices":[{"delta":{"tool_calls":[{"index":0,"id":"call_w","function":{"name":"write","arguments":"{\"a\": "}}]}}]}`,
			`{"choices":[{"delta":{"tool_calls":[{"index":1,"id":"call_x","function":{"name":"write","arguments":"{\"b\": "}}]},"finish_reason":"length"}]}`,
			`[DONE]`,
		},
	},
}

func TestStreamKeepsAJSONReplyCutInAToolCall(t *testing.T) {
	for _, tt := range truncationCases {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(llmtest.Script(tt.reply))
			defer srv.Close()
			c, err := srv.Client()
			if err != nil {
				t.Fatal(err)
			}
			req := llm.Request{Messages: []llm.Message{llm.User("write it")}, MaxTokens: tt.maxTokens}
			var gotErr error
			for d, err := range c.Model(tt.model).Stream(t.Context(), req) {
				if err != nil {
					gotErr = err
					break
				}
				if d.Usage != nil {
					t.Errorf("a final delta %+v arrived; want the error instead", d)
				}
			}
			want := tt.want
			if strings.HasPrefix(tt.name, "a stream") {
				want = streamed(want) // an event stream: the text went out as deltas
			}
			checkTruncation(t, nil, gotErr, want)
		})
	}
}

// streamed is want as Stream reports it: without the text and reasoning, which the deltas
// delivered and Stream does not keep.
func streamed(want *llm.TruncatedToolCallError) *llm.TruncatedToolCallError {
	if want == nil || want.Response == nil {
		return want
	}
	w, r := *want, *want.Response
	r.Text, r.Reasoning = "", ""
	w.Response = &r
	return &w
}

func TestStreamEndsWithTheTruncationOfACutToolCall(t *testing.T) {
	for _, tt := range streamTruncationCases {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(llmtest.Script(llmtest.SSE(tt.events...)))
			defer srv.Close()
			c, err := srv.Client()
			if err != nil {
				t.Fatal(err)
			}
			req := llm.Request{Messages: []llm.Message{llm.User("write it")}, MaxTokens: tt.maxTokens}
			var text strings.Builder
			var gotErr error
			for d, err := range c.Model("@cf/qwen/qwen3-30b-a3b-fp8").Stream(t.Context(), req) {
				if err != nil {
					gotErr = err
					break
				}
				if d.Usage != nil || d.ToolCalls != nil || d.FinishReason != "" {
					t.Errorf("a final delta %+v arrived; want the error instead", d)
				}
				text.WriteString(d.Text)
			}
			if text.String() != tt.wantText {
				t.Errorf("text deltas %q, want %q", text.String(), tt.wantText)
			}
			checkTruncation(t, nil, gotErr, streamed(tt.want))
		})
	}
}
