package llmtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/llm"
)

var (
	calcTool = llm.ToolDef{Name: "calc", Description: "evaluate arithmetic", Parameters: json.RawMessage(
		`{"type":"object","properties":{"expression":{"type":"string","examples":["2+2"]}},"required":["expression"],"additionalProperties":false}`)}
	weatherTool = llm.ToolDef{Name: "weather", Description: "weather for a city", Parameters: json.RawMessage(
		`{"type":"object","properties":{"city":{"type":"string","minLength":2},"unit":{"enum":["C","F"]},"days":{"type":"integer","minimum":1,"maximum":7}},"required":["city"]}`)}
	searchTool = llm.ToolDef{Name: "search", Description: "web search", Parameters: json.RawMessage(
		`{"type":"object","properties":{"query":{"type":"string"},"limit":{"type":"integer","exclusiveMinimum":0},"sites":{"type":"array","items":{"type":"string","format":"hostname"},"minItems":2,"uniqueItems":true}},"required":["query","sites"]}`)}
	threeTools = []llm.ToolDef{calcTool, weatherTool, searchTool}
)

var answerSchema = json.RawMessage(`{"type":"object","properties":{"answer":{"type":"integer"},"reasons":{"type":"array","items":{"type":"string"},"minItems":2},"confidence":{"type":"number","minimum":0,"maximum":1}},"required":["answer","reasons"],"additionalProperties":false}`)

func generate(t *testing.T, m *TestModel, req llm.Request) *llm.Response {
	t.Helper()
	resp, err := m.Generate(t.Context(), req)
	if err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return resp
}

func names(calls []llm.ToolCall) []string {
	var out []string
	for _, c := range calls {
		out = append(out, c.Name+"/"+c.ID)
	}
	return out
}

func TestTestModelCallsEveryToolOnceThenAnswers(t *testing.T) {
	m := NewTestModel()
	msgs := []llm.Message{llm.System("be brief"), llm.User("what is 2+2?")}

	first := generate(t, m, llm.Request{Messages: msgs, Tools: threeTools})
	if first.FinishReason != "tool_calls" || first.Text != "" {
		t.Fatalf("first turn: finish %q, text %q; want tool calls only", first.FinishReason, first.Text)
	}
	if got, want := names(first.ToolCalls), []string{"calc/call_1", "weather/call_2", "search/call_3"}; !cmp.Equal(got, want) {
		t.Fatalf("first turn calls %v, want %v", got, want)
	}
	for i, c := range first.ToolCalls {
		mustValidate(t, string(threeTools[i].Parameters), c.Arguments)
	}
	if got := string(first.ToolCalls[0].Arguments); got != `{"expression":"2+2"}` {
		t.Errorf("calc arguments %s, want the schema's example", got)
	}

	results := []string{"4", "sunny", "go.dev: The Go Programming Language"}
	msgs = append(msgs, llm.Message{Role: llm.RoleAssistant, ToolCalls: first.ToolCalls})
	for i, c := range first.ToolCalls {
		msgs = append(msgs, llm.ToolResult(c.ID, results[i]))
	}
	second := generate(t, m, llm.Request{Messages: msgs, Tools: threeTools})
	want := `test model: received 6 messages (last user message: "what is 2+2?"); tool results: calc -> 4, weather -> sunny, search -> go.dev: The Go Programming Language`
	if second.Text != want || second.FinishReason != "stop" || len(second.ToolCalls) != 0 {
		t.Fatalf("second turn: %q (finish %q, calls %v)\nwant %q", second.Text, second.FinishReason, second.ToolCalls, want)
	}

	typed := generate(t, m, llm.Request{Messages: msgs, Tools: threeTools, Format: &llm.Format{Schema: answerSchema}})
	if typed.FinishReason != "stop" {
		t.Fatalf("typed answer finish %q", typed.FinishReason)
	}
	mustValidate(t, string(answerSchema), []byte(typed.Text))
}

func TestTestModelCallsOnlyToolsNotYetCalled(t *testing.T) {
	msgs := []llm.Message{
		llm.User("plan my day"),
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_2", Name: "weather", Arguments: json.RawMessage(`{"city":"Oslo"}`)}}},
		llm.ToolResult("call_2", "rain"),
	}
	resp := generate(t, NewTestModel(), llm.Request{Messages: msgs, Tools: threeTools})
	// One call exists, so numbering goes on from call_2, skipping the ID already used.
	if got, want := names(resp.ToolCalls), []string{"calc/call_3", "search/call_4"}; !cmp.Equal(got, want) {
		t.Fatalf("calls %v, want %v", got, want)
	}
}

func TestTestModelToolChoice(t *testing.T) {
	user := llm.User("2+2?")
	calledCalc := llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "calc", Arguments: json.RawMessage(`{}`)}}}
	allCalled := llm.Message{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{
		{ID: "a", Name: "calc", Arguments: json.RawMessage(`{}`)},
		{ID: "b", Name: "weather", Arguments: json.RawMessage(`{}`)},
		{ID: "c", Name: "search", Arguments: json.RawMessage(`{}`)},
	}}
	answered := []llm.Message{user, allCalled, llm.ToolResult("a", "4"), llm.ToolResult("b", "sun"), llm.ToolResult("c", "none")}
	tests := []struct {
		name       string
		choice     string
		msgs       []llm.Message
		format     *llm.Format
		wantCalls  []string
		wantFinish string
	}{
		{"none answers although tools are offered", "none", []llm.Message{user}, nil, nil, "stop"},
		{"auto calls every uncalled tool", "auto", []llm.Message{user}, nil, []string{"calc/call_1", "weather/call_2", "search/call_3"}, "tool_calls"},
		{"a named tool is the only one called", "weather", []llm.Message{user}, nil, []string{"weather/call_1"}, "tool_calls"},
		{"a named tool is called again after a user turn", "calc", []llm.Message{user, calledCalc, llm.ToolResult("call_1", "4"), llm.User("again")}, nil, []string{"calc/call_2"}, "tool_calls"},
		{"a named tool's result gets the answer", "calc", []llm.Message{user, calledCalc, llm.ToolResult("call_1", "4")}, &llm.Format{Schema: answerSchema}, nil, "stop"},
		{"required calls the first tool again once all were called", "required", answered, nil, []string{"calc/call_4"}, "tool_calls"},
		{"auto answers once all were called", "", answered, nil, nil, "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := generate(t, NewTestModel(), llm.Request{Messages: tt.msgs, Tools: threeTools, ToolChoice: tt.choice, Format: tt.format})
			if got := names(resp.ToolCalls); !cmp.Equal(got, tt.wantCalls) || resp.FinishReason != tt.wantFinish {
				t.Fatalf("calls %v finish %q, want %v %q", got, resp.FinishReason, tt.wantCalls, tt.wantFinish)
			}
			if tt.format != nil {
				mustValidate(t, string(tt.format.Schema), []byte(resp.Text))
			}
		})
	}
}

// Structured output in tool mode forces one tool whose parameters are the output schema;
// the very first request must get a call with valid arguments.
func TestTestModelForcedToolGivesValidArguments(t *testing.T) {
	tool := llm.ToolDef{Name: "final_answer", Parameters: answerSchema}
	resp := generate(t, NewTestModel(), llm.Request{Messages: []llm.Message{llm.User("2+2?")}, Tools: []llm.ToolDef{tool}, ToolChoice: "final_answer"})
	if len(resp.ToolCalls) != 1 || resp.ToolCalls[0].Name != "final_answer" {
		t.Fatalf("calls %v, want one final_answer call", resp.ToolCalls)
	}
	mustValidate(t, string(answerSchema), resp.ToolCalls[0].Arguments)
}

func TestTestModelToolsWithoutParametersGetEmptyArguments(t *testing.T) {
	tools := []llm.ToolDef{{Name: "now"}, {Name: "ping", Parameters: json.RawMessage(`{}`)}, {Name: "noop", Parameters: json.RawMessage(`{"type":"object"}`)}}
	resp := generate(t, NewTestModel(), llm.Request{Messages: []llm.Message{llm.User("hi")}, Tools: tools})
	for _, c := range resp.ToolCalls {
		if string(c.Arguments) != "{}" {
			t.Errorf("%s arguments %s, want {}", c.Name, c.Arguments)
		}
	}
	if len(resp.ToolCalls) != 3 {
		t.Fatalf("got %d calls, want 3", len(resp.ToolCalls))
	}
}

func TestTestModelRejectsBadRequests(t *testing.T) {
	user := llm.User("hi")
	tests := []struct {
		name      string
		req       llm.Request
		wantInErr string
	}{
		{"no messages", llm.Request{}, "no messages"},
		{"tool result for a call never made", llm.Request{Messages: []llm.Message{
			user,
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "calc"}}},
			llm.ToolResult("call_9", "4"),
		}}, `message 2 is a tool result for call "call_9"`},
		{"tool result before the call", llm.Request{Messages: []llm.Message{
			user,
			llm.ToolResult("call_1", "4"),
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "call_1", Name: "calc"}}},
		}}, `call "call_1"`},
		{"unknown role", llm.Request{Messages: []llm.Message{{Role: "bot", Content: "x"}}}, `unknown role "bot"`},
		{"tool choice naming no offered tool", llm.Request{Messages: []llm.Message{user}, Tools: threeTools, ToolChoice: "any"}, `ToolChoice "any"`},
		{"required without tools", llm.Request{Messages: []llm.Message{user}, ToolChoice: "required"}, "no tools are offered"},
		{"negative MaxTokens", llm.Request{Messages: []llm.Message{user}, MaxTokens: -1}, "MaxTokens is -1"},
		{"tool parameters that are not a schema", llm.Request{Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Name: "bad", Parameters: json.RawMessage(`{"type":`)}}}, `tool "bad" parameters`},
		{"tool parameters that are not an object", llm.Request{Messages: []llm.Message{user}, Tools: []llm.ToolDef{{Name: "str", Parameters: json.RawMessage(`{"type":"string"}`)}}}, "do not describe a JSON object"},
		{"format schema no value satisfies", llm.Request{Messages: []llm.Message{user}, Format: &llm.Format{Schema: json.RawMessage(`false`)}}, "Format.Schema"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewTestModel()
			resp, err := m.Generate(t.Context(), tt.req)
			if err == nil {
				t.Fatalf("Generate = %+v, want an error", resp)
			}
			var e *llm.Error
			if !errors.As(err, &e) || e.Status != 400 || e.Code != 5006 || !errors.Is(err, llm.ErrBadInput) {
				t.Fatalf("error %#v is not a 400/5006 bad-input *llm.Error", err)
			}
			if !strings.Contains(err.Error(), tt.wantInErr) {
				t.Fatalf("error %q does not contain %q", err, tt.wantInErr)
			}
			if s := collect(t, m.Stream(t.Context(), tt.req)); len(s.deltas) != 0 || len(s.errs) != 1 || !errors.Is(s.errs[0], llm.ErrBadInput) {
				t.Fatalf("Stream gave %d deltas and errors %v, want only the bad input error", len(s.deltas), s.errs)
			}
		})
	}
}

func TestTestModelFormat(t *testing.T) {
	msgs := []llm.Message{llm.User("give me JSON")}
	t.Run("schema gives a valid value, the same for the same request", func(t *testing.T) {
		req := llm.Request{Messages: msgs, Format: &llm.Format{Schema: answerSchema}}
		resp := generate(t, NewTestModel(), req)
		mustValidate(t, string(answerSchema), []byte(resp.Text))
		if again := generate(t, NewTestModel(), req); again.Text != resp.Text {
			t.Errorf("a second model answered %s, the first %s", again.Text, resp.Text)
		}
		other := generate(t, NewTestModel(), llm.Request{Messages: []llm.Message{llm.User("another question")}, Format: req.Format})
		mustValidate(t, string(answerSchema), []byte(other.Text))
		if other.Text == resp.Text {
			t.Errorf("two different requests both got %s", resp.Text)
		}
	})
	t.Run("nil schema gives an answer object", func(t *testing.T) {
		resp := generate(t, NewTestModel(), llm.Request{Messages: msgs, Format: &llm.Format{}})
		var got map[string]string
		if err := json.Unmarshal([]byte(resp.Text), &got); err != nil {
			t.Fatalf("text %q is not a JSON object of strings: %v", resp.Text, err)
		}
		if want := `test model: received 1 message (last user message: "give me JSON")`; got["answer"] != want || len(got) != 1 {
			t.Fatalf("got %v, want answer %q", got, want)
		}
	})
}

func TestTestModelSummary(t *testing.T) {
	long := strings.Repeat("é", 100)
	tests := []struct {
		name string
		msgs []llm.Message
		want string
	}{
		{"one message", []llm.Message{llm.User("hi")}, `test model: received 1 message (last user message: "hi")`},
		{"no user message", []llm.Message{llm.System("rules")}, `test model: received 1 message`},
		{"last user message wins, images counted", []llm.Message{llm.User("first"), llm.Assistant("ok"), llm.User("look", llm.Image{}, llm.Image{})},
			`test model: received 3 messages (last user message: "look", 2 images)`},
		{"long tool results are cut to 80 runes", []llm.Message{
			llm.User("q"),
			{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: "x", Name: "fetch"}}},
			llm.ToolResult("x", long),
		}, `test model: received 3 messages (last user message: "q"); tool results: fetch -> ` + strings.Repeat("é", 80) + "…"},
		{"long user messages are cut to 200 runes", []llm.Message{llm.User(strings.Repeat("a", 300))},
			`test model: received 1 message (last user message: "` + strings.Repeat("a", 200) + `…")`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := generate(t, NewTestModel(), llm.Request{Messages: tt.msgs}).Text; got != tt.want {
				t.Fatalf("text\n%q\nwant\n%q", got, tt.want)
			}
		})
	}
}

func TestTestModelMaxTokens(t *testing.T) {
	longString := &llm.Format{Schema: json.RawMessage(`{"type":"string","minLength":5000}`)}
	tests := []struct {
		name       string
		req        llm.Request
		wantRunes  int
		wantFinish string
	}{
		{"short answer within the budget", llm.Request{MaxTokens: 100}, 59, "stop"},
		{"answer cut at MaxTokens*4 runes", llm.Request{MaxTokens: 3}, 12, "length"},
		{"zero MaxTokens means the library default", llm.Request{Format: longString}, 4 * llm.DefaultMaxTokens, "length"},
		{"huge MaxTokens does not overflow", llm.Request{Format: longString, MaxTokens: math.MaxInt}, 5002, "stop"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.req.Messages = []llm.Message{llm.User("héllo")}
			resp := generate(t, NewTestModel(), tt.req)
			if n := utf8.RuneCountInString(resp.Text); n != tt.wantRunes || resp.FinishReason != tt.wantFinish {
				t.Fatalf("%d runes, finish %q; want %d, %q (text %.60q)", n, resp.FinishReason, tt.wantRunes, tt.wantFinish, resp.Text)
			}
			if resp.FinishReason == "length" && resp.Usage.CompletionTokens != tt.wantRunes/4 {
				t.Fatalf("CompletionTokens %d, want %d", resp.Usage.CompletionTokens, tt.wantRunes/4)
			}
		})
	}
}

func TestTestModelUsage(t *testing.T) {
	tests := []struct {
		name string
		req  llm.Request
		want llm.Usage
	}{
		{"a quarter token per rune of content", llm.Request{Messages: []llm.Message{llm.System("abcdefgh"), llm.User("hé!!")}},
			// The summary `test model: received 2 messages (last user message: "hé!!")` has 59 runes.
			llm.Usage{PromptTokens: 3, CompletionTokens: 14, TotalTokens: 17}},
		{"at least one token each", llm.Request{Messages: []llm.Message{llm.User("")}, Format: &llm.Format{Schema: json.RawMessage(`{"const":1}`)}},
			llm.Usage{PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2}},
		{"tool-call arguments count as output", llm.Request{Messages: []llm.Message{llm.User("abcd")}, Tools: []llm.ToolDef{calcTool}},
			// {"expression":"2+2"} has 20 runes.
			llm.Usage{PromptTokens: 1, CompletionTokens: 5, TotalTokens: 6}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := generate(t, NewTestModel(), tt.req).Usage; got != tt.want {
				t.Fatalf("usage %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestTestModelModelID(t *testing.T) {
	req := llm.Request{Messages: []llm.Message{llm.User("hi")}}
	if got := generate(t, NewTestModel(), req).Model; got != "@cf/gowai/test-model" {
		t.Errorf("default model %q", got)
	}
	if got := generate(t, NewTestModel(WithModelID("@cf/meta/llama-3.3-70b-instruct-fp8-fast")), req).Model; got != "@cf/meta/llama-3.3-70b-instruct-fp8-fast" {
		t.Errorf("WithModelID model %q", got)
	}
	_, err := NewTestModel(WithModelID("@cf/x/y")).Generate(t.Context(), llm.Request{})
	var e *llm.Error
	if !errors.As(err, &e) || e.Model != "@cf/x/y" {
		t.Errorf("error %v does not name the model", err)
	}
}

type streamed struct {
	deltas []llm.Delta
	errs   []error
}

func collect(t *testing.T, seq func(func(llm.Delta, error) bool)) streamed {
	t.Helper()
	var s streamed
	for d, err := range seq {
		if err != nil {
			s.errs = append(s.errs, err)
			continue
		}
		s.deltas = append(s.deltas, d)
	}
	return s
}

func TestTestModelStreamMatchesGenerate(t *testing.T) {
	user := []llm.Message{llm.User("naïve café ☕ question")}
	requests := []struct {
		name string
		req  llm.Request
	}{
		{"text answer", llm.Request{Messages: user}},
		{"tool calls", llm.Request{Messages: user, Tools: threeTools}},
		{"JSON answer", llm.Request{Messages: user, Format: &llm.Format{Schema: answerSchema}}},
		{"truncated answer", llm.Request{Messages: user, MaxTokens: 5}},
	}
	for _, rq := range requests {
		for _, chunk := range []int{1, 3, 8, 10_000} {
			t.Run(fmt.Sprintf("%s in chunks of %d", rq.name, chunk), func(t *testing.T) {
				m := NewTestModel(WithChunkSize(chunk))
				want := generate(t, m, rq.req)
				s := collect(t, m.Stream(t.Context(), rq.req))
				if len(s.errs) > 0 || len(s.deltas) == 0 {
					t.Fatalf("chunk %d: errors %v, %d deltas", chunk, s.errs, len(s.deltas))
				}
				var text strings.Builder
				for i, d := range s.deltas {
					text.WriteString(d.Text)
					last := i == len(s.deltas)-1
					if !last && (d.Usage != nil || d.FinishReason != "" || d.ToolCalls != nil || utf8.RuneCountInString(d.Text) != chunk) {
						t.Fatalf("chunk %d: delta %d of %d is %+v; only the last may be short or carry usage, finish and calls", chunk, i, len(s.deltas), d)
					}
				}
				last := s.deltas[len(s.deltas)-1]
				got := llm.Response{Text: text.String(), FinishReason: last.FinishReason, ToolCalls: last.ToolCalls, Model: want.Model}
				if last.Usage != nil {
					got.Usage = *last.Usage
				}
				if diff := cmp.Diff(*want, got); diff != "" {
					t.Fatalf("chunk %d: stream differs from Generate (-generate +stream):\n%s", chunk, diff)
				}
			})
		}
	}
}

func TestTestModelStreamStopsWhenTheConsumerBreaks(t *testing.T) {
	m := NewTestModel(WithChunkSize(2))
	n := 0
	for _, err := range m.Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("a long enough question")}}) {
		if err != nil {
			t.Fatal(err)
		}
		n++
		break // the iterator must not call yield again, or range panics
	}
	if n != 1 {
		t.Fatalf("got %d deltas", n)
	}
}

func TestTestModelCancelled(t *testing.T) {
	req := llm.Request{Messages: []llm.Message{llm.User("hello there")}}
	m := NewTestModel(WithChunkSize(4))
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := m.Generate(ctx, req); !errors.Is(err, context.Canceled) {
		t.Errorf("Generate error %v, want context.Canceled", err)
	}
	if s := collect(t, m.Stream(ctx, req)); len(s.deltas) != 0 || len(s.errs) != 1 || !errors.Is(s.errs[0], context.Canceled) {
		t.Errorf("Stream gave %d deltas and errors %v, want only context.Canceled", len(s.deltas), s.errs)
	}

	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	var deltas int
	var errs []error
	for _, err := range m.Stream(ctx, req) {
		if err != nil {
			errs = append(errs, err)
			continue
		}
		deltas++
		cancel()
	}
	if deltas != 1 || len(errs) != 1 || !errors.Is(errs[0], context.Canceled) {
		t.Errorf("cancelled mid-stream: %d deltas, errors %v; want 1 delta then context.Canceled", deltas, errs)
	}
}

func TestTestModelIsSafeForConcurrentUse(t *testing.T) {
	m := NewTestModel()
	req := llm.Request{Messages: []llm.Message{llm.User("2+2?")}, Tools: threeTools}
	want := generate(t, m, req)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			resp, err := m.Generate(context.Background(), req)
			if err != nil || !cmp.Equal(resp, want) {
				t.Errorf("concurrent Generate = %+v, %v", resp, err)
			}
		})
	}
	wg.Wait()
}

func TestEmbed(t *testing.T) {
	texts := []string{"the cat sat", "the cat sat", "a dog ran", "", "quantum chromodynamics"}
	vecs := Embed(texts, 256)
	if len(vecs) != len(texts) {
		t.Fatalf("%d vectors for %d texts", len(vecs), len(texts))
	}
	dot := func(a, b []float32) float64 {
		s := 0.0
		for i := range a {
			s += float64(a[i]) * float64(b[i])
		}
		return s
	}
	for i, v := range vecs {
		if len(v) != 256 {
			t.Fatalf("vector %d has %d dims", i, len(v))
		}
		if n := dot(v, v); math.Abs(n-1) > 1e-5 {
			t.Errorf("vector %d has squared norm %v, want 1", i, n)
		}
	}
	if !cmp.Equal(vecs[0], vecs[1]) {
		t.Error("equal texts gave different vectors")
	}
	for _, pair := range [][2]int{{0, 2}, {0, 3}, {0, 4}, {2, 4}, {3, 4}} {
		// Random unit vectors in 256 dims have cosine ~ N(0, 1/16); 0.3 is almost 5 sigma.
		if c := dot(vecs[pair[0]], vecs[pair[1]]); math.Abs(c) > 0.3 {
			t.Errorf("texts %q and %q have cosine %v, want near 0", texts[pair[0]], texts[pair[1]], c)
		}
	}
	if again := Embed(texts[:1], 256); !cmp.Equal(again[0], vecs[0]) {
		t.Error("Embed is not deterministic across calls")
	}
	// Pinned so that a change of algorithm (which would change every stored test index) is noticed.
	got := Embed([]string{"hello"}, 4)[0]
	want := []float32{-0.46948248, 0.5959866, 0.2678574, -0.5938338}
	if !cmp.Equal(got, want, cmp.Comparer(func(a, b float32) bool { return math.Abs(float64(a-b)) < 1e-6 })) {
		t.Errorf("Embed(hello, 4) = %v, want %v", got, want)
	}
	for _, dims := range []int{0, -3} {
		if v := Embed([]string{"x"}, dims); len(v) != 1 || len(v[0]) != 0 {
			t.Errorf("dims %d gave %v, want one empty vector", dims, v)
		}
	}
	if v := Embed(nil, 8); len(v) != 0 {
		t.Errorf("no texts gave %v", v)
	}
}

func TestTestModelAnswersPromptModeSchemas(t *testing.T) {
	schema := `{"type":"object","properties":{"city":{"type":"string","examples":["Lisbon"]}},"required":["city"],"additionalProperties":false}`
	m := NewTestModel()
	resp, err := m.Generate(t.Context(), llm.Request{Messages: []llm.Message{
		llm.System("Reply with JSON only.\n```json\n" + schema + "\n```"),
		llm.User("where?"),
	}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != `{"city":"Lisbon"}` {
		t.Errorf("text = %s", resp.Text)
	}
	// A fenced block that is not a schema, or one in a user message, changes nothing.
	resp, err = m.Generate(t.Context(), llm.Request{Messages: []llm.Message{
		llm.System("Example:\n```json\n[1,2]\n```"), llm.User("```json\n" + schema + "\n```"),
	}})
	if err != nil || !strings.HasPrefix(resp.Text, "test model:") {
		t.Errorf("text = %q, err %v", resp.Text, err)
	}
}
