package llm_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strings"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

const smallWindowModel = "@cf/meta/llama-3.1-8b-instruct"

// userOfTokens returns a request whose one user message makes EstimateTokens count est.
func userOfTokens(t *testing.T, est int) llm.Request {
	t.Helper()
	empty := llm.EstimateTokens(llm.Request{Messages: []llm.Message{llm.User("")}})
	req := llm.Request{Messages: []llm.Message{llm.User(strings.Repeat("a", (est-empty)*llm.EstimateBytesPerToken))}}
	if got := llm.EstimateTokens(req); got != est {
		t.Fatalf("EstimateTokens = %d, want %d", got, est)
	}
	return req
}

func sentMaxTokens(t *testing.T, r llmtest.Recorded) int {
	t.Helper()
	var b struct {
		MaxTokens int `json:"max_tokens"`
	}
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatal(err)
	}
	return b.MaxTokens
}

func TestTheCatalogKnowsTheSmallWindow(t *testing.T) {
	info, ok := llm.LookupModel(smallWindowModel)
	if !ok || info.ContextWindow != 7968 {
		t.Fatalf("LookupModel(%s) = %+v, %v; want a window of 7968", smallWindowModel, info, ok)
	}
}

func TestEstimateTokensCountsEveryPart(t *testing.T) {
	base := llm.EstimateTokens(llm.Request{Messages: []llm.Message{llm.User("")}})
	cases := []struct {
		name string
		req  llm.Request
		more int
	}{
		{"content", llm.Request{Messages: []llm.Message{llm.User("abcdefg")}}, 3},
		{"image", llm.Request{Messages: []llm.Message{llm.User("", llm.Image{Data: make([]byte, 1<<20)})}}, llm.EstimateImageTokens},
		{"tool call", llm.Request{Messages: []llm.Message{{Role: llm.RoleUser, ToolCalls: []llm.ToolCall{{ID: "abc", Name: "f", Arguments: json.RawMessage(`{}`)}}}}}, 2},
		{"tool def", llm.Request{Messages: []llm.Message{llm.User("")}, Tools: []llm.ToolDef{{Name: "abc", Description: "def", Parameters: json.RawMessage(`{}`)}}}, 8 + 3},
	}
	for _, c := range cases {
		if got := llm.EstimateTokens(c.req) - base; got != c.more {
			t.Errorf("%s: adds %d tokens, want %d", c.name, got, c.more)
		}
	}
	// Conservative for English: at least a token per four bytes of text.
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 100)
	if got := llm.EstimateTokens(llm.Request{Messages: []llm.Message{llm.User(text)}}); got < len(text)/4 {
		t.Errorf("EstimateTokens = %d for %d bytes of English, want at least %d", got, len(text), len(text)/4)
	}
}

func TestAPromptTooLargeIsRefusedWithNothingSent(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	req := userOfTokens(t, 7968-llm.MinAnswerTokens+1)
	for _, m := range []*llm.ChatModel{c.Model(smallWindowModel), c.OpenAIModel(smallWindowModel)} {
		_, err := m.Generate(t.Context(), req)
		check := func(how string, err error) {
			t.Helper()
			if !errors.Is(err, llm.ErrContextWindow) {
				t.Fatalf("%s %s: err = %v, want ErrContextWindow", m, how, err)
			}
			cw, ok := errors.AsType[*llm.ContextWindowError](err)
			if !ok || cw.Model != smallWindowModel || cw.Estimate != 7968-llm.MinAnswerTokens+1 || cw.Window != 7968 || cw.MaxTokens != llm.MinAnswerTokens {
				t.Fatalf("%s %s: err = %#v", m, how, err)
			}
			for _, s := range []string{smallWindowModel, "7953", "7968"} {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("%s %s: %q does not name %s", m, how, err, s)
				}
			}
		}
		check("Generate", err)
		n := 0
		for _, err := range m.Stream(t.Context(), req) {
			check("Stream", err)
			n++
		}
		if n != 1 {
			t.Errorf("Stream yielded %d times, want one error", n)
		}
	}
	// An explicit MaxTokens that does not fit is refused rather than lowered.
	req = userOfTokens(t, 7000)
	req.MaxTokens = 969
	if _, err := c.Model(smallWindowModel).Generate(t.Context(), req); !errors.Is(err, llm.ErrContextWindow) {
		t.Errorf("explicit MaxTokens 969 with 7000 input: err = %v, want ErrContextWindow", err)
	} else if cw, _ := errors.AsType[*llm.ContextWindowError](err); cw.MaxTokens != 969 || !strings.Contains(err.Error(), "lower MaxTokens") {
		t.Errorf("MaxTokens in the error = %d, want 969; message %q should suggest lowering it", cw.MaxTokens, err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests reached the server, want 0", n)
	}
}

func TestAPromptNearTheEdgeGetsALowerMaxTokens(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	m := c.Model(smallWindowModel)
	cases := []struct {
		name      string
		est, max  int
		wantSent  int
		wantError bool
	}{
		{"lowered", 7468, 0, 500, false},
		{"just the minimum", 7968 - llm.MinAnswerTokens, 0, llm.MinAnswerTokens, false},
		{"default fits", 7968 - llm.DefaultMaxTokens, 0, llm.DefaultMaxTokens, false},
		{"explicit fits exactly", 7000, 968, 968, false},
	}
	for _, tc := range cases {
		req := userOfTokens(t, tc.est)
		req.MaxTokens = tc.max
		if _, err := m.Generate(t.Context(), req); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		rs := srv.Requests()
		if got := sentMaxTokens(t, rs[len(rs)-1]); got != tc.wantSent {
			t.Errorf("%s: sent max_tokens %d, want %d", tc.name, got, tc.wantSent)
		}
	}
	// Streaming fits the same way.
	for _, err := range m.Stream(t.Context(), userOfTokens(t, 7468)) {
		if err != nil {
			t.Fatal(err)
		}
	}
	rs := srv.Requests()
	if got := sentMaxTokens(t, rs[len(rs)-1]); got != 500 {
		t.Errorf("Stream: sent max_tokens %d, want 500", got)
	}
}

func TestModelsWithoutAKnownWindowAreSentAsTheyAre(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	req := userOfTokens(t, 200_000) // beyond every window in the catalog
	models := []*llm.ChatModel{
		c.Model("@cf/meta/llama-3.2-1b-instruct"), // catalogued, window not documented
		c.Model("@cf/acme/not-in-the-catalog"),
		llm.NewOpenAICompatible(srv.URL()+"/v1", "key", smallWindowModel), // a third-party server
	}
	for i, m := range models {
		_, err := m.Generate(t.Context(), req)
		if errors.Is(err, llm.ErrContextWindow) {
			if _, ok := errors.AsType[*llm.ContextWindowError](err); ok {
				t.Errorf("%s: refused by the client: %v", m, err)
			}
		}
		rs := srv.Requests()
		if len(rs) != i+1 {
			t.Fatalf("%s: %d requests recorded, want %d", m, len(rs), i+1)
		}
		if got := sentMaxTokens(t, rs[i]); got != llm.DefaultMaxTokens {
			t.Errorf("%s: sent max_tokens %d, want %d", m, got, llm.DefaultMaxTokens)
		}
	}
}

// A request too large for the model's context window fails before anything is sent.
func ExampleContextWindowError() {
	srv := llmtest.NewServer(nil) // the emulator; with real credentials use llm.NewClient()
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	long := strings.Repeat("All work and no play makes Jack a dull boy. ", 600)
	req := llm.Request{Messages: []llm.Message{llm.User(long)}}
	fmt.Println("estimate:", llm.EstimateTokens(req))

	_, err = c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(context.Background(), req)
	if cw, ok := errors.AsType[*llm.ContextWindowError](err); ok {
		fmt.Println(errors.Is(err, llm.ErrContextWindow), cw.Estimate, cw.Window)
	}
	fmt.Println("requests sent:", len(srv.Requests()))
	// Output:
	// estimate: 8807
	// true 8807 7968
	// requests sent: 0
}

// A reply that used the whole lowered max_tokens was cut off, and says so, although the
// caller asked for no particular budget.
func TestALoweredBudgetUsedUpIsReportedAsLength(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Text("cut").WithUsage(llm.Usage{PromptTokens: 7468, CompletionTokens: 500}),
		llmtest.Text("cut").WithUsage(llm.Usage{PromptTokens: 7468, CompletionTokens: 500})))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	m := c.Model(smallWindowModel)
	r, err := m.Generate(t.Context(), userOfTokens(t, 7468))
	if err != nil {
		t.Fatal(err)
	}
	if r.FinishReason != "length" {
		t.Errorf("Generate: finish reason %q, want length: the reply used all 500 tokens it was given", r.FinishReason)
	}
	var finish string
	for d, err := range m.Stream(t.Context(), userOfTokens(t, 7468)) {
		if err != nil {
			t.Fatal(err)
		}
		if d.FinishReason != "" {
			finish = d.FinishReason
		}
	}
	if finish != "length" {
		t.Errorf("Stream: finish reason %q, want length", finish)
	}
}
