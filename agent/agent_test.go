package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/structured"
	"github.com/gowai/gowai/tools"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	llama = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	// legacy answers in the legacy family: tool calls without ids, usage without neurons.
	legacy = "@cf/meta/llama-3.1-8b-instruct"
	kimi   = "@cf/moonshotai/kimi-k2.6" // chat family: ids as the reply gives them
)

// emulator starts the Workers AI emulator answering with replies in order, and returns it
// with model on it. Retries are off so that every scripted reply is one request.
func emulator(t *testing.T, model string, replies ...llmtest.Reply) (*llmtest.Server, llm.Model) {
	t.Helper()
	srv := llmtest.NewServer(llmtest.Script(replies...))
	t.Cleanup(srv.Close)
	c, err := srv.Client(llm.WithRetry(llm.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c.Model(model)
}

// body is the part of a chat request body the tests look at.
type body struct {
	Messages []struct {
		Role       string `json:"role"`
		Content    string `json:"content"`
		ToolCallID string `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Function struct {
				Name      string `json:"name"`
				Arguments string `json:"arguments"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
	Tools []struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	} `json:"tools"`
	ToolChoice     json.RawMessage `json:"tool_choice"`
	ResponseFormat json.RawMessage `json:"response_format"`
	Temperature    *float64        `json:"temperature"`
}

func bodies(t *testing.T, srv *llmtest.Server) []body {
	t.Helper()
	var out []body
	for i, r := range srv.Requests() {
		var b body
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatalf("request %d body: %v: %s", i+1, err, r.Body)
		}
		out = append(out, b)
	}
	return out
}

// toolMessages returns the tool messages of b by tool_call_id.
func toolMessages(b body) map[string]string {
	m := map[string]string{}
	for _, msg := range b.Messages {
		if msg.Role == "tool" {
			m[msg.ToolCallID] = msg.Content
		}
	}
	return m
}

type addIn struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

func addTool(ran *atomic.Int32) tools.Tool {
	return tools.New("add", "Add two numbers", func(_ context.Context, in addIn) (float64, error) {
		if ran != nil {
			ran.Add(1)
		}
		return in.A + in.B, nil
	})
}

func add(id string, a, b int) llm.ToolCall {
	return llm.ToolCall{ID: id, Name: "add", Arguments: json.RawMessage(fmt.Sprintf(`{"a":%d,"b":%d}`, a, b))}
}

func TestRunCallsToolsAndAnswers(t *testing.T) {
	srv, m := emulator(t, llama,
		llmtest.Calls(add("", 2, 3)).WithUsage(llm.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}),
		llmtest.Text("2 + 3 = 5").WithUsage(llm.Usage{PromptTokens: 20, CompletionTokens: 4, TotalTokens: 24}))
	var steps []agent.Step
	a := agent.New(m, agent.WithSystem("Use the tools."), agent.WithTools(addTool(nil)),
		agent.WithHooks(agent.Hooks{AfterStep: func(_ context.Context, s agent.Step) { steps = append(steps, s) }}))

	res, err := a.Run(t.Context(), "What is 2 + 3?")
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "2 + 3 = 5" {
		t.Fatalf("Text = %q", res.Text)
	}
	if u := res.Usage; u.PromptTokens != 30 || u.CompletionTokens != 9 || u.TotalTokens != 39 {
		t.Fatalf("Usage = %+v, want the sum of both steps: 30 + 9 = 39 tokens", u)
	}
	if len(res.Steps) != 2 || len(steps) != 2 {
		t.Fatalf("%d steps, AfterStep saw %d; want 2", len(res.Steps), len(steps))
	}
	s := res.Steps[0]
	if len(s.Calls) != 1 || s.Calls[0].ID == "" || len(s.Results) != 1 || s.Results[0].Output != "5" || s.Usage.TotalTokens != 15 || s.Response == nil || s.Attempts != 1 {
		t.Fatalf("step 1 = %+v", s)
	}
	if s.Duration < s.ModelTime || s.Duration < s.Results[0].Duration {
		t.Fatalf("step 1 durations: whole %s, model %s, tool %s", s.Duration, s.ModelTime, s.Results[0].Duration)
	}

	roles := []llm.Role{}
	for _, msg := range res.Messages {
		roles = append(roles, msg.Role)
	}
	if want := []llm.Role{llm.RoleSystem, llm.RoleUser, llm.RoleAssistant, llm.RoleTool, llm.RoleAssistant}; !slices.Equal(roles, want) {
		t.Fatalf("Messages roles = %v, want %v", roles, want)
	}

	bs := bodies(t, srv)
	if len(bs) != 2 {
		t.Fatalf("%d requests, want 2", len(bs))
	}
	if len(bs[0].Tools) != 1 || bs[0].Tools[0].Function.Name != "add" {
		t.Fatalf("first request tools = %+v", bs[0].Tools)
	}
	second := bs[1].Messages
	if len(second) != 4 || second[2].Role != "assistant" || len(second[2].ToolCalls) != 1 || second[3].Role != "tool" ||
		second[3].ToolCallID != second[2].ToolCalls[0].ID || second[3].Content != "5" {
		t.Fatalf("second request messages = %+v", second)
	}
}

func TestToolFailuresReachTheModelAndTheRunGoesOn(t *testing.T) {
	var logs strings.Builder
	var ran atomic.Int32
	srv, m := emulator(t, kimi,
		llmtest.Calls(
			llm.ToolCall{ID: "c1", Name: "add", Arguments: json.RawMessage(`{"a":"two","b":3}`)},
			llm.ToolCall{ID: "c2", Name: "fails", Arguments: json.RawMessage(`{}`)},
			llm.ToolCall{ID: "c3", Name: "panics", Arguments: json.RawMessage(`{}`)},
			llm.ToolCall{ID: "c4", Name: "hangs", Arguments: json.RawMessage(`{}`)},
			llm.ToolCall{ID: "c5", Name: "teleport", Arguments: json.RawMessage(`{}`)},
			llm.ToolCall{ID: "c6", Name: "delete_file", Arguments: json.RawMessage(`{"path":"/etc/passwd"}`)},
			add("c7", 1, 1),
		),
		llmtest.Text("Some tools failed; 1 + 1 = 2."))
	deleted := false
	a := agent.New(m,
		agent.WithTools(addTool(&ran),
			tools.New("fails", "", func(context.Context, struct{}) (string, error) { return "", errors.New("disk quota exceeded") }),
			tools.New("panics", "", func(context.Context, struct{}) (string, error) { panic("index out of range [3]") }),
			tools.New("hangs", "", func(ctx context.Context, _ struct{}) (string, error) { <-ctx.Done(); return "", ctx.Err() }),
			tools.New("delete_file", "", func(context.Context, struct {
				Path string `json:"path"`
			}) (string, error) {
				deleted = true
				return "deleted", nil
			}),
		),
		agent.WithToolTimeout(50*time.Millisecond),
		agent.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))),
		agent.WithHooks(agent.Hooks{BeforeTool: func(_ context.Context, c llm.ToolCall) error {
			if c.Name == "delete_file" {
				return errors.New("the user declined")
			}
			return nil
		}}),
	)
	res, err := a.Run(t.Context(), "go")
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "Some tools failed; 1 + 1 = 2." || deleted || ran.Load() != 1 {
		t.Fatalf("Text = %q, deleted = %v, add ran %d times", res.Text, deleted, ran.Load())
	}

	got := toolMessages(bodies(t, srv)[1])
	want := map[string]string{
		"c1": "error: invalid arguments for add",
		"c2": "error: disk quota exceeded",
		"c3": "error: tool panics failed with an internal error",
		"c4": "error: tool hangs timed out after 50ms",
		"c5": `error: there is no tool named "teleport"`,
		"c6": "error: the call was refused: the user declined",
		"c7": "2",
	}
	for id, w := range want {
		if !strings.HasPrefix(got[id], w) {
			t.Errorf("tool message for %s = %q, want it to start with %q", id, got[id], w)
		}
	}
	if !strings.Contains(got["c1"], "/a:") {
		t.Errorf("invalid-arguments message does not name the problem: %q", got["c1"])
	}
	if strings.Contains(got["c3"], "goroutine") || !strings.Contains(logs.String(), "goroutine") {
		t.Errorf("the stack must go to the log, not to the model: message %q, log %q", got["c3"], logs.String())
	}

	results := res.Steps[0].Results
	if !errors.Is(results[3].Err, context.DeadlineExceeded) || !errors.Is(results[4].Err, tools.ErrUnknownTool) ||
		!errors.Is(results[2].Err, tools.ErrPanicked) || results[5].Err == nil || !strings.Contains(results[5].Err.Error(), "the user declined") {
		t.Fatalf("Result.Err values: %v / %v / %v / %v", results[2].Err, results[3].Err, results[4].Err, results[5].Err)
	}
}

// spy records the llm.Requests a model gets.
type spy struct {
	llm.Model
	mu   sync.Mutex
	reqs []llm.Request
}

func (s *spy) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	s.mu.Lock()
	s.reqs = append(s.reqs, req)
	s.mu.Unlock()
	return s.Model.Generate(ctx, req)
}

func TestStepLimitEndsWithAnAnswerWithoutTools(t *testing.T) {
	srv, m := emulator(t, llama,
		llmtest.Calls(add("", 1, 1)),
		llmtest.Calls(add("", 2, 2)),
		llmtest.Text("From what I have: 2 and 4."))
	sp := &spy{Model: m}
	temp := 0.2
	a := agent.New(sp, agent.WithTools(addTool(nil)), agent.WithMaxSteps(2),
		agent.WithRequest(func(r *llm.Request) { r.Temperature = &temp; r.ToolChoice = "required" }))
	res, err := a.Run(t.Context(), "add things forever")
	if err != nil {
		t.Fatal(err)
	}
	if res.Text != "From what I have: 2 and 4." || len(res.Steps) != 3 {
		t.Fatalf("Text = %q after %d steps", res.Text, len(res.Steps))
	}
	last := sp.reqs[len(sp.reqs)-1]
	if last.ToolChoice != "none" || last.Tools != nil || last.Temperature == nil {
		t.Fatalf("final request: ToolChoice %q, Tools %v, Temperature %v; want none, no tools, the edit kept", last.ToolChoice, last.Tools, last.Temperature)
	}
	bs := bodies(t, srv)
	if len(bs) != 3 {
		t.Fatalf("%d requests, want 3", len(bs))
	}
	final := bs[2]
	// The llm encoder leaves tool_choice "none" off the wire when no tools are offered:
	// OpenAI-style servers refuse tool_choice without tools.
	if final.Tools != nil || (final.ToolChoice != nil && string(final.ToolChoice) != `"none"`) {
		t.Fatalf("final request body: tools %v, tool_choice %s", final.Tools, final.ToolChoice)
	}
	if string(bs[0].ToolChoice) != `"required"` || final.Temperature == nil || *final.Temperature != 0.2 {
		t.Fatalf("WithRequest not applied: tool_choice %s, temperature %v", bs[0].ToolChoice, final.Temperature)
	}
	lastMsg := final.Messages[len(final.Messages)-1]
	if lastMsg.Role != "user" || !strings.Contains(lastMsg.Content, "limit") {
		t.Fatalf("final request's last message = %+v, want the user note about the step limit", lastMsg)
	}
	if m := res.Messages[len(res.Messages)-1]; m.Role != llm.RoleAssistant || m.Content != res.Text {
		t.Fatalf("last message = %+v", m)
	}
}

func TestRequestEditsDoNotChangeTheHistory(t *testing.T) {
	srv, m := emulator(t, llama, llmtest.Text("hi"))
	a := agent.New(m, agent.WithRequest(func(r *llm.Request) { r.Messages[0].Content = "edited" }))
	res, err := a.Run(t.Context(), "original")
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages[0].Content != "original" || bodies(t, srv)[0].Messages[0].Content != "edited" {
		t.Fatalf("history %q, sent %q", res.Messages[0].Content, bodies(t, srv)[0].Messages[0].Content)
	}
}

func TestBudgetStopsWithPartialResult(t *testing.T) {
	tests := []struct {
		name    string
		budget  agent.Budget
		replies []llmtest.Reply
		ran     int32 // add calls run before the stop
		steps   int
	}{
		{"tokens", agent.Budget{MaxTokens: 100},
			[]llmtest.Reply{llmtest.Calls(add("", 1, 2)).WithUsage(llm.Usage{PromptTokens: 90, CompletionTokens: 20, TotalTokens: 110})}, 0, 1},
		{"neurons", agent.Budget{MaxNeurons: 5},
			[]llmtest.Reply{
				llmtest.Calls(add("", 1, 2)).WithUsage(llm.Usage{TotalTokens: 10, Neurons: 3}),
				llmtest.Calls(add("", 3, 4)).WithUsage(llm.Usage{TotalTokens: 10, Neurons: 3}),
			}, 1, 2},
		{"tool calls", agent.Budget{MaxToolCalls: 3},
			[]llmtest.Reply{llmtest.Calls(add("", 1, 2), add("", 3, 4)), llmtest.Calls(add("", 5, 6), add("", 7, 8))}, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, m := emulator(t, llama, tt.replies...)
			var ran atomic.Int32
			a := agent.New(m, agent.WithTools(addTool(&ran)), agent.WithBudget(tt.budget))
			res, err := a.Run(t.Context(), "add")
			if !errors.Is(err, agent.ErrBudgetExceeded) {
				t.Fatalf("error = %v, want ErrBudgetExceeded", err)
			}
			if res == nil || len(res.Steps) != tt.steps || res.Usage.TotalTokens == 0 || ran.Load() != tt.ran {
				t.Fatalf("result = %+v, add ran %d times", res, ran.Load())
			}
			if n := len(srv.Requests()); n != len(tt.replies) {
				t.Fatalf("%d requests, want %d (no call after the budget ran out)", n, len(tt.replies))
			}
			// The history is complete and valid: the refused calls have results saying so.
			last := res.Messages[len(res.Messages)-1]
			if last.Role != llm.RoleTool || !strings.Contains(last.Content, "budget") {
				t.Fatalf("last message = %+v", last)
			}
		})
	}
}

func TestFinalAnswerCrossingTheBudgetIsKept(t *testing.T) {
	_, m := emulator(t, llama, llmtest.Text("42").WithUsage(llm.Usage{TotalTokens: 1000}))
	res, err := agent.New(m, agent.WithBudget(agent.Budget{MaxTokens: 10})).Run(t.Context(), "?")
	if err != nil || res.Text != "42" {
		t.Fatalf("Run = %q, %v", res.Text, err)
	}
}

func TestRepeatedAndMissingToolCallIDsAreMadeUnique(t *testing.T) {
	tests := []struct {
		name  string
		model string
		id    string
	}{
		{"kimi reuses an id across turns", kimi, "functions.add:0"},
		{"legacy calls carry no id", legacy, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, m := emulator(t, tt.model,
				llmtest.Calls(add(tt.id, 1, 1)),
				llmtest.Calls(add(tt.id, 2, 2)),
				llmtest.Text("2 and 4"))
			res, err := agent.New(m, agent.WithTools(addTool(nil))).Run(t.Context(), "add")
			if err != nil {
				t.Fatal(err)
			}
			msgs := bodies(t, srv)[2].Messages
			var ids []string
			for i, msg := range msgs {
				if msg.Role != "assistant" || len(msg.ToolCalls) == 0 {
					continue
				}
				id := msg.ToolCalls[0].ID
				ids = append(ids, id)
				if next := msgs[i+1]; next.Role != "tool" || next.ToolCallID != id {
					t.Fatalf("the call %s is followed by %+v", id, next)
				}
			}
			if len(ids) != 2 || ids[0] == ids[1] || ids[0] == "" {
				t.Fatalf("call ids in the history = %q, want two distinct", ids)
			}
			if tt.id != "" && ids[0] != tt.id {
				t.Fatalf("first id = %q, want the model's own %q kept", ids[0], tt.id)
			}
			if got := toolMessages(bodies(t, srv)[2]); got[ids[0]] != "2" || got[ids[1]] != "4" {
				t.Fatalf("results by id = %v", got)
			}
			if res.Steps[1].Response.ToolCalls[0].ID == res.Steps[1].Calls[0].ID {
				t.Fatalf("step 2 Calls should hold the rewritten id, Response the model's")
			}
		})
	}
}

func TestToolCallsWrittenAsTextAreRun(t *testing.T) {
	tests := []struct {
		name, text, content string
	}{
		{"qwen3 tool_call tags", "Let me add.\n<tool_call>\n{\"name\": \"add\", \"arguments\": {\"a\": 2, \"b\": 5}}\n</tool_call>", "Let me add."},
		{"gpt-oss bare JSON", `{"name":"add","arguments":"{\"a\":2,\"b\":5}"}`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var ran atomic.Int32
			srv, m := emulator(t, llama, llmtest.Text(tt.text), llmtest.Text("7"))
			res, err := agent.New(m, agent.WithTools(addTool(&ran))).Run(t.Context(), "2+5?")
			if err != nil {
				t.Fatal(err)
			}
			if ran.Load() != 1 || res.Text != "7" {
				t.Fatalf("add ran %d times, Text = %q", ran.Load(), res.Text)
			}
			msgs := bodies(t, srv)[1].Messages
			asst, tool := msgs[1], msgs[2]
			if asst.Role != "assistant" || asst.Content != tt.content || len(asst.ToolCalls) != 1 ||
				asst.ToolCalls[0].Function.Name != "add" || asst.ToolCalls[0].Function.Arguments != `{"a":2,"b":5}` {
				t.Fatalf("assistant turn = %+v", asst)
			}
			if tool.Role != "tool" || tool.ToolCallID != asst.ToolCalls[0].ID || tool.Content != "7" {
				t.Fatalf("tool turn = %+v", tool)
			}
		})
	}
}

func TestJSONAnswerNamingNoToolIsAnAnswer(t *testing.T) {
	_, m := emulator(t, llama, llmtest.Text(`{"name":"Ada","arguments":{"x":1}}`))
	res, err := agent.New(m, agent.WithTools(addTool(nil))).Run(t.Context(), "who?")
	if err != nil || res.Text != `{"name":"Ada","arguments":{"x":1}}` || len(res.Steps[0].Calls) != 0 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
}

type sum struct {
	Sum int `json:"sum"`
}

func TestRunTypedRetriesAnInvalidAnswer(t *testing.T) {
	srv, m := emulator(t, llama,
		llmtest.Calls(add("", 1, 2)).WithUsage(llm.Usage{TotalTokens: 10}),
		llmtest.Text("The sum is 3.").WithUsage(llm.Usage{TotalTokens: 10}),
		llmtest.Text(`{"sum":"three"}`).WithUsage(llm.Usage{TotalTokens: 10}),
		llmtest.Text(`{"sum":3}`).WithUsage(llm.Usage{TotalTokens: 10}))
	a := agent.New(m, agent.WithSystem("Be exact."), agent.WithTools(addTool(nil)))
	v, res, err := agent.RunTyped[sum](t.Context(), a, "1+2?")
	if err != nil {
		t.Fatal(err)
	}
	if v.Sum != 3 || res.Text != `{"sum":3}` || res.Usage.TotalTokens != 40 {
		t.Fatalf("value %+v, Text %q, Usage %+v", v, res.Text, res.Usage)
	}
	last := res.Steps[len(res.Steps)-1]
	if len(res.Steps) != 3 || last.Attempts != 2 || last.Usage.TotalTokens != 20 {
		t.Fatalf("%d steps, typed step %+v; want 3 steps, Attempts 2", len(res.Steps), last)
	}
	bs := bodies(t, srv)
	typed := bs[2]
	if typed.ResponseFormat == nil || typed.Tools != nil {
		t.Fatalf("typed request: response_format %s, tools %v; want JSON mode without tools", typed.ResponseFormat, typed.Tools)
	}
	systems := 0
	for _, msg := range typed.Messages {
		if msg.Role == "system" {
			systems++
		}
	}
	if systems != 1 || typed.Messages[0].Content != "Be exact." {
		t.Fatalf("typed request has %d system messages, first %+v", systems, typed.Messages[0])
	}
	retry := bs[3].Messages
	if fb := retry[len(retry)-1]; fb.Role != "user" || !strings.Contains(fb.Content, "/sum") {
		t.Fatalf("the retry does not feed the problem back: %+v", fb)
	}
}

func TestRunTypedFailureKeepsUsage(t *testing.T) {
	invalid := llmtest.Text(`{"sum":"x"}`).WithUsage(llm.Usage{TotalTokens: 7})
	_, m := emulator(t, llama, llmtest.Text("I think 3.").WithUsage(llm.Usage{TotalTokens: 5}), invalid, invalid, invalid)
	_, res, err := agent.RunTyped[sum](t.Context(), agent.New(m), "1+2?")
	if !errors.Is(err, structured.ErrInvalidOutput) {
		t.Fatalf("error = %v, want structured.ErrInvalidOutput after its 3 attempts", err)
	}
	if res == nil || res.Usage.TotalTokens != 5+3*7 || len(res.Steps) != 2 || res.Steps[1].Attempts != 3 {
		t.Fatalf("result = %+v", res)
	}
}

func TestRunMessagesContinuesWithoutRepeatingTheSystemPrompt(t *testing.T) {
	srv, m := emulator(t, kimi,
		llmtest.Calls(add("functions.add:0", 1, 1)),
		llmtest.Text("2"),
		llmtest.Calls(add("functions.add:0", 2, 2)),
		llmtest.Text("4"))
	a := agent.New(m, agent.WithSystem("You add."), agent.WithTools(addTool(nil)))
	first, err := a.Run(t.Context(), "1+1?")
	if err != nil {
		t.Fatal(err)
	}
	msgs := append(first.Messages, llm.User("and 2+2?"))
	before := slices.Clone(msgs)
	second, err := a.RunMessages(t.Context(), msgs)
	if err != nil {
		t.Fatal(err)
	}
	if second.Text != "4" || !slices.EqualFunc(msgs, before, func(x, y llm.Message) bool { return x.Content == y.Content && x.Role == y.Role }) {
		t.Fatalf("Text = %q; input changed: %v", second.Text, !slices.EqualFunc(msgs, before, func(x, y llm.Message) bool { return x.Content == y.Content }))
	}
	bs := bodies(t, srv)
	last := bs[3]
	systems, ids := 0, map[string]bool{}
	for _, msg := range last.Messages {
		if msg.Role == "system" {
			systems++
		}
		for _, c := range msg.ToolCalls {
			if ids[c.ID] {
				t.Fatalf("id %s used twice across the two runs", c.ID)
			}
			ids[c.ID] = true
		}
	}
	if systems != 1 || len(ids) != 2 {
		t.Fatalf("%d system messages, %d distinct call ids in the continued conversation", systems, len(ids))
	}
	if n := len(second.Messages); n != len(msgs)+3 {
		t.Fatalf("continued history has %d messages, want %d", n, len(msgs)+3)
	}
}

func TestModelErrorReturnsPartialResult(t *testing.T) {
	_, m := emulator(t, llama, llmtest.Calls(add("", 1, 1)), llmtest.Fail(400, 5006, "Bad input: too long"))
	res, err := agent.New(m, agent.WithTools(addTool(nil))).Run(t.Context(), "add")
	if !errors.Is(err, llm.ErrBadInput) || !strings.Contains(err.Error(), "agent: step 2:") {
		t.Fatalf("error = %v", err)
	}
	if res == nil || len(res.Steps) != 1 || len(res.Messages) != 3 || res.Usage.TotalTokens == 0 {
		t.Fatalf("partial result = %+v", res)
	}
}

func TestConfigurationErrorsAreReturnedByRun(t *testing.T) {
	m := llmtest.NewTestModel()
	tests := []struct {
		name string
		a    *agent.Agent
		want string
		is   error
	}{
		{"duplicate tool names", agent.New(m, agent.WithTools(addTool(nil), addTool(nil))), `"add": two tools have this name`, tools.ErrInvalidTool},
		{"invalid tool", agent.New(m, agent.WithTools(tools.New("bad name", "", func(context.Context, struct{}) (string, error) { return "", nil }))), "bad name", tools.ErrInvalidTool},
		{"nil model", agent.New(nil), "nil model", nil},
		{"zero steps", agent.New(m, agent.WithMaxSteps(0)), "WithMaxSteps(0)", nil},
		{"zero parallelism", agent.New(m, agent.WithParallelism(0)), "WithParallelism(0)", nil},
		{"negative timeout", agent.New(m, agent.WithToolTimeout(-time.Second)), "WithToolTimeout(-1s)", nil},
		{"negative budget", agent.New(m, agent.WithBudget(agent.Budget{MaxTokens: -1})), "negative limit", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := tt.a.Run(t.Context(), "hi")
			if err == nil || !strings.Contains(err.Error(), tt.want) || (tt.is != nil && !errors.Is(err, tt.is)) {
				t.Fatalf("error = %v, want it to mention %q", err, tt.want)
			}
			if res == nil || len(res.Messages) != 1 {
				t.Fatalf("result = %+v, want the input kept", res)
			}
		})
	}
	if _, err := agent.New(m).RunMessages(t.Context(), nil); err == nil {
		t.Fatal("RunMessages(nil) succeeded")
	}
}

func TestCancellingDuringToolsStopsTheRun(t *testing.T) {
	srv, m := emulator(t, llama, llmtest.Calls(add("", 1, 1), llm.ToolCall{Name: "wait"}), llmtest.Text("never asked"))
	ctx, cancel := context.WithCancel(t.Context())
	wait := tools.New("wait", "", func(ctx context.Context, _ struct{}) (string, error) {
		cancel() // the user gives up while a tool runs
		<-ctx.Done()
		return "", ctx.Err()
	})
	res, err := agent.New(m, agent.WithTools(addTool(nil), wait), agent.WithParallelism(1)).Run(ctx, "go")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error = %v, want context.Canceled", err)
	}
	if len(srv.Requests()) != 1 {
		t.Fatalf("%d requests after cancellation, want 1", len(srv.Requests()))
	}
	last := res.Messages[len(res.Messages)-1]
	if last.Role != llm.RoleTool || last.Content != "error: cancelled" || len(res.Steps) != 1 {
		t.Fatalf("history ends with %+v after %d steps", last, len(res.Steps))
	}
}

func TestCancelledBeforeTheModelAnswers(t *testing.T) {
	_, m := emulator(t, llama, llmtest.Text("late").WithLatency(time.Minute))
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	res, err := agent.New(m).Run(ctx, "hi")
	if !errors.Is(err, context.DeadlineExceeded) || res == nil || len(res.Messages) != 1 {
		t.Fatalf("Run = %+v, %v", res, err)
	}
}

func TestRequestEditsStartFromTheRunsOwnTools(t *testing.T) {
	srv, m := emulator(t, kimi, llmtest.Calls(add("c1", 1, 2)), llmtest.Text("3"))
	a := agent.New(m, agent.WithTools(addTool(nil)),
		agent.WithRequest(func(r *llm.Request) {
			for i := range r.Tools {
				r.Tools[i].Description += " Exactly."
			}
		}))
	if _, err := a.Run(t.Context(), "1+2?"); err != nil {
		t.Fatal(err)
	}
	for i, r := range srv.Requests() {
		var b struct {
			Tools []struct {
				Function struct {
					Description string `json:"description"`
				} `json:"function"`
			} `json:"tools"`
		}
		if err := json.Unmarshal(r.Body, &b); err != nil {
			t.Fatal(err)
		}
		if len(b.Tools) != 1 || b.Tools[0].Function.Description != "Add two numbers Exactly." {
			t.Fatalf("request %d tools = %+v; want the edit applied once", i+1, b.Tools)
		}
	}
}

func TestStepsAndHistoryDoNotShareCalls(t *testing.T) {
	_, m := emulator(t, kimi, llmtest.Calls(add("c1", 1, 2)), llmtest.Text("3"))
	res, err := agent.New(m, agent.WithTools(addTool(nil))).Run(t.Context(), "1+2?")
	if err != nil {
		t.Fatal(err)
	}
	res.Steps[0].Calls[0].Name = "redacted"
	if got := res.Messages[1].ToolCalls[0].Name; got != "add" {
		t.Fatalf("changing a Step's call changed the history: %q", got)
	}
}
