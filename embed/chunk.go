package embed

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Chunk splits text into pieces of at most maxRunes runes for embedding, keeping related
// text together: it ends each chunk at the last paragraph break (a blank line) that fits,
// else at the last sentence end, else at the last word end. Only a word longer than
// maxRunes is cut, and never inside a UTF-8 sequence. Between Chinese or Japanese
// characters, which are written without spaces, any character boundary counts as a word end.
//
// Each chunk after the first starts with up to overlap runes from the end of the previous
// one, beginning at a word start (mid-word only when the previous chunk was itself cut
// mid-word), so that text near a cut is seen with its context. The room for it is kept by
// filling later chunks only to maxRunes-overlap runes, unless a word would otherwise have
// to be cut.
//
// Chunks are substrings of text without leading or trailing white space; together they
// cover every non-space character, in order; the result is the same for the same input.
// Out-of-range arguments are clamped, not refused: overlap < 0 counts as 0, overlap >=
// maxRunes as maxRunes/2, and maxRunes <= 0 gives the whole text as one chunk. A text with
// nothing but white space gives no chunks.
func Chunk(text string, maxRunes, overlap int) []string {
	spans := chunkSpans(text, maxRunes, overlap)
	out := make([]string, len(spans))
	for i, s := range spans {
		out[i] = text[s.start:s.end]
	}
	return out
}

// span is the chunk text[start:end].
type span struct{ start, end int }

// Levels of boundary, from the weakest.
const (
	levelWord = iota + 1
	levelSentence
	levelParagraph
)

// boundary is a place a chunk may end: text[:pos] ends with a non-space rune.
type boundary struct{ pos, level int }

func chunkSpans(text string, maxRunes, overlap int) []span {
	q := skipSpace(text, 0)
	if q == len(text) {
		return nil
	}
	if maxRunes <= 0 {
		return []span{{q, len(strings.TrimRightFunc(text, unicode.IsSpace))}}
	}
	overlap = max(overlap, 0)
	if overlap >= maxRunes {
		overlap = maxRunes / 2
	}
	bounds := boundaries(text)
	var out []span
	prevHard := false
	for q < len(text) {
		if len(out) == 0 {
			e, hard := cut(text, bounds, q, maxRunes)
			out = append(out, span{q, e})
			q, prevHard = skipSpace(text, e), hard
			continue
		}
		e, hard := cut(text, bounds, q, maxRunes-overlap)
		if hard {
			if e2, hard2 := cut(text, bounds, q, maxRunes); !hard2 {
				e, hard = e2, false
			}
		}
		prev := out[len(out)-1]
		p := overlapStart(text, bounds, prev, prevHard, min(overlap, maxRunes-runeCount(text[prev.end:e])))
		if p == prev.end { // no overlap
			p = q
		}
		out = append(out, span{p, e})
		q, prevHard = skipSpace(text, e), hard
	}
	return out
}

// cut returns where the chunk starting at q ends, given room for budget runes: at the
// strongest boundary that fits, the furthest of equals, or, when none fits (q starts a
// word longer than budget), after budget runes; hard reports the latter.
func cut(text string, bounds []boundary, q, budget int) (end int, hard bool) {
	limit := q
	for n := 0; n < budget && limit < len(text); n++ {
		_, size := utf8.DecodeRuneInString(text[limit:])
		limit += size
	}
	best := boundary{}
	for i := sort.Search(len(bounds), func(i int) bool { return bounds[i].pos > q }); i < len(bounds) && bounds[i].pos <= limit; i++ {
		if bounds[i].level >= best.level {
			best = bounds[i]
		}
	}
	if best.level == 0 {
		return limit, true
	}
	return best.pos, false
}

// overlapStart returns where the chunk after prev starts so as to repeat at most room runes
// of prev's end: the first word start in that stretch, or, when prev was cut mid-word, the
// stretch's first rune. It returns prev.end for no overlap.
func overlapStart(text string, bounds []boundary, prev span, prevHard bool, room int) int {
	if room <= 0 {
		return prev.end
	}
	p0 := prev.end
	for n := 0; n < room && p0 > prev.start; n++ {
		_, size := utf8.DecodeLastRuneInString(text[:p0])
		p0 -= size
	}
	start := skipSpace(text, p0)
	if start == p0 && p0 > prev.start && !afterSpace(text, p0) && !isBoundary(bounds, p0) {
		// p0 is inside a word: the overlap begins at the next word start instead.
		i := sort.Search(len(bounds), func(i int) bool { return bounds[i].pos > p0 })
		start = len(text)
		if i < len(bounds) {
			start = skipSpace(text, bounds[i].pos)
		}
		if start >= prev.end && prevHard {
			return p0 // the previous chunk ends inside this word: continue it
		}
	}
	if start >= prev.end {
		return prev.end
	}
	return start
}

// boundaries lists, in order, every place a chunk may end and how strong a break it is: the
// end of a word (before white space, or between two CJK characters), of a sentence (a word
// ending in . ! ? or … before closing quotes and brackets, or after 。！？), or of a
// paragraph (before white space holding a blank line, or at the end of the text).
func boundaries(text string) []boundary {
	var out []boundary
	var prev rune = ' '
	for i, r := range text {
		switch {
		case unicode.IsSpace(prev):
			// text[:i] ends in white space: not a place to end a chunk
		case unicode.IsSpace(r):
			level := levelWord
			if blankLineAt(text[i:]) {
				level = levelParagraph
			} else if endsSentence(text[:i]) {
				level = levelSentence
			}
			out = append(out, boundary{i, level})
		case (isCJK(prev) || isCJK(r)) && !unicode.IsPunct(r):
			level := levelWord
			if strings.ContainsRune("。！？", prev) {
				level = levelSentence
			}
			out = append(out, boundary{i, level})
		}
		prev = r
	}
	if !unicode.IsSpace(prev) {
		out = append(out, boundary{len(text), levelParagraph})
	} else if n := len(out); n > 0 && out[n-1].level < levelParagraph && skipSpace(text, out[n-1].pos) == len(text) {
		out[n-1].level = levelParagraph // trailing white space ends the text like a blank line
	}
	return out
}

// blankLineAt reports whether the white space at the start of s holds two line breaks.
func blankLineAt(s string) bool {
	breaks := 0
	for _, r := range s {
		if !unicode.IsSpace(r) {
			return false
		}
		if r == '\n' || r == '\u2029' {
			if breaks++; breaks == 2 || r == '\u2029' {
				return true
			}
		}
	}
	return false
}

// endsSentence reports whether s ends with sentence punctuation, looking past closing quotes
// and brackets.
func endsSentence(s string) bool {
	s = strings.TrimRight(s, "\"')]}»”’")
	r, _ := utf8.DecodeLastRuneInString(s)
	return strings.ContainsRune(".!?…。！？", r)
}

// isCJK reports whether r belongs to a script written without spaces between words.
func isCJK(r rune) bool { return unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana) }

func skipSpace(text string, i int) int {
	for i < len(text) {
		r, size := utf8.DecodeRuneInString(text[i:])
		if !unicode.IsSpace(r) {
			break
		}
		i += size
	}
	return i
}

func afterSpace(text string, i int) bool {
	r, _ := utf8.DecodeLastRuneInString(text[:i])
	return unicode.IsSpace(r)
}

func isBoundary(bounds []boundary, pos int) bool {
	i := sort.Search(len(bounds), func(i int) bool { return bounds[i].pos >= pos })
	return i < len(bounds) && bounds[i].pos == pos
}
