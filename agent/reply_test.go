package agent

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/llm"
)

func TestTextCalls(t *testing.T) {
	offered := map[string]bool{"get_weather": true, "add": true}
	call := func(name, args string) llm.ToolCall {
		return llm.ToolCall{Name: name, Arguments: json.RawMessage(args)}
	}
	tests := []struct {
		name      string
		text      string
		wantCalls []llm.ToolCall
		wantRest  string
	}{
		{"qwen3 block with prose around it",
			"I will look it up.\n<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Oslo\"}}\n</tool_call>\nOne moment.",
			[]llm.ToolCall{call("get_weather", `{"city":"Oslo"}`)}, "I will look it up.\n\nOne moment."},
		{"two blocks", `<tool_call>{"name":"add","arguments":{"a":1,"b":2}}</tool_call><tool_call>{"name":"add","arguments":{"a":3,"b":4}}</tool_call>`,
			[]llm.ToolCall{call("add", `{"a":1,"b":2}`), call("add", `{"a":3,"b":4}`)}, ""},
		{"block cut off before its closing tag", `<tool_call>{"name":"add","arguments":{"a":1,"b":2}}`,
			[]llm.ToolCall{call("add", `{"a":1,"b":2}`)}, ""},
		{"block naming a tool not offered is still a call", `<tool_call>{"name":"launch","arguments":{}}</tool_call>`,
			[]llm.ToolCall{call("launch", `{}`)}, ""},
		{"malformed block leaves the text as the answer", `Use <tool_call>like this</tool_call> to call tools.`,
			nil, `Use <tool_call>like this</tool_call> to call tools.`},
		{"gpt-oss bare JSON with string arguments", `{"name":"add","arguments":"{\"a\": 1, \"b\": 2}"}`,
			[]llm.ToolCall{call("add", `{"a":1,"b":2}`)}, ""},
		{"bare JSON with parameters instead of arguments", " {\"name\":\"get_weather\",\"parameters\":{\"city\":\"Rome\"}}\n",
			[]llm.ToolCall{call("get_weather", `{"city":"Rome"}`)}, ""},
		{"bare JSON without arguments", `{"name":"add"}`, []llm.ToolCall{call("add", `{}`)}, ""},
		{"bare JSON naming no offered tool is an answer", `{"name":"Ada Lovelace","arguments":{}}`, nil, `{"name":"Ada Lovelace","arguments":{}}`},
		{"bare JSON with trailing prose is an answer", `{"name":"add","arguments":{}} done`, nil, `{"name":"add","arguments":{}} done`},
		{"bare JSON with array arguments is an answer", `{"name":"add","arguments":[1,2]}`, nil, `{"name":"add","arguments":[1,2]}`},
		{"plain text", "It is sunny.", nil, "It is sunny."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			calls, rest := textCalls(tt.text, offered)
			if diff := cmp.Diff(tt.wantCalls, calls); diff != "" {
				t.Errorf("calls (-want +got):\n%s", diff)
			}
			if rest != tt.wantRest {
				t.Errorf("rest = %q, want %q", rest, tt.wantRest)
			}
		})
	}
}

func TestGateHoldsBackWhatMayBeACall(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		shown  string // before the reply is complete
	}{
		{"plain text passes through", []string{"Hel", "lo ", "world"}, "Hello world"},
		{"a tag split over chunks is held", []string{"Sure. <tool", "_call>{\"name\":", "\"add\"}</tool_call>"}, "Sure. "},
		{"a lone '<' at the end waits for the next chunk", []string{"a <", " b"}, "a < b"},
		{"a reply starting with '{' is held", []string{"  {\"na", "me\": 1}"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := gate{holdCalls: true}
			var shown strings.Builder
			for _, c := range tt.chunks {
				shown.WriteString(g.add(c))
			}
			if shown.String() != tt.shown {
				t.Fatalf("shown %q, want %q", shown.String(), tt.shown)
			}
			if all := shown.String() + g.rest(); all != strings.Join(tt.chunks, "") {
				t.Fatalf("shown plus rest = %q, want all the text", all)
			}
		})
	}
	g := gate{}
	if got := g.add("{\"x\": <tool_call>"); got != "{\"x\": <tool_call>" {
		t.Fatalf("without tools nothing is held: %q", got)
	}
}
