package structured

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// errTruncatedJSON is wrapped by extractJSON when the reply stops inside the document, typically because the
// model hit its token limit; a retry with more room can help where corrective feedback cannot.
var errTruncatedJSON = errors.New("structured: the reply ends inside a JSON object: it looks truncated")

// extractJSON finds the JSON document in a model's text answer: it strips ``` / ```json fences and prose around
// the JSON, and returns the first balanced top-level object or array (string-aware: braces inside strings and
// escaped quotes do not count). It also unwraps a JSON *string* that itself holds an object (some models
// double-encode). Reports a clear error when no JSON object/array is found ("no JSON object found in the reply:
// <first 80 runes>") or when the document is cut off ("the reply ends inside a JSON object: it looks truncated").
//
// The document is returned as the exact text the model wrote (not re-encoded), so later validation messages
// match what the model sees when it is shown its own answer.
func extractJSON(text string) ([]byte, error) {
	doc, err := extract(text)
	if err != nil {
		return nil, err
	}
	return []byte(doc), nil
}

func extract(text string) (string, error) {
	s := strings.TrimPrefix(text, "\ufeff")
	if doc, ok := wholeDocument(s); ok {
		return doc, nil
	}
	s = stripThinking(s)
	if doc, ok := wholeDocument(s); ok {
		return doc, nil
	}
	// A fenced block wins over prose: a "[1]" citation or a "{placeholder}" before the fence is not the answer.
	if doc, ok := firstFencedDocument(s); ok {
		return doc, nil
	}
	b := []byte(s)
	scan := scanJSON(b)
	switch {
	case scan.end >= 0:
		return s[scan.start:scan.end], nil
	case scan.start >= 0:
		return "", fmt.Errorf("%w (it ends with %q)", errTruncatedJSON, tail(s, 40))
	}
	return "", fmt.Errorf("structured: no JSON object found in the reply: %q", head(text, 80))
}

// wholeDocument reports s, trimmed, when it is exactly one JSON object or array, or the document inside s when s
// is one JSON string holding it (a double-encoded answer).
func wholeDocument(s string) (string, bool) {
	t := strings.TrimSpace(s)
	if t == "" {
		return "", false
	}
	switch t[0] {
	case '{', '[':
		if json.Valid([]byte(t)) {
			return t, true
		}
	case '"':
		var inner string
		if json.Unmarshal([]byte(t), &inner) != nil {
			return "", false
		}
		doc, err := extract(inner)
		return doc, err == nil
	}
	return "", false
}

// firstFencedDocument returns the first complete document inside a ``` fence. An unclosed fence runs to the end
// of the text; a fence whose body holds no complete document (a code sample, a backtick run inside a JSON string)
// is passed over.
func firstFencedDocument(s string) (string, bool) {
	const fence = "```"
	for {
		open := strings.Index(s, fence)
		if open < 0 {
			return "", false
		}
		s = s[open+len(fence):]
		body := s
		if end := strings.Index(s, fence); end >= 0 {
			body, s = s[:end], s[end+len(fence):]
		} else {
			s = ""
		}
		// The info string (json, JSON, js, ...) would keep a double-encoded body from parsing as one string.
		if doc, ok := wholeDocument(strings.TrimLeftFunc(body, isInfoStringRune)); ok {
			return doc, true
		}
		if scan := scanJSON([]byte(body)); scan.end >= 0 {
			return body[scan.start:scan.end], true
		}
	}
}

func isInfoStringRune(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' || r == '+'
}

// stripThinking removes <think>...</think> reasoning blocks. A close tag with no open tag before it means the
// chat template supplied the opening one, so everything up to it is reasoning; an open tag never closed means the
// reply was cut while still reasoning, so nothing after it is an answer.
func stripThinking(s string) string {
	if !strings.Contains(s, thinkOpen) && !strings.Contains(s, thinkClose) {
		return s
	}
	if c := strings.Index(s, thinkClose); c >= 0 && !strings.Contains(s[:c], thinkOpen) {
		s = s[c+len(thinkClose):]
	}
	var b strings.Builder
	for {
		before, after, found := strings.Cut(s, thinkOpen)
		b.WriteString(before)
		if !found {
			return b.String()
		}
		_, rest, closed := strings.Cut(after, thinkClose)
		if !closed {
			return b.String()
		}
		s = rest
	}
}

// head returns the first n runes of s, marking a cut with "…".
func head(s string, n int) string {
	for i := range s {
		if n == 0 {
			return s[:i] + "…"
		}
		n--
	}
	return s
}

// tail returns the last n runes of s, marking a cut with "…".
func tail(s string, n int) string {
	i := len(s)
	for ; n > 0 && i > 0; n-- {
		_, size := utf8.DecodeLastRuneInString(s[:i])
		i -= size
	}
	if i == 0 {
		return s
	}
	return "…" + s[i:]
}
