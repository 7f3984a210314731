package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gowai/gowai/examples/internal/backend"
)

const question = "Can I claim the attached coffee receipt from a customer meeting?"

// output runs the example offline with the flags given and returns what it printed.
func output(t *testing.T, approve bool, resume, deny, state string) string {
	t.Helper()
	for _, env := range []string{backend.EnvAccountID, backend.EnvAPIToken, backend.EnvBaseURL} {
		t.Setenv(env, "")
	}
	f, err := os.CreateTemp(t.TempDir(), "stdout")
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = f
	err = run(context.Background(), question, approve, resume, deny, state)
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func contains(t *testing.T, out string, want ...string) {
	t.Helper()
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("the output lacks %q:\n%s", w, out)
		}
	}
}

// The offline run does what the example says: the sub-agents read the receipt with the
// vision tool and find the coffee-meeting rule with the search tool, the claim pauses for
// approval, and a new run resumes it from the saved file, approved or denied.
func TestOfflinePauseAndResume(t *testing.T) {
	state := filepath.Join(t.TempDir(), "state.json")
	out := output(t, false, "", "", state)
	contains(t, out,
		`[receipt_reader]   look_at_image({"image":0`, "Total: 9.50 EUR",
		`[policy_analyst]   search_policies(`, `"source":"coffee-meetings.md"`,
		"sub-agents ran ", `needs approval: file_expense_claim {"amount":9.5,"merchant":"Corner Cafe"`, "\npaused; the run is saved in "+state)
	if strings.Contains(out, "answer:") || strings.Contains(out, "claim filed") {
		t.Errorf("the claim was filed or answered before approval:\n%s", out)
	}

	out = output(t, false, state, "not this month", state)
	contains(t, out, "resuming the run saved in", "error: the call was denied: not this month",
		"\nanswer: The receipt from Corner Cafe (9.50 EUR) is within the 15.00 EUR limit", "served from the prompt cache", "cost: ")

	out = output(t, false, state, "", state)
	contains(t, out, "-> claim filed: 9.50 EUR at Corner Cafe", "\nanswer: Yes.")
}

func TestOfflineApprove(t *testing.T) {
	out := output(t, true, "", "", filepath.Join(t.TempDir(), "unused.json"))
	contains(t, out, "approved with -approve", "-> claim filed: 9.50 EUR at Corner Cafe", "\nanswer: Yes.", "session-affinity key ")
	if strings.Contains(out, "paused") {
		t.Errorf("-approve paused:\n%s", out)
	}
}
