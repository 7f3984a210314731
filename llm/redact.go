package llm

import (
	"errors"
	"strings"
)

// isTokenByte reports whether b may be part of an API token: Cloudflare API tokens are
// 40 characters of [A-Za-z0-9_-].
func isTokenByte(b byte) bool {
	return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' || '0' <= b && b <= '9' || b == '_' || b == '-'
}

// redactToken replaces every whole occurrence of token in s with [REDACTED]. An occurrence
// is whole when no token character stands right before or after it, so that a short token
// (an emulator's "t") is not found inside "https" and a message is never garbled, while a
// real 40-character token is always replaced, in a URL, a header echoed by a server or a
// JSON string alike.
func redactToken(s, token string) string {
	if token == "" || len(s) < len(token) {
		return s
	}
	var b strings.Builder
	rest, done := s, 0 // s[:done] is written to b
	for {
		i := strings.Index(rest, token)
		if i < 0 {
			break
		}
		start := len(s) - len(rest) + i
		end := start + len(token)
		whole := (start == 0 || !isTokenByte(s[start-1])) && (end == len(s) || !isTokenByte(s[end]))
		if whole {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[done:start])
			b.WriteString("[REDACTED]")
			done = end
			rest = s[end:]
		} else {
			rest = s[start+1:]
		}
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// redact removes the client's token from text the server sent or a URL.
func (c *Client) redact(s string) string {
	if c == nil || c.token == nil {
		return s
	}
	return redactToken(s, c.token.v)
}

// redactedError shows the text of err with the token removed, and unwraps to err so that
// errors.Is and errors.As see the same chain.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// redactErr keeps the token out of an error the server may have put it in (a 401 that
// echoes the Authorization header, a decode error quoting the reply): the *Error in the
// chain has its Message and RequestID cleaned, and any other text is hidden behind a
// redactedError.
func (c *Client) redactErr(err error) error {
	if err == nil || c == nil || c.token == nil || c.token.v == "" {
		return err
	}
	if e, ok := errors.AsType[*Error](err); ok {
		e.Message = c.redact(e.Message)
		e.RequestID = c.redact(e.RequestID)
		e.Hint = c.redact(e.Hint)
	}
	msg := err.Error()
	if red := c.redact(msg); red != msg {
		return &redactedError{msg: red, err: err}
	}
	return err
}
