package llm_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// emptyEnvelope is what Workers AI answers a stream request for gpt-oss or Kimi on /ai/run.
const emptyEnvelope = `{"result":{},"success":true,"errors":[],"messages":[]}`

// streams reports whether a request body asks for a stream; a body that is not JSON fails the test.
func streams(t *testing.T, body []byte) bool {
	t.Helper()
	var b map[string]json.RawMessage
	if err := json.Unmarshal(body, &b); err != nil {
		t.Errorf("request body is not a JSON object: %v", err)
		return false
	}
	_, ok := b["stream"]
	return ok
}

func TestStreamFallsBackWhenTheStreamAnswerIsEmpty(t *testing.T) {
	usage := llm.Usage{PromptTokens: 12, CompletionTokens: 5, TotalTokens: 17, Neurons: 1.5}
	tests := []struct {
		name   string
		model  string
		second llmtest.Reply
		want   []llm.Delta
	}{
		{
			name:   "gpt-oss text arrives as one delta with usage",
			model:  "@cf/openai/gpt-oss-120b",
			second: llmtest.Text("Hello from a whole reply.").WithUsage(usage),
			want:   []llm.Delta{{Text: "Hello from a whole reply.", FinishReason: "stop", Usage: &usage}},
		},
		{
			name:  "kimi tool calls arrive with the finish reason",
			model: "@cf/moonshotai/kimi-k2-instruct",
			second: llmtest.Calls(llm.ToolCall{ID: "call_a", Name: "read", Arguments: json.RawMessage(`{"path":"a.txt"}`)}).
				WithUsage(usage),
			want: []llm.Delta{{
				FinishReason: "tool_calls",
				ToolCalls:    []llm.ToolCall{{ID: "call_a", Name: "read", Arguments: json.RawMessage(`{"path":"a.txt"}`)}},
				Usage:        &usage,
			}},
		},
		{
			name:   "any model, not only those two",
			model:  "@cf/meta/llama-3.1-8b-instruct",
			second: llmtest.Text("legacy answer").WithUsage(usage),
			want:   []llm.Delta{{Text: "legacy answer", FinishReason: "stop", Usage: &usage}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := llmtest.NewServer(func(_ string, body []byte) llmtest.Reply {
				if streams(t, body) {
					return llmtest.Raw("application/json", []byte(emptyEnvelope))
				}
				return tt.second
			})
			defer srv.Close()
			c, err := srv.Client()
			if err != nil {
				t.Fatal(err)
			}
			var got []llm.Delta
			for d, err := range c.Model(tt.model).Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}) {
				if err != nil {
					t.Fatalf("stream error after %d deltas: %v", len(got), err)
				}
				got = append(got, d)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("deltas (-want +got):\n%s", diff)
			}
			reqs := srv.Requests()
			if len(reqs) != 2 {
				t.Fatalf("%d requests, want 2", len(reqs))
			}
			if !streams(t, reqs[0].Body) || streams(t, reqs[1].Body) {
				t.Errorf("first request streams: %v, second: %v; want true, then no stream key",
					streams(t, reqs[0].Body), streams(t, reqs[1].Body))
			}
		})
	}
}

func TestStreamFallbackIsTriedOnce(t *testing.T) {
	srv := llmtest.NewServer(func(string, []byte) llmtest.Reply {
		return llmtest.Raw("application/json", []byte(emptyEnvelope))
	})
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	var gotErr error
	deltas := 0
	for _, err := range c.Model("@cf/openai/gpt-oss-20b").Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}) {
		if err != nil {
			gotErr = err
			break
		}
		deltas++
	}
	if !errors.Is(gotErr, llm.ErrEmptyResponse) || deltas != 0 {
		t.Errorf("%d deltas, error %v; want none and ErrEmptyResponse", deltas, gotErr)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}

func TestStreamFallbackReportsTheSecondFailure(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Raw("application/json", []byte(emptyEnvelope)),
		llmtest.Fail(400, 5006, "bad input"),
	))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	var gotErr error
	for _, err := range c.Model("@cf/openai/gpt-oss-120b").Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}) {
		gotErr = err
	}
	if !errors.Is(gotErr, llm.ErrBadInput) {
		t.Errorf("error %v, want ErrBadInput from the second request", gotErr)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Errorf("%d requests, want 2", n)
	}
}
