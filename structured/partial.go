package structured

import (
	"bytes"
	"unicode/utf8"
)

// completePartialJSON turns a prefix of a JSON document (as streamed so far) into the most informative valid JSON
// document: it closes open strings, arrays and objects, drops a dangling key without a value, a trailing comma, a
// half-written literal (tru, nul, fals → dropped with its key), and a number that ends in '-', '.', 'e' or 'e+'
// (cut back to its last valid prefix, "12." → 12, so a key seen once never disappears; a lone "-" is dropped with
// its key). Unicode escapes cut mid-way (\u00) are dropped, and so are a high surrogate still waiting for its low
// half and a UTF-8 sequence cut mid-rune, so a growing string only ever grows. Returns ok=false when nothing usable
// exists yet (e.g. empty, or only whitespace/prose before the first '{' or '[').
//
// Prose, a ``` fence or a <think> block before the document is skipped, because prompt-mode answers stream that
// way; text after a finished document is ignored. A '{' or '[' that turns out not to start JSON ("see [note]") is
// abandoned at the offending byte and the search goes on from there, the same rule extractJSON applies to the
// finished reply, so the partials and the final value agree.
func completePartialJSON(prefix []byte) (doc []byte, ok bool) {
	s := scanJSON(prefix)
	return s.complete(prefix)
}

// complete is completePartialJSON for the text b that s has scanned to its end.
func (s *jsonScan) complete(b []byte) (doc []byte, ok bool) {
	if s.start < 0 {
		return nil, false
	}
	if s.end >= 0 {
		// Cloned: a streaming caller keeps appending to (and may reuse) the buffer it passed in.
		return bytes.Clone(b[s.start:s.end]), true
	}
	cut, closeString := s.cut(b)
	out := make([]byte, 0, cut-s.start+1+len(s.stack))
	out = append(out, b[s.start:cut]...)
	if closeString {
		out = append(out, '"')
	}
	for i := len(s.stack) - 1; i >= 0; i-- {
		out = append(out, s.stack[i].closer)
	}
	return out, true
}

const (
	thinkOpen  = "<think>"
	thinkClose = "</think>"
)

// What an open container expects next.
const (
	stObjStart   = iota // after '{': a key or '}'
	stObjKey            // after ',': a key
	stObjColon          // after a key: ':'
	stObjValue          // after ':': a value
	stArrStart          // after '[': a value or ']'
	stArrValue          // after ',': a value
	stAfterValue        // after a member: ',' or the closer
)

// The token being read inside the innermost container.
const (
	tokNone = iota
	tokKey
	tokString
	tokNumber
	tokLiteral
)

// Number grammar states (RFC 8259, section 6). numZero, numInt, numFrac and numExp are the ones a number may end in.
const (
	numMinus = iota
	numZero
	numInt
	numDot
	numFrac
	numE
	numESign
	numExp
)

type frame struct {
	closer      byte // '}' or ']'
	state       int
	memberStart int // where the current member begins (its comma, or just past the bracket): cutting here drops it
}

// jsonScan is the state of a single left-to-right pass over a text looking for its first JSON object or array.
// The pass can be resumed: scan reads only what was appended since the last call, so scanning a streamed answer
// costs O(1) per byte however it is cut.
type jsonScan struct {
	pos   int // how much of the text has been read
	start int // index of the document's opening bracket; -1 while none has been seen
	end   int // index just past its closing bracket; -1 while the document is open
	stack []frame
	tok   int

	// outside the document
	thinking  bool // inside a <think> block
	thinkFrom int  // where to look for its close tag next

	// string token
	strStart      int
	escStart      int  // index of a '\' whose escape is not finished; -1 when none
	hexLeft       int  // hex digits still due in a \u escape
	code          rune // the \u escape read so far
	highSurrogate int  // index of a \uD800-\uDBFF escape nothing has followed yet; -1 when none

	// number token
	num     int
	numGood int // index just past the longest valid number read so far; -1 before the first digit

	// literal token
	lit    string
	litPos int
}

// scanJSON runs the state machine over b in one pass. On return, start < 0 means no candidate document is open or
// finished; end >= 0 means [start, end) is a complete, valid document; otherwise b ends inside the document that
// begins at start.
func scanJSON(b []byte) jsonScan {
	s := newScan()
	s.scan(b)
	return s
}

func newScan() jsonScan {
	return jsonScan{start: -1, end: -1, stack: make([]frame, 0, 8)}
}

// scan reads b from where the previous call stopped. b must extend the text of that call.
func (s *jsonScan) scan(b []byte) {
	for s.pos < len(b) && s.end < 0 {
		i := s.pos
		if s.start < 0 {
			if !s.skipProse(b) {
				return // a tag may be starting: wait for more text
			}
			continue
		}
		if !s.step(b[i], i) {
			// Not JSON after all: look for the next document from the offending byte on, which may itself be
			// the opening bracket of the real one ("{{"a":1}").
			*s = jsonScan{pos: i, start: -1, end: -1, stack: s.stack[:0]}
			continue
		}
		s.pos = i + 1
	}
}

// skipProse reads text outside any document from s.pos on, up to and including the next opening bracket. It
// reports false when the text ends in what may be the start of a <think> tag, which only more text can tell.
func (s *jsonScan) skipProse(b []byte) bool {
	if s.thinking {
		// Reasoning models may stream their thoughts inline before the answer; braces in there are not the answer.
		end := bytes.Index(b[s.thinkFrom:], []byte(thinkClose))
		if end < 0 {
			s.thinkFrom = max(s.thinkFrom, len(b)-len(thinkClose)+1)
			s.pos = len(b)
			return true
		}
		s.thinking = false
		s.pos = s.thinkFrom + end + len(thinkClose)
		return true
	}
	i := s.pos
	switch b[i] {
	case '{':
		s.start = i
		s.stack = append(s.stack, frame{closer: '}', state: stObjStart, memberStart: i + 1})
	case '[':
		s.start = i
		s.stack = append(s.stack, frame{closer: ']', state: stArrStart, memberStart: i + 1})
	case '<':
		switch rest := b[i:]; {
		case bytes.HasPrefix(rest, []byte(thinkOpen)):
			s.thinking, s.thinkFrom, s.pos = true, i+len(thinkOpen), i+len(thinkOpen)
			return true
		case len(rest) < len(thinkOpen) && bytes.HasPrefix([]byte(thinkOpen), rest):
			return false
		}
	}
	s.pos = i + 1
	return true
}

// step consumes byte c at index i of an open document and reports whether it is still valid JSON.
func (s *jsonScan) step(c byte, i int) bool {
	switch s.tok {
	case tokKey, tokString:
		return s.stringByte(c, i)
	case tokLiteral:
		if c != s.lit[s.litPos] {
			return false
		}
		s.litPos++
		if s.litPos == len(s.lit) {
			s.endToken()
		}
		return true
	case tokNumber:
		if s.numberByte(c, i) {
			return true
		}
		if s.numGood != i {
			return false // "1." or "1e" followed by a delimiter
		}
		s.endToken() // the number ended; c is a delimiter to handle below
	}

	if c == ' ' || c == '\t' || c == '\n' || c == '\r' {
		return true
	}
	top := &s.stack[len(s.stack)-1]
	switch top.state {
	case stObjStart, stObjKey:
		switch {
		case c == '"':
			s.beginString(tokKey, i)
			return true
		case c == '}' && top.state == stObjStart:
			s.pop(i)
			return true
		}
		return false
	case stObjColon:
		if c == ':' {
			top.state = stObjValue
			return true
		}
		return false
	case stAfterValue:
		switch c {
		case ',':
			top.memberStart = i
			top.state = stObjKey
			if top.closer == ']' {
				top.state = stArrValue
			}
			return true
		case top.closer:
			s.pop(i)
			return true
		}
		return false
	case stArrStart:
		if c == ']' {
			s.pop(i)
			return true
		}
	}
	return s.beginValue(c, i)
}

func (s *jsonScan) beginValue(c byte, i int) bool {
	switch c {
	case '"':
		s.beginString(tokString, i)
	case '{':
		s.stack = append(s.stack, frame{closer: '}', state: stObjStart, memberStart: i + 1})
	case '[':
		s.stack = append(s.stack, frame{closer: ']', state: stArrStart, memberStart: i + 1})
	case 't':
		s.tok, s.lit, s.litPos = tokLiteral, "true", 1
	case 'f':
		s.tok, s.lit, s.litPos = tokLiteral, "false", 1
	case 'n':
		s.tok, s.lit, s.litPos = tokLiteral, "null", 1
	case '-':
		s.tok, s.num, s.numGood = tokNumber, numMinus, -1
	case '0':
		s.tok, s.num, s.numGood = tokNumber, numZero, i+1
	default:
		if c < '1' || c > '9' {
			return false
		}
		s.tok, s.num, s.numGood = tokNumber, numInt, i+1
	}
	return true
}

func (s *jsonScan) beginString(tok, i int) {
	s.tok, s.strStart, s.escStart, s.hexLeft, s.highSurrogate = tok, i, -1, 0, -1
}

// endToken finishes a key or a value in the innermost container.
func (s *jsonScan) endToken() {
	top := &s.stack[len(s.stack)-1]
	if s.tok == tokKey {
		top.state = stObjColon
	} else {
		top.state = stAfterValue
	}
	s.tok = tokNone
}

// pop closes the innermost container with the byte at i.
func (s *jsonScan) pop(i int) {
	s.stack = s.stack[:len(s.stack)-1]
	if len(s.stack) == 0 {
		s.end = i + 1
		return
	}
	s.stack[len(s.stack)-1].state = stAfterValue
}

func (s *jsonScan) stringByte(c byte, i int) bool {
	switch {
	case s.hexLeft > 0:
		v, ok := hexValue(c)
		if !ok {
			return false
		}
		s.code = s.code<<4 | v
		if s.hexLeft--; s.hexLeft == 0 {
			s.highSurrogate = -1
			if s.code >= 0xD800 && s.code <= 0xDBFF {
				s.highSurrogate = s.escStart
			}
			s.escStart = -1
		}
	case s.escStart >= 0:
		switch c {
		case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			s.escStart, s.highSurrogate = -1, -1
		case 'u':
			s.hexLeft, s.code = 4, 0
		default:
			return false
		}
	case c == '"':
		s.endToken()
	case c == '\\':
		s.escStart = i
	case c < 0x20:
		return false // RFC 8259, section 7: control characters must be escaped
	default:
		s.highSurrogate = -1
	}
	return true
}

func (s *jsonScan) numberByte(c byte, i int) bool {
	digit := c >= '0' && c <= '9'
	switch {
	case s.num == numMinus && c == '0':
		s.num = numZero
	case s.num == numMinus && digit, s.num == numInt && digit:
		s.num = numInt
	case (s.num == numZero || s.num == numInt) && c == '.':
		s.num = numDot
	case (s.num == numDot || s.num == numFrac) && digit:
		s.num = numFrac
	case (s.num == numZero || s.num == numInt || s.num == numFrac) && (c == 'e' || c == 'E'):
		s.num = numE
	case s.num == numE && (c == '+' || c == '-'):
		s.num = numESign
	case (s.num == numE || s.num == numESign || s.num == numExp) && digit:
		s.num = numExp
	default:
		return false
	}
	if s.num == numZero || s.num == numInt || s.num == numFrac || s.num == numExp {
		s.numGood = i + 1
	}
	return true
}

// cut reports, for a document b ends inside, how much of b[start:] to keep and whether an open string value must
// be closed before the containers are.
func (s *jsonScan) cut(b []byte) (cut int, closeString bool) {
	top := s.stack[len(s.stack)-1]
	switch s.tok {
	case tokString:
		cut = len(b)
		if s.escStart >= 0 {
			cut = s.escStart
		}
		if s.highSurrogate >= 0 {
			cut = s.highSurrogate
		}
		// A rune split across stream chunks would decode as U+FFFD now and as itself later.
		for k := cut - 1; k > s.strStart && k >= cut-utf8.UTFMax; k-- {
			if utf8.RuneStart(b[k]) {
				if !utf8.FullRune(b[k:cut]) {
					cut = k
				}
				break
			}
		}
		return cut, true
	case tokNumber:
		if s.numGood > 0 {
			return s.numGood, false
		}
		return top.memberStart, false
	case tokKey, tokLiteral:
		return top.memberStart, false
	}
	switch top.state {
	case stObjKey, stObjColon, stObjValue, stArrValue:
		return top.memberStart, false
	}
	return len(b), false
}

func hexValue(c byte) (rune, bool) {
	switch {
	case c >= '0' && c <= '9':
		return rune(c - '0'), true
	case c >= 'a' && c <= 'f':
		return rune(c-'a') + 10, true
	case c >= 'A' && c <= 'F':
		return rune(c-'A') + 10, true
	}
	return 0, false
}
