package llm_test

import (
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// BenchmarkGenerateRoundTrip is one non-streamed chat call against the emulator on
// loopback: request encoding, HTTP, envelope and reply decoding. The reply is fixed, so
// the test model's own cost is not measured.
func BenchmarkGenerateRoundTrip(b *testing.B) {
	srv := llmtest.NewServer(func(string, []byte) llmtest.Reply {
		return llmtest.Text("Workers AI runs machine learning models on Cloudflare's global network.")
	})
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		b.Fatal(err)
	}
	m := c.Model("@cf/meta/llama-3.1-8b-instruct")
	req := llm.Request{Messages: []llm.Message{llm.System("Be brief."), llm.User("What is Workers AI?")}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Generate(b.Context(), req); err != nil {
			b.Fatal(err)
		}
	}
}
