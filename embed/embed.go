package embed

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/errgroup"

	"github.com/gowai/gowai/internal/pace"
	"github.com/gowai/gowai/llm"
)

// Embedder turns texts into vectors, one per text, in the order given.
type Embedder interface {
	Embed(ctx context.Context, texts []string) ([][]float32, error)
}

// Defaults for models the catalog does not describe.
const (
	defaultBatchItems = 100  // the bge models take at most 100 texts per request
	defaultRPM        = 3000 // Workers AI's per-minute limit for Text Embeddings models
	defaultMaxTokens  = 512  // per text, as for bge, when only the budget default needs it
	defaultConcurrent = 4
)

// Model embeds texts with a Workers AI embeddings model. It implements Embedder and is safe
// for concurrent use; concurrent calls share its requests-per-minute cap.
type Model struct {
	client   *llm.Client
	id       string
	cfg      config
	maxInput int   // estimated tokens one text may have; 0 = no limit known
	err      error // a configuration error, returned by every call
	dims     atomic.Int64
	pace     *pace.Pacer
}

// Option configures a Model.
type Option func(*config)

type config struct {
	concurrency int
	batchSize   int
	tokenBudget int
	rpm         int
	pooling     string
	openAI      bool
	progress    func(done, total int)
	truncate    func(Truncation)
	truncateSet bool
	queue       bool // WithQueue (queue.go)
	queueMin    int  // Embed calls with more texts than this go through the batch API
	queueOpts   []llm.QueueOption
}

// WithConcurrency sets how many requests may be in flight at once (default 4; at least 1).
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithBatchSize sets the most texts sent in one request. The default, and the maximum, is
// what the model takes: 100 for the bge family, 32 for qwen3-embedding, and 100 for a model
// the catalog does not know.
func WithBatchSize(n int) Option { return func(c *config) { c.batchSize = n } }

// WithTokenBudget caps the estimated input tokens of one request (see Model.Embed for the
// estimate). A request is closed when its next text would go over the budget, so long texts
// make smaller requests. The default is the model's per-text limit times its batch size
// (100 × 512 for bge), else its context window, else 100 × 512.
func WithTokenBudget(n int) Option { return func(c *config) { c.tokenBudget = n } }

// WithRequestsPerMinute caps how many requests the Model starts per minute, spacing them
// evenly, so that a large corpus does not run into the account's rate limit and a storm of
// 429s. 0 (the default) uses the model's documented limit: 3000 for embeddings models, 1500
// for bge-large (https://developers.cloudflare.com/workers-ai/platform/limits/). The
// limit is per account: give Models that share an account a share of it each.
func WithRequestsPerMinute(n int) Option { return func(c *config) { c.rpm = n } }

// WithPooling asks a bge model for "mean" (the service's default) or "cls" pooling. Vectors
// made with different poolings are not comparable. Any other value is an error on the
// first call.
func WithPooling(p string) Option { return func(c *config) { c.pooling = p } }

// WithOpenAI sends requests to the OpenAI-compatible /ai/v1/embeddings endpoint instead of
// the native /ai/run. It cannot be combined with WithPooling.
func WithOpenAI() Option { return func(c *config) { c.openAI = true } }

// WithProgress has fn called each time a request's vectors arrive, with the number of texts
// embedded so far in this call and the call's total. Calls are serialised and done only
// grows; the last call has done == total. Keep fn quick: requests that finish meanwhile wait
// for it.
func WithProgress(fn func(done, total int)) Option { return func(c *config) { c.progress = fn } }

// WithTruncate lets the Model cut texts that are longer than the model's input limit (or the
// token budget) instead of failing. Each text is cut at the last word boundary that fits (a
// rune boundary when a single word is too long) and report is called once for it, before any
// request is sent, in the order of the texts. report must not be nil.
func WithTruncate(report func(Truncation)) Option {
	return func(c *config) { c.truncate, c.truncateSet = report, true }
}

// Truncation describes a text that WithTruncate cut to fit.
type Truncation struct {
	Index     int // position of the text in the slice given to Embed
	Runes     int // length of the text, in runes
	KeptRunes int // length of the start that was embedded, in runes
	Tokens    int // estimated tokens of the whole text
	Limit     int // estimated tokens the text had to fit in
}

// BatchError reports a request that failed: the texts texts[Start:End] of one Embed call.
type BatchError struct {
	Start, End int
	Err        error
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("embed: texts %d to %d: %v", e.Start, e.End-1, e.Err)
}

func (e *BatchError) Unwrap() error { return e.Err }

// New returns a Model that embeds with the model id on c, through the native /ai/run by
// default. What the catalog knows about the model (llm.LookupModel) sets its vector
// dimension, batch size, input limit and request rate; a model the catalog does not know
// gets the bge defaults and learns its dimension from the first reply.
//
// New does not fail: a bad argument or option is returned as an error by every call.
func New(c *llm.Client, model string, opts ...Option) *Model {
	m := &Model{client: c, id: model}
	info, known := llm.LookupModel(model)
	batchLimit := orDefault(info.MaxBatchItems, defaultBatchItems)
	m.maxInput = info.MaxInputTokens
	if m.maxInput == 0 {
		m.maxInput = info.ContextWindow
	}
	budget := 0
	switch {
	case info.MaxInputTokens > 0:
		budget = info.MaxInputTokens * batchLimit
	case info.ContextWindow > 0:
		budget = info.ContextWindow
	default:
		budget = defaultBatchItems * defaultMaxTokens
	}
	m.cfg = config{concurrency: defaultConcurrent, batchSize: batchLimit, tokenBudget: budget, queueMin: defaultQueueMin}
	for _, o := range opts {
		o(&m.cfg)
	}
	m.dims.Store(int64(info.Dimensions))
	rpm := orDefault(m.cfg.rpm, orDefault(info.RequestsPerMinute, defaultRPM))
	m.pace = pace.New(rpm)

	cfg := m.cfg
	switch {
	case c == nil:
		m.err = errors.New("embed: nil llm.Client")
	case model == "":
		m.err = errors.New("embed: empty model id")
	case known && info.Task != llm.TaskTextEmbeddings:
		m.err = fmt.Errorf("embed: %s is a %s model, not a text-embeddings model", model, info.Task)
	case cfg.concurrency < 1:
		m.err = fmt.Errorf("embed: concurrency %d: must be at least 1", cfg.concurrency)
	case cfg.batchSize < 1 || cfg.batchSize > batchLimit:
		m.err = fmt.Errorf("embed: batch size %d: %s takes 1 to %d texts per request", cfg.batchSize, model, batchLimit)
	case cfg.tokenBudget < 1:
		m.err = fmt.Errorf("embed: token budget %d: must be at least 1", cfg.tokenBudget)
	case cfg.rpm < 0:
		m.err = fmt.Errorf("embed: requests per minute %d: must be 0 (the model's limit) or more", cfg.rpm)
	case cfg.pooling != "" && cfg.pooling != "mean" && cfg.pooling != "cls":
		m.err = fmt.Errorf("embed: pooling %q: want \"mean\" or \"cls\"", cfg.pooling)
	case cfg.pooling != "" && cfg.openAI:
		m.err = errors.New("embed: WithPooling needs the native endpoint; /ai/v1/embeddings takes no pooling")
	case cfg.truncateSet && cfg.truncate == nil:
		m.err = errors.New("embed: WithTruncate needs a report function, got nil")
	case cfg.queue && cfg.openAI:
		m.err = errors.New("embed: WithQueue needs the native endpoint; /ai/v1/embeddings has no batch API")
	case cfg.queue && known && !info.Batch:
		m.err = fmt.Errorf("embed: WithQueue: %s does not take the async batch API", model)
	case cfg.queueMin < 0:
		m.err = fmt.Errorf("embed: queue threshold %d: must be 0 or more", cfg.queueMin)
	}
	return m
}

// orDefault returns v, or def when v is 0.
func orDefault(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// ID returns the model id vectors are made with. An Index records it when saved.
func (m *Model) ID() string { return m.id }

// Dimensions returns the length of the model's vectors: from the catalog, or from the first
// reply for a model the catalog does not know (0 until then).
func (m *Model) Dimensions() int { return int(m.dims.Load()) }

// Embed returns one vector per text, in the order of texts, each scaled to unit length (so
// a dot product is the cosine similarity; a zero vector stays zero).
//
// Texts are sent in requests of at most the batch size and at most the token budget,
// several at once (WithConcurrency) but no faster than the requests-per-minute cap. Retries
// of rate-limit and capacity errors happen in the llm.Client. When a request fails the
// others are cancelled and the error is a *BatchError naming the texts it carried, wrapping
// the *llm.Error.
//
// Token counts are estimated, not measured (there is no tokenizer here): the larger of
// runes/3 and 4/3 per word, punctuation mark or CJK character, plus 2 for the model's start
// and end markers. For English prose this errs high by 40-50%, so a text close to the limit
// may be refused though it would fit; chunks of 800 runes stay well inside bge's 512. An
// empty text, or one whose estimate exceeds the model's input limit (512 tokens for bge) or
// the token budget, is an error naming its index, unless WithTruncate is set: texts are
// never cut silently.
//
// With WithQueue, a call of more texts than the queue threshold goes through the async
// batch API instead, in the same requests.
func (m *Model) Embed(ctx context.Context, texts []string) ([][]float32, error) {
	switch {
	case m.err != nil:
		return nil, m.err
	case m.pace == nil:
		return nil, errors.New("embed: use New to make a Model")
	}
	if len(texts) == 0 {
		return [][]float32{}, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("embed: %w", err)
	}
	input, tokens, err := m.prepare(texts)
	if err != nil {
		return nil, err
	}
	if m.cfg.queue && len(texts) > m.cfg.queueMin {
		return m.embedQueued(ctx, input, tokens)
	}
	out := make([][]float32, len(texts))
	prog := &progress{fn: m.cfg.progress, total: len(texts)}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.concurrency)
	// Every batch gets a goroutine, even after a failure: it returns at once, and no batch
	// is left unrun with its vectors missing from out.
	for _, b := range plan(tokens, m.cfg.batchSize, m.cfg.tokenBudget) {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return &BatchError{b.start, b.end, err}
			}
			if err := m.pace.Wait(gctx); err != nil {
				return &BatchError{b.start, b.end, err}
			}
			vecs, err := m.request(gctx, input[b.start:b.end])
			if err != nil {
				return &BatchError{b.start, b.end, err}
			}
			copy(out[b.start:b.end], vecs)
			return prog.add(b.end - b.start)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}

// progress counts the texts of one Embed call as their requests complete and reports the
// count to the WithProgress callback fn (if any), one call at a time.
type progress struct {
	mu          sync.Mutex
	fn          func(done, total int)
	done, total int
}

// add counts n more texts done and reports, turning a panic in the callback into an error:
// it runs on a worker goroutine, where a panic could not be recovered by the caller of Embed.
func (p *progress) add(n int) (err error) {
	if p.fn == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("embed: progress callback panicked: %v", r)
		}
	}()
	p.done += n
	p.fn(p.done, p.total)
	return nil
}

// prepare checks every text against the input limit, cutting those that are too long when
// WithTruncate allows it, and returns the texts to send with their token estimates.
func (m *Model) prepare(texts []string) ([]string, []int, error) {
	limit := m.cfg.tokenBudget
	if m.maxInput > 0 {
		limit = min(limit, m.maxInput)
	}
	input, copied := texts, false
	tokens := make([]int, len(texts))
	for i, t := range texts {
		if isBlank(t) {
			return nil, nil, fmt.Errorf("embed: text %d is empty", i)
		}
		n := estimateTokens(t)
		if n <= limit {
			tokens[i] = n
			continue
		}
		if m.cfg.truncate == nil {
			what := fmt.Sprintf("the input limit of %s", m.id)
			if limit < m.maxInput || m.maxInput == 0 {
				what = "the token budget"
			}
			return nil, nil, fmt.Errorf("embed: text %d is about %d tokens (%d runes), over %s (%d tokens); split it (embed.Chunk) or opt in to cutting with WithTruncate",
				i, n, runeCount(t), what, limit)
		}
		if !copied {
			input, copied = append([]string(nil), texts...), true // the caller's slice stays as it was
		}
		input[i] = truncate(t, limit)
		if isBlank(input[i]) {
			return nil, nil, fmt.Errorf("embed: text %d: nothing of it fits in %d tokens", i, limit)
		}
		tokens[i] = estimateTokens(input[i])
		m.cfg.truncate(Truncation{Index: i, Runes: runeCount(t), KeptRunes: runeCount(input[i]), Tokens: n, Limit: limit})
	}
	return input, tokens, nil
}

// batch is the texts [start, end) of one request.
type batch struct{ start, end int }

// plan splits texts, given their token estimates, into consecutive batches of at most size
// texts and at most budget tokens. Every estimate is already within the budget.
func plan(tokens []int, size, budget int) []batch {
	var out []batch
	start, sum := 0, 0
	for i, n := range tokens {
		if i > start && (i-start == size || sum+n > budget) {
			out = append(out, batch{start, i})
			start, sum = i, 0
		}
		sum += n
	}
	return append(out, batch{start, len(tokens)})
}

// nativeInput and nativeOutput are the /ai/run embeddings shapes. qwen3-embedding and
// embeddinggemma reply without "pooling", and qwen3-embedding adds "usage", as in
// testdata/recorded/marmarko__brainz__ai-run-qwen3-embedding-usage.json.
type nativeInput struct {
	Text    []string `json:"text"`
	Pooling string   `json:"pooling,omitempty"`
}

type nativeOutput struct {
	Shape   []int       `json:"shape"`
	Data    [][]float32 `json:"data"`
	Pooling string      `json:"pooling"`
}

// openAIInput and openAIOutput are the /ai/v1/embeddings shapes; the reply has no usage
// (testdata/recorded/marmarko__brainz__ai-v1-embeddings-qwen3-no-usage.json).
type openAIInput struct {
	Model string   `json:"model"`
	Input []string `json:"input"`
}

type openAIOutput struct {
	Data []struct {
		Embedding []float32 `json:"embedding"`
		Index     int       `json:"index"`
	} `json:"data"`
}

// request embeds one batch and checks that the reply has a vector of the right length for
// every text.
func (m *Model) request(ctx context.Context, texts []string) ([][]float32, error) {
	var vecs [][]float32
	if m.cfg.openAI {
		var out openAIOutput
		if err := m.client.RunOpenAI(ctx, m.id, "embeddings", openAIInput{Model: m.id, Input: texts}, &out); err != nil {
			return nil, err
		}
		vecs = make([][]float32, len(texts))
		for _, d := range out.Data {
			if d.Index < 0 || d.Index >= len(texts) || vecs[d.Index] != nil {
				return nil, fmt.Errorf("embed: %s replied with a bad or repeated index %d for %d texts", m.id, d.Index, len(texts))
			}
			vecs[d.Index] = d.Embedding
		}
		if len(out.Data) != len(texts) {
			return nil, fmt.Errorf("embed: %s returned %d vectors for %d texts", m.id, len(out.Data), len(texts))
		}
	} else {
		var out nativeOutput
		if err := m.client.Run(ctx, m.id, nativeInput{Text: texts, Pooling: m.cfg.pooling}, &out); err != nil {
			return nil, err
		}
		return m.native(out, len(texts))
	}
	if err := m.finish(vecs); err != nil {
		return nil, err
	}
	return vecs, nil
}

// native checks a native reply to a request of n texts and returns its vectors, finished.
func (m *Model) native(out nativeOutput, n int) ([][]float32, error) {
	if len(out.Data) != n {
		return nil, fmt.Errorf("embed: %s returned %d vectors for %d texts", m.id, len(out.Data), n)
	}
	if m.cfg.pooling != "" && out.Pooling != "" && out.Pooling != m.cfg.pooling {
		return nil, fmt.Errorf("embed: %s pooled %q, not the %q asked for", m.id, out.Pooling, m.cfg.pooling)
	}
	if err := m.finish(out.Data); err != nil {
		return nil, err
	}
	return out.Data, nil
}

// finish checks that every vector has the model's length and scales it to unit length.
func (m *Model) finish(vecs [][]float32) error {
	for i, v := range vecs {
		if len(v) == 0 {
			return fmt.Errorf("embed: %s returned an empty vector for text %d of the request", m.id, i)
		}
		m.dims.CompareAndSwap(0, int64(len(v)))
		if d := m.Dimensions(); len(v) != d {
			return fmt.Errorf("embed: %s returned a %d-dimensional vector; its vectors have %d", m.id, len(v), d)
		}
		normalize(v)
	}
	return nil
}

// normalize scales v to unit length in place; a zero vector is left alone. The norm is summed
// in float64 so that long vectors do not lose precision.
func normalize(v []float32) {
	var sum float64
	for _, x := range v {
		sum += float64(x) * float64(x)
	}
	if sum == 0 {
		return
	}
	inv := 1 / math.Sqrt(sum)
	for i, x := range v {
		v[i] = float32(float64(x) * inv)
	}
}
