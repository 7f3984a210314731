package bench

import (
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Every library reads the same answer, whole and streamed, from the same bytes; without
// this the benchmarks could be timing error paths.
func TestEveryLibraryReadsTheAnswer(t *testing.T) {
	toks := tokens(answerTokens)
	want := strings.Join(toks, "")
	s := newWireServer(t, chatReplies(toks))
	for _, c := range contenders(t, s) {
		if c.floor {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			got, err := c.generate(t.Context())
			if err != nil {
				t.Fatalf("generate: %v", err)
			}
			if got != want {
				t.Errorf("generate returned %q, want %q", got, want)
			}
			var text strings.Builder
			k := &sink{text: &text}
			if err := c.stream(t.Context(), k); err != nil {
				t.Fatalf("stream: %v", err)
			}
			if c.rawEvents {
				// Each event's JSON, the usage events included.
				if k.deltas < len(toks) || !strings.Contains(text.String(), `{"response":"Workers","p":`) {
					t.Errorf("stream gave %d raw events starting %.80q", k.deltas, text.String())
				}
				return
			}
			if text.String() != want {
				t.Errorf("stream gave %q, want %q", text.String(), want)
			}
		})
	}
}

// Scenario 1: one non-streamed chat call with a 200-token answer.
func BenchmarkChat(b *testing.B) {
	toks := tokens(answerTokens)
	want := len(strings.Join(toks, ""))
	s := newWireServer(b, chatReplies(toks))
	for _, c := range contenders(b, s) {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			warmUp(b, c)
			b.ReportAllocs()
			for b.Loop() {
				text, err := c.generate(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if !c.floor && len(text) != want {
					b.Fatalf("answer of %d bytes, want %d", len(text), want)
				}
			}
		})
	}
}

// warmUp makes one call before the clock starts (b.Loop resets the timer on its first
// call), so that no row pays for opening its connection or filling a library's caches.
func warmUp(b *testing.B, c contender) {
	if _, err := c.generate(b.Context()); err != nil {
		b.Error(err)
	}
}

// concurrency is scenario 6's number of calls in flight through one client.
const concurrency = 256

// Scenario 6: 256 concurrent non-streamed calls through one client. One op is the whole
// batch; calls/s is the throughput and p99-ns the 99th percentile of single-call latency.
func BenchmarkConcurrent(b *testing.B) {
	toks := tokens(answerTokens)
	want := len(strings.Join(toks, ""))
	s := newWireServer(b, chatReplies(toks))
	for _, c := range contenders(b, s) {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			var (
				latencies []time.Duration
				batch     [concurrency]time.Duration
				errs      [concurrency]error
				wg        sync.WaitGroup
			)
			// The first batch opens the 256 connections; b.Loop starts the clock after it.
			for range concurrency {
				wg.Go(func() { warmUp(b, c) })
			}
			wg.Wait()
			b.ReportAllocs()
			for b.Loop() {
				for i := range concurrency {
					wg.Go(func() {
						start := time.Now()
						text, err := c.generate(ctx)
						batch[i] = time.Since(start)
						if err == nil && !c.floor && len(text) != want {
							err = errShortAnswer
						}
						errs[i] = err
					})
				}
				wg.Wait()
				for _, err := range errs {
					if err != nil {
						b.Fatal(err)
					}
				}
				latencies = append(latencies, batch[:]...)
			}
			b.ReportMetric(float64(len(latencies))/b.Elapsed().Seconds(), "calls/s")
			b.ReportMetric(float64(percentile(latencies, 0.99)), "p99-ns")
		})
	}
}

var errShortAnswer = errors.New("answer of unexpected length")

// percentile returns the q-th quantile of d (nearest rank).
func percentile(d []time.Duration, q float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	slices.Sort(d)
	return d[min(len(d)-1, int(q*float64(len(d))))]
}
