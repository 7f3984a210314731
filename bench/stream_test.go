package bench

import (
	"bytes"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gowai/gowai/llm"
)

// Scenario 2: a 2,000-token stream read to the end. Besides the per-stream ns/op, B/op and
// allocs/op, it reports the same per event.
func BenchmarkStream(b *testing.B) {
	s := newWireServer(b, chatReplies(tokens(streamEvents)))
	for _, c := range contenders(b, s) {
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			if err := c.stream(ctx, &sink{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			n := 0
			for b.Loop() {
				k := sink{}
				if err := c.stream(ctx, &k); err != nil {
					b.Fatal(err)
				}
				if k.deltas < streamEvents {
					b.Fatalf("%d deltas, want %d", k.deltas, streamEvents)
				}
				n++
			}
			runtime.ReadMemStats(&after)
			events := float64(n * streamEvents)
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/events, "ns/event")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/events, "allocs/event")
			b.ReportMetric(float64(after.TotalAlloc-before.TotalAlloc)/events, "B/event")
		})
	}
}

// firstDeltaServer sends the first event of a stream, notes when it flushed it, and holds
// the rest back until the client has seen that event (or gives up after a while, which the
// benchmark reports as a client that buffers).
type firstDeltaServer struct {
	*httptest.Server
	epoch   time.Time
	flushed atomic.Int64 // time.Since(epoch) at the last flush
	seen    chan struct{}
	late    atomic.Bool
}

func newFirstDeltaServer(tb testing.TB) *firstDeltaServer {
	rng := rand.New(rand.NewPCG(7, 11))
	nativeFirst, nativeRest := nativeEvent("Workers", rng), nativeTail(1)
	openAIFirst, openAIRest := chunkEvent("Workers", true), chunkTail(1)
	s := &firstDeltaServer{epoch: time.Now(), seen: make(chan struct{}, 1)}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		first, rest := nativeFirst, nativeRest
		if strings.HasSuffix(r.URL.Path, "/chat/completions") {
			first, rest = openAIFirst, openAIRest
		}
		w.Header()["Content-Type"] = ctSSE
		w.Write(first)
		s.flushed.Store(int64(time.Since(s.epoch)))
		w.(http.Flusher).Flush()
		t := time.NewTimer(5 * time.Second)
		defer t.Stop()
		select {
		case <-s.seen:
		case <-t.C:
			s.late.Store(true)
		case <-r.Context().Done():
			return
		}
		w.Write(rest)
	}))
	tb.Cleanup(s.Close)
	return s
}

// Scenario 3: the time from the server flushing the first event to the client handing
// over the first delta (first-delta-ns). ns/op is the whole short exchange.
func BenchmarkFirstDelta(b *testing.B) {
	fs := newFirstDeltaServer(b)
	// The contenders only need the routes; the first-delta server answers them all.
	ws := &wireServer{Server: fs.Server}
	for _, c := range contenders(b, ws) {
		if c.floor {
			continue
		}
		b.Run(c.name, func(b *testing.B) {
			ctx := b.Context()
			var total time.Duration
			n := 0
			k := sink{}
			k.onFirst = func() {
				total += time.Since(fs.epoch) - time.Duration(fs.flushed.Load())
				fs.seen <- struct{}{}
			}
			if err := c.stream(ctx, &k); err != nil { // warm-up
				b.Fatal(err)
			}
			total = 0
			b.ReportAllocs()
			for b.Loop() {
				k.deltas = 0
				if err := c.stream(ctx, &k); err != nil {
					b.Fatal(err)
				}
				if k.deltas == 0 {
					b.Fatal("no delta")
				}
				n++
			}
			if fs.late.Load() {
				b.Fatal("the client did not hand over the first delta until the stream went on")
			}
			b.ReportMetric(float64(total.Nanoseconds())/float64(n), "first-delta-ns")
		})
	}
}

// streamMemoryBytes is how much SSE the memory benchmark streams.
const streamMemoryBytes = 100_000_000

// The flat-memory check: ~100 MB of native SSE consumed through gowai's Model.Stream. The
// heap in use is sampled every 1,000 deltas; peak-heap-MB (10^6 bytes) is the largest sample (about
// 5 MB). It fails if the heap ever holds more than a tenth of the stream, which only keeping
// what was streamed would do.
func BenchmarkStreamMemory(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	var block bytes.Buffer
	events := 0
	for block.Len() < 64<<10 {
		block.Write(nativeEvent(" token", rng))
		events++
	}
	repeats := streamMemoryBytes / block.Len()
	tail := nativeTail(events * repeats)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var buf bytes.Buffer
		buf.ReadFrom(r.Body)
		w.Header()["Content-Type"] = ctSSE
		for range repeats {
			if _, err := w.Write(block.Bytes()); err != nil {
				return
			}
		}
		w.Write(tail)
	}))
	b.Cleanup(srv.Close)
	hc, _ := transports(b)
	c, err := llm.NewClient(llm.WithBaseURL(srv.URL), llm.WithAccount(account, apiToken), llm.WithHTTPClient(hc))
	if err != nil {
		b.Fatal(err)
	}
	m := c.Model(nativeID)
	req := llm.Request{Messages: []llm.Message{llm.User(userText)}}
	b.SetBytes(int64(block.Len() * repeats))
	runtime.GC()
	var peak uint64
	var ms runtime.MemStats
	for b.Loop() {
		deltas := 0
		for d, err := range m.Stream(b.Context(), req) {
			if err != nil {
				b.Fatal(err)
			}
			if d.Usage != nil {
				continue
			}
			deltas++
			if deltas%1000 == 0 {
				runtime.ReadMemStats(&ms)
				peak = max(peak, ms.HeapInuse)
			}
		}
		if deltas != events*repeats {
			b.Fatalf("%d deltas, want %d", deltas, events*repeats)
		}
	}
	b.ReportMetric(float64(peak)/1e6, "peak-heap-MB")
	if peak > streamMemoryBytes/10 {
		b.Fatalf("heap in use reached %.1f MB while streaming %d MB", float64(peak)/1e6, streamMemoryBytes/1_000_000)
	}
}
