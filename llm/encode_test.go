package llm

import (
	"bytes"
	"encoding/json"
	"math"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const (
	llama33   = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	scout     = "@cf/meta/llama-4-scout-17b-16e-instruct"
	mistral   = "@cf/mistralai/mistral-small-3.1-24b-instruct"
	vision32  = "@cf/meta/llama-3.2-11b-vision-instruct"
	llava     = "@cf/llava-hf/llava-1.5-7b-hf"
	llama318b = "@cf/meta/llama-3.1-8b-instruct"
	unknown   = "@cf/someone/new-model"
)

// pic is a tiny image: base64 "AQL/", bytes [1,2,255].
var pic = Image{Data: []byte{1, 2, 255}, MIME: "image/png"}

var weatherTool = ToolDef{
	Name:        "get_weather",
	Description: "Weather for a city",
	Parameters:  json.RawMessage(`{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}`),
}

func decodeJSON(t *testing.T, b []byte) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, b)
	}
	return v
}

func TestEncodeChatBodies(t *testing.T) {
	tests := []struct {
		name    string
		model   string
		dialect dialect
		stream  bool
		req     Request
		want    string
	}{
		{
			name:  "plain native chat leaves the model out of the body and sends the default max_tokens",
			model: llama33,
			req:   Request{Messages: []Message{System("Be brief."), User("Hi <there> & you")}},
			want: `{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi <there> & you"}],
				"max_tokens":1024}`,
		},
		{
			name:    "OpenAI dialect puts the model in the body",
			model:   llama33,
			dialect: dialectOpenAI,
			req:     Request{Messages: []Message{User("Hi")}, MaxTokens: 50},
			want:    `{"model":"@cf/meta/llama-3.3-70b-instruct-fp8-fast","messages":[{"role":"user","content":"Hi"}],"max_tokens":50}`,
		},
		{
			name:  "tools in OpenAI form with a named tool_choice and default parameters",
			model: llama33,
			req: Request{
				Messages:   []Message{User("Weather in Paris?")},
				Tools:      []ToolDef{weatherTool, {Name: "now"}},
				ToolChoice: "get_weather",
			},
			want: `{"messages":[{"role":"user","content":"Weather in Paris?"}],
				"tools":[
				 {"type":"function","function":{"name":"get_weather","description":"Weather for a city",
				  "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}},
				 {"type":"function","function":{"name":"now","description":"","parameters":{"type":"object","properties":{}}}}],
				"tool_choice":{"type":"function","function":{"name":"get_weather"}},
				"max_tokens":1024}`,
		},
		{
			name:  "tool_choice auto and required are sent as strings",
			model: llama33,
			req:   Request{Messages: []Message{User("x")}, Tools: []ToolDef{{Name: "now"}}, ToolChoice: "required"},
			want: `{"messages":[{"role":"user","content":"x"}],
				"tools":[{"type":"function","function":{"name":"now","description":"","parameters":{"type":"object","properties":{}}}}],
				"tool_choice":"required","max_tokens":1024}`,
		},
		{
			name:  "tool_choice none without tools is left out",
			model: llama33,
			req:   Request{Messages: []Message{User("x")}, ToolChoice: "none"},
			want:  `{"messages":[{"role":"user","content":"x"}],"max_tokens":1024}`,
		},
		{
			name:  "assistant tool calls and tool results: content is an empty string, arguments a JSON string",
			model: llama33,
			req: Request{Messages: []Message{
				User("Weather in Paris and the time?"),
				{Role: RoleAssistant, ToolCalls: []ToolCall{
					{ID: "call_1", Name: "get_weather", Arguments: json.RawMessage(`{ "city": "Paris" }`)},
					{ID: "call_2", Name: "now"},
				}},
				ToolResult("call_1", `{"temp":21}`),
				ToolResult("call_2", "12:00"),
			}},
			want: `{"messages":[
				{"role":"user","content":"Weather in Paris and the time?"},
				{"role":"assistant","content":"","tool_calls":[
				 {"id":"call_1","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}},
				 {"id":"call_2","type":"function","function":{"name":"now","arguments":"{}"}}]},
				{"role":"tool","content":"{\"temp\":21}","tool_call_id":"call_1"},
				{"role":"tool","content":"12:00","tool_call_id":"call_2"}],
				"max_tokens":1024}`,
		},
		{
			name:  "native Format sends the bare schema",
			model: llama33,
			req:   Request{Messages: []Message{User("x")}, Format: &Format{Schema: json.RawMessage(`{"type":"object"}`)}},
			want: `{"messages":[{"role":"user","content":"x"}],
				"response_format":{"type":"json_schema","json_schema":{"type":"object"}},"max_tokens":1024}`,
		},
		{
			name:    "OpenAI Format wraps the schema with a name",
			model:   llama33,
			dialect: dialectOpenAI,
			req:     Request{Messages: []Message{User("x")}, Format: &Format{Schema: json.RawMessage(`{"type":"object"}`)}},
			want: `{"model":"@cf/meta/llama-3.3-70b-instruct-fp8-fast","messages":[{"role":"user","content":"x"}],
				"response_format":{"type":"json_schema","json_schema":{"name":"response","schema":{"type":"object"}}},"max_tokens":1024}`,
		},
		{
			name:  "native Format without a schema asks for any JSON object",
			model: llama33,
			req:   Request{Messages: []Message{User("x")}, Format: &Format{}},
			want:  `{"messages":[{"role":"user","content":"x"}],"response_format":{"type":"json_object"},"max_tokens":1024}`,
		},
		{
			name:    "OpenAI Format without a schema asks for any JSON object",
			model:   llama33,
			dialect: dialectOpenAI,
			req:     Request{Messages: []Message{User("x")}, Format: &Format{}},
			want: `{"model":"@cf/meta/llama-3.3-70b-instruct-fp8-fast","messages":[{"role":"user","content":"x"}],
				"response_format":{"type":"json_object"},"max_tokens":1024}`,
		},
		{
			name:  "every sampling pointer that is set is sent, zero values included",
			model: llama33,
			req: Request{
				Messages: []Message{User("x")}, Temperature: new(0.0), TopP: new(0.9), TopK: new(40), Seed: new(int64(7)),
				RepetitionPenalty: new(1.1), FrequencyPenalty: new(-0.5), PresencePenalty: new(0.5),
				ReasoningEffort: "low",
			},
			want: `{"messages":[{"role":"user","content":"x"}],"max_tokens":1024,"temperature":0,"top_p":0.9,"top_k":40,
				"seed":7,"repetition_penalty":1.1,"frequency_penalty":-0.5,"presence_penalty":0.5,"reasoning_effort":"low"}`,
		},
		{
			name:   "native stream sends stream:true only",
			model:  llama33,
			stream: true,
			req:    Request{Messages: []Message{User("x")}},
			want:   `{"messages":[{"role":"user","content":"x"}],"max_tokens":1024,"stream":true}`,
		},
		{
			name:    "OpenAI stream asks for usage",
			model:   llama33,
			dialect: dialectOpenAI,
			stream:  true,
			req:     Request{Messages: []Message{User("x")}},
			want: `{"model":"@cf/meta/llama-3.3-70b-instruct-fp8-fast","messages":[{"role":"user","content":"x"}],
				"max_tokens":1024,"stream":true,"stream_options":{"include_usage":true}}`,
		},
		{
			name:  "Extra keys that collide with nothing are merged",
			model: llama33,
			req: Request{Messages: []Message{User("x")},
				Extra: map[string]any{"lora": "my-adapter", "chat_template_kwargs": map[string]any{"enable_thinking": false}}},
			want: `{"messages":[{"role":"user","content":"x"}],"max_tokens":1024,
				"chat_template_kwargs":{"enable_thinking":false},"lora":"my-adapter"}`,
		},
		{
			name:  "content-parts vision model gets text then a data URL",
			model: scout,
			req:   Request{Messages: []Message{System("s"), User("What is this?", pic)}},
			want: `{"messages":[{"role":"system","content":"s"},{"role":"user","content":[
				{"type":"text","text":"What is this?"},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,AQL/"}}]}],"max_tokens":1024}`,
		},
		{
			name:  "an image without text gets no text part",
			model: scout,
			req:   Request{Messages: []Message{User("", pic, pic)}},
			want: `{"messages":[{"role":"user","content":[
				{"type":"image_url","image_url":{"url":"data:image/png;base64,AQL/"}},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,AQL/"}}]}],"max_tokens":1024}`,
		},
		{
			name:  "unknown models get content parts",
			model: unknown,
			req:   Request{Messages: []Message{User("Look", pic)}},
			want: `{"messages":[{"role":"user","content":[{"type":"text","text":"Look"},
				{"type":"image_url","image_url":{"url":"data:image/png;base64,AQL/"}}]}],"max_tokens":1024}`,
		},
		{
			name:  "llama-3.2-vision gets a top-level byte array and string content",
			model: vision32,
			req:   Request{Messages: []Message{System("s"), User("What is this?", pic)}},
			want: `{"messages":[{"role":"system","content":"s"},{"role":"user","content":"What is this?"}],
				"image":[1,2,255],"max_tokens":1024}`,
		},
		{
			name:    "llama-3.2-vision over the OpenAI dialect gets content parts",
			model:   vision32,
			dialect: dialectOpenAI,
			req:     Request{Messages: []Message{User("What?", pic)}},
			want: `{"model":"@cf/meta/llama-3.2-11b-vision-instruct","messages":[{"role":"user","content":[
				{"type":"text","text":"What?"},{"type":"image_url","image_url":{"url":"data:image/png;base64,AQL/"}}]}],
				"max_tokens":1024}`,
		},
		{
			name:  "image-to-text model gets image, flattened prompt and sampling",
			model: llava,
			req: Request{
				Messages:    []Message{System("Answer in one line."), User("Describe it.", pic)},
				MaxTokens:   100,
				Temperature: new(0.2),
			},
			want: `{"image":[1,2,255],"prompt":"Answer in one line.\n\nDescribe it.","max_tokens":100,"temperature":0.2}`,
		},
		{
			name:  "image-to-text model without text sends no prompt",
			model: llava,
			req:   Request{Messages: []Message{User("", pic)}},
			want:  `{"image":[1,2,255],"max_tokens":1024}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := encodeChat(tt.model, tt.dialect, tt.req, tt.stream)
			if err != nil {
				t.Fatalf("encodeChat: %v", err)
			}
			if diff := cmp.Diff(decodeJSON(t, []byte(tt.want)), decodeJSON(t, body)); diff != "" {
				t.Errorf("body mismatch (-want +got):\n%s\ngot: %s", diff, body)
			}
			if bytes.Contains(body, []byte(`"content":null`)) {
				t.Errorf("body carries content:null: %s", body)
			}
			again, _ := encodeChat(tt.model, tt.dialect, tt.req, tt.stream)
			if !bytes.Equal(body, again) {
				t.Errorf("two encodings differ:\n%s\n%s", body, again)
			}
		})
	}
}

func TestEncodeChatKeepsHTMLCharactersReadable(t *testing.T) {
	body, err := encodeChat(llama33, dialectNative, Request{Messages: []Message{User("<b> & </b>")}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(body, []byte(`"<b> & </b>"`)) {
		t.Errorf("body escapes HTML characters: %s", body)
	}
}

func TestEncodeChatErrors(t *testing.T) {
	bad := func(m Message) Request { return Request{Messages: []Message{m}} }
	tests := []struct {
		name  string
		model string
		req   Request
		want  []string // substrings of the error
	}{
		{"no messages", llama33, Request{}, []string{"Messages is empty"}},
		{"unknown role names the message", llama33,
			Request{Messages: []Message{User("x"), {Role: "bot", Content: "y"}}}, []string{"Messages[1].Role", `"bot"`}},
		{"tool message without a call id", llama33, bad(Message{Role: RoleTool, Content: "42"}),
			[]string{"Messages[0].ToolCallID"}},
		{"call id on a user message", llama33, bad(Message{Role: RoleUser, Content: "x", ToolCallID: "c"}),
			[]string{"Messages[0].ToolCallID", "user"}},
		{"tool calls on a user message", llama33,
			bad(Message{Role: RoleUser, ToolCalls: []ToolCall{{Name: "now"}}}), []string{"Messages[0].ToolCalls", "user"}},
		{"tool call without a name", llama33,
			bad(Message{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "c"}}}), []string{"Messages[0].ToolCalls[0].Name"}},
		{"tool call arguments that are not an object", llama33,
			bad(Message{Role: RoleAssistant, ToolCalls: []ToolCall{{Name: "now"}, {Name: "f", Arguments: json.RawMessage(`[1]`)}}}),
			[]string{"Messages[0].ToolCalls[1].Arguments", "(f)"}},
		{"images on an assistant message", scout,
			bad(Message{Role: RoleAssistant, Images: []Image{pic}}), []string{"Messages[0].Images", "assistant"}},
		{"image without data", scout, bad(User("x", Image{MIME: "image/png"})), []string{"Messages[0].Images[0].Data"}},
		{"image with a non-image MIME", scout, bad(User("x", pic, Image{Data: []byte{1}, MIME: "application/pdf"})),
			[]string{"Messages[0].Images[1].MIME", "application/pdf"}},
		{"image with no MIME", scout, bad(User("x", Image{Data: []byte{1}})), []string{"Messages[0].Images[0].MIME"}},
		{"image with a bare image/ MIME", scout, bad(User("x", Image{Data: []byte{1}, MIME: "image/"})),
			[]string{"Messages[0].Images[0].MIME"}},
		{"images to a model without vision", llama318b, bad(User("x", pic)), []string{llama318b, "does not take images"}},
		{"two images on llama-3.2-vision", vision32,
			Request{Messages: []Message{User("a", pic), User("b", pic)}}, []string{vision32, "one image", "2"}},
		{"tool without a name", llama33, Request{Messages: []Message{User("x")}, Tools: []ToolDef{{}}},
			[]string{"Tools[0].Name"}},
		{"tool offered twice", llama33, Request{Messages: []Message{User("x")}, Tools: []ToolDef{{Name: "a"}, {Name: "a"}}},
			[]string{"Tools[1].Name", `"a"`}},
		{"tool parameters that are not JSON", llama33,
			Request{Messages: []Message{User("x")}, Tools: []ToolDef{{Name: "lookup", Parameters: json.RawMessage(`{"type":`)}}},
			[]string{"Tools[0].Parameters", `"lookup"`, "not valid JSON"}},
		{"tool parameters that are not an object", llama33,
			Request{Messages: []Message{User("x")}, Tools: []ToolDef{{Name: "lookup", Parameters: json.RawMessage(`"x"`)}}},
			[]string{"Tools[0].Parameters", `"lookup"`, "not a JSON object"}},
		{"tool choice naming an unknown tool", llama33,
			Request{Messages: []Message{User("x")}, Tools: []ToolDef{{Name: "a"}}, ToolChoice: "b"},
			[]string{"ToolChoice", `"b"`}},
		{"tool choice required without tools", llama33,
			Request{Messages: []Message{User("x")}, ToolChoice: "required"}, []string{"ToolChoice", "Tools"}},
		{"tool choice naming a tool without tools", llama33,
			Request{Messages: []Message{User("x")}, ToolChoice: "get_weather"}, []string{"ToolChoice", `"get_weather"`}},
		{"format schema that is not JSON", llama33,
			Request{Messages: []Message{User("x")}, Format: &Format{Schema: json.RawMessage(`{`)}}, []string{"Format.Schema"}},
		{"negative max tokens", llama33, Request{Messages: []Message{User("x")}, MaxTokens: -1}, []string{"MaxTokens", "-1"}},
		{"Extra colliding with max_tokens", llama33,
			Request{Messages: []Message{User("x")}, Extra: map[string]any{"max_tokens": 5}}, []string{"Extra", `"max_tokens"`}},
		{"Extra colliding with a set sampling field", llama33,
			Request{Messages: []Message{User("x")}, Temperature: new(0.1), Extra: map[string]any{"temperature": 1}},
			[]string{"Extra", `"temperature"`}},
		{"Extra cannot turn on streaming", llama33,
			Request{Messages: []Message{User("x")}, Extra: map[string]any{"stream": true}}, []string{"Extra", `"stream"`}},
		{"Extra value that cannot be encoded", llama33,
			Request{Messages: []Message{User("x")}, Extra: map[string]any{"fn": func() {}}}, []string{`"fn"`}},
		{"temperature that is not a number", llama33,
			Request{Messages: []Message{User("x")}, Temperature: new(math.NaN())}, []string{`"temperature"`}},
		{"image-to-text with tools", llava,
			Request{Messages: []Message{User("x", pic)}, Tools: []ToolDef{{Name: "a"}}}, []string{llava, "Tools"}},
		{"image-to-text with a format", llava,
			Request{Messages: []Message{User("x", pic)}, Format: &Format{}}, []string{llava, "Format"}},
		{"image-to-text without an image", llava, bad(User("x")), []string{llava, "exactly one image", "0"}},
		{"image-to-text with two images", llava, bad(User("x", pic, pic)), []string{llava, "exactly one image", "2"}},
		{"image-to-text with a tool turn", llava,
			Request{Messages: []Message{User("x", pic), ToolResult("c1", "y")}}, []string{llava, "Messages[1]", "tool"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, err := encodeChat(tt.model, dialectNative, tt.req, false)
			if err == nil {
				t.Fatalf("encodeChat succeeded with %s; want an error", body)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
		})
	}
}

func TestNineCharToolIDs(t *testing.T) {
	req := Request{Messages: []Message{
		User("go"),
		{Role: RoleAssistant, ToolCalls: []ToolCall{
			{ID: "chatcmpl-tool-7f3a", Name: "a"},
			{ID: "abcDEF123", Name: "b"},
			{ID: "functions.list:0", Name: "c"},
		}},
		ToolResult("chatcmpl-tool-7f3a", "1"),
		ToolResult("abcDEF123", "2"),
		ToolResult("functions.list:0", "3"),
		// Kimi-style reuse of an id in a later turn must map to the same result.
		{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "functions.list:0", Name: "c"}}},
		ToolResult("functions.list:0", "4"),
	}}
	before := req.Messages[1].ToolCalls[0].ID

	var body struct {
		Messages []struct {
			ToolCalls []struct {
				ID string `json:"id"`
			} `json:"tool_calls"`
			ToolCallID string `json:"tool_call_id"`
		} `json:"messages"`
	}
	raw, err := encodeChat(mistral, dialectNative, req, false)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(raw, &body); err != nil {
		t.Fatal(err)
	}
	m := body.Messages
	pattern := regexp.MustCompile(`^[a-zA-Z0-9]{9}$`)
	calls := []string{m[1].ToolCalls[0].ID, m[1].ToolCalls[1].ID, m[1].ToolCalls[2].ID}
	for _, id := range append(calls, m[2].ToolCallID, m[3].ToolCallID, m[4].ToolCallID, m[5].ToolCalls[0].ID, m[6].ToolCallID) {
		if !pattern.MatchString(id) {
			t.Errorf("id %q does not match [a-zA-Z0-9]{9}", id)
		}
	}
	if calls[1] != "abcDEF123" {
		t.Errorf("a valid id was rewritten to %q", calls[1])
	}
	if calls[0] == calls[1] || calls[0] == calls[2] || calls[1] == calls[2] {
		t.Errorf("distinct ids share a rewrite: %v", calls)
	}
	if m[2].ToolCallID != calls[0] || m[3].ToolCallID != calls[1] || m[4].ToolCallID != calls[2] {
		t.Errorf("tool results %q %q %q do not answer calls %v", m[2].ToolCallID, m[3].ToolCallID, m[4].ToolCallID, calls)
	}
	if m[5].ToolCalls[0].ID != calls[2] || m[6].ToolCallID != calls[2] {
		t.Errorf("a reused id mapped differently: %q, %q, want %q", m[5].ToolCalls[0].ID, m[6].ToolCallID, calls[2])
	}
	if req.Messages[1].ToolCalls[0].ID != before {
		t.Errorf("encodeChat changed the caller's request: id is now %q", req.Messages[1].ToolCalls[0].ID)
	}

	// Models without the rule keep ids as they are.
	raw, err = encodeChat(llama33, dialectNative, req, false)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte(`"id":"chatcmpl-tool-7f3a"`)) || !bytes.Contains(raw, []byte(`"tool_call_id":"functions.list:0"`)) {
		t.Errorf("llama-3.3 ids were rewritten: %s", raw)
	}
}

func TestNineCharToolIDsAvoidATakenID(t *testing.T) {
	// Make "x" hash to an id that another call already uses verbatim.
	taken := nineCharToolIDs([]Message{{Role: RoleTool, ToolCallID: "x"}})["x"]
	ids := nineCharToolIDs([]Message{
		{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: taken, Name: "a"}, {ID: "x", Name: "b"}}},
	})
	if ids[taken] != taken {
		t.Errorf("valid id %q rewritten to %q", taken, ids[taken])
	}
	if ids["x"] == taken || !isNineCharID(ids["x"]) {
		t.Errorf(`"x" rewritten to %q, which is taken or malformed`, ids["x"])
	}
}

// The documented requests (fixtures) are what we send, plus max_tokens, and with tools in
// the OpenAI form the service also accepts.
func TestEncodeChatMatchesDocumentedRequests(t *testing.T) {
	read := func(t *testing.T, name string) map[string]json.RawMessage {
		t.Helper()
		b, err := os.ReadFile("testdata/workers-ai/" + name)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]json.RawMessage
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	messages := func(t *testing.T, raw json.RawMessage) []Message {
		t.Helper()
		var ms []struct {
			Role    Role   `json:"role"`
			Content string `json:"content"`
		}
		if err := json.Unmarshal(raw, &ms); err != nil {
			t.Fatal(err)
		}
		out := make([]Message, len(ms))
		for i, m := range ms {
			out[i] = Message{Role: m.Role, Content: m.Content}
		}
		return out
	}
	compare := func(t *testing.T, want map[string]json.RawMessage, req Request) {
		t.Helper()
		want["max_tokens"] = json.RawMessage("1024")
		wantBody, _ := json.Marshal(want)
		got, err := encodeChat(llama33, dialectNative, req, false)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(decodeJSON(t, wantBody), decodeJSON(t, got)); diff != "" {
			t.Errorf("body mismatch (-want +got):\n%s", diff)
		}
	}

	t.Run("JSON mode", func(t *testing.T) {
		fx := read(t, "native-json-mode.request.json")
		var rf struct {
			Schema json.RawMessage `json:"json_schema"`
		}
		if err := json.Unmarshal(fx["response_format"], &rf); err != nil {
			t.Fatal(err)
		}
		compare(t, fx, Request{Messages: messages(t, fx["messages"]), Format: &Format{Schema: rf.Schema}})
	})
	t.Run("tools", func(t *testing.T) {
		fx := read(t, "native-tools-legacy.request.json")
		var legacy []struct {
			Name        string          `json:"name"`
			Description string          `json:"description"`
			Parameters  json.RawMessage `json:"parameters"`
		}
		if err := json.Unmarshal(fx["tools"], &legacy); err != nil {
			t.Fatal(err)
		}
		var tools []ToolDef
		var wrapped []map[string]any
		for _, l := range legacy {
			tools = append(tools, ToolDef{Name: l.Name, Description: l.Description, Parameters: l.Parameters})
			wrapped = append(wrapped, map[string]any{"type": "function", "function": l})
		}
		fx["tools"], _ = json.Marshal(wrapped)
		compare(t, fx, Request{Messages: messages(t, fx["messages"]), Tools: tools})
	})
}

func BenchmarkEncodeChat(b *testing.B) {
	agent := Request{Tools: []ToolDef{weatherTool, {Name: "now"}, {Name: "search", Description: "Search the web"}}}
	for i := range 10 {
		agent.Messages = append(agent.Messages,
			User(strings.Repeat("What is the weather like today? ", 10)),
			Message{Role: RoleAssistant, ToolCalls: []ToolCall{{ID: "call_" + string(rune('a'+i)), Name: "get_weather",
				Arguments: json.RawMessage(`{"city":"Paris"}`)}}},
			ToolResult("call_"+string(rune('a'+i)), `{"temp":21}`))
	}
	image := Request{Messages: []Message{User("Describe", Image{Data: bytes.Repeat([]byte{0x89, 'P', 'N', 'G'}, 1<<18), MIME: "image/png"})}}
	for _, bc := range []struct {
		name  string
		model string
		req   Request
	}{
		{"chat-2-messages", llama318b, Request{Messages: []Message{System("Be brief."), User("What is Workers AI?")}}},
		{"agent-30-messages-3-tools", mistral, agent},
		{"image-1MiB-content-parts", scout, image},
		{"image-1MiB-byte-array", vision32, image},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := encodeChat(bc.model, dialectNative, bc.req, false); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestEncodeChatWritesAnyExtraKey(t *testing.T) {
	extra := map[string]any{"plain_Key9": 1, `quote"key`: 2, "tab\tkey": 3, "<b>&": 4, "ünï": 5, "": 6, "a-b.c": 7}
	body, err := encodeChat(llama318b, dialectNative, Request{Messages: []Message{User("x")}, Extra: extra}, false)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"messages":[{"role":"user","content":"x"}],"max_tokens":1024,` +
		`"":6,"<b>&":4,"a-b.c":7,"plain_Key9":1,"quote\"key":2,"tab\tkey":3,"ünï":5}`
	if string(body) != want {
		t.Errorf("body\n%s\nwant\n%s", body, want)
	}
}
