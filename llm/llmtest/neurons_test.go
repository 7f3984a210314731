package llmtest

import (
	"math"
	"testing"

	"github.com/gowai/gowai/llm"
)

// The emulator bills cached prompt tokens at the catalog's cached rate, as the service does.
func TestNeuronsPriceCachedTokensAtTheCachedRate(t *testing.T) {
	const kimi = "@cf/moonshotai/kimi-k2.6"
	info, _ := llm.LookupModel(kimi)
	if info.NeuronsPerMCachedInput == 0 {
		t.Fatal("the catalog has no cached rate for kimi")
	}
	cold := neuronsFor(kimi, llm.Usage{PromptTokens: 1000, CompletionTokens: 100})
	warm := neuronsFor(kimi, llm.Usage{PromptTokens: 1000, CompletionTokens: 100, CachedTokens: 800})
	want := cold - 800*(info.NeuronsPerMInput-info.NeuronsPerMCachedInput)/1e6
	if math.Abs(warm-want) > 1e-9 || warm >= cold {
		t.Errorf("with 800 cached tokens: %.4f neurons, want %.4f (%.4f without)", warm, want, cold)
	}
	// A model without a cached rate prices them as ordinary input.
	const llama = "@cf/meta/llama-3.1-8b-instruct"
	if a, b := neuronsFor(llama, llm.Usage{PromptTokens: 1000}), neuronsFor(llama, llm.Usage{PromptTokens: 1000, CachedTokens: 800}); a != b {
		t.Errorf("llama: %.4f with cached tokens, %.4f without", b, a)
	}
}
