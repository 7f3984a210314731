package llm

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"net/http"
	"strconv"
	"strings"
)

// ChatModel is a text-generation model reached over HTTP. It implements Model and is safe
// for concurrent use.
type ChatModel struct {
	c       *Client
	id      string
	dialect dialect
	url     string // the endpoint, built once: a Client's URLs never change
}

// Model returns the model id on the native endpoint /ai/run/{id}, which every Workers AI
// model has. Requests and the three reply families are translated for you.
func (c *Client) Model(id string) *ChatModel {
	return &ChatModel{c: c, id: id, dialect: dialectNative, url: c.runURL(id)}
}

// OpenAIModel returns the model id on the OpenAI-compatible endpoint /ai/v1/chat/completions.
func (c *Client) OpenAIModel(id string) *ChatModel {
	return &ChatModel{c: c, id: id, dialect: dialectOpenAI, url: c.v1URL("chat/completions")}
}

// ID returns the model id.
func (m *ChatModel) ID() string { return m.id }

// String names the model and the endpoint it uses.
func (m *ChatModel) String() string {
	if m.dialect == dialectOpenAI {
		return m.id + " (OpenAI-compatible)"
	}
	return m.id
}

// request builds the call of req, after fitting req to the model's context window, which
// may lower req.MaxTokens: the caller judges the reply against the budget that was sent.
// When the client observes its calls, sent is the request as sent (with the default budget
// filled in); else nil.
func (m *ChatModel) request(req *Request, stream bool) (cl call, sent *Request, err error) {
	if m.id == "" {
		return call{}, nil, errors.New("llm: empty model id")
	}
	if err := m.fitWindow(req); err != nil {
		return call{}, nil, err
	}
	body, err := encodeChat(m.id, m.dialect, *req, stream)
	if err != nil {
		return call{}, nil, fmt.Errorf("llm: %s: %w", m.id, err)
	}
	cl = call{method: http.MethodPost, url: m.url, model: m.id, body: body, stream: stream, op: OpChat}
	if req.SessionAffinity != "" {
		cl.header = http.Header{"X-Session-Affinity": {req.SessionAffinity}}
	}
	if m.c.observing() {
		sent = new(Request) // a copy, so that req stays on the stack when nothing observes
		*sent = *req
		if sent.MaxTokens == 0 {
			sent.MaxTokens = DefaultMaxTokens
		}
	}
	return cl, sent, nil
}

// Generate sends req and returns the whole reply. Failures are *Error values (retried per
// the client's RetryPolicy where that can help); a success with an empty result is an error
// wrapping ErrEmptyResponse. A reply cut off at max_tokens in the middle of a tool call's
// arguments is a *TruncatedToolCallError that holds the reply.
func (m *ChatModel) Generate(ctx context.Context, req Request) (*Response, error) {
	cl, sent, err := m.request(&req, false)
	if err != nil {
		return nil, err
	}
	if o, octx := m.c.begin(ctx, &cl, sent); o != nil {
		r, err := m.generate(octx, cl, req)
		o.endChat(r, err)
		return r, err
	}
	return m.generate(ctx, cl, req)
}

// generate sends cl, the call of req, and decodes the reply.
func (m *ChatModel) generate(ctx context.Context, cl call, req Request) (*Response, error) {
	resp, err := m.c.send(ctx, cl)
	if err != nil {
		return nil, err
	}
	h := resp.Header
	var r *Response
	if mediaType(h) == "text/event-stream" {
		// A server that streams although we did not ask: gather the stream.
		if r, err = collect(decodeStream(resp.Body, m.id)); err != nil {
			return nil, m.c.redactErr(m.cutToolCall(err, h, req.MaxTokens, false))
		}
	} else {
		data, err := m.c.readBody(resp)
		if err != nil {
			return nil, err
		}
		if r, err = decodeChat(data); err != nil {
			return nil, m.c.redactErr(m.cutToolCall(err, h, req.MaxTokens, true))
		}
	}
	fillFromHeaders(r, h)
	estimateNeurons(m.id, &r.Usage)
	r.FinishReason = inferFinish(r.FinishReason, r.Usage, len(r.ToolCalls) > 0, req.MaxTokens)
	return r, nil
}

// inferFinish fills the finish reason legacy models leave out (they report none): "length" when the answer used the whole max_tokens budget, so that a silent
// cut-off is visible, else "tool_calls" or "stop".
func inferFinish(reason string, u Usage, calls bool, maxTokens int) string {
	if reason != "" {
		return reason
	}
	if maxTokens <= 0 {
		maxTokens = DefaultMaxTokens
	}
	switch {
	case u.CompletionTokens >= maxTokens:
		return "length"
	case calls:
		return "tool_calls"
	}
	return "stop"
}

// Stream sends req with stream:true and yields the reply as it arrives. The request is
// retried only before the first event; breaking out of the loop closes the connection. A
// reply cut off at max_tokens in the middle of a tool call's arguments ends, after its text
// deltas, with a *TruncatedToolCallError instead of the last delta; its Response holds the
// tool calls, the cut-off call and the usage, but not the text and reasoning, which the
// deltas delivered: Stream keeps nothing of them, so its memory stays flat however long
// the reply.
//
// A model that ignores stream:true and answers JSON yields that answer as one Delta. Some
// models cannot stream on /ai/run at all: gpt-oss and Kimi answer a stream request with a
// success envelope whose result is empty ({"result":{},"success":true,...}). Stream then asks
// once more without streaming and yields that answer as one Delta; whatever the model, it
// never sends more than those two requests.
func (m *ChatModel) Stream(ctx context.Context, req Request) iter.Seq2[Delta, error] {
	return func(yield func(Delta, error) bool) {
		cl, sent, err := m.request(&req, true)
		if err != nil {
			yield(Delta{}, err)
			return
		}
		o, octx := m.c.begin(ctx, &cl, sent)
		if o != nil {
			ctx, yield = octx, o.wrapYield(yield)
			defer o.endStream()
		}
		resp, err := m.c.send(ctx, cl)
		if err != nil {
			yield(Delta{}, err)
			return
		}
		h := resp.Header
		if mt := mediaType(h); mt != "text/event-stream" {
			data, err := m.c.readBody(resp)
			if err != nil {
				yield(Delta{}, err)
				return
			}
			if !isJSON(mt) && !looksLikeJSON(data) {
				yield(Delta{}, fmt.Errorf("llm: %s: stream reply has content type %q", m.id, mt))
				return
			}
			r, err := decodeChat(data)
			switch {
			case errors.Is(err, ErrEmptyResponse):
				// The model cannot stream here; the same request without stream:true
				// gets its answer.
				r, err = m.askAgain(ctx, req, o)
			case err != nil:
				err = m.c.redactErr(m.cutToolCall(err, h, req.MaxTokens, true))
			default:
				fillFromHeaders(r, h)
				estimateNeurons(m.id, &r.Usage)
				r.FinishReason = inferFinish(r.FinishReason, r.Usage, len(r.ToolCalls) > 0, req.MaxTokens)
			}
			if err != nil {
				yield(Delta{}, err)
				return
			}
			u := r.Usage
			yield(Delta{Text: r.Text, Reasoning: r.Reasoning, FinishReason: r.FinishReason, ToolCalls: r.ToolCalls, Usage: &u}, nil)
			return
		}
		// Nothing of the text is kept: memory stays flat however long the stream, and a
		// *TruncatedToolCallError leaves the text out (the deltas before it carried it).
		for d, err := range decodeStream(resp.Body, m.id) {
			if err != nil {
				yield(Delta{}, m.c.redactErr(m.cutToolCall(err, h, req.MaxTokens, false)))
				return
			}
			if d.Usage != nil {
				if d.Usage.Neurons == 0 {
					d.Usage.Neurons = headerNeurons(h) // the stream's usage had none
				}
				estimateNeurons(m.id, d.Usage)
				d.FinishReason = inferFinish(d.FinishReason, *d.Usage, len(d.ToolCalls) > 0, req.MaxTokens)
			}
			if !yield(d, nil) {
				return
			}
		}
	}
}

// askAgain sends req without stream:true for a stream the model could not serve. The request
// belongs to the stream's call: o (nil when unobserved) counts its attempts and keeps its
// headers, so that observers, logs and WithUsageFunc see one call and its usage once.
func (m *ChatModel) askAgain(ctx context.Context, req Request, o *observation) (*Response, error) {
	cl, _, err := m.request(&req, false)
	if err != nil {
		return nil, err
	}
	cl.obs = o
	return m.generate(ctx, cl, req)
}

// cutToolCall returns a *TruncatedToolCallError for a reply with an unfinished tool call that
// was cut off at max_tokens, the request id and neurons from the headers added; any other
// decode error is returned as it is, with the model and request id added when annotate is set.
func (m *ChatModel) cutToolCall(err error, h http.Header, maxTokens int, annotate bool) error {
	if u, ok := errors.AsType[*unfinishedCallError](err); ok {
		fillFromHeaders(u.resp, h)
		if cut, ok := truncatedToolCall(err, maxTokens); ok {
			return cut
		}
	}
	if annotate {
		return m.annotate(err, h)
	}
	return err
}

// looksLikeJSON reports whether a body with a missing or odd content type still looks like JSON.
func looksLikeJSON(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\r', '\n':
			continue
		case '{', '[':
			return true
		}
		return false
	}
	return false
}

// annotate completes an error decoded from a 2xx body with what the headers say.
func (m *ChatModel) annotate(err error, h http.Header) error {
	if e, ok := errors.AsType[*Error](err); ok {
		e.Model = m.id
		if e.RequestID == "" {
			e.RequestID = h.Get("cf-ai-req-id")
		}
		return err
	}
	if id := h.Get("cf-ai-req-id"); id != "" {
		return fmt.Errorf("llm: %s (request %s): %w", m.id, id, err)
	}
	return fmt.Errorf("llm: %s: %w", m.id, err)
}

// fillFromHeaders adds what only the headers carry: the request id, the neurons when the
// body reported none (the cf-ai-neurons header), and AI Gateway info.
func fillFromHeaders(r *Response, h http.Header) {
	if r.RequestID == "" {
		r.RequestID = h.Get("cf-ai-req-id")
	}
	if r.Usage.Neurons == 0 {
		r.Usage.Neurons = headerNeurons(h)
	}
	r.Gateway = gatewayInfo(h)
}

// headerNeurons reads the cf-ai-neurons header; 0 when it is absent or unreadable.
func headerNeurons(h http.Header) float64 {
	// An absent header is not parsed: ParseFloat("") allocates the error it returns.
	if v := h.Get("cf-ai-neurons"); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			return n
		}
	}
	return 0
}

// collect gathers a stream into one Response.
func collect(s iter.Seq2[Delta, error]) (*Response, error) {
	var r Response
	var text, reasoning strings.Builder
	for d, err := range s {
		if err != nil {
			if u, ok := errors.AsType[*unfinishedCallError](err); ok {
				u.resp.Text, u.resp.Reasoning = text.String(), reasoning.String()
			}
			return nil, err
		}
		text.WriteString(d.Text)
		reasoning.WriteString(d.Reasoning)
		r.ToolCalls = append(r.ToolCalls, d.ToolCalls...)
		if d.FinishReason != "" {
			r.FinishReason = d.FinishReason
		}
		if d.Usage != nil {
			r.Usage = *d.Usage
		}
	}
	r.Text, r.Reasoning = text.String(), reasoning.String()
	return &r, nil
}
