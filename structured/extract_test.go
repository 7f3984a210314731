package structured

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

func TestExtractJSON(t *testing.T) {
	tests := []struct {
		name string
		text string
		want string
	}{
		{"plain object is returned as written", `{"a": 1}`, `{"a": 1}`},
		{"surrounding whitespace is trimmed", " \n{\"a\":1}\n ", `{"a":1}`},
		{"top-level array is accepted", `[{"a":1},{"a":2}]`, `[{"a":1},{"a":2}]`},
		{"bare fence", "```\n{\"a\":1}\n```", `{"a":1}`},
		{"json fence", "```json\n{\"a\":1}\n```", `{"a":1}`},
		{"upper-case info string and no newlines", "```JSON{\"a\":1}```", `{"a":1}`},
		{"unclosed fence around a complete document", "```json\n{\"a\":1}\n", `{"a":1}`},
		{"prose before and after", "Sure! Here it is: {\"a\": [1, 2]} Hope this helps.", `{"a": [1, 2]}`},
		{"prose around a fence", "Here you go:\n```json\n{\"a\":1}\n```\nLet me know.", `{"a":1}`},
		{"fence preferred over a citation in the prose", "As noted in [1]:\n```json\n{\"a\":1}\n```", `{"a":1}`},
		{"first of two objects", `{"a":1} and {"b":2}`, `{"a":1}`},
		{"first fence holding JSON wins", "```text\nno json\n```\n```json\n{\"a\":1}\n```\n```json\n{\"b\":2}\n```", `{"a":1}`},
		{"braces inside strings do not count", `Answer: {"s": "}{ ][ }"} done`, `{"s": "}{ ][ }"}`},
		{"escaped quotes inside strings", `x {"s": "say \"}\" now", "t": "\\"} y`, `{"s": "say \"}\" now", "t": "\\"}`},
		{"double-encoded object", `"{\"a\":1,\"b\":\"x\"}"`, `{"a":1,"b":"x"}`},
		{"double-encoded inside a fence", "```json\n\"{\\\"a\\\":1}\"\n```", `{"a":1}`},
		{"think block with braces is skipped", "<think>maybe {\"draft\": true}?</think>\n{\"a\":1}", `{"a":1}`},
		{"fence inside a think block is skipped", "<think>```json\n{\"draft\":1}\n```</think>```json\n{\"a\":1}\n```", `{"a":1}`},
		{"orphan think close tag from the chat template", "so {\"draft\": 1} it is</think>\n\n{\"a\":1}", `{"a":1}`},
		{"<think> inside a JSON value is left alone", `{"html": "<think>x</think>"}`, `{"html": "<think>x</think>"}`},
		{"prose braces that are not JSON are passed over", `{not json} then {"a":1}`, `{"a":1}`},
		{"unmatched brace in prose", `Use the { key. Answer: {"a":1}`, `{"a":1}`},
		{"bracket in prose that is not JSON", `I'll answer [see below]: {"a":1}`, `{"a":1}`},
		{"fragment of broken JSON is not returned", `{"a": {"b":1}, oops} {"c":2}`, `{"c":2}`},
		{"leading byte order mark", "\ufeff{\"a\":1}", `{"a":1}`},
		{"fence with a backtick fence inside a string falls back to a full scan", "Result: {\"code\": \"```go\\nx()\\n```\"}", "{\"code\": \"```go\\nx()\\n```\"}"},
		{"unicode kept byte for byte", `{"name": "Zoë 🐕", "esc": "\u00e9"}`, `{"name": "Zoë 🐕", "esc": "\u00e9"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := extractJSON(tt.text)
			if err != nil {
				t.Fatalf("extractJSON(%q): %v", tt.text, err)
			}
			if string(got) != tt.want {
				t.Errorf("extractJSON(%q) = %q, want %q", tt.text, got, tt.want)
			}
		})
	}
}

func TestExtractJSONErrors(t *testing.T) {
	tests := []struct {
		name      string
		text      string
		truncated bool
		wantMsg   string
	}{
		{"empty reply", "", false, `no JSON object found in the reply: ""`},
		{"prose only", "I cannot help with that.", false, `no JSON object found in the reply: "I cannot help with that."`},
		{"braces that are never JSON", "{like this} and [that]", false, "no JSON object found"},
		{"a JSON string without a document", `"just a sentence"`, false, "no JSON object found"},
		{"a bare number", "42", false, "no JSON object found"},
		{"reply cut while still reasoning", "<think>I will answer {\"a\":1}", false, "no JSON object found"},
		{"long prose is quoted to 80 runes", strings.Repeat("é", 100), false, `: "` + strings.Repeat("é", 80) + `…"`},
		{"object cut off", `{"a": 1, "b": [1, 2`, true, `ends with "{\"a\": 1, \"b\": [1, 2"`},
		{"object cut inside a string", "```json\n{\"a\": \"unfinished", true, "it looks truncated"},
		{"prose then a cut-off object", `Here: {"a": {"b": {"c": 1}`, true, "it looks truncated"},
		{"lone opening brace at the end", "The answer is {", true, "it looks truncated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := extractJSON(tt.text)
			if err == nil {
				t.Fatalf("extractJSON(%q) = %q, want an error", tt.text, got)
			}
			if errors.Is(err, errTruncatedJSON) != tt.truncated {
				t.Errorf("errors.Is(%v, errTruncatedJSON) = %v, want %v", err, !tt.truncated, tt.truncated)
			}
			if !strings.HasPrefix(err.Error(), "structured: ") || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q does not start with \"structured: \" or lacks %q", err, tt.wantMsg)
			}
		})
	}
}

// The qwen3.8-27b vision recording (#6) answers with "\n\n" and a ```json fence around the object.
func TestExtractJSONRecordedFencedReply(t *testing.T) {
	raw, err := os.ReadFile("testdata/recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__ai-v1-chat-vision-two-images.json")
	if err != nil {
		t.Fatal(err)
	}
	var rec struct {
		Response struct{ Body string }
	}
	if err := json.Unmarshal(raw, &rec); err != nil {
		t.Fatal(err)
	}
	var body struct {
		Choices []struct {
			Message struct{ Content string }
		}
	}
	if err := json.Unmarshal([]byte(rec.Response.Body), &body); err != nil {
		t.Fatal(err)
	}
	if len(body.Choices) != 1 {
		t.Fatalf("recording has %d choices, want 1", len(body.Choices))
	}
	content := body.Choices[0].Message.Content
	if !strings.HasPrefix(content, "\n\n```json") {
		t.Fatalf("recording content %q no longer shows the fence this test is about", content)
	}
	got, err := extractJSON(content)
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"counts": [1, 1], "has_text": [false, false]}`; string(got) != want {
		t.Errorf("extractJSON = %q, want %q", got, want)
	}
}

func FuzzExtractJSON(f *testing.F) {
	for _, s := range []string{
		`{"a": 1}`, "```json\n{\"a\":1}\n```", `{not json} then {"a":1}`, `"{\"a\":1}"`, `{"a": [1, 2`,
		"<think>{x}</think>[1]", "\ufeff[]", `x {"s": "say \"}\" now"} y`, "```\n\"\\\"[\\\"\"\n```",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		got, err := extractJSON(text)
		if err != nil {
			return
		}
		if !json.Valid(got) {
			t.Fatalf("extractJSON(%q) = %q, not valid JSON", text, got)
		}
		if got[0] != '{' && got[0] != '[' {
			t.Fatalf("extractJSON(%q) = %q, not an object or array", text, got)
		}
	})
}

func BenchmarkExtractJSON(b *testing.B) {
	var doc strings.Builder
	doc.WriteString("Here is the plan you asked for:\n\n```json\n{\"steps\": [")
	for i := 0; doc.Len() < 1900; i++ {
		if i > 0 {
			doc.WriteString(", ")
		}
		doc.WriteString(`{"id": 12, "title": "Draw the stickman \"waving\"", "done": false, "score": 0.75}`)
	}
	doc.WriteString("]}\n```\nLet me know if you need changes.")
	text := doc.String()
	want, err := extractJSON(text)
	if err != nil || !json.Valid(want) {
		b.Fatalf("benchmark answer does not extract: %q, %v", want, err)
	}
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	for b.Loop() {
		got, err := extractJSON(text)
		if err != nil || len(got) != len(want) {
			b.Fatalf("extractJSON = %d bytes, %v", len(got), err)
		}
	}
}
