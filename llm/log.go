package llm

import (
	"log/slog"
	"time"
)

// The log records of a client with WithLogger. Each call logs one record, LogMessageCall,
// at Info when it ends, whatever the operation (chat, stream, embeddings, any other Run or
// RunBytes, a batch's submission or poll, an account route), with the same attributes in
// the same order every time (those that do not apply are zero or empty), so that a log
// pipeline can index them:
//
//	operation          chat, embeddings, text_to_image, ... (see OpChat and the others)
//	model              the model id
//	endpoint           native, v1, gateway, gateway/v1, openai_compatible or account
//	stream             whether the reply was streamed
//	duration           from the call's start to its end, retries included
//	attempts           attempts made
//	status             HTTP status of the last attempt (0 when none arrived)
//	prompt_tokens, completion_tokens, cached_tokens
//	neurons            reported by the service, or estimated (neurons_estimated)
//	neurons_estimated  the neurons are the catalog's estimate
//	dollars            the neurons at Workers AI's price (USDPerNeuron)
//	request_id         cf-ai-req-id
//	gateway_log_id     cf-aig-log-id, with gateway_cache_status (cf-aig-cache-status)
//	error              "" on success; the API token never appears in it
//
// At Debug, records start with the same four attributes (operation, model, endpoint,
// stream): a failed attempt logs LogMessageRetry (attempt, status, wait, error), a stream's
// first event LogMessageStreamStart (time_to_first_event), and each event of a stream
// LogMessageStreamEvent (event, counted from 1; text_bytes and reasoning_bytes, the sizes of
// the event's text, which is not logged; tool_calls; finish_reason; error).
const (
	LogMessageCall        = "llm: call"
	LogMessageRetry       = "llm: retry"
	LogMessageStreamStart = "llm: stream started"
	LogMessageStreamEvent = "llm: stream event"
)

// WithLogger logs one record per call at Info, retries and stream events at Debug;
// LogMessageCall lists the attributes. The API token never appears in a log record.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// logging reports whether c logs at level for o's call.
func (c *Client) logging(o *observation, level slog.Level) bool {
	return c.log != nil && c.log.Enabled(o.ctx, level)
}

// logAttrs writes a record of o's call: the attributes every record starts with, then more.
func (c *Client) logAttrs(o *observation, level slog.Level, msg string, more ...slog.Attr) {
	attrs := make([]slog.Attr, 0, 4+len(more))
	attrs = append(attrs,
		slog.String("operation", o.info.Operation),
		slog.String("model", o.info.Model),
		slog.String("endpoint", o.info.Endpoint),
		slog.Bool("stream", o.info.Stream),
	)
	c.log.LogAttrs(o.ctx, level, msg, append(attrs, more...)...)
}

// errText is err's text without the token, "" for nil.
func (c *Client) errText(err error) string {
	if err == nil {
		return ""
	}
	return c.redact(err.Error())
}

// logCall writes the record of a finished call.
func (c *Client) logCall(o *observation, res CallResult) {
	if !c.logging(o, slog.LevelInfo) {
		return
	}
	u := res.Usage
	c.logAttrs(o, slog.LevelInfo, LogMessageCall,
		slog.Duration("duration", res.Duration),
		slog.Int("attempts", res.Attempts),
		slog.Int("status", res.Status),
		slog.Int("prompt_tokens", u.PromptTokens),
		slog.Int("completion_tokens", u.CompletionTokens),
		slog.Int("cached_tokens", u.CachedTokens),
		slog.Float64("neurons", u.Neurons),
		slog.Bool("neurons_estimated", u.NeuronsEstimated),
		slog.Float64("dollars", u.Dollars()),
		slog.String("request_id", c.redact(res.RequestID)),
		slog.String("gateway_log_id", res.Gateway.LogID),
		slog.String("gateway_cache_status", res.Gateway.CacheStatus),
		slog.String("error", c.errText(res.Err)),
	)
}

// logAttempt writes the record of a failed attempt at Debug.
func (c *Client) logAttempt(o *observation, a AttemptInfo) {
	if !c.logging(o, slog.LevelDebug) {
		return
	}
	c.logAttrs(o, slog.LevelDebug, LogMessageRetry,
		slog.Int("attempt", a.Attempt),
		slog.Int("status", a.Status),
		slog.Duration("wait", a.Wait),
		slog.String("error", c.errText(a.Err)),
	)
}

// logEvent writes, at Debug, the record of a stream's n-th event, and before the first one
// the record that the stream started.
func (c *Client) logEvent(o *observation, n int, d Delta, err error) {
	if !c.logging(o, slog.LevelDebug) {
		return
	}
	if n == 1 {
		c.logAttrs(o, slog.LevelDebug, LogMessageStreamStart,
			slog.Duration("time_to_first_event", time.Since(o.start)))
	}
	c.logAttrs(o, slog.LevelDebug, LogMessageStreamEvent,
		slog.Int("event", n),
		slog.Int("text_bytes", len(d.Text)),
		slog.Int("reasoning_bytes", len(d.Reasoning)),
		slog.Int("tool_calls", len(d.ToolCalls)),
		slog.String("finish_reason", d.FinishReason),
		slog.String("error", c.errText(err)),
	)
}
