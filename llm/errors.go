package llm

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Sentinels for what callers branch on. Every *Error matches at most one of them with
// errors.Is; ErrTruncatedStream and ErrEmptyResponse are returned wrapped on their own.
var (
	ErrRateLimited = errors.New("llm: rate limited")
	ErrCapacity    = errors.New("llm: out of capacity")
	// ErrTimeout matches a timeout reported by the service (3007, 3008, 3046, HTTP 408) and
	// one of the client's own: an attempt longer than WithTimeout, or a stream silent for
	// longer than WithStreamIdleTimeout.
	ErrTimeout         = errors.New("llm: request timed out")
	ErrDailyLimit      = errors.New("llm: daily neuron allocation used up (resets 00:00 UTC)")
	ErrUnauthorized    = errors.New("llm: unauthorized")
	ErrBadAccount      = errors.New("llm: no such account or route")
	ErrModelNotFound   = errors.New("llm: model not found")
	ErrBadInput        = errors.New("llm: bad input")
	ErrContextWindow   = errors.New("llm: context window exceeded")
	ErrLicenseRequired = errors.New("llm: model licence not agreed")
	ErrTruncatedStream = errors.New("llm: stream ended before [DONE]")
	ErrEmptyResponse   = errors.New("llm: service reported success with an empty result")
	// ErrUnreachable matches a failure to reach the service at all: a DNS failure, a refused
	// or reset connection, a TLS failure, an I/O timeout. The transport's own error
	// (*net.OpError, *net.DNSError, *url.Error, ...) stays reachable with errors.As.
	ErrUnreachable = errors.New("llm: service unreachable")
	// ErrToolCallTruncated matches a *TruncatedToolCallError.
	ErrToolCallTruncated = errors.New("llm: tool call cut off at max_tokens")
)

// TruncatedToolCallError reports a reply whose tool call was cut off by max_tokens (finish
// reason "length") before its arguments were a complete JSON object. The reply is kept: its
// usage was billed, and a caller such as an agent or structured output can show the model
// what it sent and ask again with a shorter answer or a larger budget.
type TruncatedToolCallError struct {
	Response     *Response // the reply as decoded: FinishReason "length", Usage, Text and any complete ToolCalls
	ID, Name     string    // the cut call's id and tool name, as far as they were sent
	RawArguments string    // the arguments text exactly as received
}

func (e *TruncatedToolCallError) Error() string {
	return fmt.Sprintf("llm: tool call %q cut off at max_tokens after %d bytes of arguments (raise MaxTokens)", e.Name, len(e.RawArguments))
}

// Is reports whether target is ErrToolCallTruncated.
func (e *TruncatedToolCallError) Is(target error) bool { return target == ErrToolCallTruncated }

// Error is a failure reported by Workers AI (or an OpenAI-compatible server).
type Error struct {
	Status     int           // HTTP status; 0 for an error sent inside a stream
	Code       int           // Cloudflare internal code (3040, 5006, ...); 0 when none was sent
	Message    string        // the service's message
	RequestID  string        // cf-ai-req-id header, or the id at the end of the message
	Model      string        // the model that was called
	RetryAfter time.Duration // from the Retry-After header; 0 when absent
	// Hint is the client's advice, not the service's: for an unknown model id, the
	// catalogued id it is closest to ("did you mean ...?") or where the list of models is.
	Hint string
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("workers ai")
	if e.Model != "" {
		b.WriteString(" " + e.Model)
	}
	if e.Status != 0 {
		b.WriteString(": HTTP " + strconv.Itoa(e.Status))
	} else {
		b.WriteString(": in-stream error")
	}
	if e.Code != 0 {
		b.WriteString(" code " + strconv.Itoa(e.Code))
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if e.RequestID != "" && !strings.Contains(e.Message, e.RequestID) {
		b.WriteString(" (request " + e.RequestID + ")")
	}
	if s := e.sentinel(); s == ErrLicenseRequired {
		b.WriteString("; accept the licence once by sending {\"prompt\":\"agree\"} to this model (vision.AgreeLicense)")
	}
	if e.Hint != "" {
		b.WriteString("; " + e.Hint)
	}
	return b.String()
}

// Is reports whether the error belongs to the class of target (one of the sentinels).
func (e *Error) Is(target error) bool { return target != nil && e.sentinel() == target }

// Retryable reports whether the same request may succeed if sent again later. Daily
// allocation errors (3036, 4006) are 429s that will not clear until 00:00 UTC, so they are
// not retryable.
func (e *Error) Retryable() bool {
	switch e.Code {
	case 3040, 3021, 3007, 3008, 3046:
		return true
	case 3036, 4006:
		return false
	}
	if e.Code != 0 && e.Status >= 400 && e.Status < 500 && e.Status != 408 && e.Status != 409 && e.Status != 429 {
		return false
	}
	switch {
	case e.Status == 0:
		// An in-stream error with an unknown code: be conservative.
		return false
	case e.Status == 408, e.Status == 409, e.Status == 429, e.Status >= 500:
		return true
	}
	return false
}

func (e *Error) sentinel() error {
	switch e.Code {
	case 3040:
		return ErrCapacity
	case 3021:
		return ErrRateLimited
	case 3007, 3008, 3046:
		return ErrTimeout
	case 3036, 4006:
		return ErrDailyLimit
	case 5006, 3030, 8001:
		return ErrBadInput
	case 5007, 3042:
		return ErrModelNotFound
	case 7000:
		// The live service answers an unknown model on /ai/run with 400/7000 "No route
		// for that URI" (testdata/recorded/*unknown-model-400-7000.json); on a model route that
		// means "no such model".
		if e.Model != "" {
			return ErrModelNotFound
		}
		return ErrBadAccount
	case 5016:
		return ErrLicenseRequired
	case 10000:
		return ErrUnauthorized
	case 7003:
		return ErrBadAccount
	case 5021, 3010, 3006:
		return ErrContextWindow
	}
	msg := strings.ToLower(e.Message)
	switch {
	case e.Status == 413, strings.Contains(msg, "context window"), strings.Contains(msg, "maximum context length"):
		return ErrContextWindow
	case e.Status == 401, e.Status == 403 && e.Code == 0:
		return ErrUnauthorized
	case e.Status == 429:
		return ErrRateLimited
	case e.Status == 404 && e.Model != "":
		return ErrModelNotFound
	case e.Status == 408:
		return ErrTimeout
	case e.Status == 400, e.Status == 422:
		return ErrBadInput
	}
	return nil
}

// trailingID matches the request id the service appends to AI-side messages: "... (1ffb6b51-...)".
var trailingID = regexp.MustCompile(`\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$`)

// errorBody covers both error shapes: the Cloudflare envelope and OpenAI's {error:{...}}.
type errorBody struct {
	Errors []struct {
		Code    json.Number `json:"code"`
		Message string      `json:"message"`
	} `json:"errors"`
	Error json.RawMessage `json:"error"`
}

// parseError builds an *Error from a non-2xx reply. model is "" for routes that are not a
// model's (feedback, vectorize), so that 7000 is not read as "no such model" there.
func parseError(status int, h http.Header, body []byte, model string) *Error {
	e := &Error{Status: status, Model: model}
	if h != nil {
		e.RequestID = h.Get("cf-ai-req-id")
		e.RetryAfter = parseRetryAfter(h.Get("Retry-After"), time.Now())
	}
	fillErrorFromBody(e, body)
	if e.Message == "" {
		e.Message = strings.TrimSpace(string(truncateForMessage(body)))
		if e.Message == "" {
			e.Message = http.StatusText(status)
		}
	}
	if e.RequestID == "" {
		if m := trailingID.FindStringSubmatch(e.Message); m != nil {
			e.RequestID = m[1]
		}
	}
	return e
}

// fillErrorFromBody reads code and message from either error shape; it reports whether the
// body was an error body at all.
func fillErrorFromBody(e *Error, body []byte) bool {
	var eb errorBody
	if json.Unmarshal(body, &eb) != nil {
		return false
	}
	if len(eb.Errors) > 0 {
		code, _ := eb.Errors[0].Code.Int64()
		e.Code = int(code)
		msgs := make([]string, 0, len(eb.Errors))
		for _, x := range eb.Errors {
			msgs = append(msgs, x.Message)
		}
		e.Message = strings.Join(msgs, "; ")
		return true
	}
	if len(eb.Error) > 0 && string(eb.Error) != "null" {
		var oe struct {
			Message string          `json:"message"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(eb.Error, &oe) == nil && oe.Message != "" {
			e.Message = oe.Message
			if n, err := strconv.Atoi(strings.Trim(string(oe.Code), `"`)); err == nil {
				e.Code = n
			}
			return true
		}
		var s string
		if json.Unmarshal(eb.Error, &s) == nil && s != "" {
			e.Message = s
			return true
		}
	}
	return false
}

func truncateForMessage(b []byte) []byte {
	const max = 512
	if len(b) > max {
		return append(b[:max:max], "..."...)
	}
	return b
}

// parseRetryAfter reads delta-seconds or an HTTP date; it returns 0 when absent or invalid.
func parseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if secs, err := strconv.ParseFloat(v, 64); err == nil {
		if !(secs > 0) { // NaN included
			return 0
		}
		// Above a day the value cannot be a wait to honour, and past 292 years it would
		// overflow a Duration: it is kept at a day, which no retry budget allows.
		return time.Duration(min(secs, maxRetryAfter.Seconds()) * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return min(d, maxRetryAfter)
		}
	}
	return 0
}

// maxRetryAfter bounds a Retry-After value.
const maxRetryAfter = 24 * time.Hour

// errorf wraps a cause with the package prefix.
func errorf(format string, args ...any) error { return fmt.Errorf("llm: "+format, args...) }
