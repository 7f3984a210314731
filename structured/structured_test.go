package structured_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/structured"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type Item struct {
	Name string `json:"name" jsonschema:"example=flour"`
	Qty  int    `json:"qty" jsonschema:"minimum=1,example=2"`
}

type Order struct {
	Customer string `json:"customer" jsonschema:"example=Ada"`
	Status   string `json:"status" jsonschema:"enum=open,enum=shipped"`
	Items    []Item `json:"items" jsonschema:"minItems=1"`
	Note     string `json:"note,omitempty"`
}

const validOrder = `{"customer":"Ada","status":"open","items":[{"name":"flour","qty":2}]}`

// jsonModel, toolModel and promptModel are catalogued models whose capabilities make
// ModeAuto pick each mode.
const (
	jsonModel   = "@cf/meta/llama-3.1-8b-instruct"
	toolModel   = "@cf/mistralai/mistral-small-3.1-24b-instruct"
	promptModel = "@cf/meta/llama-3.2-1b-instruct"
)

func newServer(t *testing.T, h llmtest.Handler) (*llmtest.Server, *llm.Client) {
	t.Helper()
	srv := llmtest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := srv.Client(llm.WithRetry(llm.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// sent decodes the native request bodies the server received.
type sentRequest struct {
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Tools          []json.RawMessage `json:"tools"`
	ToolChoice     json.RawMessage   `json:"tool_choice"`
	ResponseFormat json.RawMessage   `json:"response_format"`
}

func sent(t *testing.T, srv *llmtest.Server) []sentRequest {
	t.Helper()
	var out []sentRequest
	for _, r := range srv.Requests() {
		var s sentRequest
		if err := json.Unmarshal(r.Body, &s); err != nil {
			t.Fatalf("request body: %v", err)
		}
		out = append(out, s)
	}
	return out
}

func TestEveryModeAgainstTheTestModel(t *testing.T) {
	for _, tt := range []struct {
		model string
		force structured.Mode
		want  structured.Mode
	}{
		{jsonModel, structured.ModeAuto, structured.ModeJSONSchema},
		{toolModel, structured.ModeAuto, structured.ModeTool},
		{promptModel, structured.ModeAuto, structured.ModePrompt},
		{jsonModel, structured.ModeTool, structured.ModeTool},
		{jsonModel, structured.ModePrompt, structured.ModePrompt},
	} {
		t.Run(tt.model+"/"+tt.want.String(), func(t *testing.T) {
			srv, c := newServer(t, nil)
			r, err := structured.GenerateFrom[Order](t.Context(), c.Model(tt.model), []llm.Message{llm.User("an order")}, structured.WithMode(tt.force))
			if err != nil {
				t.Fatal(err)
			}
			if r.Mode != tt.want || r.Attempts != 1 {
				t.Errorf("mode %v after %d attempts, want %v after 1", r.Mode, r.Attempts, tt.want)
			}
			if r.Value.Customer != "Ada" || r.Value.Status != "open" || len(r.Value.Items) == 0 || r.Value.Items[0].Qty < 1 {
				t.Errorf("value = %+v", r.Value)
			}
			if r.Usage.TotalTokens == 0 {
				t.Error("usage not reported")
			}
			req := sent(t, srv)[0]
			switch tt.want {
			case structured.ModeJSONSchema:
				if len(req.ResponseFormat) == 0 || len(req.Tools) != 0 {
					t.Errorf("JSON mode request: format %s, %d tools", req.ResponseFormat, len(req.Tools))
				}
			case structured.ModeTool:
				if len(req.Tools) != 1 || !strings.Contains(string(req.ToolChoice), "answer") {
					t.Errorf("tool mode request: %d tools, choice %s", len(req.Tools), req.ToolChoice)
				}
				if !slices.Contains(r.Dropped, "/properties/items: minItems=1") {
					t.Errorf("dropped = %q, want the minItems constraint listed", r.Dropped)
				}
			case structured.ModePrompt:
				if !strings.Contains(req.Messages[0].Content, `"customer"`) || req.Messages[0].Role != "system" {
					t.Errorf("prompt mode: schema not in the system prompt: %+v", req.Messages[0])
				}
			}
		})
	}
}

func TestInvalidFirstAnswerIsRetriedWithFeedback(t *testing.T) {
	for _, tt := range []struct {
		name, first, problem string
		finish               string
	}{
		{"missing field", `{"customer":"Ada","items":[{"name":"flour","qty":2}]}`, "missing properties: 'status'", ""},
		{"wrong enum", `{"customer":"Ada","status":"lost","items":[{"name":"flour","qty":2}]}`, "/status: value must be one of", ""},
		{"below minimum", `{"customer":"Ada","status":"open","items":[{"name":"flour","qty":0}]}`, "/items/0/qty: must be >= 1", ""},
		{"unknown field", `{"customer":"Ada","status":"open","items":[{"name":"flour","qty":2}],"x":1}`, "additionalProperties 'x' not allowed", ""},
		{"prose only", `I cannot do that.`, "no JSON", ""},
		{"truncated", `{"customer":"Ada","status":"op`, "cut off at max_tokens", "length"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			first := llmtest.Text(tt.first)
			if tt.finish != "" {
				first = first.WithFinishReason(tt.finish)
			}
			srv, c := newServer(t, llmtest.Script(first, llmtest.Text("```json\n"+validOrder+"\n```")))
			r, err := structured.GenerateFrom[Order](t.Context(), c.Model(promptModel), []llm.Message{llm.User("an order")})
			if err != nil {
				t.Fatal(err)
			}
			if r.Attempts != 2 || r.Value.Items[0].Qty != 2 {
				t.Fatalf("attempts %d, value %+v", r.Attempts, r.Value)
			}
			second := sent(t, srv)[1].Messages
			n := len(second)
			if second[n-2].Role != "assistant" || second[n-2].Content != tt.first {
				t.Errorf("second request should carry the bad answer as the assistant turn: %+v", second[n-2])
			}
			if second[n-1].Role != "user" || !strings.Contains(second[n-1].Content, tt.problem) {
				t.Errorf("feedback %q does not name the problem %q", second[n-1].Content, tt.problem)
			}
		})
	}
}

func TestRetryCarriesOnlyTheLastBadAnswer(t *testing.T) {
	bad1 := `{"customer":"Ada","status":"lost","items":[]}`
	bad2 := `{"customer":"Ada","status":"open","items":[]}`
	srv, c := newServer(t, llmtest.Script(
		llmtest.Text(bad1).WithUsage(llm.Usage{PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15}),
		llmtest.Text(bad2).WithUsage(llm.Usage{PromptTokens: 20, CompletionTokens: 5, TotalTokens: 25}),
		llmtest.Text(validOrder).WithUsage(llm.Usage{PromptTokens: 20, CompletionTokens: 5, TotalTokens: 25}),
	))
	r, err := structured.GenerateFrom[Order](t.Context(), c.Model(promptModel), []llm.Message{llm.User("an order")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 3 || r.Usage.TotalTokens != 65 || r.Raw != validOrder {
		t.Errorf("attempts %d, usage %+v, raw %q", r.Attempts, r.Usage, r.Raw)
	}
	reqs := sent(t, srv)
	third := fmt.Sprint(reqs[2].Messages)
	if strings.Contains(third, "lost") || !strings.Contains(third, bad2) {
		t.Errorf("third request should hold only the second bad answer: %s", third)
	}
	if len(reqs[1].Messages) != len(reqs[2].Messages) {
		t.Errorf("context grew with attempts: %d then %d messages", len(reqs[1].Messages), len(reqs[2].Messages))
	}
}

func TestValidationErrorAfterLastAttempt(t *testing.T) {
	bad := `{"customer":"Ada","status":"lost","items":[{"name":"x","qty":0}]}`
	_, c := newServer(t, llmtest.Script(llmtest.Text(bad), llmtest.Text(bad)))
	_, err := structured.Generate[Order](t.Context(), c.Model(promptModel), "an order", structured.WithMaxAttempts(2))
	var ve *structured.ValidationError
	if !errors.As(err, &ve) || !errors.Is(err, structured.ErrInvalidOutput) {
		t.Fatalf("err = %v", err)
	}
	want := []string{"/items/0/qty: must be >= 1 but found 0", `/status: value must be one of "open", "shipped"`}
	if ve.Attempts != 2 || ve.Output != bad || !slices.Equal(ve.Problems, want) {
		t.Errorf("got %d attempts, output %q, problems %q", ve.Attempts, ve.Output, ve.Problems)
	}
}

func TestTransportErrorsDoNotConsumeAttempts(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.Fail(429, 3040, "Capacity temporarily exceeded"), llmtest.Text(validOrder)))
	r, err := structured.GenerateFrom[Order](t.Context(), c.Model(promptModel), []llm.Message{llm.User("x")}, structured.WithMaxAttempts(1))
	if err != nil || r.Attempts != 1 {
		t.Fatalf("r = %+v, err = %v", r, err)
	}
	_, c = newServer(t, llmtest.Script(llmtest.Fail(429, 4006, "daily allocation")))
	if _, err := structured.Generate[Order](t.Context(), c.Model(promptModel), "x"); !errors.Is(err, llm.ErrDailyLimit) {
		t.Errorf("err = %v, want the llm error passed through", err)
	}
}

// Booking validates itself: the end must come after the start.
type Booking struct {
	From int `json:"from"`
	To   int `json:"to"`
}

func (b Booking) Validate() error {
	if b.To <= b.From {
		return fmt.Errorf("to (%d) must be after from (%d)", b.To, b.From)
	}
	return nil
}

func TestValidateMethodErrorsAreFedBack(t *testing.T) {
	srv, c := newServer(t, llmtest.Script(llmtest.Text(`{"from":5,"to":3}`), llmtest.Text(`{"from":3,"to":5}`)))
	b, err := structured.Generate[Booking](t.Context(), c.Model(promptModel), "book")
	if err != nil || b.To != 5 {
		t.Fatalf("b = %+v, err = %v", b, err)
	}
	msgs := sent(t, srv)[1].Messages
	if !strings.Contains(msgs[len(msgs)-1].Content, "to (3) must be after from (5)") {
		t.Errorf("feedback = %q", msgs[len(msgs)-1].Content)
	}
}

type Color string

func TestNonStructTypesAreWrapped(t *testing.T) {
	srv, c := newServer(t, llmtest.Script(llmtest.Text(`{"value":["a","b"]}`), llmtest.Text(`{"value":42}`)))
	tags, err := structured.Generate[[]string](t.Context(), c.Model(promptModel), "tags")
	if err != nil || !slices.Equal(tags, []string{"a", "b"}) {
		t.Fatalf("tags = %q, %v", tags, err)
	}
	n, err := structured.Generate[int](t.Context(), c.Model(promptModel), "a number")
	if err != nil || n != 42 {
		t.Fatalf("n = %d, %v", n, err)
	}
	if !strings.Contains(sent(t, srv)[0].Messages[0].Content, `"value"`) {
		t.Error("wrapped schema not sent")
	}
	s, err := structured.SchemaFor[Color]()
	if err != nil || !strings.Contains(string(s), `"value"`) {
		t.Errorf("SchemaFor[Color] = %s, %v", s, err)
	}
}

type Tree struct {
	Name     string `json:"name" jsonschema:"example=root"`
	Children []Tree `json:"children,omitempty"`
}

func TestRecursiveTypes(t *testing.T) {
	_, c := newServer(t, llmtest.Script(
		llmtest.Text(`{"name":"a","children":[{"name":"b","children":[{"nom":"c"}]}]}`),
		llmtest.Text(`{"name":"a","children":[{"name":"b","children":[{"name":"c"}]}]}`),
	))
	r, err := structured.GenerateFrom[Tree](t.Context(), c.Model(promptModel), []llm.Message{llm.User("a tree")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 2 || r.Value.Children[0].Children[0].Name != "c" {
		t.Errorf("attempts %d, value %+v", r.Attempts, r.Value)
	}
	// And against the test model, which must cope with $defs.
	_, c = newServer(t, nil)
	if _, err := structured.Generate[Tree](t.Context(), c.Model(jsonModel), "a tree"); err != nil {
		t.Errorf("test model on a recursive schema: %v", err)
	}
}

func TestModeFallback(t *testing.T) {
	for _, tt := range []struct {
		name string
		fail llmtest.Reply
	}{
		{"5025", llmtest.Fail(400, 5025, "JSON Mode couldn't be met")},
		{"5006 on response_format", llmtest.Fail(400, 5006, "AiError: Bad input: Error: Additional properties '/response_format' at '/' not allowed")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv, c := newServer(t, llmtest.Script(tt.fail, llmtest.Model()))
			// An uncatalogued model starts in JSON mode and falls back to tool mode.
			r, err := structured.GenerateFrom[Order](t.Context(), c.Model("@cf/gowai/test-model"), []llm.Message{llm.User("x")})
			if err != nil {
				t.Fatal(err)
			}
			if r.Mode != structured.ModeTool || r.Attempts != 1 {
				t.Errorf("mode %v attempts %d, want tool mode after 1 attempt", r.Mode, r.Attempts)
			}
			if reqs := sent(t, srv); len(reqs) != 2 || len(reqs[1].Tools) != 1 || len(reqs[1].ResponseFormat) != 0 {
				t.Errorf("second request should be in tool mode: %+v", reqs)
			}
		})
	}
	_, c := newServer(t, llmtest.Script(llmtest.Fail(400, 5006, "AiError: Bad input: messages too long")))
	if _, err := structured.Generate[Order](t.Context(), c.Model("@cf/gowai/test-model"), "x"); !errors.Is(err, llm.ErrBadInput) {
		t.Errorf("an unrelated 5006 must not trigger fallback: %v", err)
	}
}

func TestStreamPartialsGrowAndEndValid(t *testing.T) {
	srv, c := newServer(t, nil)
	_ = srv
	var values []Order
	var done bool
	for p, err := range structured.Stream[Order](t.Context(), c.Model(promptModel), "an order") {
		if err != nil {
			t.Fatal(err)
		}
		if done {
			t.Fatal("a partial after Done")
		}
		values = append(values, p.Value)
		done = p.Done
	}
	if !done || len(values) < 3 {
		t.Fatalf("%d partials, done=%v", len(values), done)
	}
	last := values[len(values)-1]
	if last.Customer != "Ada" || last.Status != "open" || len(last.Items) != 1 {
		t.Errorf("final value %+v", last)
	}
	for i := 1; i < len(values); i++ {
		prev, cur := values[i-1], values[i]
		if !strings.HasPrefix(cur.Customer, prev.Customer) || len(cur.Items) < len(prev.Items) {
			t.Errorf("partial %d went backwards: %+v then %+v", i, prev, cur)
		}
	}
}

func TestStreamRetriesAndSaysSo(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.Text(`{"customer":"Ada","status":"lost","items":[]}`), llmtest.Text(validOrder)))
	var retried []string
	var final Order
	for p, err := range structured.Stream[Order](t.Context(), c.Model(promptModel), "an order") {
		if err != nil {
			t.Fatal(err)
		}
		if p.Problems != nil {
			retried = p.Problems
		}
		if p.Done {
			final = p.Value
			if p.Attempt != 2 {
				t.Errorf("final attempt %d, want 2", p.Attempt)
			}
		}
	}
	if len(retried) == 0 || final.Status != "open" {
		t.Errorf("retry problems %q, final %+v", retried, final)
	}
}

func TestStreamBreakStopsTheRequest(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.Text(strings.Repeat(" ", 10)+validOrder)))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	for range structured.Stream[Order](ctx, c.Model(promptModel), "an order") {
		break
	}
	// goleak in TestMain checks that nothing is left running.
}

func TestBadOptions(t *testing.T) {
	_, c := newServer(t, nil)
	if _, err := structured.Generate[Order](t.Context(), c.Model(jsonModel), "x", structured.WithMaxAttempts(0)); err == nil {
		t.Error("WithMaxAttempts(0) accepted")
	}
	if _, err := structured.Generate[func()](t.Context(), c.Model(jsonModel), "x"); err == nil || !strings.Contains(err.Error(), "func") {
		t.Errorf("a func type: %v", err)
	}
}
