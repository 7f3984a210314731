package main

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/gowai/gowai/examples/internal/backend"
)

// TestRunOffline runs the example end to end on the emulator: it builds examples/mcpserver,
// starts it over stdio and runs the agent with its tools.
func TestRunOffline(t *testing.T) {
	for _, env := range []string{backend.EnvAccountID, backend.EnvAPIToken, backend.EnvBaseURL} {
		t.Setenv(env, "")
	}
	if err := run(context.Background(), "How long is (42.195 * 5.5) / 60 hours?", ""); err != nil {
		t.Fatal(err)
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
