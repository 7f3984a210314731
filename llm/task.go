package llm

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
)

// TaskReply is what a task model (speech, translation, classification, ...) answered on
// the native route: the result with the JSON envelope removed, or raw bytes (audio) as
// they came, and what the headers say about the call.
type TaskReply struct {
	Data        []byte // the envelope's result for a JSON reply; the body itself otherwise
	ContentType string // the reply's media type, e.g. "application/json" or "audio/mpeg"
	RequestID   string // cf-ai-req-id, when the service sent one
	// Usage holds the neurons the service reported in the cf-ai-neurons header; task
	// models report no tokens.
	Usage Usage
}

// JSON reports whether the reply is JSON (the envelope's result) rather than raw bytes.
func (r *TaskReply) JSON() bool { return isJSON(r.ContentType) }

// RunTask calls model on the native route with input, encoded as for Run (a Body is sent
// as it is, with its content type: audio for speech recognition), with query added to
// the URL (nova-3 takes its options there; nil for none). Unlike Run and RunBytes it
// keeps what the reply headers say: the request id and the neurons billed.
func (c *Client) RunTask(ctx context.Context, model string, input any, query url.Values) (*TaskReply, error) {
	cl, err := c.runCall(model, input)
	if err != nil {
		return nil, err
	}
	if len(query) > 0 {
		cl.url += "?" + query.Encode()
	}
	resp, err := c.send(ctx, cl)
	if err != nil {
		return nil, err
	}
	h := resp.Header
	mt := mediaType(h)
	data, err := c.readBody(resp)
	if err != nil {
		return nil, err
	}
	out := &TaskReply{Data: data, ContentType: mt, RequestID: h.Get("cf-ai-req-id")}
	if v := h.Get("cf-ai-neurons"); v != "" {
		if n, err := strconv.ParseFloat(v, 64); err == nil {
			out.Usage.Neurons = n
		}
	}
	if !isJSON(mt) {
		return out, nil
	}
	result, err := c.unwrapResult(data, model)
	if err != nil {
		return nil, annotateTask(err, h)
	}
	out.Data = result
	return out, nil
}

// annotateTask adds the request id of the headers to a service error decoded from a 2xx
// body.
func annotateTask(err error, h http.Header) error {
	if e, ok := err.(*Error); ok && e.RequestID == "" {
		e.RequestID = h.Get("cf-ai-req-id")
	}
	return err
}
