package llm_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// A server that accepts a request and never answers it: the per-attempt timeout and the
// stream idle timeout end the call over a real connection, and nothing is left running.
func TestTimeoutsEndCallsToAServerThatNeverAnswers(t *testing.T) {
	defer goleak.VerifyNone(t)
	srv := llmtest.NewServer(func(string, []byte) llmtest.Reply { return llmtest.Model().WithLatency(time.Hour) })
	defer srv.Close()
	c, err := srv.Client(llm.WithTimeout(50*time.Millisecond), llm.WithStreamIdleTimeout(50*time.Millisecond),
		llm.WithRetry(llm.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Model(llmtest.DefaultTestModelID)
	req := llm.Request{Messages: []llm.Message{llm.User("hi")}}
	if _, err := m.Generate(context.Background(), req); !errors.Is(err, llm.ErrTimeout) {
		t.Errorf("Generate: err = %v, want ErrTimeout", err)
	}
	for _, err := range m.Stream(context.Background(), req) {
		if !errors.Is(err, llm.ErrTimeout) {
			t.Errorf("Stream: err = %v, want ErrTimeout", err)
		}
	}
}

func TestUnknownModelOnTheEmulatorGetsAHint(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Model("@cf/meta/llama-3.3-70b-instruct-fp8-fsat").Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}})
	if !errors.Is(err, llm.ErrModelNotFound) || !strings.Contains(err.Error(), `did you mean "@cf/meta/llama-3.3-70b-instruct-fp8-fast"?`) {
		t.Fatalf("err = %v", err)
	}
	if e, ok := errors.AsType[*llm.Error](err); !ok || e.Code != 7000 {
		t.Errorf("err = %v, want the 7000 *Error", err)
	}
}
