package llm

import (
	"log/slog"
	"time"
)

// The log records of a client with WithLogger. Each call logs one record, LogMessageCall,
// at Info when it ends, with the same attributes every time (those that do not apply are
// zero or empty), so that a log pipeline can index them:
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
// At Debug, a retried attempt logs LogMessageRetry (attempt, status, wait, error) and a
// stream's first event LogMessageStreamStart (time to first event).
const (
	LogMessageCall        = "llm: call"
	LogMessageRetry       = "llm: retry"
	LogMessageStreamStart = "llm: stream started"
)

// WithLogger logs one record per call at Info, retries and the start of streams at Debug;
// LogMessageCall lists the attributes. The API token never appears in a log record.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// logCall writes the record of a finished call.
func (c *Client) logCall(o *observation, res CallResult) {
	if c.log == nil || !c.log.Enabled(o.ctx, slog.LevelInfo) {
		return
	}
	errText := ""
	if res.Err != nil {
		errText = c.redact(res.Err.Error())
	}
	u := res.Usage
	c.log.LogAttrs(o.ctx, slog.LevelInfo, LogMessageCall,
		slog.String("operation", o.info.Operation),
		slog.String("model", o.info.Model),
		slog.String("endpoint", o.info.Endpoint),
		slog.Bool("stream", o.info.Stream),
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
		slog.String("error", errText),
	)
}

// logAttempt writes the record of a failed attempt at Debug.
func (c *Client) logAttempt(o *observation, a AttemptInfo) {
	if c.log == nil || !c.log.Enabled(o.ctx, slog.LevelDebug) {
		return
	}
	errText := ""
	if a.Err != nil {
		errText = c.redact(a.Err.Error())
	}
	c.log.LogAttrs(o.ctx, slog.LevelDebug, LogMessageRetry,
		slog.String("operation", o.info.Operation),
		slog.String("model", o.info.Model),
		slog.Int("attempt", a.Attempt),
		slog.Int("status", a.Status),
		slog.Duration("wait", a.Wait),
		slog.String("error", errText),
	)
}

// logFirstEvent writes, at Debug, that a stream's first item arrived.
func (c *Client) logFirstEvent(o *observation) {
	if c.log == nil || !c.log.Enabled(o.ctx, slog.LevelDebug) {
		return
	}
	c.log.LogAttrs(o.ctx, slog.LevelDebug, LogMessageStreamStart,
		slog.String("operation", o.info.Operation),
		slog.String("model", o.info.Model),
		slog.Duration("time_to_first_event", time.Since(o.start)),
	)
}
