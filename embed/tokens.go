package embed

import (
	"sort"
	"strings"
	"unicode"
	"unicode/utf8"
)

// estimateTokens over-estimates how many tokens a WordPiece tokenizer (the bge family's)
// makes of s: the larger of runes/3 and 4/3 per unit, plus 2 for the start and end markers.
// A unit is a run of letters and digits, a punctuation mark or symbol (each its own token),
// or one CJK character (split one per token). runes/3 covers long rare words and numbers,
// which split into many pieces; 4/3 per unit covers ordinary prose.
func estimateTokens(s string) int {
	runes, units := 0, 0
	inWord := false
	for _, r := range s {
		runes++
		switch {
		case unicode.IsSpace(r):
			inWord = false
		case unicode.In(r, unicode.Han, unicode.Hiragana, unicode.Katakana, unicode.Hangul):
			units++
			inWord = false
		case unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.IsMark(r):
			if !inWord {
				units++
			}
			inWord = true
		default:
			units++
			inWord = false
		}
	}
	return max((runes+2)/3, (units*4+2)/3) + 2
}

// truncate returns the longest start of s whose estimate fits limit, ending at a word
// boundary when at least one whole word fits and at a rune boundary otherwise. It may
// return "" when not even one rune fits. The estimate only grows as a prefix grows, which
// is what makes the binary searches valid.
func truncate(s string, limit int) string {
	var cuts []int // byte offsets where a word ends
	inWord := false
	for i, r := range s {
		space := unicode.IsSpace(r)
		if space && inWord {
			cuts = append(cuts, i)
		}
		inWord = !space
	}
	fits := func(j int) bool { return estimateTokens(s[:cuts[j]]) <= limit }
	if k := sort.Search(len(cuts), func(j int) bool { return !fits(j) }); k > 0 {
		return s[:cuts[k-1]]
	}
	cuts = cuts[:0]
	for i := range s {
		cuts = append(cuts, i) // rune starts: s[:i] never splits a UTF-8 sequence
	}
	k := sort.Search(len(cuts), func(j int) bool { return !fits(j) })
	if k == 0 {
		return ""
	}
	return s[:cuts[k-1]]
}

func isBlank(s string) bool { return strings.TrimSpace(s) == "" }

func runeCount(s string) int { return utf8.RuneCountInString(s) }
