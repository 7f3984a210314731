package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"iter"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

// The paused run of these tests has a field of every kind set: an image in its input, a
// step whose conversation the history policy shortened, a tool result with an error,
// responses with ids, cached tokens and neurons, the budget's counts, and pending calls.

// pausedReplies are the emulator's answers up to the pause, resumedReplies those after it.
func pausedReplies() []llmtest.Reply {
	return []llmtest.Reply{
		llmtest.Calls(llm.ToolCall{ID: "r1", Name: "read", Arguments: json.RawMessage(`{}`)}, add("r2", 1, 2)),
		llmtest.Calls(add("c1", 2, 3), del("c2", "a.txt"), del("c3", "b.txt")),
	}
}

func resumedReplies() []llmtest.Reply {
	return []llmtest.Reply{llmtest.Text("Deleted a.txt; b.txt was kept.")}
}

// longRun builds the Agent of these tests on m.
func longRun(m llm.Model, added, deleted *atomic.Int32) *agent.Agent {
	read := tools.New("read", "Read the report", func(context.Context, struct{}) (string, error) {
		return strings.Repeat("a long report ", 900), nil
	})
	return agent.New(m, agent.WithSystem("Tidy up."), agent.WithTools(read, addTool(added), deleteTool(deleted)),
		agent.WithHistory(agent.History{MaxTokens: 3500}),
		agent.WithBudget(agent.Budget{MaxToolCalls: 10, MaxNeurons: 1e6}),
		agent.WithHooks(agent.Hooks{
			NeedsApproval: func(c llm.ToolCall) bool { return c.Name == "delete_file" },
			BeforeTool: func(_ context.Context, c llm.ToolCall) error {
				if c.Name == "add" && strings.Contains(string(c.Arguments), `"a":1`) {
					return errors.New("not that sum")
				}
				return nil
			},
		}))
}

// pauseLongRun runs the Agent of these tests to its pause.
func pauseLongRun(t *testing.T, m llm.Model) *agent.Result {
	t.Helper()
	var added, deleted atomic.Int32
	img := llm.Image{Data: []byte("\x89PNG\r\n\x1a\n not really"), MIME: "image/png"}
	res, err := longRun(m, &added, &deleted).RunMessages(t.Context(), []llm.Message{llm.User("tidy up after this", img)})
	if !errors.Is(err, agent.ErrApprovalRequired) {
		t.Fatalf("error %v; want ErrApprovalRequired", err)
	}
	if deleted.Load() != 0 {
		t.Fatal("a call that needs approval ran before the decision")
	}
	return res
}

func TestPausedResultSurvivesJSONWithEveryField(t *testing.T) {
	_, m := emulator(t, kimi, pausedReplies()...)
	res := pauseLongRun(t, m)

	// Every field that a paused run can carry is set, so the comparison covers them all.
	st := res.Steps[len(res.Steps)-1]
	switch {
	case len(res.Steps) != 2 || len(res.Pending) != 2 || res.SessionAffinity == "" || res.Text != "":
		t.Fatalf("steps %d, pending %d, key %q, text %q", len(res.Steps), len(res.Pending), res.SessionAffinity, res.Text)
	case len(res.Messages[1].Images) != 1:
		t.Fatalf("the input's image is not in Messages: %+v", res.Messages[1])
	case st.Compaction.ShortenedResults == 0:
		t.Fatalf("the paused step's Compaction %+v: the history policy did nothing", st.Compaction)
	case res.Steps[0].Results[1].Err == nil:
		t.Fatal("the refused call has no error")
	case st.Response == nil || st.Response.ID == "" || st.Response.Usage.CachedTokens == 0 || st.Response.Usage.Neurons == 0:
		t.Fatalf("the paused step's Response %+v", st.Response)
	case res.Spent.ToolCalls != 1 || res.Spent.Neurons == 0 || res.Usage.CachedTokens == 0:
		t.Fatalf("Spent %+v, Usage %+v", res.Spent, res.Usage)
	case st.ModelTime <= 0 || st.Duration <= 0 || res.Steps[0].Results[0].Duration <= 0:
		t.Fatalf("durations %s %s %s", st.ModelTime, st.Duration, res.Steps[0].Results[0].Duration)
	}

	back := stored(t, res)
	if d := cmp.Diff(res, back, byText); d != "" {
		t.Fatalf("the Result changed through JSON (-before +after):\n%s", d)
	}
	b, err1 := json.Marshal(res)
	again, err2 := json.Marshal(back)
	if err1 != nil || err2 != nil || string(again) != string(b) {
		t.Fatalf("marshalled again, the Result is not the same JSON (%v, %v)", err1, err2)
	}
}

// resumeChildEnv names the emulator a child process of TestResumeInAnotherProcess runs
// the first half of the run against, and the file it stores the paused Result in.
const resumeChildEnv = "GOWAI_AGENT_RESUME_CHILD"

// A run paused in one process is resumed by a fresh Agent in another: the child test
// process runs to the pause and stores the Result as JSON; this process reads it, resumes
// with one call approved and one denied, and the run completes against the same emulator.
func TestResumeInAnotherProcess(t *testing.T) {
	if v := os.Getenv(resumeChildEnv); v != "" {
		url, file, _ := strings.Cut(v, " ")
		// No connection is kept open once the child is done.
		hc := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
		c, err := llm.NewClient(llm.WithBaseURL(url), llm.WithAccount("test-account", "test-token"),
			llm.WithRetry(llm.RetryPolicy{MaxAttempts: 1}), llm.WithHTTPClient(hc))
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(pauseLongRun(t, c.Model(kimi)))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
		return
	}

	srv, m := emulator(t, kimi, append(pausedReplies(), resumedReplies()...)...)
	file := filepath.Join(t.TempDir(), "paused.json")
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestResumeInAnotherProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), resumeChildEnv+"="+srv.URL()+" "+file)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("the child process: %v\n%s", err, out)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Fatalf("the child made %d requests; want 2", n)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var paused agent.Result
	if err := json.Unmarshal(b, &paused); err != nil {
		t.Fatal(err)
	}

	var added, deleted atomic.Int32
	done, err := longRun(m, &added, &deleted).Resume(t.Context(), &paused,
		map[string]agent.Decision{"c2": agent.Approve(), "c3": agent.Deny("b.txt is still needed")})
	if err != nil || done.Text != "Deleted a.txt; b.txt was kept." {
		t.Fatalf("Resume = %q, %v", done.Text, err)
	}
	if added.Load() != 1 || deleted.Load() != 1 {
		t.Fatalf("in this process add ran %d, delete %d times; want once each", added.Load(), deleted.Load())
	}
	reqs := srv.Requests()
	if len(reqs) != 3 {
		t.Fatalf("%d requests", len(reqs))
	}
	last := reqs[2]
	var sent struct {
		Messages []struct {
			Role       string          `json:"role"`
			Content    json.RawMessage `json:"content"`
			ToolCallID string          `json:"tool_call_id"`
		} `json:"messages"`
	}
	if err := json.Unmarshal(last.Body, &sent); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, msg := range sent.Messages {
		if msg.Role == "tool" {
			var text string
			if err := json.Unmarshal(msg.Content, &text); err != nil {
				t.Fatal(err)
			}
			got[msg.ToolCallID] = text
		}
	}
	if got["c1"] != "5" || got["c2"] != "deleted a.txt" || got["c3"] != "error: the call was denied: b.txt is still needed" ||
		!strings.HasPrefix(got["r2"], "error: the call was refused: not that sum") {
		t.Fatalf("the model read %q", got)
	}
	if k := last.Header.Get("X-Session-Affinity"); k == "" || k != paused.SessionAffinity || done.SessionAffinity != k {
		t.Fatalf("the resumed request's key %q; the paused run's %q", k, paused.SessionAffinity)
	}
	// The image of the input is still sent: the model is a vision model.
	if !strings.Contains(string(last.Body), `"image_url"`) {
		t.Errorf("the resumed request has no image: %.300s", last.Body)
	}
	if done.Spent.ToolCalls != 3 || done.Usage.TotalTokens != paused.Usage.TotalTokens+done.Steps[2].Usage.TotalTokens ||
		done.Spent.Neurons <= paused.Spent.Neurons {
		t.Fatalf("Spent %+v, Usage %+v after the pause's %+v, %+v", done.Spent, done.Usage, paused.Spent, paused.Usage)
	}
}

// loose is a model, not llm.ChatModel, that calls add with arguments laid out loosely and
// a tool with no arguments at all, then answers.
type loose struct{}

func (loose) Generate(_ context.Context, req llm.Request) (*llm.Response, error) {
	if req.Messages[len(req.Messages)-1].Role == llm.RoleTool {
		return &llm.Response{Text: "done"}, nil
	}
	return &llm.Response{ToolCalls: []llm.ToolCall{
		{ID: "c1", Name: "add", Arguments: json.RawMessage("{\n  \"a\": 1,\n  \"b\": 2\n}")},
		{ID: "c2", Name: "delete_file"},
	}}, nil
}

func (loose) Stream(context.Context, llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) { yield(llm.Delta{}, errors.New("loose does not stream")) }
}

// Whatever model made the calls, the paused Result's calls read back from JSON the same.
func TestPausedCallsOfAnyModelSurviveJSON(t *testing.T) {
	var added, deleted atomic.Int32
	a := approvalAgent(loose{}, &added, &deleted)
	res, err := a.Run(t.Context(), "tidy up")
	if !errors.Is(err, agent.ErrApprovalRequired) {
		t.Fatalf("error %v", err)
	}
	if got := string(res.Pending[0].Arguments); got != "{}" {
		t.Errorf("the call without arguments is pending with %q; want {}", got)
	}
	back := stored(t, res)
	// The Response is the model's, as it gave it; everything else reads back the same.
	res.Steps[0].Response, back.Steps[0].Response = nil, nil
	if d := cmp.Diff(res, back, byText); d != "" {
		t.Fatalf("the Result changed through JSON (-before +after):\n%s", d)
	}
	done, err := a.Resume(t.Context(), back, map[string]agent.Decision{"c2": agent.Deny("no")})
	if err != nil || done.Text != "done" || added.Load() != 1 || deleted.Load() != 0 {
		t.Fatalf("Resume: %q, %v; add ran %d, delete %d times", done.Text, err, added.Load(), deleted.Load())
	}
}
