package llmtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/gowai/gowai/llm"
)

// batchQueue holds the jobs submitted to the async batch API (?queueRequest=true; see
// https://developers.cloudflare.com/workers-ai/features/batch-api/).
type batchQueue struct {
	pending int // polls answered "running" before a job's results

	mu   sync.Mutex
	seq  int
	jobs map[string]*batchJob
}

type batchJob struct {
	model     string
	polls     int
	responses []batchResponse
	usage     llm.Usage
}

type batchResponse struct {
	ID                int             `json:"id"`
	Result            json.RawMessage `json:"result"`
	Success           bool            `json:"success"`
	ExternalReference json.RawMessage `json:"external_reference"`
}

// WithBatchPolls makes the batch API answer n polls of a job with {"status":"running"}
// before its results (default 1, so a client has to poll at least twice). n is at least 0.
func WithBatchPolls(n int) ServerOption { return func(s *Server) { s.queue.pending = max(n, 0) } }

func newBatchQueue() *batchQueue { return &batchQueue{pending: 1, jobs: map[string]*batchJob{}} }

// queued answers POST /ai/run/{model}?queueRequest=true: a submission {"requests":[...]}
// or a poll {"request_id":"..."}.
func (s *Server) queued(ex *exchange) output {
	if len(ex.body) >= llm.MaxBatchPayload {
		return aiError(ex, http.StatusRequestEntityTooLarge, 3006, "Request is too large")
	}
	var in struct {
		Requests  []json.RawMessage `json:"requests"`
		RequestID *string           `json:"request_id"`
	}
	if err := json.Unmarshal(ex.body, &in); err != nil {
		return aiError(ex, http.StatusBadRequest, 5006, "Bad input: "+err.Error())
	}
	var out output
	switch {
	case in.RequestID != nil:
		out = s.pollBatch(ex, *in.RequestID)
	case len(in.Requests) > 0:
		out = s.submitBatch(ex, in.Requests)
	default:
		return aiError(ex, http.StatusBadRequest, 5006, "Bad input: required properties at '/' are 'requests' (a non-empty array) or 'request_id'")
	}
	if out.status/100 == 2 {
		out.header.Set("cf-ai-req-id", ex.reqID)
	}
	return out
}

// submitBatch answers every request at once, as the Handler (or the built-in emulation)
// would answer it alone, and keeps the answers until the job is polled enough.
func (s *Server) submitBatch(ex *exchange, requests []json.RawMessage) output {
	info, known := llm.LookupModel(ex.model)
	switch {
	case ex.model == DefaultTestModelID:
	case !known:
		return noRouteModel()
	case !info.Batch:
		return aiError(ex, http.StatusBadRequest, 5006, fmt.Sprintf("llmtest: %s does not take the batch API (queueRequest)", ex.model))
	}
	job := &batchJob{model: ex.model, responses: make([]batchResponse, len(requests))}
	for i, item := range requests {
		var ref struct {
			Ref json.RawMessage `json:"external_reference"`
		}
		_ = json.Unmarshal(item, &ref) // an item that is not an object fails in the emulation below
		if ref.Ref == nil {
			ref.Ref = json.RawMessage("null")
		}
		sub := *ex
		sub.body = item
		sub.reqID = fmt.Sprintf("%s-%d", ex.reqID, i)
		rep := s.handler(ex.model, item)
		if rep.outOfScript {
			s.note(ex, func(r *Recorded) { r.OutOfScript = true })
		}
		result, ok, usage := batchItem(s.render(&sub, rep), len(item))
		job.responses[i] = batchResponse{ID: i, Result: result, Success: ok, ExternalReference: ref.Ref}
		job.usage = job.usage.Add(usage)
	}
	s.queue.mu.Lock()
	s.queue.seq++
	id := fmt.Sprintf("b47c0000-0000-4000-8000-%012x", s.queue.seq)
	s.queue.jobs[id] = job
	s.queue.mu.Unlock()
	return envelope(http.StatusOK, map[string]string{"status": "queued", "request_id": id, "model": ex.model})
}

// batchItem turns the answer one request would have had into a batch response: the
// envelope's result on success; on failure the error body's errors (the live shape of a
// failed item is not documented). size is the request's length in bytes,
// for a usage estimate when the result carries none.
func batchItem(out output, size int) (json.RawMessage, bool, llm.Usage) {
	var env struct {
		Result json.RawMessage `json:"result"`
		Errors json.RawMessage `json:"errors"`
	}
	switch {
	case out.stream:
		return errorsJSON(5006, "llmtest: the batch API does not stream; drop \"stream\": true"), false, llm.Usage{}
	case json.Unmarshal(out.body, &env) != nil:
		return errorsJSON(5006, "llmtest: a reply that is not JSON cannot be batched"), false, llm.Usage{}
	case out.status/100 != 2:
		return json.RawMessage(`{"errors":` + string(env.Errors) + `}`), false, llm.Usage{}
	}
	var u struct {
		Usage *wireUsage `json:"usage"`
	}
	_ = json.Unmarshal(env.Result, &u) // a result without usage is estimated below
	usage := llm.Usage{PromptTokens: estimateTokens(size)}
	if u.Usage != nil {
		usage = llm.Usage{PromptTokens: u.Usage.PromptTokens, CompletionTokens: u.Usage.CompletionTokens}
	}
	usage.TotalTokens = usage.PromptTokens + usage.CompletionTokens
	return env.Result, true, usage
}

func errorsJSON(code int, msg string) json.RawMessage {
	return json.RawMessage(mustJSON(map[string][]routerErr{"errors": {{code, msg}}}))
}

// pollBatch answers a poll: {"status":"running"} while the job is pending, then its
// responses and total usage, as often as asked.
func (s *Server) pollBatch(ex *exchange, id string) output {
	s.queue.mu.Lock()
	defer s.queue.mu.Unlock()
	job, ok := s.queue.jobs[id]
	if !ok || job.model != ex.model {
		return aiError(ex, http.StatusBadRequest, 5006, fmt.Sprintf("llmtest: no batch %q was queued on %s", id, ex.model))
	}
	if job.polls < s.queue.pending {
		job.polls++
		return envelope(http.StatusOK, map[string]string{"status": "running", "request_id": id, "model": ex.model})
	}
	return envelope(http.StatusOK, map[string]any{
		"responses": job.responses,
		"usage": map[string]int{
			"prompt_tokens": job.usage.PromptTokens, "completion_tokens": job.usage.CompletionTokens,
			"total_tokens": job.usage.TotalTokens,
		},
	})
}
