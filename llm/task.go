package llm

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
)

// TaskReply is what a task model (speech, translation, classification, ...) answered on
// the native route: the result with the JSON envelope removed, or raw bytes (audio) as
// they came, and what the headers say about the call.
type TaskReply struct {
	Data        []byte // the envelope's result for a JSON reply; the body itself otherwise
	ContentType string // the reply's media type, e.g. "application/json" or "audio/mpeg"
	RequestID   string // cf-ai-req-id, when the service sent one
	// Usage is what the call used: the tokens of a usage object in the result (Llama
	// Guard sends one), and the neurons of the cf-ai-neurons header. When the service
	// reported no neurons, they are estimated (Usage.NeuronsEstimated) from the catalog's
	// per-token prices for reported tokens, else by WithNeuronEstimate's function.
	Usage Usage
}

// JSON reports whether the reply is JSON (the envelope's result) rather than raw bytes.
func (r *TaskReply) JSON() bool { return isJSON(r.ContentType) }

// TaskOption configures RunTask.
type TaskOption func(*taskConfig)

type taskConfig struct {
	estimate func(*TaskReply) float64
}

// WithNeuronEstimate prices a reply for which the service reported no neurons and no
// tokens the catalog prices: est is given the reply and returns the neurons, which RunTask
// puts in TaskReply.Usage with NeuronsEstimated set, before the call's usage is reported
// (WithUsageFunc, Observer). Task packages use it for models billed per minute of audio,
// per thousand characters or per image, a price only the caller can work out. A result of
// 0 or less leaves the usage without neurons.
func WithNeuronEstimate(est func(*TaskReply) float64) TaskOption {
	return func(c *taskConfig) { c.estimate = est }
}

// RunTask calls model on the native route with input, encoded as for Run (a Body is sent
// as it is, with its content type: audio for speech recognition), with query added to
// the URL (nova-3 takes its options there; nil for none). Unlike Run and RunBytes it
// keeps what the reply headers say: the request id and the neurons billed.
//
// The call is observed like every other (Observer, the Client's logger) and its usage is
// reported to the function of WithUsageFunc, so that what an agent's tools spend on task
// models counts toward its usage and budget.
func (c *Client) RunTask(ctx context.Context, model string, input any, query url.Values, opts ...TaskOption) (*TaskReply, error) {
	var cfg taskConfig
	for _, o := range opts {
		o(&cfg)
	}
	cl, err := c.runCall(model, input)
	if err != nil {
		return nil, err
	}
	if len(query) > 0 {
		cl.url += "?" + query.Encode()
	}
	if c == nil {
		return nil, errNotCreated
	}
	o, octx := c.begin(ctx, &cl, nil)
	if o == nil {
		return c.runTask(ctx, cl, cfg)
	}
	r, err := c.runTask(octx, cl, cfg)
	res := CallResult{Err: err}
	if r != nil {
		res.Usage, res.RequestID = r.Usage, r.RequestID
	}
	o.end(res)
	return r, err
}

// runTask is RunTask without observation.
func (c *Client) runTask(ctx context.Context, cl call, cfg taskConfig) (*TaskReply, error) {
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
	if isJSON(mt) {
		result, err := c.unwrapResult(data, cl.model)
		if err != nil {
			return nil, annotateTask(err, h)
		}
		out.Data = result
		var w struct {
			Usage *wireUsage `json:"usage"`
		}
		_ = json.Unmarshal(result, &w) // a result that is not an object has no usage
		out.Usage = w.Usage.usage()
	}
	if out.Usage.Neurons == 0 {
		out.Usage.Neurons = headerNeurons(h)
	}
	estimateNeurons(cl.model, &out.Usage)
	if out.Usage.Neurons == 0 && cfg.estimate != nil {
		if n := cfg.estimate(out); n > 0 {
			out.Usage.Neurons, out.Usage.NeuronsEstimated = n, true
		}
	}
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
