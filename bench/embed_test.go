package bench

import (
	"context"
	"fmt"
	"iter"
	"testing"

	"github.com/gowai/gowai/embed"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	goopenai "github.com/sashabaranov/go-openai"
	"github.com/tmc/langchaingo/embeddings"
	lccloudflare "github.com/tmc/langchaingo/llms/cloudflare"
)

// embedTexts is scenario 5's corpus: 1,000 short sentences.
const embedTexts = 1000

func corpus() []string {
	subjects := []string{"The cache", "A worker", "The gateway", "Each index", "The model", "Our queue", "This job", "The router"}
	verbs := []string{"stores", "embeds", "routes", "retries", "batches", "scores", "ranks", "streams"}
	objects := []string{"vectors near the user", "requests across regions", "tokens for the next step",
		"documents by their meaning", "answers within a second", "errors with a clear code"}
	out := make([]string, embedTexts)
	for i := range out {
		out[i] = fmt.Sprintf("%s %s %s (note %d).", subjects[i%len(subjects)], verbs[(i/8)%len(verbs)],
			objects[i%len(objects)], i)
	}
	return out
}

// embedder is one library's way to embed the whole corpus. The service takes at most 100
// texts per request (the bge models' input schema caps "text" at 100 items; the test server
// refuses more, as the service does), so a library
// without batching of its own is driven in a plain loop of 100-text requests, as a user
// would write it.
type embedder struct {
	name  string
	embed func(ctx context.Context, texts []string) (n, dims int, err error)
}

func embedders(tb testing.TB) []embedder {
	s := newWireServer(tb, replies{})
	hc, lhc := transports(tb)
	gc := gowaiClient(tb, s, hc)
	// The default pacing (3,000 requests a minute, the account's limit) would make this a
	// benchmark of time.Sleep; the cap is lifted for every gowai row.
	unpaced := embed.WithRequestsPerMinute(1 << 30)
	gowaiRow := func(name string, opts ...embed.Option) embedder {
		m := embed.New(gc, embedID, append(opts, unpaced)...)
		return embedder{name, func(ctx context.Context, texts []string) (int, int, error) {
			v, err := m.Embed(ctx, texts)
			if err != nil {
				return 0, 0, err
			}
			return len(v), len(v[0]), nil
		}}
	}

	cfg := goopenai.DefaultConfig(apiToken)
	cfg.BaseURL, cfg.HTTPClient = s.openAIBase(), hc
	goc := goopenai.NewClientWithConfig(cfg)
	oc := oai.NewClient(option.WithBaseURL(s.openAIBase()+"/"), option.WithAPIKey(apiToken), option.WithHTTPClient(hc))
	cf, err := lccloudflare.New(lccloudflare.WithToken(apiToken), lccloudflare.WithAccountID(account),
		// Its embedding request goes to the chat model's URL, so the model is the embedding one.
		lccloudflare.WithModel(embedID), lccloudflare.WithServerURL(s.nativeBase()+"/accounts"),
		lccloudflare.WithHTTPClient(lhc))
	if err != nil {
		tb.Fatal(err)
	}
	lce, err := embeddings.NewEmbedder(cf, embeddings.WithBatchSize(embedMax))
	if err != nil {
		tb.Fatal(err)
	}
	return []embedder{
		gowaiRow("gowai-native"), // 4 requests in flight, the default
		gowaiRow("gowai-native-serial", embed.WithConcurrency(1)),
		gowaiRow("gowai-openai", embed.WithOpenAI()),
		{"go-openai", func(ctx context.Context, texts []string) (int, int, error) {
			var out [][]float32
			for b := range batches(texts) {
				r, err := goc.CreateEmbeddings(ctx, goopenai.EmbeddingRequestStrings{Input: b, Model: embedID})
				if err != nil {
					return 0, 0, err
				}
				for _, d := range r.Data {
					out = append(out, d.Embedding)
				}
			}
			return len(out), len(out[0]), nil
		}},
		{"openai-go", func(ctx context.Context, texts []string) (int, int, error) {
			var out [][]float64 // openai-go decodes vectors as float64
			for b := range batches(texts) {
				r, err := oc.Embeddings.New(ctx, oai.EmbeddingNewParams{
					Input: oai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: b},
					Model: embedID,
				})
				if err != nil {
					return 0, 0, err
				}
				for _, d := range r.Data {
					out = append(out, d.Embedding)
				}
			}
			return len(out), len(out[0]), nil
		}},
		{"langchaingo-cloudflare", func(ctx context.Context, texts []string) (int, int, error) {
			v, err := lce.EmbedDocuments(ctx, texts)
			if err != nil {
				return 0, 0, err
			}
			return len(v), len(v[0]), nil
		}},
	}
}

// batches yields texts 100 at a time.
func batches(texts []string) iter.Seq[[]string] {
	return func(yield func([]string) bool) {
		for i := 0; i < len(texts); i += embedMax {
			if !yield(texts[i:min(i+embedMax, len(texts))]) {
				return
			}
		}
	}
}

func TestEveryLibraryEmbedsTheCorpus(t *testing.T) {
	texts := corpus()
	for _, e := range embedders(t) {
		t.Run(e.name, func(t *testing.T) {
			n, dims, err := e.embed(t.Context(), texts)
			if err != nil {
				t.Fatal(err)
			}
			if n != embedTexts || dims != embedDims {
				t.Errorf("%d vectors of %d dimensions, want %d of %d", n, dims, embedTexts, embedDims)
			}
		})
	}
}

// The test server refuses what the service refuses, so a library that sent all 1,000 texts
// at once would fail here instead of looking fast.
func TestServerRefusesMoreThan100Texts(t *testing.T) {
	s := newWireServer(t, replies{})
	hc, _ := transports(t)
	cfg := goopenai.DefaultConfig(apiToken)
	cfg.BaseURL, cfg.HTTPClient = s.openAIBase(), hc
	c := goopenai.NewClientWithConfig(cfg)
	for _, tc := range []struct {
		texts int
		ok    bool
	}{{100, true}, {101, false}} {
		_, err := c.CreateEmbeddings(t.Context(), goopenai.EmbeddingRequestStrings{Input: corpus()[:tc.texts], Model: embedID})
		if (err == nil) != tc.ok {
			t.Errorf("%d texts in one request: error %v, want success %v", tc.texts, err, tc.ok)
		}
	}
}

// Scenario 5: embedding 1,000 texts with bge-small.
func BenchmarkEmbed(b *testing.B) {
	texts := corpus()
	for _, e := range embedders(b) {
		b.Run(e.name, func(b *testing.B) {
			ctx := b.Context()
			if _, _, err := e.embed(ctx, texts[:embedMax]); err != nil { // warm-up
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				n, _, err := e.embed(ctx, texts)
				if err != nil {
					b.Fatal(err)
				}
				if n != embedTexts {
					b.Fatalf("%d vectors", n)
				}
			}
		})
	}
}
