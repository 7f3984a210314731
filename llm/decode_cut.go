package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
)

// A reply cut off at max_tokens while the model was writing a tool call ends with that call's
// arguments unfinished: `{"a": 1, "b"`. The reply is still worth keeping (its tokens were
// billed, and an agent can show the model what it sent), so the decoders do not fail on it at
// once: they return an *unfinishedCallError holding the reply, and the caller, which knows
// max_tokens, decides with truncatedToolCall whether it was a cut or a malformed reply.

// unfinishedCall is a tool call whose arguments stop in the middle of a JSON object.
type unfinishedCall struct {
	id, name, raw string
	err           error // the decode error, worded as for any malformed reply
}

// unfinishedCallError is a decoded reply with one unfinished tool call. Its message is the
// decode error's: that is what it is unless the reply was cut off at max_tokens.
type unfinishedCallError struct {
	resp *Response // the reply as decoded, with its complete calls; FinishReason as sent
	call unfinishedCall
}

func (e *unfinishedCallError) Error() string { return e.call.err.Error() }
func (e *unfinishedCallError) Unwrap() error { return e.call.err }

// unfinishedArguments reports whether raw, tool-call arguments as sent (JSON text, or a JSON
// string holding it), starts a JSON object that ends before it is closed. Other malformed
// arguments (`[1]`, `{"a":1}}`, `{"a" 1}`) are not a cut.
func unfinishedArguments(raw []byte) bool {
	raw = bytes.TrimSpace(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return false
		}
		raw = bytes.TrimSpace([]byte(s))
	}
	if len(raw) == 0 || raw[0] != '{' {
		return false
	}
	var v json.RawMessage
	return errors.Is(json.NewDecoder(bytes.NewReader(raw)).Decode(&v), io.ErrUnexpectedEOF)
}

// truncatedToolCall resolves an *unfinishedCallError in err: a reply cut off at max_tokens
// (finish reason "length", or none and a completion that used the whole maxTokens budget, as
// legacy models report it) becomes a *TruncatedToolCallError with FinishReason "length"; with
// any other finish reason the decode error stands. Any other err is returned as it is. ok
// reports whether err was resolved into a *TruncatedToolCallError.
func truncatedToolCall(err error, maxTokens int) (_ error, ok bool) {
	u, isCut := errors.AsType[*unfinishedCallError](err)
	if !isCut || inferFinish(u.resp.FinishReason, u.resp.Usage, true, maxTokens) != "length" {
		return err, false
	}
	u.resp.FinishReason = "length"
	return &TruncatedToolCallError{Response: u.resp, ID: u.call.id, Name: u.call.name, RawArguments: u.call.raw}, true
}
