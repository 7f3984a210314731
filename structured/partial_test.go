package structured

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var partialCases = []struct {
	name   string
	prefix string
	want   string // "" means ok=false
}{
	{"empty", "", ""},
	{"whitespace only", " \n\t", ""},
	{"prose only", "Here is the JSON you asked for:", ""},
	{"open fence only", "```json\n", ""},
	{"open object", "{", "{}"},
	{"open array", "[", "[]"},
	{"key quote opened", `{"`, "{}"},
	{"key half written", `{"na`, "{}"},
	{"key without colon", `{"name"`, "{}"},
	{"key without value", `{"name": `, "{}"},
	{"string value growing", `{"name": "Bo`, `{"name": "Bo"}`},
	{"empty string value", `{"name": "`, `{"name": ""}`},
	{"trailing comma in object", `{"name": "Bob",`, `{"name": "Bob"}`},
	{"dangling second key", `{"name": "Bob", "ag`, `{"name": "Bob"}`},
	{"whole number so far", `{"age": 4`, `{"age": 4}`},
	{"number ending in a dot", `{"price": 12.`, `{"price": 12}`},
	{"number ending in e", `{"n": 1e`, `{"n": 1}`},
	{"number ending in e+", `{"n": 1e+`, `{"n": 1}`},
	{"fraction ending in E-", `{"n": 1.5E-`, `{"n": 1.5}`},
	{"lone minus is dropped with its key", `{"a": 1, "n": -`, `{"a": 1}`},
	{"negative zero", `[-0`, `[-0]`},
	{"half-written true", `{"ok": tru`, "{}"},
	{"half-written null after a member", `{"a": 1, "b": nul`, `{"a": 1}`},
	{"half-written false in an array", `[true, fals`, `[true]`},
	{"complete literal", `{"ok": false`, `{"ok": false}`},
	{"trailing comma in array", `[1, 2,`, `[1, 2]`},
	{"dangling backslash", `{"s": "a\`, `{"s": "a"}`},
	{"escaped quote kept", `{"s": "x\"`, `{"s": "x\""}`},
	{"unicode escape cut", `{"s": "a\u00`, `{"s": "a"}`},
	{"unicode escape complete", `{"s": "a\u00e9`, `{"s": "a\u00e9"}`},
	{"high surrogate waiting for its pair", `{"s": "x\ud83d`, `{"s": "x"}`},
	{"high surrogate with the pair begun", `{"s": "x\ud83d\u`, `{"s": "x"}`},
	{"surrogate pair complete", `{"s": "x\ud83d\ude00`, `{"s": "x\ud83d\ude00"}`},
	{"utf-8 rune cut mid-way", "{\"s\": \"caf\xc3", `{"s": "caf"}`},
	{"utf-8 rune complete", "{\"s\": \"café", `{"s": "café"}`},
	{"nested containers closed in order", `[1, [2, {"a": [`, `[1, [2, {"a": []}]]`},
	{"dangling key in a nested object", `{"a": {"b": {"c"`, `{"a": {"b": {}}}`},
	{"literal in a nested object", `{"a": [1, {"b": tru`, `{"a": [1, {}]}`},
	{"fence and prose skipped", "Sure:\n```json\n{\"a\": 1", `{"a": 1}`},
	{"think block skipped", "<think>{draft}</think>\n{\"a\"", "{}"},
	{"still thinking", "<think>maybe {\"a\": 1", ""},
	{"finished document, trailing fence ignored", "{\"a\": 1}\n```", `{"a": 1}`},
	{"bracket in prose abandoned", `see [note] {"a": 1`, `{"a": 1}`},
	{"brace of an invalid start abandoned at the next brace", `{{"a": 1`, `{"a": 1}`},
	{"leading zero is not JSON", `{"a": 01`, ""},
	{"number with a dot before a comma is not JSON", `{"a": 1.,`, ""},
	{"control character in a string is not JSON", "{\"a\": \"x\ty", ""},
}

func TestCompletePartialJSON(t *testing.T) {
	for _, tt := range partialCases {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := completePartialJSON([]byte(tt.prefix))
			if tt.want == "" {
				if ok {
					t.Fatalf("completePartialJSON(%q) = %q, want ok=false", tt.prefix, got)
				}
				return
			}
			if !ok {
				t.Fatalf("completePartialJSON(%q): ok=false, want %q", tt.prefix, tt.want)
			}
			if string(got) != tt.want {
				t.Errorf("completePartialJSON(%q) = %q, want %q", tt.prefix, got, tt.want)
			}
		})
	}
}

func TestCompletePartialJSONDoesNotAliasInput(t *testing.T) {
	in := []byte(`{"a": 1}`)
	got, ok := completePartialJSON(in)
	if !ok {
		t.Fatal("ok=false")
	}
	in[6] = '2'
	if string(got) != `{"a": 1}` {
		t.Errorf("result changed with the input buffer: %q", got)
	}
}

var realisticDocs = []string{
	// nested objects
	`{"scene": {"title": "Park", "actors": {"hero": {"pose": "waving", "x": 120, "y": -4.5}}, "night": false}, "notes": null}`,
	// array of objects
	`[{"id": 1, "tags": ["a", "b"], "done": true}, {"id": 2, "tags": [], "done": false}, {"id": 3, "tags": ["c"], "meta": {}}]`,
	// unicode, raw and escaped
	`{"name": "Zoë 🐕 日本語", "emoji": "\ud83d\ude00", "accent": "\u00e9t\u00E9", "mixed": ["ß", "\u2603", "😀x"]}`,
	// escapes
	"{\n  \"path\": \"C:\\\\temp\\\\new\",\n  \"quote\": \"she said \\\"hi\\\"\",\n  \"ctrl\": \"tab\\tnl\\nslash\\/\\b\\f\\r\"\n}",
	// numbers with exponents
	`{"counts": [0, -0, 12, -7.25, 1e10, 6.02E+23, 1.6e-19, -2E-3], "ratio": 0.5, "big": 123456789012345678}`,
}

func TestCompletePartialJSONEveryPrefixIsValid(t *testing.T) {
	for _, doc := range realisticDocs {
		for _, text := range []string{doc, "Here you go:\n\n```json\n" + doc + "\n```\nAnything else?"} {
			sawOK := false
			for n := 0; n <= len(text); n++ {
				got, ok := completePartialJSON([]byte(text[:n]))
				if ok && !json.Valid(got) {
					t.Fatalf("completePartialJSON(%q) = %q: not valid JSON", text[:n], got)
				}
				sawOK = sawOK || ok
			}
			if !sawOK {
				t.Fatalf("no prefix of %q completed", text)
			}
			got, ok := completePartialJSON([]byte(text))
			if !ok || string(got) != doc {
				t.Errorf("completePartialJSON(full %q) = %q, %v; want the document itself", text, got, ok)
			}
		}
	}
}

// As the prefix grows, the decoded value only gains information: keys and array elements never disappear, strings
// only grow, and no value changes type.
func TestCompletePartialJSONGainsInformation(t *testing.T) {
	for _, doc := range realisticDocs {
		var prev any
		havePrev := false
		for n := 0; n <= len(doc); n++ {
			got, ok := completePartialJSON([]byte(doc[:n]))
			if !ok {
				if havePrev {
					t.Fatalf("prefix %q: ok=false after earlier prefixes completed", doc[:n])
				}
				continue
			}
			var cur any
			if err := json.Unmarshal(got, &cur); err != nil {
				t.Fatalf("prefix %q: %v", doc[:n], err)
			}
			if havePrev {
				if why := lostInformation(prev, cur); why != "" {
					t.Fatalf("prefix %q completed to %s: %s", doc[:n], got, why)
				}
			}
			prev, havePrev = cur, true
		}
	}
}

func TestLostInformationDetectsLoss(t *testing.T) {
	for _, tc := range [][2]string{
		{`{"a": 1}`, `{}`},
		{`[1, 2]`, `[1]`},
		{`{"s": "ab"}`, `{"s": "a"}`},
		{`{"a": {"b": true}}`, `{"a": {}}`},
		{`{"a": 1}`, `{"a": "1"}`},
	} {
		var prev, cur any
		if json.Unmarshal([]byte(tc[0]), &prev) != nil || json.Unmarshal([]byte(tc[1]), &cur) != nil {
			t.Fatal("bad test case")
		}
		if lostInformation(prev, cur) == "" {
			t.Errorf("lostInformation(%s, %s) found no loss", tc[0], tc[1])
		}
	}
}

// lostInformation describes what cur lost compared with prev, or returns "".
func lostInformation(prev, cur any) string {
	switch p := prev.(type) {
	case map[string]any:
		c, ok := cur.(map[string]any)
		if !ok {
			return "an object changed type"
		}
		for k, v := range p {
			cv, ok := c[k]
			if !ok {
				return "key " + k + " disappeared"
			}
			if why := lostInformation(v, cv); why != "" {
				return k + ": " + why
			}
		}
	case []any:
		c, ok := cur.([]any)
		if !ok {
			return "an array changed type"
		}
		if len(c) < len(p) {
			return "an array shrank"
		}
		for i := range p {
			if why := lostInformation(p[i], c[i]); why != "" {
				return why
			}
		}
	case string:
		c, ok := cur.(string)
		if !ok || !strings.HasPrefix(c, p) {
			return "string " + p + " did not grow"
		}
	case float64:
		if _, ok := cur.(float64); !ok {
			return "a number changed type"
		}
	default:
		if prev != cur {
			return "a literal changed"
		}
	}
	return ""
}

func FuzzCompletePartialJSON(f *testing.F) {
	for _, tc := range partialCases {
		f.Add([]byte(tc.prefix))
	}
	for _, doc := range realisticDocs {
		f.Add([]byte(doc))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		got, ok := completePartialJSON(in)
		if ok && !json.Valid(got) {
			t.Fatalf("completePartialJSON(%q) = %q: not valid JSON", in, got)
		}
		trimmed := bytes.TrimSpace(in)
		if !json.Valid(trimmed) || (trimmed[0] != '{' && trimmed[0] != '[') {
			return
		}
		if !bytes.Equal(got, trimmed) {
			t.Fatalf("completePartialJSON(%q) = %q, want the complete document unchanged", in, got)
		}
		for n := range len(in) {
			if got, ok := completePartialJSON(in[:n]); ok && !json.Valid(got) {
				t.Fatalf("completePartialJSON(%q) = %q: not valid JSON", in[:n], got)
			}
		}
	})
}

func BenchmarkCompletePartialJSON(b *testing.B) {
	var doc strings.Builder
	doc.WriteString("```json\n{\"steps\": [")
	for doc.Len() < 2100 {
		doc.WriteString(`{"id": 12, "title": "Draw the stickman \"waving\" \u00e9", "done": false, "score": 7.5e-1}, `)
	}
	prefix := []byte(doc.String()[:2048])
	if _, ok := completePartialJSON(prefix); !ok {
		b.Fatal("benchmark prefix did not complete")
	}
	b.SetBytes(int64(len(prefix)))
	b.ReportAllocs()
	for b.Loop() {
		completePartialJSON(prefix)
	}
}

// TestIncrementalScanMatchesAFreshScan feeds texts in chunks of every small size to one resumable scan and checks
// that after each chunk it completes the prefix exactly as a fresh scan of that prefix does.
func TestIncrementalScanMatchesAFreshScan(t *testing.T) {
	texts := []string{
		"<think>a {draft} with </thi and </think> more</think>\n{\"a\": [1, 22, 333]}",
		"<th <think></think>[1]",
		"see [note] {{\"a\": 1.5e3, \"b\": \"x\\u00e9\"} trailing",
		"```json\n{\"s\": \"caf\u00e9 \\ud83d\\ude00\"}\n```",
	}
	texts = append(texts, realisticDocs...)
	for _, text := range texts {
		for size := 1; size <= 5; size++ {
			s := newScan()
			for n := size; ; n += size {
				n = min(n, len(text))
				b := []byte(text[:n])
				s.scan(b)
				got, ok := s.complete(b)
				want, wantOK := completePartialJSON(b)
				if ok != wantOK || !bytes.Equal(got, want) {
					t.Fatalf("chunks of %d, prefix %q: incremental %q (%v), fresh %q (%v)", size, text[:n], got, ok, want, wantOK)
				}
				if n == len(text) {
					break
				}
			}
		}
	}
}
