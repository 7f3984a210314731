package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

const smallWindowModel = "@cf/meta/llama-3.1-8b-instruct" // a context window of 7,968 tokens

// historyModel starts the emulator answering with replies in order, with retries off, and
// returns it with the model id on it.
func historyModel(t *testing.T, id string, replies ...llmtest.Reply) (*llmtest.Server, llm.Model) {
	t.Helper()
	srv := llmtest.NewServer(llmtest.Script(replies...))
	t.Cleanup(srv.Close)
	c, err := srv.Client(llm.WithRetry(llm.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c.Model(id)
}

// toolTurn is an assistant message calling one tool and the tool's result.
func toolTurn(id, result string) []llm.Message {
	return []llm.Message{
		{Role: llm.RoleAssistant, ToolCalls: []llm.ToolCall{{ID: id, Name: "fetch", Arguments: json.RawMessage(`{"page":"` + id + `"}`)}}},
		llm.ToolResult(id, result),
	}
}

// conversation builds system, user and one tool turn per result.
func conversation(results ...string) []llm.Message {
	msgs := []llm.Message{llm.System("You fetch pages."), llm.User("Read the pages.")}
	for i, r := range results {
		msgs = append(msgs, toolTurn(fmt.Sprintf("call_%d", i+1), r)...)
	}
	return msgs
}

// estimate is what the policy measures msgs at, without tools.
func estimate(msgs []llm.Message) int { return llm.EstimateTokens(llm.Request{Messages: msgs}) }

// checkPairs fails unless every tool result directly follows the assistant message that
// made its call (or another result of that message).
func checkPairs(t *testing.T, msgs []llm.Message) {
	t.Helper()
	var open map[string]bool
	for i, m := range msgs {
		switch {
		case m.Role == llm.RoleTool:
			if !open[m.ToolCallID] {
				t.Errorf("message %d: tool result %q does not follow its call", i, m.ToolCallID)
			}
			delete(open, m.ToolCallID)
		default:
			for id := range open {
				t.Errorf("message %d: the call %q has lost its result", i, id)
			}
			open = map[string]bool{}
			for _, c := range m.ToolCalls {
				open[c.ID] = true
			}
		}
	}
}

func TestFitLeavesAFittingConversationAlone(t *testing.T) {
	srv, m := historyModel(t, smallWindowModel)
	msgs := conversation(strings.Repeat("a", 3000), strings.Repeat("b", 3000))
	got, c, u, err := History{}.fit(t.Context(), m, msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &msgs[0] || len(got) != len(msgs) {
		t.Error("a conversation inside the window was not returned as it was")
	}
	if c != (Compaction{}) || u != (llm.Usage{}) {
		t.Errorf("compaction %+v, usage %+v; want zero", c, u)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests; want none", n)
	}
}

func TestFitLeavesUnknownModelsAlone(t *testing.T) {
	huge := conversation(strings.Repeat("a", 100_000), strings.Repeat("b", 100_000))
	srv, unknown := historyModel(t, "@cf/acme/not-in-the-catalog")
	for name, m := range map[string]llm.Model{
		"model the catalog does not know": unknown,
		"model with no id":                llmtest.NewTestModel(),
	} {
		t.Run(name, func(t *testing.T) {
			got, c, _, err := History{}.fit(t.Context(), m, huge, nil)
			if err != nil {
				t.Fatal(err)
			}
			if &got[0] != &huge[0] || c != (Compaction{}) {
				t.Errorf("changed: %s", c)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests; want none", n)
	}
	// MaxTokens applies whatever the model.
	got, c, _, err := History{MaxTokens: 20_000}.fit(t.Context(), unknown, huge, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ShortenedResults != 2 || estimate(got) > 20_000 {
		t.Errorf("with MaxTokens: %s, estimate %d", c, estimate(got))
	}
}

func TestFitDisabled(t *testing.T) {
	_, m := historyModel(t, smallWindowModel)
	huge := conversation(strings.Repeat("a", 100_000))
	got, c, _, err := History{Disabled: true}.fit(t.Context(), m, huge, nil)
	if err != nil || &got[0] != &huge[0] || c != (Compaction{}) {
		t.Errorf("disabled policy changed the conversation: %s, %v", c, err)
	}
}

func TestFitShortensOldestToolResultsFirst(t *testing.T) {
	srv, m := historyModel(t, smallWindowModel)
	// Three results of 3,000 tokens each: 9,000 tokens is over the limit of 7,968 - 1,024 =
	// 6,944, and three quarters of it (5,208) is reached by shortening the first two.
	results := []string{strings.Repeat("1", 9000), strings.Repeat("2", 9000), strings.Repeat("3", 9000)}
	msgs := conversation(results...)
	before := estimate(msgs)
	defs := []llm.ToolDef{{Name: "fetch", Description: "Fetch a page", Parameters: json.RawMessage(`{"type":"object"}`)}}

	got, c, u, err := History{}.fit(t.Context(), m, msgs, defs)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(msgs) {
		t.Fatalf("%d messages; want %d (shortening drops none)", len(got), len(msgs))
	}
	for i, want := range []bool{true, true, false} {
		content := got[3+2*i].Content
		shortened := strings.HasSuffix(content, "… [shortened by the agent: 8600 of 9000 characters dropped]")
		if shortened != want {
			t.Errorf("result %d shortened = %v, want %v: %.60q…", i+1, shortened, want, content)
		}
		if want && !strings.HasPrefix(content, strings.Repeat(fmt.Sprint(i+1), 400)+"…") {
			t.Errorf("result %d does not keep its first 400 characters: %.60q…", i+1, content)
		}
	}
	if msgs[3].Content != results[0] {
		t.Error("fit changed the caller's messages")
	}
	want := Compaction{ShortenedResults: 2, DroppedChars: 2 * 8600, TokensBefore: llm.EstimateTokens(llm.Request{Messages: msgs, Tools: defs}),
		TokensAfter: llm.EstimateTokens(llm.Request{Messages: got, Tools: defs}), Limit: 7968 - llm.DefaultMaxTokens}
	if c != want {
		t.Errorf("compaction %+v\nwant %+v", c, want)
	}
	if c.TokensAfter > c.Limit*3/4 || c.TokensBefore <= c.Limit || before <= c.Limit {
		t.Errorf("estimates %s", c)
	}
	checkPairs(t, got)
	if u != (llm.Usage{}) || len(srv.Requests()) != 0 {
		t.Errorf("shortening alone made %d model calls", len(srv.Requests()))
	}
	// Once shortened, a result is not shortened again, and fitting the output again
	// changes nothing: the loop can keep sending it.
	again, c2, _, err := History{}.fit(t.Context(), m, got, defs)
	if err != nil || c2 != (Compaction{}) || &again[0] != &got[0] {
		t.Errorf("fitting the fitted conversation again: %s, %v", c2, err)
	}
}

func TestFitShortensTheLatestResultsLast(t *testing.T) {
	srv, m := historyModel(t, smallWindowModel)
	msgs := conversation(strings.Repeat("1", 3000), strings.Repeat("2", 3000), strings.Repeat("3", 12000))
	latest := len(msgs) - 1

	// Shortening the older results gets under the limit, if not under three quarters of
	// it: the result the model has not read yet is left whole.
	got, c, _, err := History{MaxTokens: 5000}.fit(t.Context(), m, msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ShortenedResults != 2 || got[latest].Content != msgs[latest].Content || c.TokensAfter > 5000 || c.TokensAfter <= 5000*3/4 {
		t.Errorf("limit 5000: %s; want the two older results shortened, the latest whole", c)
	}

	// When the older results and a summary (too small to save anything here) cannot make
	// room, the latest result is shortened too, as far as the limit needs.
	got, c, _, err = History{MaxTokens: 4000}.fit(t.Context(), m, msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.ShortenedResults != 3 || !strings.HasPrefix(got[latest].Content, strings.Repeat("3", 400)+"… [shortened") || c.TokensAfter > 4000 {
		t.Errorf("limit 4000: %s; want all three results shortened", c)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d model calls; want none", n)
	}
}

func TestFitKeepToolResult(t *testing.T) {
	_, m := historyModel(t, smallWindowModel)
	msgs := conversation(strings.Repeat("é", 30_000))
	got, c, _, err := History{KeepToolResult: 10}.fit(t.Context(), m, msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Repeat("é", 10) + "… [shortened by the agent: 29990 of 30000 characters dropped]"; got[3].Content != want {
		t.Errorf("shortened to %q, want %q", got[3].Content, want)
	}
	if c.ShortenedResults != 1 || c.DroppedChars != 29990 {
		t.Errorf("compaction %s", c)
	}
}

// summaryRequest is the body of a summary call.
type summaryRequest struct {
	Messages []struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	} `json:"messages"`
	Tools     json.RawMessage `json:"tools"`
	MaxTokens int             `json:"max_tokens"`
}

func TestFitSummarisesOldestTurns(t *testing.T) {
	const (
		first  = "The user asked about the front page: a long welcome note."
		second = "The assistant fetched pages 1 to 25; each said it was page n."
	)
	srv, m := historyModel(t, smallWindowModel,
		llmtest.Text(first).WithUsage(llm.Usage{PromptTokens: 1000, CompletionTokens: 20, TotalTokens: 1020}),
		llmtest.Text(second).WithUsage(llm.Usage{PromptTokens: 1500, CompletionTokens: 30, TotalTokens: 1530}))
	// An earlier exchange, the latest user message, then 40 turns whose results are too
	// short to shorten: only summaries can make room.
	msgs := []llm.Message{
		llm.System("You fetch pages."),
		llm.User("What is on the front page?"), llm.Assistant("A welcome note: " + strings.Repeat("w", 3000)),
		llm.User("Now read pages 1 to 40."),
	}
	for i := range 40 {
		id := fmt.Sprintf("call_%d", i+1)
		msgs = append(msgs, toolTurn(id, fmt.Sprintf("This is page %d. %s", i+1, strings.Repeat("x", 300)))...)
	}
	h := History{MaxTokens: 4000}

	got, c, u, err := h.fit(t.Context(), m, msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := srv.Requests()
	if len(rs) != 2 {
		t.Fatalf("%d model calls; want two summary calls", len(rs))
	}
	var reqs [2]summaryRequest
	for i := range reqs {
		if err := json.Unmarshal(rs[i].Body, &reqs[i]); err != nil {
			t.Fatal(err)
		}
		req := reqs[i]
		if len(req.Messages) != 2 || req.Messages[0].Role != "system" || !strings.Contains(req.Messages[0].Content, "concise summary") {
			t.Fatalf("summary call %d messages: %+v", i+1, req.Messages)
		}
		if req.Tools != nil || req.MaxTokens != defaultSummaryTokens {
			t.Errorf("summary call %d: tools %s, max_tokens %d", i+1, req.Tools, req.MaxTokens)
		}
		if tr := req.Messages[1].Content; strings.Contains(tr, "Now read pages 1 to 40.") || strings.Contains(tr, "You fetch pages.") {
			t.Errorf("summary call %d: the transcript holds the system prompt or the latest user message, which are kept", i+1)
		}
	}
	// First the oldest turns, before the latest user message; then the oldest after it.
	for i, want := range [][]string{
		{"user: What is on the front page?", "assistant: A welcome note: www"},
		{`assistant called fetch (call_1) with {"page":"call_1"}`, "tool result (call_1): This is page 1. xxx"},
	} {
		for _, w := range want {
			if !strings.Contains(reqs[i].Messages[1].Content, w) {
				t.Errorf("summary call %d: the transcript lacks %q", i+1, w)
			}
		}
	}
	if strings.Contains(reqs[1].Messages[1].Content, "assistant: \n") {
		t.Error("the transcript has empty lines for the assistant messages that only called tools")
	}
	if strings.Contains(reqs[0].Messages[1].Content, "call_1") || strings.Contains(reqs[1].Messages[1].Content, "front page") {
		t.Error("a summary call was given turns from the other side of the latest user message")
	}

	// The system prompt, the first summary in place of the earlier exchange, the latest
	// user message, the second summary, then the turns not summarised, whole.
	head := []string{"You fetch pages.", summaryPrefix + first, "Now read pages 1 to 40.", summaryPrefix + second}
	for i, want := range head {
		if got[i].Content != want || i > 0 && got[i].Role != llm.RoleUser {
			t.Fatalf("message %d is %s %.80q; want user %q", i, got[i].Role, got[i].Content, want)
		}
	}
	if got[4].Role != llm.RoleAssistant || len(got[4].ToolCalls) != 1 {
		t.Errorf("after the summary comes %+v; want a whole turn", got[4])
	}
	checkPairs(t, got)
	if last := got[len(got)-1]; last.ToolCallID != "call_40" {
		t.Errorf("the last turn was not kept: %+v", last)
	}
	if c.Summaries != 2 || c.SummarisedMessages != len(msgs)-len(got)+2 || c.ShortenedResults != 0 {
		t.Errorf("compaction %s", c)
	}
	if c.TokensAfter != estimate(got) || c.TokensBefore != estimate(msgs) || c.TokensAfter > h.MaxTokens {
		t.Errorf("estimates %s; want %d → %d", c, estimate(msgs), estimate(got))
	}
	if u.TotalTokens != 1020+1530 {
		t.Errorf("usage %+v; want the summary calls'", u)
	}
}

func TestFitSummarisesTurnsAfterTheLatestUserMessage(t *testing.T) {
	srv, m := historyModel(t, smallWindowModel,
		llmtest.Text("Pages 1 to 35 were read: each said it was page n."))
	msgs := []llm.Message{llm.System("You fetch pages."), llm.User("Read pages 1 to 40.")}
	for i := range 40 {
		id := fmt.Sprintf("call_%d", i+1)
		msgs = append(msgs, toolTurn(id, fmt.Sprintf("This is page %d. %s", i+1, strings.Repeat("x", 300)))...)
	}
	h := History{MaxTokens: 4000}
	got, c, _, err := h.fit(t.Context(), m, msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != 1 || c.Summaries != 1 {
		t.Fatalf("%d model calls, %s; want one summary", len(srv.Requests()), c)
	}
	if got[0].Role != llm.RoleSystem || got[1].Content != "Read pages 1 to 40." || !strings.HasPrefix(got[2].Content, summaryPrefix) {
		t.Fatalf("head of the conversation: %+v", got[:3])
	}
	if got[3].Role != llm.RoleAssistant || len(got[3].ToolCalls) != 1 {
		t.Errorf("after the summary comes %+v; want a whole turn", got[3])
	}
	checkPairs(t, got)
	if c.TokensAfter > h.MaxTokens || c.SummarisedMessages%2 != 0 {
		t.Errorf("compaction %s", c)
	}
	// The next fit takes the summary in with the turns after it, and keeps the task.
	more := append(got, toolTurn("call_41", strings.Repeat("y", 3000))...)
	srv2, m2 := historyModel(t, smallWindowModel, llmtest.Text("Pages 1 to 41 were read."))
	got2, c2, _, err := History{MaxTokens: 2000}.fit(t.Context(), m2, more, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c2.Summaries != 1 || got2[1].Content != "Read pages 1 to 40." || got2[2].Content != summaryPrefix+"Pages 1 to 41 were read." {
		t.Fatalf("second fit: %s: %+v", c2, got2[:3])
	}
	var req summaryRequest
	if err := json.Unmarshal(srv2.Requests()[0].Body, &req); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(req.Messages[1].Content, summaryPrefix+"Pages 1 to 35 were read") {
		t.Error("the second summary call was not given the first summary")
	}
}

func TestFitKeepsCallsWithTheirResultsAndTheTask(t *testing.T) {
	// The notes the loop adds at the step limit and to ask RunTyped's typed answer are user
	// messages but not the user's: the task must stay.
	for name, note := range map[string]string{"step limit": stepLimitNote, "typed answer": typedNote} {
		t.Run(name, func(t *testing.T) {
			srv, m := historyModel(t, smallWindowModel, llmtest.Text("Pages 1 to 60 were read."), llmtest.Text("More pages."))
			// Turns of three parallel calls each, then the note.
			msgs := []llm.Message{llm.System("s"), llm.User("Read the pages.")}
			for i := range 30 {
				turn := llm.Message{Role: llm.RoleAssistant, Content: "Reading."}
				var results []llm.Message
				for j := range 3 {
					id := fmt.Sprintf("call_%d_%d", i, j)
					turn.ToolCalls = append(turn.ToolCalls, llm.ToolCall{ID: id, Name: "fetch", Arguments: json.RawMessage(`{}`)})
					results = append(results, llm.ToolResult(id, strings.Repeat("r", 300)))
				}
				msgs = append(append(msgs, turn), results...)
			}
			msgs = append(msgs, llm.User(note))
			got, c, _, err := History{MaxTokens: 3000}.fit(t.Context(), m, msgs, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.Summaries == 0 || len(srv.Requests()) != c.Summaries {
				t.Fatalf("%s; want a summary", c)
			}
			checkPairs(t, got)
			// Whole turns of four messages, and each summary after the first takes in the one before.
			if (c.SummarisedMessages-(c.Summaries-1))%4 != 0 {
				t.Errorf("%s: the summarised messages are not whole turns", c)
			}
			if got[1].Content != "Read the pages." || got[len(got)-1].Content != note {
				t.Errorf("the task or the note was not kept: %q … %q", got[1].Content, got[len(got)-1].Content)
			}
			for _, r := range srv.Requests() {
				if strings.Contains(string(r.Body), "Read the pages.") {
					t.Error("the task was given to a summary call")
				}
			}
		})
	}
}

func TestFitSummaryCallsFitTheWindow(t *testing.T) {
	srv, m := historyModel(t, smallWindowModel,
		llmtest.Text("Pages were read."), llmtest.Text("More pages were read."), llmtest.Text("Even more pages."), llmtest.Text("All of them."))
	// 30 turns of about 600 tokens each, kept whole by KeepToolResult: about 18,000 tokens
	// to summarise, more than one summary call can be given on a window of 7,968.
	msgs := []llm.Message{llm.System("s"), llm.User("Read pages 1 to 30.")}
	for i := range 30 {
		msgs = append(msgs, toolTurn(fmt.Sprintf("call_%d", i+1), strings.Repeat("z", 1800))...)
	}
	got, c, _, err := History{KeepToolResult: 5000}.fit(t.Context(), m, msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	rs := srv.Requests()
	if len(rs) < 2 || c.Summaries != len(rs) {
		t.Fatalf("%d summary calls, %s; want several", len(rs), c)
	}
	for i, r := range rs {
		if r.Status != http.StatusOK {
			t.Errorf("summary call %d: HTTP %d", i+1, r.Status)
		}
	}
	if c.TokensAfter > 7968-llm.DefaultMaxTokens || c.ShortenedResults != 0 {
		t.Errorf("compaction %s", c)
	}
	checkPairs(t, got)
}

func TestFitSummaryFailure(t *testing.T) {
	_, m := historyModel(t, smallWindowModel, llmtest.Fail(http.StatusInternalServerError, 3043, "Internal server error"))
	msgs := []llm.Message{llm.System("s"), llm.User("Read pages 1 to 40.")}
	for i := range 40 {
		msgs = append(msgs, toolTurn(fmt.Sprintf("call_%d", i+1), strings.Repeat("x", 300))...)
	}
	got, c, _, err := History{MaxTokens: 3000}.fit(t.Context(), m, msgs, nil)
	if err == nil || !strings.Contains(err.Error(), "agent: summarising") {
		t.Fatalf("error %v; want the summary call's failure", err)
	}
	if &got[0] != &msgs[0] || c != (Compaction{}) {
		t.Errorf("on failure: %s; want the messages as given", c)
	}
	var le *llm.Error
	if !errors.As(err, &le) {
		t.Errorf("%v does not wrap the model's error", err)
	}
}

func TestFitWithNothingToTakeOut(t *testing.T) {
	srv, m := historyModel(t, smallWindowModel)
	msgs := []llm.Message{llm.System("s"), llm.User(strings.Repeat("q", 30_000))}
	got, c, _, err := History{}.fit(t.Context(), m, msgs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if &got[0] != &msgs[0] || len(got) != 2 {
		t.Error("the system prompt and the latest user message were not sent as they were")
	}
	if want := (Compaction{TokensBefore: estimate(msgs), TokensAfter: estimate(msgs), Limit: 7968 - llm.DefaultMaxTokens}); c != want {
		t.Errorf("compaction %+v, want %+v", c, want)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d model calls; want none", n)
	}
}

func TestFitRefusesNegativeSettings(t *testing.T) {
	_, m := historyModel(t, smallWindowModel)
	_, _, _, err := History{KeepToolResult: -1, Reserve: -2}.fit(t.Context(), m, conversation("x"), nil)
	if err == nil || !strings.Contains(err.Error(), "History.KeepToolResult is -1") || !strings.Contains(err.Error(), "History.Reserve is -2") {
		t.Errorf("error %v", err)
	}
}

func TestCompactionString(t *testing.T) {
	for c, want := range map[Compaction]string{
		{}: "history: unchanged",
		{ShortenedResults: 2, DroppedChars: 900, TokensBefore: 8000, TokensAfter: 5000, Limit: 6944}: "history: shortened 2 tool results (900 characters dropped): ~8000 → ~5000 tokens (limit 6944)",
		{SummarisedMessages: 12, Summaries: 1, TokensBefore: 8000, TokensAfter: 3000, Limit: 6944}:   "history: summarised 12 messages in 1 call: ~8000 → ~3000 tokens (limit 6944)",
		{TokensBefore: 8000, TokensAfter: 8000, Limit: 6944}:                                         "history: could not compact: ~8000 → ~8000 tokens (limit 6944)",
	} {
		if got := c.String(); got != want {
			t.Errorf("%+v: %q, want %q", c, got, want)
		}
	}
}

// pageIn is the input of the page tool of the end-to-end test.
type pageIn struct {
	Page int `json:"page"`
}

// TestRunStaysInsideTheWindow runs an agent on a model with a small window (7,968 tokens)
// for 50 steps of a tool that returns 6,000 characters each time, while the emulator
// refuses, as Workers AI does, any request over the window. Without the policy the client
// refuses a step once the results outgrow the window; with it, the run completes, the
// results shortened first and the oldest turns summarised later.
func TestRunStaysInsideTheWindow(t *testing.T) {
	const steps = 50
	page := tools.New("page", "Read a page of the report", func(_ context.Context, in pageIn) (string, error) {
		return fmt.Sprintf("Page %d. %s", in.Page, strings.Repeat("lorem ipsum ", 500)), nil
	})
	newServer := func(t *testing.T) (*llmtest.Server, llm.Model) {
		var (
			mu    sync.Mutex
			calls int
		)
		srv := llmtest.NewServer(func(_ string, body []byte) llmtest.Reply {
			if strings.Contains(string(body), "You compress the earlier part") {
				return llmtest.Text("Pages were read; each was lorem ipsum.")
			}
			if strings.Contains(string(body), "required format") {
				return llmtest.Text(`{"about":"lorem ipsum"}`)
			}
			mu.Lock()
			defer mu.Unlock()
			calls++
			if calls > steps {
				return llmtest.Text("The report is lorem ipsum throughout.")
			}
			return llmtest.Calls(llm.ToolCall{Name: "page", Arguments: json.RawMessage(fmt.Sprintf(`{"page":%d}`, calls))})
		})
		t.Cleanup(srv.Close)
		c, err := srv.Client(llm.WithRetry(llm.RetryPolicy{MaxAttempts: 1}))
		if err != nil {
			t.Fatal(err)
		}
		return srv, c.Model(smallWindowModel)
	}

	t.Run("no history policy", func(t *testing.T) {
		_, m := newServer(t)
		a := New(m, WithTools(page), WithMaxSteps(steps+1), WithHistory(History{Disabled: true}))
		_, err := a.Run(t.Context(), "Read the report, page by page, and say what it is about.")
		if !errors.Is(err, llm.ErrContextWindow) {
			t.Fatalf("error %v; want llm.ErrContextWindow", err)
		}
	})

	// The policy works the same whichever way the run is driven: Run, Stream, or RunTyped,
	// whose typed answer goes out from the conversation as the policy last shaped it.
	type report struct {
		About string `json:"about"`
	}
	drive := map[string]func(t *testing.T, a *Agent, task string) (*Result, error){
		"Run": func(t *testing.T, a *Agent, task string) (*Result, error) { return a.Run(t.Context(), task) },
		"Stream": func(t *testing.T, a *Agent, task string) (*Result, error) {
			var res *Result
			var err error
			for ev, e := range a.Stream(t.Context(), task) {
				if ev.Kind == EventDone {
					res, err = ev.Result, e
				}
			}
			return res, err
		},
		"RunTyped": func(t *testing.T, a *Agent, task string) (*Result, error) {
			v, res, err := RunTyped[report](t.Context(), a, task)
			if err == nil && v.About != "lorem ipsum" {
				t.Errorf("typed answer %+v", v)
			}
			return res, err
		},
	}
	for _, how := range []string{"Run", "Stream", "RunTyped"} {
		t.Run("default policy/"+how, func(t *testing.T) {
			srv, m := newServer(t)
			a := New(m, WithSystem("You read reports."), WithTools(page), WithMaxSteps(steps+1))
			res, err := drive[how](t, a, "Read the report, page by page, and say what it is about.")
			if err != nil {
				t.Fatal(err)
			}
			wantSteps, wantMessages := steps+1, 2+2*steps+1
			if how == "RunTyped" {
				wantSteps, wantMessages = steps+2, 2+2*steps+3 // the typed answer's note and answer follow
			}
			if !strings.HasPrefix(res.Text, "The report is lorem ipsum throughout.") && how != "RunTyped" || len(res.Steps) != wantSteps {
				t.Errorf("answer %q after %d steps", res.Text, len(res.Steps))
			}
			// The Result keeps the whole conversation, results unshortened.
			if n := len(res.Messages); n != wantMessages {
				t.Errorf("%d messages in the Result; want %d", n, wantMessages)
			}
			for _, msg := range res.Messages {
				if strings.Contains(msg.Content, "shortened by the agent") {
					t.Fatal("the Result holds a shortened tool result")
				}
			}
			summaries := 0
			for i, r := range srv.Requests() {
				if strings.Contains(string(r.Body), "You compress the earlier part") {
					summaries++
					continue
				}
				if r.Status != http.StatusOK {
					t.Errorf("request %d: HTTP %d", i+1, r.Status)
				}
				var b struct {
					Messages []llm.Message `json:"messages"`
				}
				if err := json.Unmarshal(r.Body, &b); err != nil {
					t.Fatal(err)
				}
				if !strings.HasPrefix(b.Messages[0].Content, "You read reports.") {
					t.Errorf("request %d does not start with the system prompt", i+1)
				}
				if b.Messages[1].Content != "Read the report, page by page, and say what it is about." {
					t.Errorf("request %d does not keep the task", i+1)
				}
			}
			if summaries == 0 {
				t.Error("no summary call: the run was not long enough to need one")
			}
			// The steps report what was done.
			shortened, summarised := 0, 0
			for i, st := range res.Steps {
				if st.Compaction != (Compaction{}) {
					t.Logf("step %d: %s", i+1, st.Compaction)
				}
				shortened += st.Compaction.ShortenedResults
				summarised += st.Compaction.Summaries
			}
			if shortened == 0 || summarised != summaries {
				t.Errorf("the steps report %d results shortened and %d summary calls; the emulator saw %d summary calls", shortened, summarised, summaries)
			}
			// What was summarised stays summarised: the typed answer does not summarise the
			// whole conversation again.
			if last := res.Steps[len(res.Steps)-1].Compaction; how == "RunTyped" && last.Summaries > 0 {
				t.Errorf("the typed answer made %d summary calls of its own: %s", last.Summaries, last)
			}
		})
	}
}
