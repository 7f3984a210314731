package llm_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// nopObserver observes nothing: it measures what observation itself costs.
type nopObserver struct{}

func (nopObserver) StartCall(ctx context.Context, _ llm.CallInfo) context.Context { return ctx }
func (nopObserver) Attempt(context.Context, llm.CallInfo, llm.AttemptInfo)        {}
func (nopObserver) EndCall(context.Context, llm.CallInfo, llm.CallResult)         {}

// BenchmarkChatRoundTrip is one non-streamed chat call against the emulator: plain (the
// client pays nothing for observation it does not use), with an observer that does nothing,
// and with a logger writing its one record per call as text to io.Discard.
func BenchmarkChatRoundTrip(b *testing.B) {
	srv := llmtest.NewServer(func(string, []byte) llmtest.Reply {
		return llmtest.Text("Workers AI runs machine learning models on Cloudflare's global network.")
	})
	defer srv.Close()
	req := llm.Request{Messages: []llm.Message{llm.System("Be brief."), llm.User("What is Workers AI?")}}
	for _, bc := range []struct {
		name string
		opts []llm.Option
	}{
		{"plain", nil},
		{"observer", []llm.Option{llm.WithObserver(nopObserver{})}},
		{"logger", []llm.Option{llm.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			c, err := srv.Client(bc.opts...)
			if err != nil {
				b.Fatal(err)
			}
			m := c.Model("@cf/meta/llama-3.1-8b-instruct")
			b.ReportAllocs()
			for b.Loop() {
				if _, err := m.Generate(b.Context(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
