package llmtest

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"hash/fnv"
	"math/big"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gowai/gowai/llm"
)

// requestHint is what the test model reads from a request to fill in a schema: a digest of
// the messages, which varies the answer from one request to the next, and the last user
// message, whose words and numbers become field values.
type requestHint struct {
	digest  uint64
	key     string // the digest as cache-key bytes
	text    string // the last user message, trimmed
	parsed  bool   // words and numbers are set
	words   []string
	numbers []json.Number
}

var (
	numberPattern = regexp.MustCompile(`-?[0-9]+(?:\.[0-9]+)?`)
	// mathPattern is a run of arithmetic: digits, operators, parentheses and spaces.
	mathPattern = regexp.MustCompile(`[-+*/^%().0-9 ]+`)
)

// freeTextRunes caps a value copied from the user message.
const freeTextRunes = 200

// newRequestHint digests msgs: roles, contents, images, tool calls and results. The words
// and numbers of the last user message are read later, by parse, only when an answer is
// not in the cache.
func newRequestHint(msgs []llm.Message) *requestHint {
	size := 0
	for _, m := range msgs {
		size += 40 + len(m.Content) + len(m.ToolCallID)
		for _, img := range m.Images {
			size += 16 + len(img.MIME) + len(img.Data)
		}
		for _, c := range m.ToolCalls {
			size += 24 + len(c.ID) + len(c.Name) + len(c.Arguments)
		}
	}
	buf := make([]byte, 0, size)
	field := func(s string) {
		buf = binary.LittleEndian.AppendUint64(buf, uint64(len(s)))
		buf = append(buf, s...)
	}
	h := &requestHint{}
	for _, m := range msgs {
		field(string(m.Role))
		field(m.Content)
		field(m.ToolCallID)
		for _, img := range m.Images {
			field(img.MIME)
			field(string(img.Data))
		}
		for _, c := range m.ToolCalls {
			field(c.ID)
			field(c.Name)
			field(string(c.Arguments))
		}
		if m.Role == llm.RoleUser {
			h.text = strings.TrimSpace(m.Content)
		}
	}
	sum := sha256.Sum256(buf)
	h.digest = binary.LittleEndian.Uint64(sum[:8])
	h.key = string(sum[:16])
	return h
}

// parse reads the words and numbers of the last user message.
func (h *requestHint) parse() {
	if h.parsed {
		return
	}
	h.parsed = true
	for _, w := range strings.Fields(h.text) {
		if w = strings.TrimFunc(w, unicode.IsPunct); w != "" {
			h.words = append(h.words, w)
		}
	}
	for _, at := range numberPattern.FindAllStringIndex(h.text, -1) {
		from := at[0]
		if h.text[from] == '-' && from > 0 {
			// "2026-01-05" holds 2026, 1 and 5, not -1 and -5.
			if r, _ := utf8.DecodeLastRuneInString(h.text[:from]); unicode.IsLetter(r) || unicode.IsDigit(r) {
				from++
			}
		}
		if r, ok := new(big.Rat).SetString(h.text[from:at[1]]); ok {
			h.numbers = append(h.numbers, json.Number(ratText(r))) // "007" is not JSON; 7 is
		}
	}
}

// seed mixes the digest with the path of the value being built, so that sibling fields
// vary independently.
func (g *generator) seed() uint64 {
	f := fnv.New64a()
	var d [8]byte
	binary.LittleEndian.PutUint64(d[:], g.hint.digest)
	f.Write(d[:])
	for _, p := range g.path {
		f.Write([]byte{0})
		f.Write([]byte(p))
	}
	return f.Sum64()
}

// field is the name of the nearest property on the path, "" at the root.
func (g *generator) field() string {
	for i := len(g.path) - 1; i >= 0; i-- {
		if _, err := strconv.Atoi(g.path[i]); err != nil {
			return g.path[i]
		}
	}
	return ""
}

// freeInputFields are the property names (lower case, without _ and -) whose value the
// test model copies from the user message, even when the schema offers an example.
var freeInputFields = []string{
	"expression", "expr", "formula", "query", "searchquery", "search", "question", "text", "input", "q", "prompt",
}

func normalizeField(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '_' || r == '-' {
			return -1
		}
		return unicode.ToLower(r)
	}, name)
}

// fromRequest lists the values the schema offers (like offered), reordered and varied by
// the request, with values copied from the user message first where the field is free
// input. When the schema offers nothing, a number or a few words of the user message are
// listed, if they validate.
func (g *generator) fromRequest(s *schema) []any {
	h := g.hint
	var all []any
	name := normalizeField(g.field())
	if !s.hasConst && !s.hasEnum && allows(s, "string") && slices.Contains(freeInputFields, name) {
		text := h.text
		if name == "expression" || name == "expr" || name == "formula" {
			if m := mathRun(text); m != "" {
				text = m
			}
		}
		limit := freeTextRunes
		if s.maxLen >= 0 {
			limit = min(limit, s.maxLen)
		}
		if text = string([]rune(text)[:min(utf8.RuneCountInString(text), limit)]); text != "" {
			all = append(all, text)
		}
	}
	if n := len(s.examples); n > 0 {
		at := int(h.digest % uint64(n))
		for _, v := range append(slices.Clone(s.examples[at:]), s.examples[:at]...) {
			all = append(all, g.perturb(s, v))
		}
	}
	if s.hasDef {
		all = append(all, g.perturb(s, s.def))
	}
	if s.hasConst {
		all = append(all, s.konst)
	}
	if s.hasEnum {
		// Enum values the message mentions come first, in enum order.
		mentioned := func(v any) bool {
			str, ok := v.(string)
			return ok && slices.ContainsFunc(h.words, func(w string) bool { return strings.EqualFold(w, str) })
		}
		for _, v := range s.enum {
			if mentioned(v) {
				all = append(all, v)
			}
		}
		all = append(all, s.enum...)
	}
	if len(all) == 0 {
		switch {
		case allows(s, "number") || allows(s, "integer"):
			all = g.messageNumbers(s)
		case allows(s, "string") && s.format == "" && len(s.patterns) == 0:
			all = g.messageWords(s)
		}
	}
	return g.distinctValid(s, all)
}

// allows reports whether a value of type t may satisfy s, judging by its type keyword (or
// the type inferred from its other keywords).
func allows(s *schema, t string) bool {
	types := s.types
	if types == nil {
		types = []string{inferType(s)}
	}
	if t == "integer" && slices.Contains(types, "number") {
		return true
	}
	return slices.Contains(types, t)
}

// mathRun is the run of arithmetic in text that holds a digit, trimmed: the longest of
// those with an operator other than "-" (so a date such as 2026-01-05 loses to "2+2"),
// else the longest.
func mathRun(text string) string {
	best, bestScore := "", 0
	for _, m := range mathPattern.FindAllString(text, -1) {
		m = strings.TrimSpace(m)
		if !strings.ContainsAny(m, "0123456789") {
			continue
		}
		score := len(m)
		if strings.ContainsAny(m, "+*/^%()") {
			score += len(text) + 1
		}
		if score > bestScore {
			best, bestScore = m, score
		}
	}
	return best
}

// messageNumbers lists the numbers of the user message, starting at one picked by the
// request and the field. fromRequest keeps those that validate.
func (g *generator) messageNumbers(s *schema) []any {
	nums := g.hint.numbers
	if len(nums) == 0 {
		return nil
	}
	at := int(g.seed() % uint64(len(nums)))
	out := make([]any, 0, len(nums))
	for i := range nums {
		out = append(out, nums[(at+i)%len(nums)])
	}
	return out
}

// messageWords picks one to three consecutive words of the user message by the request and
// the field, within the length bounds of s.
func (g *generator) messageWords(s *schema) []any {
	words := g.hint.words
	if len(words) == 0 {
		return nil
	}
	seed := g.seed()
	n := min(len(words), 1+int(seed%3))
	start := int((seed >> 8) % uint64(len(words)-n+1))
	for ; n > 0; n-- {
		v := strings.Join(words[start:start+n], " ")
		if count := utf8.RuneCountInString(v); s.maxLen < 0 || count <= s.maxLen {
			if count < s.minLen {
				return nil
			}
			return []any{v}
		}
	}
	return nil
}

// perturb varies a value the schema offers as an example or default, by the request alone
// (not the field), so that equal examples stay equal within one answer: numbers are scaled
// by 1 to 1.9 (integers stay integers), and dates move by up to 27 days. A value that no
// longer validates is returned unchanged.
func (g *generator) perturb(s *schema, v any) any {
	d := g.hint.digest >> 16
	var out any
	switch v := v.(type) {
	case json.Number:
		r, ok := new(big.Rat).SetString(string(v))
		if !ok {
			return v
		}
		m := int64(d % 10)
		if r.IsInt() {
			// n + m*ceil(|n|/10): small integers move by m, large ones by about m tenths.
			step := new(big.Int).Abs(r.Num())
			step.Add(step, big.NewInt(9)).Quo(step, big.NewInt(10))
			if step.Sign() == 0 {
				step.SetInt64(1)
			}
			out = json.Number(new(big.Int).Add(r.Num(), step.Mul(step, big.NewInt(m))).String())
		} else {
			out = json.Number(ratText(new(big.Rat).Mul(r, big.NewRat(10+m, 10))))
		}
	case string:
		days := int(d % 28)
		for _, layout := range []string{time.DateOnly, time.RFC3339} {
			if t, err := time.Parse(layout, v); err == nil && (s.format == "date" || s.format == "date-time") {
				out = t.AddDate(0, 0, days).Format(layout)
				break
			}
		}
	}
	if out == nil || !g.valid(s, out) {
		return v
	}
	return out
}

// buildVaried is buildType, with variant 0 of a number or of a formatted or patterned
// string moved by the request and the field: a number goes up by 1 to 9 steps (of
// multipleOf, or 1), a string becomes one of the next values of its format or pattern.
// The plain sequence follows from variant 1 on, so every value is still reached (for
// uniqueItems). A moved value that does not validate gives way to the plain one.
func (g *generator) buildVaried(s *schema, t string, k int) (any, error) {
	varied := t == "number" || t == "integer" || (t == "string" && (s.format != "" || len(s.patterns) > 0))
	if g.hint == nil || !varied {
		return g.buildType(s, t, k)
	}
	if k > 0 {
		return g.buildType(s, t, k-1)
	}
	v, err := g.buildType(s, t, 0)
	off := int64(g.seed()%9) + 1
	if err != nil {
		return v, err
	}
	if t == "string" {
		if w, err := g.buildType(s, t, int(off)); err == nil {
			return w, nil
		}
		return v, nil
	}
	n, _ := v.(json.Number)
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return v, nil
	}
	step := big.NewRat(1, 1)
	if s.multipleOf != nil {
		step = s.multipleOf
	}
	r.Add(r, new(big.Rat).Mul(step, big.NewRat(off, 1)))
	if w := json.Number(ratText(r)); g.valid(s, w) {
		return w, nil
	}
	return v, nil
}
