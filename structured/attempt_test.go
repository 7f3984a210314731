package structured_test

import (
	"context"
	"slices"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/structured"
)

type ctxKey struct{}

func TestAttemptHook(t *testing.T) {
	bad := `{"customer":"Ada","status":"lost","items":[]}`
	good := validOrder
	for _, stream := range []bool{false, true} {
		_, c := newServer(t, llmtest.Script(llmtest.Text(bad).WithUsage(usage(15)), llmtest.Text(good).WithUsage(usage(25))))
		var got []structured.AttemptInfo
		hook := structured.WithAttemptHook(func(ctx context.Context, a structured.AttemptInfo) {
			if ctx.Value(ctxKey{}) != "caller" {
				t.Error("the hook was not given the caller's context")
			}
			a.Problems = slices.Clone(a.Problems)
			got = append(got, a)
		})
		ctx := context.WithValue(t.Context(), ctxKey{}, "caller")
		var err error
		if stream {
			for _, e := range structured.Stream[Order](ctx, c.Model(promptModel), "x", hook) {
				if e != nil {
					err = e
				}
			}
		} else {
			_, err = structured.GenerateFrom[Order](ctx, c.Model(promptModel), []llm.Message{llm.User("x")}, hook)
		}
		if err != nil {
			t.Fatalf("stream %v: %v", stream, err)
		}
		if len(got) != 2 || got[0].Attempt != 1 || len(got[0].Problems) == 0 || got[0].Usage.TotalTokens != 15 ||
			got[1].Attempt != 2 || got[1].Problems != nil || got[1].Usage.TotalTokens != 25 || got[1].Mode != structured.ModePrompt {
			t.Errorf("stream %v: attempts = %+v", stream, got)
		}
	}
}

// TestNilOptionFuncs: a nil hook or request edit is ignored, not called.
func TestNilOptionFuncs(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.Text(validOrder)))
	if _, err := structured.Generate[Order](t.Context(), c.Model(promptModel), "x",
		structured.WithRequest(nil), structured.WithAttemptHook(nil)); err != nil {
		t.Fatal(err)
	}
}
