package embed

import (
	"context"
	"encoding/json"
	"fmt"

	"golang.org/x/sync/errgroup"

	"github.com/gowai/gowai/llm"
)

const (
	// defaultQueueMin is the default WithQueueThreshold: below it the batch API's minutes
	// of queueing cost more than the requests it saves.
	defaultQueueMin = 1000
	// A batch's vectors come back in one response, which the llm.Client reads whole (32 MiB
	// by default): at about 14 bytes a value in JSON, a batch carries at most half that.
	maxQueuedResult = llm.DefaultMaxResponseBytes / 2
	resultValueSize = 14
)

// WithQueue makes Embed send calls of more than the queue threshold (1,000 texts unless
// WithQueueThreshold says otherwise) through Workers AI's async batch API (llm.Queue)
// instead of many synchronous requests: for large offline jobs, where a result minutes
// later is fine and rate limits are the bottleneck. The texts are split into requests as
// usual, and those into batches under llm.MaxBatchPayload whose vectors fit in 16 MiB of
// JSON (about 3,000 texts for bge-small, 1,200 for bge-large), submitted and awaited
// several at once (WithConcurrency). opts set how often the batches are polled. It needs a
// model with batch support (ModelInfo.Batch) on the native endpoint.
func WithQueue(opts ...llm.QueueOption) Option {
	return func(c *config) { c.queue, c.queueOpts = true, opts }
}

// WithQueueThreshold sets how many texts an Embed call must exceed to go through the
// batch API when WithQueue is set (default 1,000; 0 queues every call).
func WithQueueThreshold(n int) Option { return func(c *config) { c.queueMin = n } }

// embedQueued embeds texts (already checked by prepare) through the batch API: each
// request of the usual plan becomes one item, items are grouped into batches under the
// payload and result limits, and the batches are submitted and awaited several at once.
func (m *Model) embedQueued(ctx context.Context, input []string, tokens []int) ([][]float32, error) {
	reqs := plan(tokens, m.cfg.batchSize, m.cfg.tokenBudget)
	items := make([]any, len(reqs))
	dims := m.Dimensions()
	if dims == 0 {
		dims = 1024 // the largest of the catalogued embeddings models
	}
	maxTexts := max(maxQueuedResult/(dims*resultValueSize), 1)
	type group struct{ start, end, size, texts int } // reqs[start:end]
	var groups []group
	const envelope = len(`{"requests":[]}`)
	for i, b := range reqs {
		item, err := json.Marshal(nativeInput{Text: input[b.start:b.end], Pooling: m.cfg.pooling})
		if err != nil {
			return nil, fmt.Errorf("embed: encode texts %d to %d: %w", b.start, b.end-1, err)
		}
		items[i] = json.RawMessage(item)
		n := len(groups)
		if n == 0 || envelope+groups[n-1].size+len(item)+1 >= llm.MaxBatchPayload || groups[n-1].texts+b.end-b.start > maxTexts {
			groups = append(groups, group{start: i, end: i})
			n++
		}
		groups[n-1].end++
		groups[n-1].size += len(item) + 1 // and a comma
		groups[n-1].texts += b.end - b.start
	}

	out := make([][]float32, len(input))
	prog := &progress{fn: m.cfg.progress, total: len(input)}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(m.cfg.concurrency)
	for _, gr := range groups {
		g.Go(func() error {
			first, last := reqs[gr.start], reqs[gr.end-1]
			fail := func(err error) error { return &BatchError{first.start, last.end, err} }
			if err := gctx.Err(); err != nil {
				return fail(err)
			}
			if err := m.pace.Wait(gctx); err != nil {
				return fail(err)
			}
			batch, err := m.client.Queue(gctx, m.id, items[gr.start:gr.end], m.cfg.queueOpts...)
			if err != nil {
				return fail(err)
			}
			res, err := batch.Wait(gctx)
			if err != nil {
				return fail(err)
			}
			for j, r := range res.Responses {
				b := reqs[gr.start+j]
				if r.Err != nil {
					return &BatchError{b.start, b.end, r.Err}
				}
				var nat nativeOutput
				if err := json.Unmarshal(r.Result, &nat); err != nil {
					return &BatchError{b.start, b.end, fmt.Errorf("embed: %s: decode batch result: %w", m.id, err)}
				}
				vecs, err := m.native(nat, b.end-b.start)
				if err != nil {
					return &BatchError{b.start, b.end, err}
				}
				copy(out[b.start:b.end], vecs)
			}
			return prog.add(last.end - first.start)
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return out, nil
}
