package embed

import (
	"slices"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// checkChunks asserts everything Chunk promises about its result for these arguments.
func checkChunks(t *testing.T, text string, maxRunes, overlap int) []string {
	t.Helper()
	spans := chunkSpans(text, maxRunes, overlap)
	chunks := Chunk(text, maxRunes, overlap)
	if again := Chunk(text, maxRunes, overlap); !slices.Equal(chunks, again) {
		t.Fatal("two calls gave different chunks")
	}
	if strings.TrimSpace(text) == "" {
		if len(chunks) != 0 {
			t.Fatalf("%d chunks of a blank text", len(chunks))
		}
		return chunks
	}
	if maxRunes <= 0 {
		if len(chunks) != 1 || chunks[0] != strings.TrimSpace(text) {
			t.Fatalf("maxRunes %d gave %q, want the whole text as one chunk", maxRunes, chunks)
		}
		return chunks
	}
	if overlap < 0 {
		overlap = 0
	}
	if overlap >= maxRunes {
		overlap = maxRunes / 2
	}
	covered := 0 // text[:covered] is inside a chunk or white space
	for i, s := range spans {
		c := chunks[i]
		if c != text[s.start:s.end] {
			t.Fatalf("chunk %d is not the text it spans", i)
		}
		if c == "" || c != strings.TrimFunc(c, unicode.IsSpace) {
			t.Fatalf("chunk %d %q is empty or has surrounding white space", i, c)
		}
		if n := utf8.RuneCountInString(c); n > maxRunes {
			t.Fatalf("chunk %d has %d runes, more than %d", i, n, maxRunes)
		}
		if utf8.ValidString(text) && !utf8.ValidString(c) {
			t.Fatalf("chunk %d %q cuts a UTF-8 sequence", i, c)
		}
		if s.start > covered && strings.TrimSpace(text[covered:s.start]) != "" {
			t.Fatalf("chunk %d starts at %d, leaving out %q", i, s.start, text[covered:s.start])
		}
		if i > 0 {
			prev := spans[i-1]
			if s.start < prev.start || s.end <= prev.end {
				t.Fatalf("chunk %d [%d,%d) does not move on from chunk %d [%d,%d)", i, s.start, s.end, i-1, prev.start, prev.end)
			}
			if s.start < prev.end {
				if shared := utf8.RuneCountInString(text[s.start:prev.end]); shared > overlap {
					t.Fatalf("chunk %d repeats %d runes of the previous one, more than the overlap %d", i, shared, overlap)
				}
			}
		}
		// A chunk ends inside a word only when that word is too long to fit.
		if s.end < len(text) {
			before, _ := utf8.DecodeLastRuneInString(text[:s.end])
			after, _ := utf8.DecodeRuneInString(text[s.end:])
			if !unicode.IsSpace(after) && !isCJK(before) && !isCJK(after) {
				if w := wordAround(text, s.end); utf8.RuneCountInString(w) <= maxRunes {
					t.Fatalf("chunk %d ends inside %q, a word of at most %d runes", i, w, maxRunes)
				}
			}
		}
		covered = max(covered, s.end)
	}
	if strings.TrimSpace(text[covered:]) != "" {
		t.Fatalf("the text after the last chunk is left out: %q", text[covered:])
	}
	return chunks
}

// wordAround returns the run of non-space runes around byte offset i.
func wordAround(text string, i int) string {
	start := strings.LastIndexFunc(text[:i], unicode.IsSpace) + 1
	if start > 0 {
		_, size := utf8.DecodeRuneInString(text[start-1:])
		start += size - 1
	}
	end := strings.IndexFunc(text[i:], unicode.IsSpace)
	if end < 0 {
		return text[start:]
	}
	return text[start : i+end]
}

// withoutOverlap joins the chunks back, dropping what each repeats of the one before.
func withoutOverlap(text string, spans []span) string {
	var b strings.Builder
	if len(spans) == 0 {
		return ""
	}
	end := spans[0].start
	for _, s := range spans {
		from := max(s.start, end)
		b.WriteString(text[end:from]) // the white space between chunks
		b.WriteString(text[from:s.end])
		end = s.end
	}
	return b.String()
}

const prose = `Workers AI runs models on Cloudflare's network. You call it over HTTPS with an account id and a token.

Embeddings turn text into vectors. Similar texts get similar vectors, so a search can find passages by meaning rather than by words! Is that not useful? It is.

A third paragraph, short.`

func TestChunk(t *testing.T) {
	tests := []struct {
		name              string
		text              string
		maxRunes, overlap int
		want              []string
	}{
		{"fits in one chunk", "Short text.", 100, 10, []string{"Short text."}},
		{"paragraphs before sentences", "One. Two.\n\nThree four five.", 20, 0, []string{"One. Two.", "Three four five."}},
		{"sentences before words", "One two. Three four five six.", 20, 0, []string{"One two.", "Three four five six."}},
		{"words when a sentence is too long", "alpha beta gamma delta", 12, 0, []string{"alpha beta", "gamma delta"}},
		{"a long word is cut, only it", "ab abcdefghij cd", 5, 0, []string{"ab", "abcde", "fghij", "cd"}},
		{"overlap starts at a word", "alpha beta gamma delta epsilon", 17, 6, []string{"alpha beta gamma", "gamma delta", "delta epsilon"}},
		{"overlap continues a cut word", "abcdefghijklmnop", 6, 2, []string{"abcdef", "efghij", "klmnop"}},
		{"closing quotes end a sentence", `He said "Stop." Then left.`, 20, 0, []string{`He said "Stop."`, "Then left."}},
		{"CJK splits between characters", "漢字かな交じり文。日本語の文章です。", 12, 0, []string{"漢字かな交じり文。", "日本語の文章です。"}},
		{"CJK punctuation stays with the character before it", "漢字、かな。", 5, 0, []string{"漢字、か", "な。"}},
		{"surrounding white space is dropped", "  \n hello world \n\n ", 100, 0, []string{"hello world"}},
		{"blank text", " \n\t ", 10, 2, nil},
		{"empty text", "", 10, 2, nil},
		{"maxRunes 0 is the whole text", "  a b c\n\nd  ", 0, 0, []string{"a b c\n\nd"}},
		{"negative overlap is 0", "alpha beta gamma", 11, -3, []string{"alpha beta", "gamma"}},
		{"overlap >= maxRunes is halved", "aa bb cc dd", 5, 9, []string{"aa bb", "bb cc", "cc dd"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := checkChunks(t, tt.text, tt.maxRunes, tt.overlap)
			if !slices.Equal(got, tt.want) {
				t.Fatalf("Chunk = %q\nwant    %q", got, tt.want)
			}
		})
	}
}

func TestChunkRejoinsToTheText(t *testing.T) {
	for _, maxRunes := range []int{1, 2, 7, 20, 60, 150, 1000} {
		for _, overlap := range []int{0, 1, 5, 30} {
			spans := chunkSpans(prose, maxRunes, overlap)
			checkChunks(t, prose, maxRunes, overlap)
			if got := withoutOverlap(prose, spans); got != strings.TrimSpace(prose) {
				t.Fatalf("max %d overlap %d: rejoined chunks differ from the text:\n%q", maxRunes, overlap, got)
			}
			if !slices.Equal(strings.Fields(withoutOverlap(prose, spans)), strings.Fields(prose)) {
				t.Fatalf("max %d overlap %d: the words differ", maxRunes, overlap)
			}
		}
	}
}

func TestChunkUsesTheOverlap(t *testing.T) {
	// With words much shorter than the overlap, every chunk after the first repeats the end
	// of the one before, from a word start.
	spans := chunkSpans(prose, 80, 20)
	if len(spans) < 4 {
		t.Fatalf("%d chunks; the test needs several", len(spans))
	}
	for i := 1; i < len(spans); i++ {
		s, prev := spans[i], spans[i-1]
		if s.start >= prev.end {
			t.Errorf("chunk %d %q repeats nothing of chunk %d", i, prose[s.start:s.end], i-1)
		}
		if r, _ := utf8.DecodeLastRuneInString(prose[:s.start]); !unicode.IsSpace(r) {
			t.Errorf("chunk %d %q does not start at a word", i, prose[s.start:s.end])
		}
	}
}

func TestChunkInvalidUTF8(t *testing.T) {
	text := "ab\xffcd \xe2\x82 ef\xf0\x9f\x98"
	for _, c := range checkChunks(t, text, 3, 1) {
		if c == "" {
			t.Fatal("empty chunk")
		}
	}
}

func FuzzChunk(f *testing.F) {
	f.Add(prose, 40, 10)
	f.Add("漢字かな交じり文。日本語の文章です。", 5, 2)
	f.Add("a\n\n\nb c.  d! e? “f.” g", 3, 1)
	f.Add("supercalifragilistic expialidocious", 6, 5)
	f.Add("ab\xffcd \xe2\x82 ef\xf0\x9f\x98", 2, 1)
	f.Add("x", 0, 0)
	f.Fuzz(func(t *testing.T, text string, maxRunes, overlap int) {
		if maxRunes > 2000 {
			maxRunes %= 2000 // keep the cost of one input small; large limits add nothing new
		}
		overlap %= 3000
		spans := chunkSpans(text, maxRunes, overlap)
		checkChunks(t, text, maxRunes, overlap)
		if maxRunes > 0 && strings.TrimSpace(text) != "" {
			if got := withoutOverlap(text, spans); got != strings.TrimFunc(text, unicode.IsSpace) {
				t.Fatalf("rejoined chunks differ from the text:\n%q\n%q", got, text)
			}
		}
	})
}
