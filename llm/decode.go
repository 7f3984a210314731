package llm

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
)

// Whole (non-streamed) chat replies. /ai/run answers with one of several output families inside the
// Cloudflare envelope; /ai/v1 and OpenAI-compatible servers answer with a bare chat.completion. The
// family is told by its keys, never by the model name: the same route gives different shapes per model,
// and llama-3.3 sends two families in one object
// (testdata/recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__ai-run-llama-3.3-70b-hybrid.json).

// envelopeHead is the part of the Cloudflare envelope {result, success, errors, messages} that
// decides what to do with the rest.
type envelopeHead struct {
	Success *bool           `json:"success"`
	Result  json.RawMessage `json:"result"`
}

// answerType is the type of a result's two answer fields, response and message content. The general
// path reads them as json.RawMessage, since they may be a string, null, a number or an object (JSON
// mode, https://developers.cloudflare.com/workers-ai/features/json-mode/); the fast path reads
// them as string (see decodeChatFast).
type answerType interface{ json.RawMessage | string }

// chatResult holds every key of every chat output family; a family is recognised by which of them
// are present. Keys it does not name (the vLLM internals gpt-oss sends on /ai/run) are ignored.
type chatResult[T answerType] struct {
	ID          string          `json:"id"`
	Object      string          `json:"object"`
	Model       string          `json:"model"`
	Choices     []chatChoice[T] `json:"choices"`
	Response    T               `json:"response"`   // legacy native: string, null, number or object
	ToolCalls   []wireToolCall  `json:"tool_calls"` // legacy native, also on the llama-3.3 hybrid
	Description *string         `json:"description"`
	Usage       *wireUsage      `json:"usage"`
	// FinishReason at the top level: some native models report it there.
	FinishReason string `json:"finish_reason"`
}

type chatChoice[T answerType] struct {
	Message      *chatMessage[T] `json:"message"`
	Text         string          `json:"text"` // text_completion
	FinishReason string          `json:"finish_reason"`
}

type chatMessage[T answerType] struct {
	Content          T              `json:"content"`
	ReasoningContent string         `json:"reasoning_content"`
	Reasoning        string         `json:"reasoning"`
	ToolCalls        []wireToolCall `json:"tool_calls"`
}

// wireResult is a result as the general path reads it.
type wireResult = chatResult[json.RawMessage]

// wireToolCall reads both the legacy flat {name, arguments} and OpenAI's
// {id, type, function:{name, arguments}}; see
// https://developers.cloudflare.com/workers-ai/features/function-calling/.
type wireToolCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
	Function  *struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
}

// wireResponses is an OpenAI Responses API object, which gpt-oss can answer with.
type wireResponses struct {
	Output []struct {
		Type      string          `json:"type"`
		ID        string          `json:"id"`
		CallID    string          `json:"call_id"`
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
		Text      string          `json:"text"`
		Content   []wirePart      `json:"content"`
		Summary   []wirePart      `json:"summary"`
	} `json:"output"`
	OutputText        string `json:"output_text"`
	Status            string `json:"status"`
	IncompleteDetails *struct {
		Reason string `json:"reason"`
	} `json:"incomplete_details"`
}

type wirePart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// decodeChat decodes a whole (non-streamed) chat reply body with HTTP status 2xx: the Cloudflare envelope
// {result, success, errors, messages} around any /ai/run output family, or a bare OpenAI chat.completion
// (the /ai/v1 endpoint and OpenAI-compatible servers send no envelope).
func decodeChat(body []byte) (*Response, error) {
	if r, ok := decodeChatFast(body); ok {
		return r, nil
	}
	return decodeChatGeneral(body)
}

// decodeChatFast decodes the shapes nearly every chat reply has, a legacy native result {response:
// string, tool_calls, usage} and a chat.completion, bare or in the envelope, in one typed pass. The
// general path reads such a reply up to seven times (the envelope with its result kept raw, the result
// with its answer kept raw, the answer again to unquote it), which was 37% of the CPU of a chat call
// (bench/README.md, findings #1).
//
// ok is false for everything else, which decodeChatGeneral then reads: a field of another type (JSON
// mode's object response, a result that is a string), invalid JSON, success:false, the Responses API,
// image-to-text's description, or neither text nor calls. When ok is true the Response is the one
// decodeChatGeneral returns: it accepts only shapes for which decodeChatGeneral calls fillChat on the
// same fields (TestDecodeChatFastMatchesGeneral and its fuzz test hold it to that).
func decodeChatFast(body []byte) (*Response, bool) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' || nonStringResponse(b) {
		return nil, false
	}
	var w struct {
		Success *bool               `json:"success"`
		Result  *chatResult[string] `json:"result"`
		chatResult[string]
	}
	if json.Unmarshal(b, &w) != nil {
		return nil, false
	}
	r := &w.chatResult
	if w.Success != nil {
		if !*w.Success || w.Result == nil {
			return nil, false
		}
		r = w.Result
		if r.Usage == nil {
			r.Usage = w.Usage // usage sent beside result instead of inside it
		}
	}
	if r.Object == "response" || r.Description != nil || len(r.Choices) == 0 && r.Response == "" && len(r.ToolCalls) == 0 {
		return nil, false
	}
	resp := &Response{ID: r.ID, Model: r.Model, Usage: r.Usage.usage()}
	if fillChat(resp, r, stringAnswer) != nil {
		return nil, false // a bad tool call: the general path words the error
	}
	return resp, true
}

// nonStringResponse reports whether the first "response" key in body holds neither a string nor
// null, as JSON mode's answer on /ai/run does (an object). The fast path would
// find that out only by a whole decode that fails, so it is not tried. This is a hint for speed
// and nothing else: where the fast path answers, both paths give the same Response, so a key
// found elsewhere (a "response" nested before the real one) only picks the other path. Inside a
// JSON string the bytes `"response":` cannot occur, its quotes being escaped.
func nonStringResponse(body []byte) bool {
	_, v, ok := bytes.Cut(body, []byte(`"response":`))
	v = bytes.TrimLeft(v, " \t\r\n")
	return ok && len(v) > 0 && v[0] != '"' && v[0] != 'n'
}

// stringAnswer is the text of an answer field the fast path read as a string (null reads as "").
func stringAnswer(s string) (string, error) { return s, nil }

// decodeChatGeneral decodes any chat reply decodeChat accepts, whatever its shape.
func decodeChatGeneral(body []byte) (*Response, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		// Not an envelope: a bare result, e.g. a string, which model output schemas allow.
		return valueResponse(b, nil)
	}
	// One pass reads a bare chat.completion; an envelope needs a second one over its result.
	var w struct {
		envelopeHead
		wireResult
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return nil, decodeError(err, b)
	}
	if w.Success == nil {
		return resultResponse(&w.wireResult, b)
	}
	raw, err := w.unwrap(b)
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '{' {
		return valueResponse(raw, w.Usage)
	}
	var res wireResult
	if err := json.Unmarshal(raw, &res); err != nil {
		return nil, decodeError(err, raw)
	}
	if res.Usage == nil {
		res.Usage = w.Usage // usage sent beside result instead of inside it
	}
	return resultResponse(&res, raw)
}

// unwrapEnvelope returns the `result` of a Cloudflare envelope, or the body itself when it is not an
// envelope. success:false (even on HTTP 200) returns an *Error built with fillErrorFromBody (Status 200).
func unwrapEnvelope(body []byte) (json.RawMessage, error) {
	b := bytes.TrimSpace(body)
	if len(b) == 0 {
		return nil, errorf("decode response: empty body: %w", ErrEmptyResponse)
	}
	if b[0] != '{' {
		if !json.Valid(b) {
			return nil, errorf("decode response: invalid JSON (body %s)", snippet(b))
		}
		return b, nil
	}
	var env envelopeHead
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, decodeError(err, b)
	}
	return env.unwrap(b)
}

// decodeResultInto decodes the result of a successful envelope into out in one pass over body
// (encoding/json fills the non-nil pointer an interface field holds), where unwrapEnvelope and a
// second json.Unmarshal read it four times: a third of the time of 800 KB of embeddings
// (bench/README.md findings #7). It reports whether it did. For anything else (success:false,
// invalid JSON, a result of the wrong type, no envelope, out not a non-nil pointer) the caller
// takes the unwrapEnvelope path, which answers as before; out may then already hold part of the
// result. The one case where that changes a success: a bare object with a "result" key but no
// "success" gets that result decoded into out before the whole object.
func decodeResultInto(body []byte, out any) bool {
	b := bytes.TrimSpace(body)
	if len(b) == 0 || b[0] != '{' {
		return false
	}
	if v := reflect.ValueOf(out); v.Kind() != reflect.Pointer || v.IsNil() {
		// json.Unmarshal refuses these with an error; held in an interface field they would
		// be replaced without one.
		return false
	}
	env := struct {
		Success *bool `json:"success"`
		Result  any   `json:"result"`
	}{Result: out}
	switch {
	case json.Unmarshal(b, &env) != nil || env.Success == nil || !*env.Success:
		return false
	case env.Result == nil:
		// result:null made encoding/json drop out rather than hand it the null, which a
		// json.Unmarshaler would take.
		return false
	}
	// A missing result left out untouched without an error, where the old path fails. Only the
	// absence of the key anywhere in the body is caught: the check is a byte search, and a
	// Cloudflare envelope starts with it.
	return bytes.Contains(b, []byte(`"result"`))
}

// unwrap returns the result of an envelope (nil when it has none) or body when there is no envelope.
func (env *envelopeHead) unwrap(body []byte) (json.RawMessage, error) {
	switch {
	case env.Success == nil:
		return body, nil
	case !*env.Success:
		return nil, parseError(http.StatusOK, nil, body, "")
	}
	return env.Result, nil
}

// resultResponse turns a decoded result object (whose text is raw) into a Response.
func resultResponse(w *wireResult, raw []byte) (*Response, error) {
	resp := &Response{ID: w.ID, Model: w.Model, Usage: w.Usage.usage()}
	var err error
	switch {
	case w.Object == "response":
		err = fillResponses(resp, raw)
	case len(w.Choices) > 0 || len(w.ToolCalls) > 0 || w.Response != nil && string(w.Response) != "null":
		err = fillChat(resp, w, valueText) // chat.completion, text_completion or legacy native
	case w.Description != nil:
		resp.Text = *w.Description // image-to-text (llava)
	default:
		err = fillUnknown(resp, raw)
	}
	if err != nil {
		return nil, err
	}
	return resp, nil
}

// fillChat reads chat.completion, text_completion and legacy native results, and the llama-3.3
// hybrid that carries both: choices[0] wins, the legacy fields fill what it left empty.
// text renders an answer field as text.
func fillChat[T answerType](resp *Response, w *chatResult[T], text func(T) (string, error)) error {
	var calls []wireToolCall
	if len(w.Choices) > 0 {
		c := w.Choices[0]
		resp.FinishReason = normalizeFinishReason(c.FinishReason)
		resp.Text = c.Text
		if m := c.Message; m != nil {
			// content is "" (glm) or null (nemotron) when a reasoning model spent its whole
			// budget: that is an empty answer with finish_reason "length", not an error.
			t, err := text(m.Content)
			if err != nil {
				return errorf("decode response: message content: %w", err)
			}
			resp.Text = t
			resp.Reasoning = joinReasoning(m.ReasoningContent, m.Reasoning)
			calls = m.ToolCalls
		}
	}
	if resp.FinishReason == "" {
		resp.FinishReason = normalizeFinishReason(w.FinishReason)
	}
	if resp.Text == "" {
		t, err := text(w.Response)
		if err != nil {
			return errorf("decode response: response field: %w", err)
		}
		resp.Text = t
	}
	if len(calls) == 0 {
		calls = w.ToolCalls
	}
	return setToolCalls(resp, calls)
}

// setToolCalls converts the wire calls into resp.ToolCalls. A call whose arguments stop in
// the middle of an object is left out, and reported with resp as an *unfinishedCallError.
func setToolCalls(resp *Response, wire []wireToolCall) error {
	var cut *unfinishedCall
	var err error
	if resp.ToolCalls, cut, err = convertToolCalls(wire); err != nil {
		return err
	}
	if cut != nil {
		return &unfinishedCallError{resp: resp, call: *cut}
	}
	return nil
}

// joinReasoning merges the two spellings of reasoning. gpt-oss sends both with the same text
// (reasoning and reasoning_content), which must not be doubled; different texts are both kept.
func joinReasoning(a, b string) string {
	switch {
	case b == "" || b == a:
		return a
	case a == "":
		return b
	}
	return a + "\n" + b
}

// fillResponses reads a Responses API object: text from message output_text parts (or the
// output_text convenience field), reasoning items, and function_call items.
func fillResponses(resp *Response, raw []byte) error {
	var r wireResponses
	if err := json.Unmarshal(raw, &r); err != nil {
		return decodeError(err, raw)
	}
	if len(r.Output) == 0 && r.OutputText == "" {
		return errorf("decode response: responses object without output: %w", ErrEmptyResponse)
	}
	var text, reasoning bytes.Buffer
	var calls []wireToolCall
	for _, item := range r.Output {
		switch item.Type {
		case "message":
			for _, p := range item.Content {
				if p.Type == "output_text" || p.Type == "text" {
					text.WriteString(p.Text)
				}
			}
		case "output_text":
			text.WriteString(item.Text)
		case "reasoning":
			parts := item.Content
			if len(parts) == 0 {
				parts = item.Summary
			}
			for _, p := range parts {
				reasoning.WriteString(p.Text)
			}
		case "function_call":
			// call_id is what a function_call_output answers; id names the output item.
			id := item.CallID
			if id == "" {
				id = item.ID
			}
			calls = append(calls, wireToolCall{ID: id, Name: item.Name, Arguments: item.Arguments})
		}
	}
	resp.Text = text.String()
	if resp.Text == "" {
		resp.Text = r.OutputText
	}
	resp.Reasoning = reasoning.String()
	switch r.Status {
	case "completed":
		resp.FinishReason = "stop"
		if len(calls) > 0 {
			resp.FinishReason = "tool_calls"
		}
	case "incomplete":
		resp.FinishReason = "length"
		if d := r.IncompleteDetails; d != nil && d.Reason != "" && d.Reason != "max_output_tokens" {
			resp.FinishReason = d.Reason
		}
	default:
		resp.FinishReason = r.Status
	}
	return setToolCalls(resp, calls)
}

// fillUnknown handles a result with no chat key. Holding nothing but metadata (moondream's `{}`)
// is an empty success; holding anything else (clef-flash's `answers`) is passed on whole as compact JSON text, so that nothing the service sent is dropped.
func fillUnknown(resp *Response, raw []byte) error {
	var keys map[string]json.RawMessage
	if err := json.Unmarshal(raw, &keys); err != nil {
		return decodeError(err, raw)
	}
	for k, v := range keys {
		if !isChatKey(k) && string(v) != "null" {
			text, err := valueText(raw)
			if err != nil {
				return decodeError(err, raw)
			}
			resp.Text = text
			return nil
		}
	}
	return errorf("decode response: result %s: %w", snippet(raw), ErrEmptyResponse)
}

// isChatKey reports whether k is a key the chat families use, present or not.
func isChatKey(k string) bool {
	switch k {
	case "id", "object", "created", "model", "usage", "choices", "response", "tool_calls", "description", "output", "output_text":
		return true
	}
	return false
}

// convertToolCalls converts wire calls of either shape, with arguments as an object or a string,
// and gives every call an id of its own. One call whose arguments stop in the middle of an object
// (a reply cut off at max_tokens) is returned as cut instead of failing the reply; a second one,
// or arguments malformed otherwise, are an error.
func convertToolCalls(wire []wireToolCall) (calls []ToolCall, cut *unfinishedCall, err error) {
	if len(wire) == 0 {
		return nil, nil, nil
	}
	calls = make([]ToolCall, 0, len(wire))
	for i, w := range wire {
		name, args := w.Name, w.Arguments
		if f := w.Function; f != nil {
			if f.Name != "" {
				name = f.Name
			}
			if f.Arguments != nil {
				args = f.Arguments
			}
		}
		if name == "" {
			return nil, nil, errorf("decode response: tool call %d has no name", i)
		}
		a, err := normalizeArguments(args)
		if err != nil {
			err = errorf("decode response: tool call %d (%s): %w", i, name, err)
			if cut != nil || !unfinishedArguments(args) {
				return nil, nil, err
			}
			cut = &unfinishedCall{id: w.ID, name: name, raw: argumentsText(args), err: err}
			continue
		}
		calls = append(calls, ToolCall{ID: w.ID, Name: name, Arguments: a})
	}
	if len(calls) == 0 {
		return nil, cut, nil
	}
	ensureToolCallIDs(calls)
	return calls, cut, nil
}

// argumentsText is the text of tool-call arguments sent as a JSON string, or raw itself when
// they were sent as JSON.
func argumentsText(raw json.RawMessage) string {
	var s string
	if len(raw) > 0 && raw[0] == '"' && json.Unmarshal(raw, &s) == nil {
		return s
	}
	return string(raw)
}

// valueResponse answers a result that is not an object: a string is the text; any other JSON
// value is passed on as its compact text; null is an empty success.
func valueResponse(raw []byte, u *wireUsage) (*Response, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return nil, errorf("decode response: %w", ErrEmptyResponse)
	}
	text, err := valueText(raw)
	if err != nil {
		return nil, decodeError(err, raw)
	}
	return &Response{Text: text, Usage: u.usage()}, nil
}

// valueText renders a polymorphic text field as text: a string as itself, null as "", and a
// number, object or array (JSON mode) as its compact JSON, key order kept.
func valueText(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0 || string(raw) == "null":
		return "", nil
	case raw[0] == '"':
		var s string
		err := json.Unmarshal(raw, &s)
		return s, err
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return "", err
	}
	return buf.String(), nil
}

// decodeError says whether the body was not JSON at all or JSON of an unexpected shape.
func decodeError(err error, body []byte) error {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return errorf("decode response: invalid JSON: %w (body %s)", err, snippet(body))
	}
	return errorf("decode response: unexpected shape: %w (body %s)", err, snippet(body))
}

// snippet quotes the start of a body for an error message.
func snippet(b []byte) string {
	const max = 200
	if len(b) > max {
		return fmt.Sprintf("%q...", b[:max])
	}
	return fmt.Sprintf("%q", b)
}
