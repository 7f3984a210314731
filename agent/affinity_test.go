package agent_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"slices"
	"testing"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// affinities returns the x-session-affinity header of every request the server received.
func affinities(srv *llmtest.Server) []string {
	var keys []string
	for _, r := range srv.Requests() {
		keys = append(keys, r.Header.Get("X-Session-Affinity"))
	}
	return keys
}

// sameKey fails unless every key in keys is want.
func sameKey(t *testing.T, keys []string, want string) {
	t.Helper()
	for i, k := range keys {
		if k != want {
			t.Fatalf("request %d: x-session-affinity %q, want %q (all: %q)", i+1, k, want, keys)
		}
	}
}

func TestRunSendsOneSessionAffinityKey(t *testing.T) {
	srv, m := emulator(t, kimi,
		llmtest.Calls(add("c1", 1, 2)), llmtest.Calls(add("c2", 3, 4)), llmtest.Text("done"),
		llmtest.Calls(add("c3", 1, 2)), llmtest.Text("again"),
		llmtest.Text("continued"))
	a := agent.New(m, agent.WithSystem("Add numbers."), agent.WithTools(addTool(nil)))

	first, err := a.Run(t.Context(), "add twice")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := hex.DecodeString(first.SessionAffinity); err != nil || len(b) != 16 {
		t.Fatalf("SessionAffinity = %q, want 16 random bytes in hex", first.SessionAffinity)
	}
	keys := affinities(srv)
	if len(keys) != 3 {
		t.Fatalf("%d requests, want 3", len(keys))
	}
	sameKey(t, keys, first.SessionAffinity)

	second, err := a.Run(t.Context(), "add once")
	if err != nil {
		t.Fatal(err)
	}
	if second.SessionAffinity == first.SessionAffinity || second.SessionAffinity == "" {
		t.Fatalf("second run's key %q, first's %q: want a fresh one", second.SessionAffinity, first.SessionAffinity)
	}
	sameKey(t, affinities(srv)[3:], second.SessionAffinity)

	third, err := a.Continue(t.Context(), first, "and now?")
	if err != nil {
		t.Fatal(err)
	}
	if third.SessionAffinity != first.SessionAffinity || third.Text != "continued" {
		t.Fatalf("Continue: key %q, text %q; want the first run's key %q", third.SessionAffinity, third.Text, first.SessionAffinity)
	}
	sameKey(t, affinities(srv)[5:], first.SessionAffinity)
	if n := len(bodies(t, srv)[5].Messages); n != len(first.Messages)+1 {
		t.Fatalf("Continue sent %d messages, want the %d of the first run and the new one", n, len(first.Messages))
	}
}

func TestWithSessionAffinitySetsTheKey(t *testing.T) {
	srv, m := emulator(t, llama, llmtest.Calls(add("", 1, 2)), llmtest.Text("3"), llmtest.Text("again"))
	a := agent.New(m, agent.WithTools(addTool(nil)), agent.WithSessionAffinity("user-42"))
	for range 2 {
		res, err := a.Run(t.Context(), "add")
		if err != nil {
			t.Fatal(err)
		}
		if res.SessionAffinity != "user-42" {
			t.Fatalf("SessionAffinity = %q", res.SessionAffinity)
		}
	}
	sameKey(t, affinities(srv), "user-42")
}

// The prompt prefix stays the same from step to step, so that the service's prompt cache can
// reuse it: the system prompt and the tool definitions are the same bytes in every request,
// and the emulated cache reports the prefix as cached from the second step on.
func TestPromptPrefixIsStableAcrossSteps(t *testing.T) {
	srv, m := emulator(t, kimi, llmtest.Calls(add("c1", 1, 2)), llmtest.Calls(add("c2", 3, 4)), llmtest.Text("done"))
	a := agent.New(m, agent.WithSystem("You add numbers with the add tool. Be brief."), agent.WithTools(addTool(nil)))
	res, err := a.Run(t.Context(), "add twice")
	if err != nil {
		t.Fatal(err)
	}
	var system, tools []byte
	for i, r := range srv.Requests() {
		var b struct {
			Messages []json.RawMessage `json:"messages"`
			Tools    json.RawMessage   `json:"tools"`
		}
		if err := json.Unmarshal(r.Body, &b); err != nil || len(b.Messages) == 0 || len(b.Tools) == 0 {
			t.Fatalf("request %d: %v: %s", i+1, err, r.Body)
		}
		if i == 0 {
			system, tools = b.Messages[0], b.Tools
			continue
		}
		if !bytes.Equal(b.Messages[0], system) {
			t.Errorf("request %d: system message\n%s\nwant\n%s", i+1, b.Messages[0], system)
		}
		if !bytes.Equal(b.Tools, tools) {
			t.Errorf("request %d: tools\n%s\nwant\n%s", i+1, b.Tools, tools)
		}
	}
	if len(res.Steps) != 3 {
		t.Fatalf("%d steps, want 3", len(res.Steps))
	}
	if c := res.Steps[0].Usage.CachedTokens; c != 0 {
		t.Errorf("step 1: %d cached tokens, want 0 (nothing sent before)", c)
	}
	for i, st := range res.Steps[1:] {
		if st.Usage.CachedTokens <= 0 || st.Usage.CachedTokens > st.Usage.PromptTokens {
			t.Errorf("step %d: usage %+v, want cached tokens reported, at most the prompt's", i+2, st.Usage)
		}
	}
	if res.Usage.CachedTokens <= 0 {
		t.Errorf("Result.Usage = %+v, want the cached tokens summed", res.Usage)
	}
}

// RunMessages given a run's Result.Messages with more appended goes on under that run's key;
// the same input run afresh, or another Agent, gets a new one.
func TestRunMessagesContinuingARunKeepsItsKey(t *testing.T) {
	srv, m := emulator(t, kimi, llmtest.Text("one"), llmtest.Text("two"), llmtest.Text("three"), llmtest.Text("four"))
	a := agent.New(m, agent.WithSystem("Be brief."))
	first, err := a.Run(t.Context(), "hi")
	if err != nil {
		t.Fatal(err)
	}
	next, err := a.RunMessages(t.Context(), append(slices.Clone(first.Messages), llm.User("and then?")))
	if err != nil {
		t.Fatal(err)
	}
	if next.SessionAffinity != first.SessionAffinity {
		t.Errorf("continued run's key %q, want the first run's %q", next.SessionAffinity, first.SessionAffinity)
	}
	sameKey(t, affinities(srv)[1:2], first.SessionAffinity)
	again, err := a.Run(t.Context(), "hi")
	if err != nil {
		t.Fatal(err)
	}
	if again.SessionAffinity == first.SessionAffinity {
		t.Error("a new run of the same input reused the first run's key")
	}
	other, err := agent.New(m, agent.WithSystem("Be brief.")).RunMessages(t.Context(), append(slices.Clone(first.Messages), llm.User("and then?")))
	if err != nil {
		t.Fatal(err)
	}
	if other.SessionAffinity == first.SessionAffinity {
		t.Error("another Agent knew the first run's key")
	}
}
