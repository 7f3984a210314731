package llm

import (
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"
)

const benchEvents = 2000

// padding returns a random-length filler like the "p" field Workers AI adds to every event.
func padding(rng *rand.Rand) string {
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4+rng.IntN(44))
	for i := range b {
		b[i] = alnum[rng.IntN(len(alnum))]
	}
	return string(b)
}

// chatStream is a gemma-4-style stream on /ai/run: chat.completion.chunk events with a pad
// and incremental usage, then the native usage tail (fixture run-chatcompletions-model-stream.sse).
func chatStream() []byte {
	rng := rand.New(rand.NewPCG(7, 11))
	var b bytes.Buffer
	for i := range benchEvents {
		fmt.Fprintf(&b, `data: {"choices":[{"delta":{"content":" word%d","reasoning_content":null},"finish_reason":null,`+
			`"index":0,"logprobs":null,"matched_stop":null}],"created":1791402526,"id":"f962191d3d2f47418286b60056319eb5",`+
			`"model":"@cf/google/gemma-4-26b-a4b-it-external","object":"chat.completion.chunk","p":"%s",`+
			`"usage":{"prompt_tokens":0,"completion_tokens":1,"total_tokens":1,"prompt_tokens_details":{"cached_tokens":0},`+
			`"neurons":0.027272727340459824}}`+"\n\n", i, padding(rng))
	}
	fmt.Fprintf(&b, `data: {"response":"","usage":{"prompt_tokens":147,"completion_tokens":%d,"total_tokens":%d,`+
		`"prompt_tokens_details":{"cached_tokens":0},"neurons":55.3}}`+"\n\ndata: [DONE]\n\n", benchEvents, 147+benchEvents)
	return b.Bytes()
}

// legacyStream is a legacy native stream: {"response","p"} tokens, the empty response, the
// usage event (fixture native-stream-text.sse).
func legacyStream() []byte {
	rng := rand.New(rand.NewPCG(7, 11))
	var b bytes.Buffer
	for i := range benchEvents {
		fmt.Fprintf(&b, `data: {"response":" word%d","p":"%s"}`+"\n\n", i, padding(rng))
	}
	fmt.Fprintf(&b, `data: {"response":""}`+"\n\n"+`data: {"response":"","usage":{"prompt_tokens":755,`+
		`"completion_tokens":%d,"total_tokens":%d}}`+"\n\ndata: [DONE]\n\n", benchEvents, 755+benchEvents)
	return b.Bytes()
}

func BenchmarkDecodeStream(b *testing.B) {
	for _, bc := range []struct {
		name string
		data []byte
	}{
		{"chat", chatStream()},
		{"legacy", legacyStream()},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.data)))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			n := 0
			for b.Loop() {
				deltas := 0
				for d, err := range decodeStream(io.NopCloser(bytes.NewReader(bc.data)), "@cf/bench") {
					if err != nil {
						b.Fatal(err)
					}
					if d.Usage == nil && !strings.HasPrefix(d.Text, " word") {
						b.Fatalf("unexpected delta %+v", d)
					}
					deltas++
				}
				if deltas != benchEvents+1 {
					b.Fatalf("%d deltas, want %d", deltas, benchEvents+1)
				}
				n++
			}
			runtime.ReadMemStats(&after)
			b.ReportMetric(float64(benchEvents*n)/b.Elapsed().Seconds(), "events/s")
			b.ReportMetric(float64(after.Mallocs-before.Mallocs)/float64(benchEvents*n), "allocs/event")
		})
	}
}
