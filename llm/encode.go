package llm

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// dialect is the request shape a chat endpoint takes.
type dialect int

const (
	dialectNative dialect = iota // POST /ai/run/{model}: the model is in the path, not the body
	dialectOpenAI                // /ai/v1/chat/completions and any OpenAI-compatible server: model in the body
)

// encodeChat returns the JSON request body for req sent to model in the given dialect.
// Keys come out in a fixed order so the same request always gives the same bytes.
func encodeChat(model string, d dialect, req Request, stream bool) ([]byte, error) {
	if len(req.Messages) == 0 {
		return nil, errors.New("request.Messages is empty")
	}
	info, known := LookupModel(model)
	// Unknown models and every OpenAI-compatible endpoint take images as content parts:
	// that is the OpenAI form, and the only one a model we know nothing about could take.
	vision := VisionContentParts
	if known && d == dialectNative && info.VisionInput != VisionNone {
		vision = info.VisionInput
	}
	var ids map[string]string
	if known && info.NineCharToolIDs {
		ids = nineCharToolIDs(req.Messages)
	}
	msgs, images, err := encodeMessages(req.Messages, vision, ids)
	if err != nil {
		return nil, err
	}
	if len(images) > 0 && known && !info.Vision {
		return nil, fmt.Errorf("model %s does not take images (request.Messages carry %d)", model, len(images))
	}
	maxTokens := req.MaxTokens
	switch {
	case maxTokens < 0:
		return nil, fmt.Errorf("request.MaxTokens is negative (%d)", maxTokens)
	case maxTokens == 0:
		maxTokens = DefaultMaxTokens
	}

	// Room for the fields most requests set (a streamed OpenAI-dialect chat sets five), so that
	// appending does not regrow it.
	body := make(jsonObject, 0, 6+len(req.Extra))
	if vision == VisionImageToText {
		if err := imageToTextBody(&body, model, req, images); err != nil {
			return nil, err
		}
	} else {
		if d == dialectOpenAI {
			body.set("model", model)
		}
		body.set("messages", msgs)
		if vision == VisionImageBytes && len(images) > 0 {
			// The schema has a single top-level image beside string-only messages.
			if len(images) > 1 {
				return nil, fmt.Errorf("model %s takes one image per request; request.Messages carry %d", model, len(images))
			}
			body.set("image", ByteArray(images[0].Data))
		}
		if err := setTools(&body, req); err != nil {
			return nil, err
		}
		if req.Format != nil {
			rf, err := responseFormat(req.Format.Schema, d)
			if err != nil {
				return nil, err
			}
			body.set("response_format", rf)
		}
	}
	body.set("max_tokens", maxTokens)
	setPtr(&body, "temperature", req.Temperature)
	setPtr(&body, "top_p", req.TopP)
	setPtr(&body, "top_k", req.TopK)
	setPtr(&body, "seed", req.Seed)
	setPtr(&body, "repetition_penalty", req.RepetitionPenalty)
	setPtr(&body, "frequency_penalty", req.FrequencyPenalty)
	setPtr(&body, "presence_penalty", req.PresencePenalty)
	if req.ReasoningEffort != "" {
		// gpt-oss reads it from the body only, not from query or options.
		body.set("reasoning_effort", req.ReasoningEffort)
	}
	if stream {
		body.set("stream", true)
		if d == dialectOpenAI {
			// Without it an OpenAI-compatible stream carries no usage at all.
			body.set("stream_options", jsonObject{{"include_usage", true}})
		}
	}
	if len(req.Extra) > 0 { // sorting the keys of no map still allocates
		for _, k := range slices.Sorted(maps.Keys(req.Extra)) {
			switch {
			case body.has(k):
				return nil, fmt.Errorf("request.Extra key %q collides with a field the request already sets", k)
			case k == "stream":
				// The caller picks the response decoder by calling Generate or Stream.
				return nil, errors.New(`request.Extra key "stream" is reserved: call Stream to stream`)
			}
			body.set(k, req.Extra[k])
		}
	}
	return body.marshal(bodySize(req))
}

// bodySize guesses the length of req's body from its texts, so that the body's buffer is
// allocated once instead of growing from 64 bytes by doubling. Images are left out: they
// are megabytes, where a few regrowths do not matter. A short guess costs a copy, nothing else.
func bodySize(req Request) int {
	n := 96
	for _, m := range req.Messages {
		n += 48 + len(m.Content)
	}
	for _, t := range req.Tools {
		n += 64 + len(t.Name) + len(t.Description) + len(t.Parameters)
	}
	return n
}

// encodeMessages validates msgs and turns them into wire messages. It also returns every
// image, in order, for the models that take images outside the messages.
func encodeMessages(msgs []Message, vision VisionInput, ids map[string]string) ([]encMessage, []Image, error) {
	out := make([]encMessage, len(msgs))
	var images []Image
	for i, m := range msgs {
		switch m.Role {
		case RoleSystem, RoleUser, RoleAssistant, RoleTool:
		default:
			return nil, nil, fmt.Errorf("request.Messages[%d].Role %q is not system, user, assistant or tool", i, m.Role)
		}
		if m.Role == RoleTool && m.ToolCallID == "" {
			return nil, nil, fmt.Errorf("request.Messages[%d].ToolCallID is empty; a tool message must name the call it answers", i)
		}
		if m.Role != RoleTool && m.ToolCallID != "" {
			return nil, nil, fmt.Errorf("request.Messages[%d].ToolCallID is set on a %s message; only tool messages answer calls", i, m.Role)
		}
		if m.Role != RoleAssistant && len(m.ToolCalls) > 0 {
			return nil, nil, fmt.Errorf("request.Messages[%d].ToolCalls is set on a %s message; only assistant messages carry calls", i, m.Role)
		}
		if m.Role != RoleUser && len(m.Images) > 0 {
			return nil, nil, fmt.Errorf("request.Messages[%d].Images is set on a %s message; only user messages carry images", i, m.Role)
		}
		// content is never null: the service rejects content:null.
		em := encMessage{Role: m.Role, Content: m.Content, ToolCallID: rewriteID(ids, m.ToolCallID)}
		for j, img := range m.Images {
			if len(img.Data) == 0 {
				return nil, nil, fmt.Errorf("request.Messages[%d].Images[%d].Data is empty", i, j)
			}
			if sub, ok := strings.CutPrefix(img.MIME, "image/"); !ok || sub == "" {
				return nil, nil, fmt.Errorf("request.Messages[%d].Images[%d].MIME %q is not an image type", i, j, img.MIME)
			}
			images = append(images, img)
		}
		if len(m.Images) > 0 && vision == VisionContentParts {
			em.Content = contentParts(m)
		}
		for j, c := range m.ToolCalls {
			if c.Name == "" {
				return nil, nil, fmt.Errorf("request.Messages[%d].ToolCalls[%d].Name is empty", i, j)
			}
			args, err := normalizeArguments(c.Arguments)
			if err != nil {
				return nil, nil, fmt.Errorf("request.Messages[%d].ToolCalls[%d].Arguments (%s): %w", i, j, c.Name, err)
			}
			em.ToolCalls = append(em.ToolCalls, encToolCall{
				ID:       rewriteID(ids, c.ID),
				Type:     "function",
				Function: encFunctionCall{Name: c.Name, Arguments: string(args)},
			})
		}
		out[i] = em
	}
	return out, images, nil
}

// contentParts is m's content as OpenAI parts: its text (when there is any), then each
// image as a data: URL, the only kind the service accepts.
func contentParts(m Message) []encPart {
	parts := make([]encPart, 0, len(m.Images)+1)
	if m.Content != "" {
		parts = append(parts, encPart{Type: "text", Text: m.Content})
	}
	for _, img := range m.Images {
		url := "data:" + img.MIME + ";base64," + base64.StdEncoding.EncodeToString(img.Data)
		parts = append(parts, encPart{Type: "image_url", ImageURL: &encImageURL{URL: url}})
	}
	return parts
}

// imageToTextBody fills body for llava and uform, which take one image and a prompt
// instead of a conversation.
func imageToTextBody(body *jsonObject, model string, req Request, images []Image) error {
	switch {
	case len(req.Tools) > 0:
		return fmt.Errorf("image-to-text model %s does not take request.Tools", model)
	case req.ToolChoice != "":
		return fmt.Errorf("image-to-text model %s does not take request.ToolChoice", model)
	case req.Format != nil:
		return fmt.Errorf("image-to-text model %s does not take request.Format", model)
	case len(images) != 1:
		return fmt.Errorf("image-to-text model %s takes exactly one image; request.Messages carry %d", model, len(images))
	}
	// The conversation is flattened into the one prompt these models take. Earlier
	// assistant turns (a retry with feedback carries one) are labelled so the model can tell
	// them from the instructions.
	var texts []string
	for i, m := range req.Messages {
		switch {
		case m.Role == RoleTool || len(m.ToolCalls) > 0:
			return fmt.Errorf("image-to-text model %s takes no tool turns; request.Messages[%d] is one", model, i)
		case m.Content == "":
		case m.Role == RoleAssistant:
			texts = append(texts, "Your previous answer: "+m.Content)
		default:
			texts = append(texts, m.Content)
		}
	}
	body.set("image", ByteArray(images[0].Data))
	if len(texts) > 0 {
		body.set("prompt", strings.Join(texts, "\n\n"))
	}
	return nil
}

// setTools adds tools and tool_choice in the OpenAI form, which the native endpoint
// accepts as well as its legacy flat form
// (https://developers.cloudflare.com/workers-ai/features/function-calling/).
func setTools(body *jsonObject, req Request) error {
	seen := make(map[string]bool, len(req.Tools))
	tools := make([]encTool, len(req.Tools))
	for i, t := range req.Tools {
		if t.Name == "" {
			return fmt.Errorf("request.Tools[%d].Name is empty", i)
		}
		if seen[t.Name] {
			return fmt.Errorf("request.Tools[%d].Name %q is offered twice", i, t.Name)
		}
		seen[t.Name] = true
		params := bytes.TrimSpace(t.Parameters)
		switch {
		case len(params) == 0 || string(params) == "null":
			params = []byte(`{"type":"object","properties":{}}`)
		case !json.Valid(params):
			return fmt.Errorf("request.Tools[%d].Parameters of tool %q is not valid JSON", i, t.Name)
		case params[0] != '{':
			return fmt.Errorf("request.Tools[%d].Parameters of tool %q is not a JSON object", i, t.Name)
		}
		tools[i] = encTool{Type: "function", Function: encFunction{
			Name: t.Name, Description: t.Description, Parameters: json.RawMessage(params),
		}}
	}
	if len(tools) > 0 {
		body.set("tools", tools)
	}
	switch req.ToolChoice {
	case "":
	case "none":
		// Without tools "none" is what the model does anyway, and OpenAI-style servers
		// refuse tool_choice when no tools are offered.
		if len(tools) > 0 {
			body.set("tool_choice", "none")
		}
	case "auto", "required":
		if len(tools) == 0 {
			return fmt.Errorf("request.ToolChoice %q needs request.Tools", req.ToolChoice)
		}
		body.set("tool_choice", req.ToolChoice)
	default:
		if !seen[req.ToolChoice] {
			return fmt.Errorf("request.ToolChoice %q names no tool in request.Tools", req.ToolChoice)
		}
		body.set("tool_choice", encToolChoice{Type: "function", Function: encToolName{Name: req.ToolChoice}})
	}
	return nil
}

// responseFormat asks for JSON output. Native models take the bare schema as json_schema;
// OpenAI-compatible endpoints take it wrapped in {name, schema}
// (testdata/recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__ai-v1-chat-gpt-oss-120b-json-schema.json).
func responseFormat(schema json.RawMessage, d dialect) (jsonObject, error) {
	schema = bytes.TrimSpace(schema)
	if len(schema) == 0 || string(schema) == "null" {
		return jsonObject{{"type", "json_object"}}, nil
	}
	if !json.Valid(schema) {
		return nil, errors.New("request.Format.Schema is not valid JSON")
	}
	if d == dialectOpenAI {
		return jsonObject{{"type", "json_schema"}, {"json_schema", jsonObject{{"name", "response"}, {"schema", schema}}}}, nil
	}
	return jsonObject{{"type", "json_schema"}, {"json_schema", schema}}, nil
}

// nineCharToolIDs maps every tool call id in msgs to one matching [a-zA-Z0-9]{9}, which
// llama-4-scout, mistral-small-3.1 and qwq require. Ids already in that
// form are kept; others get a hash of themselves, so the same id maps the same way in
// every request of a conversation, and distinct ids never share a result.
func nineCharToolIDs(msgs []Message) map[string]string {
	var all []string
	for _, m := range msgs {
		for _, c := range m.ToolCalls {
			all = append(all, c.ID)
		}
		all = append(all, m.ToolCallID)
	}
	ids := make(map[string]string)
	used := make(map[string]bool)
	for _, id := range all {
		if isNineCharID(id) {
			ids[id] = id
			used[id] = true
		}
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	for _, id := range all {
		if id == "" || ids[id] != "" {
			continue
		}
		for n := 0; ; n++ {
			seed := id
			if n > 0 {
				seed += "\x00" + strconv.Itoa(n)
			}
			sum := sha256.Sum256([]byte(seed))
			b := make([]byte, 9)
			for i := range b {
				b[i] = alphabet[int(sum[i])%len(alphabet)]
			}
			if s := string(b); !used[s] {
				ids[id] = s
				used[s] = true
				break
			}
		}
	}
	return ids
}

func isNineCharID(id string) bool {
	if len(id) != 9 {
		return false
	}
	for _, r := range []byte(id) {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9') {
			return false
		}
	}
	return true
}

// rewriteID returns id's replacement from ids, or id itself when there is none.
func rewriteID(ids map[string]string, id string) string {
	if r, ok := ids[id]; ok {
		return r
	}
	return id
}

// Wire forms of the request. They are separate from the public types so that the caller's
// Request is never modified while encoding.
type (
	encMessage struct {
		Role       Role          `json:"role"`
		Content    any           `json:"content"` // string or []encPart, never nil
		ToolCalls  []encToolCall `json:"tool_calls,omitempty"`
		ToolCallID string        `json:"tool_call_id,omitempty"`
	}
	encPart struct {
		Type     string       `json:"type"`
		Text     string       `json:"text,omitempty"`
		ImageURL *encImageURL `json:"image_url,omitempty"`
	}
	encImageURL struct {
		URL string `json:"url"`
	}
	encToolCall struct {
		ID       string          `json:"id,omitempty"`
		Type     string          `json:"type"`
		Function encFunctionCall `json:"function"`
	}
	encFunctionCall struct {
		Name      string `json:"name"`
		Arguments string `json:"arguments"` // the text of a JSON object, as OpenAI sends it
	}
	encTool struct {
		Type     string      `json:"type"`
		Function encFunction `json:"function"`
	}
	encFunction struct {
		Name        string          `json:"name"`
		Description string          `json:"description"`
		Parameters  json.RawMessage `json:"parameters"`
	}
	encToolChoice struct {
		Type     string      `json:"type"`
		Function encToolName `json:"function"`
	}
	encToolName struct {
		Name string `json:"name"`
	}
)

// jsonObject is a JSON object whose keys keep the order they were set in.
type jsonObject []jsonField

type jsonField struct {
	key   string
	value any
}

func (o *jsonObject) set(key string, value any) { *o = append(*o, jsonField{key, value}) }

func (o jsonObject) has(key string) bool {
	return slices.ContainsFunc(o, func(f jsonField) bool { return f.key == key })
}

// setPtr sets key to *p when p is not nil: unset sampling knobs stay off the wire so the
// model's own defaults apply.
func setPtr[T any](o *jsonObject, key string, p *T) {
	if p != nil {
		o.set(key, *p)
	}
}

// MarshalJSON writes the fields in order. HTML escaping is off: prompts full of "<" and
// "&" stay readable in recordings and logs.
func (o jsonObject) MarshalJSON() ([]byte, error) { return o.marshal(0) }

// marshal is MarshalJSON into a buffer that starts with room for size bytes.
func (o jsonObject) marshal(size int) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(size)
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	buf.WriteByte('{')
	for i, f := range o {
		if i > 0 {
			buf.WriteByte(',')
		}
		if plainKey(f.key) {
			// Written directly: through the encoder each key costs an allocation (boxed in an
			// interface), and none of these needs escaping.
			buf.WriteByte('"')
			buf.WriteString(f.key)
			buf.WriteString(`":`)
		} else {
			if err := enc.Encode(f.key); err != nil {
				return nil, err
			}
			buf.Truncate(buf.Len() - 1) // Encode ends every value with a newline
			buf.WriteByte(':')
		}
		if b, ok := f.value.(ByteArray); ok {
			// Written directly: encoding/json would re-scan megabytes of digits it cannot get wrong.
			buf.Write(b.appendJSON(buf.AvailableBuffer()))
			continue
		}
		if err := enc.Encode(f.value); err != nil {
			return nil, fmt.Errorf("body field %q: %w", f.key, err)
		}
		buf.Truncate(buf.Len() - 1)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// plainKey reports whether key goes between quotes as it is, with nothing to escape. Every key
// encodeChat sets is plain; a key of Request.Extra may not be.
func plainKey(key string) bool {
	for i := range len(key) {
		c := key[i]
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// ByteArray is binary input as Workers AI models that take "an array of integers" want it:
// a JSON array of numbers 0..255 (llama-3.2-11b-vision and the image-to-text models for
// images, whisper for audio, resnet and detr for images, Stable Diffusion's image-to-image),
// where encoding/json would write a []byte as base64. Use it in the input of Client.Run.
type ByteArray []byte

// MarshalJSON writes b as an array of numbers.
func (b ByteArray) MarshalJSON() ([]byte, error) { return b.appendJSON(nil), nil }

func (b ByteArray) appendJSON(out []byte) []byte {
	out = slices.Grow(out, 4*len(b)+2)
	out = append(out, '[')
	for i, c := range b {
		if i > 0 {
			out = append(out, ',')
		}
		out = strconv.AppendUint(out, uint64(c), 10)
	}
	return append(out, ']')
}
