package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// MaxBatchPayload is the largest body, in bytes, the async batch API takes: the whole
// {"requests":[...]} must be under 10 MB, read here as 10,000,000 bytes
// (https://developers.cloudflare.com/workers-ai/features/batch-api/).
const MaxBatchPayload = 10_000_000

// BatchItem is one request of a batch with a reference of the caller's own. It is sent as
// Input with "external_reference": Ref added, and the service hands Ref back with the
// item's response.
type BatchItem struct {
	Input any    // the model's input, as for Run: a struct, a map, or the JSON text of an object
	Ref   string // "" sends no reference
}

// MarshalJSON encodes the item as its input object with "external_reference" added.
func (it BatchItem) MarshalJSON() ([]byte, error) {
	obj, err := inputObject(it.Input)
	if err != nil {
		return nil, err
	}
	if it.Ref == "" {
		return obj, nil
	}
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(obj, &keys); err != nil {
		return nil, err
	}
	if _, dup := keys["external_reference"]; dup {
		return nil, errors.New("the input has its own external_reference and Ref is set too")
	}
	ref, err := json.Marshal(it.Ref)
	if err != nil {
		return nil, err
	}
	out := make([]byte, 0, len(obj)+len(ref)+24) // a copy: obj may be the caller's RawMessage
	out = append(out, obj[:len(obj)-1]...)
	if len(keys) > 0 {
		out = append(out, ',')
	}
	out = append(out, `"external_reference":`...)
	return append(append(out, ref...), '}'), nil
}

// inputObject marshals a request input and checks that it is a JSON object, the only form
// a batch item can take.
func inputObject(input any) ([]byte, error) {
	var b []byte
	switch v := input.(type) {
	case json.RawMessage:
		b = v
	case []byte:
		b = v
	default:
		var err error
		if b, err = json.Marshal(input); err != nil {
			return nil, err
		}
	}
	b = bytes.TrimSpace(b)
	if !json.Valid(b) {
		return nil, fmt.Errorf("input is not valid JSON: %s", snippet(b))
	}
	if len(b) == 0 || b[0] != '{' {
		return nil, fmt.Errorf("input must be a JSON object, got %s", snippet(b))
	}
	return b, nil
}

// QueueOption configures Queue and QueueChat.
type QueueOption func(*queueConfig)

type queueConfig struct {
	initial, max time.Duration
}

// WithPollInterval sets how often Batch.Wait asks whether the results are ready: first
// after initial, then at growing intervals up to max (defaults 2 s and 1 minute; a batch
// takes minutes). Values below 1 ms are raised to it.
func WithPollInterval(initial, max time.Duration) QueueOption {
	return func(c *queueConfig) { c.initial, c.max = initial, max }
}

// Batch is a set of requests queued on the async batch API. Wait for its results with
// Wait. A Batch is safe for concurrent use.
type Batch struct {
	c         *Client
	model, id string
	n         int      // requests sent
	refs      []string // the BatchItem references sent, by index
	maxTokens []int    // per request, for QueueChat's finish-reason inference; nil otherwise
	cfg       queueConfig
	done      *BatchResult // set when the service answered the submission with the results
}

// BatchResult is what a finished batch returned.
type BatchResult struct {
	Responses []BatchResponse // one per request, in the order given to Queue
	Usage     Usage           // for the whole batch, as the service reported it
}

// BatchResponse is the outcome of one request of a batch. Err is set when the service
// reported that request as failed; Result is then what it sent instead, if anything.
type BatchResponse struct {
	Index  int             // position of the request in the slice given to Queue
	Ref    string          // the request's external_reference, "" when it had none
	Result json.RawMessage // the model's output, as Run would have decoded it
	Err    error           // an *Error for a failed request

	maxTokens int
}

// Response decodes a text-generation result into a Response, as ChatModel.Generate would
// (all three reply families). It returns Err when the request failed.
func (r BatchResponse) Response() (*Response, error) {
	if r.Err != nil {
		return nil, r.Err
	}
	resp, err := decodeChat(r.Result)
	if err != nil {
		return nil, fmt.Errorf("llm: batch request %d: %w", r.Index, err)
	}
	resp.FinishReason = inferFinish(resp.FinishReason, resp.Usage, len(resp.ToolCalls) > 0, r.maxTokens)
	return resp, nil
}

// Queue submits requests to model's async batch API (POST /ai/run/{model}?queueRequest=true
// with {"requests":[...]}; https://developers.cloudflare.com/workers-ai/features/batch-api/) and returns the queued Batch; Batch.Wait
// collects the results. Each request is the model's input, as for Run (a struct, a map, the
// JSON text of an object), or a BatchItem to attach a reference.
//
// Before anything is sent, Queue refuses a model the catalog knows without batch support
// (ModelInfo.Batch false; models it does not know are tried), an empty list, a request that
// is not a JSON object, and a payload of MaxBatchPayload bytes or more: split such a job
// into several batches.
//
// The submission creates a job, so it is retried only after a failure that proves the
// service did not take it: a connection that was never made (DNS failure, refused
// connection) or a 429 rate-limit or capacity refusal. After any other failure (a 5xx, a
// timeout, a connection lost mid-request) the job may exist although no request_id came
// back; the error says so instead of submitting a second job.
func (c *Client) Queue(ctx context.Context, model string, requests []any, opts ...QueueOption) (*Batch, error) {
	if model == "" {
		return nil, errors.New("llm: queue: empty model id")
	}
	if info, known := LookupModel(model); known && !info.Batch {
		return nil, fmt.Errorf("llm: queue: %s does not take the async batch API; send its requests with Run", model)
	}
	if len(requests) == 0 {
		return nil, fmt.Errorf("llm: queue %s: no requests", model)
	}
	b := &Batch{c: c, model: model, n: len(requests), refs: make([]string, len(requests)),
		cfg: queueConfig{initial: 2 * time.Second, max: time.Minute}}
	for _, o := range opts {
		o(&b.cfg)
	}
	b.cfg.initial = max(b.cfg.initial, time.Millisecond)
	b.cfg.max = max(b.cfg.max, b.cfg.initial)
	items := make([]json.RawMessage, len(requests))
	for i, r := range requests {
		obj, err := inputObject(r)
		if err != nil {
			return nil, fmt.Errorf("llm: queue %s: request %d: %w", model, i, err)
		}
		items[i] = obj
		switch it := r.(type) {
		case BatchItem:
			b.refs[i] = it.Ref
		case *BatchItem:
			b.refs[i] = it.Ref
		}
	}
	body, err := json.Marshal(struct {
		Requests []json.RawMessage `json:"requests"`
	}{items})
	if err != nil {
		return nil, fmt.Errorf("llm: queue %s: encode: %w", model, err)
	}
	if len(body) >= MaxBatchPayload {
		return nil, fmt.Errorf("llm: queue %s: %d requests make %d bytes; the batch API takes under %d (split them into several batches)",
			model, len(requests), len(body), MaxBatchPayload)
	}
	w, err := b.post(ctx, body, true)
	if err != nil {
		if re, ok := errors.AsType[*RetryError](err); ok && re.Stopped == notCreated {
			return nil, fmt.Errorf("llm: queue %s: the batch may have been created although no request_id came back, and submitting it again would queue (and bill) a second job: %w", model, err)
		}
		return nil, err
	}
	if w.RequestID == "" {
		if w.Responses == nil {
			return nil, fmt.Errorf("llm: queue %s: the reply has neither a request_id nor responses", model)
		}
		if b.done, err = b.result(w); err != nil {
			return nil, err
		}
	}
	b.id = w.RequestID
	return b, nil
}

// QueueChat queues text-generation requests on model's batch API, each encoded as
// ChatModel.Generate would send it on /ai/run. Decode each result with
// BatchResponse.Response.
func QueueChat(ctx context.Context, c *Client, model string, reqs []Request, opts ...QueueOption) (*Batch, error) {
	items := make([]any, len(reqs))
	maxTokens := make([]int, len(reqs))
	for i, r := range reqs {
		body, err := encodeChat(model, dialectNative, r, false)
		if err != nil {
			return nil, fmt.Errorf("llm: queue %s: request %d: %w", model, i, err)
		}
		items[i] = json.RawMessage(body)
		maxTokens[i] = r.MaxTokens
	}
	b, err := c.Queue(ctx, model, items, opts...)
	if err != nil {
		return nil, err
	}
	b.maxTokens = maxTokens
	if b.done != nil {
		for i := range b.done.Responses {
			b.done.Responses[i].maxTokens = maxTokens[i]
		}
	}
	return b, nil
}

// ID returns the request_id the service gave the batch ("" when it answered at once).
func (b *Batch) ID() string { return b.id }

// Model returns the model the batch runs on.
func (b *Batch) Model() string { return b.model }

// wireBatch is every shape the batch route answers with: the queued acknowledgement
// {status, request_id, model}, the finished {responses, usage}, and, unconfirmed
// a pending state, told apart by the absence of responses.
type wireBatch struct {
	Status    string          `json:"status"`
	RequestID string          `json:"request_id"`
	Responses []wireBatchItem `json:"responses"`
	Usage     *wireUsage      `json:"usage"`
}

type wireBatchItem struct {
	ID                json.Number     `json:"id"`
	Result            json.RawMessage `json:"result"`
	Success           *bool           `json:"success"`
	ExternalReference *string         `json:"external_reference"`
}

// post sends a submission (submit: it creates a job, so it is not retried once it may have
// arrived) or a poll of the batch route.
func (b *Batch) post(ctx context.Context, body []byte, submit bool) (*wireBatch, error) {
	if b.c == nil {
		return nil, errNotCreated
	}
	data, _, err := b.c.runRaw(ctx, call{method: http.MethodPost, url: b.c.runURL(b.model) + "?queueRequest=true", model: b.model, body: body, createsWork: submit, op: OpBatch})
	if err != nil {
		return nil, err
	}
	var w wireBatch
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, b.c.redactErr(fmt.Errorf("llm: batch %s: decode reply: %w", b.model, decodeError(err, data)))
	}
	return &w, nil
}

// errPending makes the poll loop go round again.
var errPending = errors.New("llm: batch results not ready")

// Wait polls the batch, with growing intervals (WithPollInterval), until its results are
// ready, and returns them in the order the requests were given. It returns early with the
// context's error when ctx ends, and with the service's error when a poll fails (after the
// client's retries). The batch stays queued either way: a later Wait picks it up.
//
// The service's pending answer is not documented: a reply with status "queued" or
// "running", or any other reply without responses, counts as not ready.
func (b *Batch) Wait(ctx context.Context) (*BatchResult, error) {
	if b.done != nil {
		return b.done, nil
	}
	body, err := json.Marshal(map[string]string{"request_id": b.id})
	if err != nil {
		return nil, fmt.Errorf("llm: batch %s: %w", b.id, err)
	}
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(b.cfg.initial),
		backoff.WithMaxInterval(b.cfg.max),
		backoff.WithMaxElapsedTime(0), // only ctx bounds a batch: they take minutes to hours
	)
	var res *BatchResult
	err = backoff.Retry(func() error {
		w, err := b.post(ctx, body, false)
		if err != nil {
			return backoff.Permanent(err)
		}
		if w.Responses == nil {
			return errPending
		}
		if res, err = b.result(w); err != nil {
			return backoff.Permanent(err)
		}
		return nil
	}, backoff.WithContext(exp, ctx)) // WithContext outermost, or a sleep ignores cancellation
	if err != nil {
		return nil, fmt.Errorf("llm: batch %s on %s: %w", b.id, b.model, err)
	}
	return res, nil
}

// result puts the responses in request order. The service numbers them by position
// (testdata/workers-ai/batch-result.response.json): an id out of range, repeated or missing is an
// error rather than a silently misplaced result.
func (b *Batch) result(w *wireBatch) (*BatchResult, error) {
	out := make([]BatchResponse, b.n)
	seen := make([]bool, b.n)
	for _, it := range w.Responses {
		i, err := strconv.Atoi(it.ID.String())
		if err != nil || i < 0 || i >= b.n || seen[i] {
			return nil, fmt.Errorf("llm: batch %s: response id %q is not a new position among %d requests", b.id, it.ID, b.n)
		}
		seen[i] = true
		r := BatchResponse{Index: i, Ref: b.refs[i], Result: it.Result}
		if it.ExternalReference != nil {
			r.Ref = *it.ExternalReference
		}
		if b.maxTokens != nil {
			r.maxTokens = b.maxTokens[i]
		}
		if it.Success != nil && !*it.Success {
			r.Err = b.itemError(i, it.Result)
		}
		out[i] = r
	}
	for i, ok := range seen {
		if !ok {
			return nil, fmt.Errorf("llm: batch %s: no response for request %d of %d", b.id, i, b.n)
		}
	}
	return &BatchResult{Responses: out, Usage: w.Usage.usage()}, nil
}

// itemError reads a failed item's result. Its shape is not documented; an error body
// ({"errors":[...]} or {"error":...}) or a plain string is read, anything else is quoted.
// Status is that of the poll (200), as for an envelope with success:false.
func (b *Batch) itemError(i int, result json.RawMessage) error {
	e := &Error{Status: http.StatusOK, Model: b.model}
	if !fillErrorFromBody(e, result) {
		var s string
		if json.Unmarshal(result, &s) == nil {
			e.Message = s
		} else if len(bytes.TrimSpace(result)) > 0 && string(result) != "null" {
			e.Message = snippet(result)
		}
	}
	if e.Message == "" {
		e.Message = "the batch API reported the request as failed without a reason"
	}
	if m := trailingID.FindStringSubmatch(e.Message); m != nil {
		e.RequestID = m[1]
	}
	return b.c.redactErr(fmt.Errorf("llm: batch request %d: %w", i, e))
}
