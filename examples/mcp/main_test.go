package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gowai/gowai/examples/internal/backend"
)

// TestRunOffline runs the example end to end on the emulator: it builds examples/mcpserver,
// starts it over stdio and runs the agent with its tools and the local one.
func TestRunOffline(t *testing.T) {
	for _, env := range []string{backend.EnvAccountID, backend.EnvAPIToken, backend.EnvBaseURL} {
		t.Setenv(env, "")
	}
	var out strings.Builder
	if err := run(context.Background(), &out, defaultQuestion, ""); err != nil {
		t.Fatal(err)
	}
	got := out.String()
	t.Log("\n" + got)
	if head := "tool calculator: from MCP server gowai-examples\n" +
		"tool convert_units: from MCP server gowai-examples\n" +
		"tool hours_minutes: local Go function\n"; !strings.HasPrefix(got, head) {
		t.Errorf("the output does not start with the tools and where they come from:\n%s", got)
	}
	for _, want := range []string{
		// The server's tools run in the child process, the local one here.
		"calculator({\"expression\":\"((42.195 * 5.5) / 60)\"})\n    -> 3.867875\n",
		`convert_units({"from":"km","to":"mi",`,
		`"unit":"mi"}`,
		"hours_minutes({\"hours\":",
		"\nanswer: test model:",
		"\ncost: ",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("the output lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "-> error") {
		t.Errorf("a tool call failed:\n%s", got)
	}
}

func TestHoursMinutes(t *testing.T) {
	for in, want := range map[string]string{`{"hours":3.867875}`: `3 h 52 min`, `{"hours":0.999}`: `1 h 00 min`, `{"hours":0}`: `0 h 00 min`} {
		got, err := hoursMinutesTool().Call(context.Background(), json.RawMessage(in))
		if err != nil || got != want {
			t.Errorf("hours_minutes(%s) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := hoursMinutesTool().Call(context.Background(), json.RawMessage(`{"hours":-1}`)); err == nil {
		t.Error("negative hours accepted")
	}
}
