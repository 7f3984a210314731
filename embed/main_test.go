package embed_test

import (
	"context"
	"encoding/json"
	"math"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// TestMain fails the run if a test leaves a goroutine behind: Embed and Index start them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	small = "@cf/baai/bge-small-en-v1.5"
	base  = "@cf/baai/bge-base-en-v1.5"
	large = "@cf/baai/bge-large-en-v1.5"
)

// newServer starts an emulator (h nil: built-in embeddings) and a client for it whose
// retries wait milliseconds, not seconds.
func newServer(t testing.TB, h llmtest.Handler) (*llmtest.Server, *llm.Client) {
	t.Helper()
	srv := llmtest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := srv.Client(llm.WithRetry(llm.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// sentTexts decodes the texts of a native embeddings request.
func sentTexts(t testing.TB, r llmtest.Recorded) []string {
	t.Helper()
	var in struct {
		Text []string `json:"text"`
	}
	if err := json.Unmarshal(r.Body, &in); err != nil {
		t.Fatalf("request body %s: %v", r.Body, err)
	}
	return in.Text
}

// hashEmbedder embeds without HTTP, with the emulator's hash-based vectors, and counts what
// it was asked.
type hashEmbedder struct {
	id    string
	dims  int
	texts atomic.Int64
	err   error
}

func (h *hashEmbedder) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	if h.err != nil {
		return nil, h.err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h.texts.Add(int64(len(texts)))
	return llmtest.Embed(texts, h.dims), nil
}

func (h *hashEmbedder) ID() string      { return h.id }
func (h *hashEmbedder) Dimensions() int { return h.dims }

// near reports whether two vectors are equal up to float32 rounding.
func near(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Abs(float64(a[i]-b[i])) > 1e-6 {
			return false
		}
	}
	return true
}
