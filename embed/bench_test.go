package embed

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/gowai/gowai/llm/llmtest"
)

// fixedEmbedder returns the same vector for every text: a search then costs only the scan.
type fixedEmbedder struct{ v []float32 }

func (f fixedEmbedder) Embed(_ context.Context, texts []string) ([][]float32, error) {
	out := make([][]float32, len(texts))
	for i := range out {
		out[i] = f.v
	}
	return out, nil
}

func randomStore(b *testing.B, n, dims int) *MemoryStore {
	b.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	s := NewMemoryStore()
	vs := make([]Vector, n)
	for i := range vs {
		v := make([]float32, dims)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		vs[i] = Vector{ID: fmt.Sprintf("doc%06d", i), Values: v, Metadata: map[string]any{TextKey: "t"}}
	}
	if err := s.Upsert(b.Context(), vs); err != nil {
		b.Fatal(err)
	}
	return s
}

const benchN, benchDims = 100_000, 384

// BenchmarkIndexSearch is one top-10 search of 100,000 384-dimensional vectors; its MB/s is
// the rate the vectors are scanned, to set beside BenchmarkSumFloats.
func BenchmarkIndexSearch(b *testing.B) {
	s := randomStore(b, benchN, benchDims)
	q := make([]float32, benchDims)
	for i := range q {
		q[i] = float32(i%7) - 3
	}
	ix := NewIndexOn(fixedEmbedder{q}, s)
	b.SetBytes(benchN * benchDims * 4)
	b.ResetTimer()
	for b.Loop() {
		if _, err := ix.Search(b.Context(), "q", 10); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSumFloats reads the same vectors as BenchmarkIndexSearch with no work but a sum:
// "plain" is one running sum (bound by the latency of each addition), "8 sums" runs eight
// independent ones, which is as close to this machine's memory bandwidth as plain Go gets.
func BenchmarkSumFloats(b *testing.B) {
	vecs := randomStore(b, benchN, benchDims).vecs
	var sink float32
	b.Run("plain", func(b *testing.B) {
		b.SetBytes(int64(len(vecs)) * 4)
		for b.Loop() {
			var s float32
			for _, x := range vecs {
				s += x
			}
			sink += s
		}
	})
	b.Run("8 sums", func(b *testing.B) {
		b.SetBytes(int64(len(vecs)) * 4)
		for b.Loop() {
			var s0, s1, s2, s3, s4, s5, s6, s7 float32
			for i := 0; i+8 <= len(vecs); i += 8 {
				v := vecs[i : i+8 : i+8]
				s0 += v[0]
				s1 += v[1]
				s2 += v[2]
				s3 += v[3]
				s4 += v[4]
				s5 += v[5]
				s6 += v[6]
				s7 += v[7]
			}
			sink += s0 + s1 + s2 + s3 + s4 + s5 + s6 + s7
		}
	})
	_ = sink
}

func BenchmarkCosine384(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	x, y := make([]float32, 384), make([]float32, 384)
	for i := range x {
		x[i], y[i] = r.Float32(), r.Float32()
	}
	var sink float32
	b.Run("Cosine", func(b *testing.B) {
		for b.Loop() {
			sink += Cosine(x, y)
		}
	})
	b.Run("dot of unit vectors", func(b *testing.B) {
		for b.Loop() {
			sink += dot(x, y)
		}
	})
	_ = sink
}

// BenchmarkEmbed10k embeds 10,000 texts (100 requests) against the emulator answering each
// request after 50 ms, at several concurrencies; ns/op is the wall time of the whole call.
func BenchmarkEmbed10k(b *testing.B) {
	srv := llmtest.NewServer(func(string, []byte) llmtest.Reply { return llmtest.Model().WithLatency(50 * time.Millisecond) })
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		b.Fatal(err)
	}
	texts := make([]string, 10_000)
	for i := range texts {
		texts[i] = fmt.Sprintf("text %d: %s", i, strings.Repeat("lorem ipsum ", 8))
	}
	for _, n := range []int{1, 4, 8} {
		b.Run(fmt.Sprintf("concurrency %d", n), func(b *testing.B) {
			m := New(c, "@cf/baai/bge-small-en-v1.5", WithConcurrency(n), WithRequestsPerMinute(1_000_000))
			for b.Loop() {
				if _, err := m.Embed(b.Context(), texts); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
