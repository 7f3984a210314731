package llmtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/gowai/gowai/internal/jsonorder"
	"github.com/gowai/gowai/llm"
)

// Handler decides the reply to one request on a model route. model is the model id from
// the path (/ai/run/{model}, gateway routes) or from the body ("model" on the
// OpenAI-compatible routes); body is the request body as sent. A Handler may be called
// from several goroutines at once.
type Handler func(model string, body []byte) Reply

// Reply is what the server answers to one request. Build it with Text, Calls, JSON, Raw,
// SSE, Fail or Model, then add faults with its With... methods; every method returns a
// modified copy, so a Reply can be shared. The zero Reply is Model().
type Reply struct {
	kind        replyKind
	text        string
	reasoning   string
	calls       []llm.ToolCall
	result      any
	body        []byte
	contentType string
	events      []string
	status      int
	code        int
	msg         string

	latency     time.Duration
	headers     [][2]string
	usage       *llm.Usage
	finish      string
	cutAfter    int
	hasCut      bool
	outOfScript bool
}

type replyKind int

const (
	kindModel replyKind = iota
	kindText
	kindCalls
	kindJSON
	kindRaw
	kindSSE
	kindFail
)

// Model lets the server's built-in emulation answer: the test model for text generation
// (see WithModel), deterministic vectors for embeddings, lexical scores for rerank, a tiny
// PNG for text-to-image and a fixed description for image-to-text. Use it inside Script
// to hand single turns to the test model.
func Model() Reply { return Reply{} }

// Text answers with the text s in the family of the route: the legacy {"response"} object
// on /ai/run for legacy models, a chat.completion on /ai/v1 and for chat-style models, and
// the matching event stream when the request asked for "stream": true.
func Text(s string) Reply { return Reply{kind: kindText, text: s} }

// Calls answers with the given tool calls, encoded like Text: flat {name, arguments}
// objects in the legacy family, OpenAI tool_calls with string arguments otherwise. A call
// without an ID gets one in the chat families. Arguments must be a JSON object; nil means {}.
func Calls(calls ...llm.ToolCall) Reply {
	return Reply{kind: kindCalls, calls: slices.Clone(calls)}
}

// Response answers with r's text, reasoning and tool calls together, encoded like Text and
// Calls: a reply that thinks aloud, says something, then calls a tool. r's FinishReason and
// Usage, when set, are reported as WithFinishReason and WithUsage would.
func Response(r llm.Response) Reply {
	rep := Reply{kind: kindText, text: r.Text, reasoning: r.Reasoning, calls: slices.Clone(r.ToolCalls), finish: r.FinishReason}
	if len(r.ToolCalls) > 0 {
		rep.kind = kindCalls
	}
	if r.Usage != (llm.Usage{}) {
		rep.usage = &r.Usage
	}
	return rep
}

// JSON answers with result marshalled as JSON: as the envelope's "result" on /ai/run and
// bare on the OpenAI-compatible routes. Use it for embeddings, rerank or any custom shape.
// A result that cannot be marshalled is answered with a 500 naming the error.
func JSON(result any) Reply { return Reply{kind: kindJSON, result: result} }

// Raw answers with body exactly as given and the given Content-Type: images, audio, or a
// deliberately malformed body.
func Raw(contentType string, body []byte) Reply {
	return Reply{kind: kindRaw, contentType: contentType, body: slices.Clone(body)}
}

// SSE answers with a text/event-stream whose events carry the given payloads, each written
// as "data: <payload>\n\n" and flushed. No [DONE] is added: pass "[DONE]" as the last
// payload to end the stream properly.
func SSE(events ...string) Reply {
	return Reply{kind: kindSSE, events: slices.Clone(events)}
}

// Fail answers with an error. Codes 7000, 7003 and 10000 are routing and authentication
// errors and get the router's envelope ({"result":null,...}); every other code gets the
// envelope of an error raised by the model: "AiError: AiError: <msg> (<request id>)",
// "result":{} and a cf-ai-req-id header, as in llm/testdata/recorded/*-3030-width.json. On the generic /v1
// routes the body is OpenAI's {"error":{"message","code"}}.
func Fail(status, code int, msg string) Reply {
	return Reply{kind: kindFail, status: status, code: code, msg: msg}
}

// WithLatency makes the server wait d before answering. The wait ends early, with no
// answer, when the client gives up on the request.
func (r Reply) WithLatency(d time.Duration) Reply { r.latency = d; return r }

// WithRetryAfter sets the Retry-After header to v (delta-seconds or an HTTP date).
func (r Reply) WithRetryAfter(v string) Reply { return r.WithHeader("Retry-After", v) }

// WithHeader sets the response header k to v, after the server's own headers, so it can
// replace them.
func (r Reply) WithHeader(k, v string) Reply {
	r.headers = append(slices.Clip(r.headers), [2]string{k, v})
	return r
}

// WithUsage sets the token usage reported by a Text, Calls or Model reply, in the body and
// in the cf-ai-neurons header. Without it the server reports a deterministic estimate.
func (r Reply) WithUsage(u llm.Usage) Reply { r.usage = &u; return r }

// CutAfter ends the response early: an event stream stops after n events with no [DONE],
// as a stream dropped by the service looks to a client; any other body is cut after n bytes.
func (r Reply) CutAfter(n int) Reply { r.cutAfter = max(n, 0); r.hasCut = true; return r }

// WithContentType replaces the Content-Type the server would send.
func (r Reply) WithContentType(ct string) Reply { return r.WithHeader("Content-Type", ct) }

// WithFinishReason sets the finish reason of a Text, Calls or Model reply ("length",
// "stop", ...). The legacy family usually carries none; there a set reason, or any reason
// but "stop" and "tool_calls", is sent as a top-level "finish_reason", as some legacy
// models do, so that a client can see truncation.
func (r Reply) WithFinishReason(s string) Reply { r.finish = s; return r }

// Script returns a Handler that answers requests with replies in order, one each. Once the
// replies run out, every further request gets a 400 error saying so (a status clients do
// not retry, so the test fails at once), and is marked OutOfScript in Server.Requests. Concurrent requests take replies in arrival order.
func Script(replies ...Reply) Handler {
	var (
		mu   sync.Mutex
		next int
	)
	replies = slices.Clone(replies)
	return func(string, []byte) Reply {
		mu.Lock()
		defer mu.Unlock()
		if next >= len(replies) {
			r := Fail(http.StatusBadRequest, 0,
				fmt.Sprintf("llmtest: script ran out: it has %d replies and this is request %d", len(replies), next+1))
			r.outOfScript = true
			next++
			return r
		}
		next++
		return replies[next-1]
	}
}

// render turns rep into the answer to ex, fault options included.
func (s *Server) render(ex *exchange, rep Reply) output {
	var out output
	switch rep.kind {
	case kindModel:
		out = s.emulate(ex, rep)
	case kindText, kindCalls:
		out = s.generate(ex, rep, &llm.Response{Text: rep.text, Reasoning: rep.reasoning, ToolCalls: rep.calls})
	case kindJSON:
		var b bytes.Buffer
		enc := json.NewEncoder(&b)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep.result); err != nil {
			out = failure(ex, http.StatusInternalServerError, 0, "llmtest: JSON reply: "+err.Error())
			break
		}
		if ex.route == routeRun {
			out = envelope(http.StatusOK, json.RawMessage(b.Bytes()))
		} else {
			out = jsonOutput(http.StatusOK, json.RawMessage(b.Bytes()))
		}
	case kindRaw:
		out = output{status: http.StatusOK, header: http.Header{"Content-Type": {rep.contentType}}, body: rep.body}
	case kindSSE:
		out = eventStream(rep.events)
	case kindFail:
		if rep.status < 100 || rep.status > 999 {
			out = failure(ex, http.StatusInternalServerError, 0, fmt.Sprintf("llmtest: Fail: %d is not an HTTP status", rep.status))
			break
		}
		out = failure(ex, rep.status, rep.code, rep.msg)
	}
	if out.status/100 == 2 && ex.route == routeRun {
		out.header.Set("cf-ai-req-id", ex.reqID) // on /ai/run successes only (llm/testdata/recorded/README.md)
	}
	if out.status/100 == 2 && out.header.Get("cf-ai-neurons") == "" {
		u := llm.Usage{PromptTokens: estimateTokens(len(ex.body))}
		if rep.usage != nil {
			u = *rep.usage
		}
		out.header.Set("cf-ai-neurons", formatNeurons(neuronsFor(ex.model, u)))
	}
	if rep.hasCut {
		if out.stream {
			out.events = slices.DeleteFunc(out.events[:min(rep.cutAfter, len(out.events))], func(e string) bool { return e == "[DONE]" })
		} else {
			out.body = out.body[:min(rep.cutAfter, len(out.body))]
		}
	}
	rep.applyHeaders(out.header)
	return out
}

// failure is an error answer in the style the service uses for code: router errors (7000,
// 7003, 10000) have "result":null; errors raised by a model are prefixed "AiError: AiError: "
// and end with the request id (llm/testdata/recorded/README.md). The generic /v1
// routes answer OpenAI's {"error":{...}}.
func failure(ex *exchange, status, code int, msg string) output {
	switch {
	case ex.route.compat():
		type openAIErr struct {
			Message string `json:"message"`
			Type    string `json:"type"`
			Code    int    `json:"code,omitempty"`
		}
		typ := "invalid_request_error"
		if status >= 500 {
			typ = "server_error"
		}
		return jsonOutput(status, map[string]openAIErr{"error": {Message: msg, Type: typ, Code: code}})
	case code == 7000:
		return jsonOutput(status, noRouteBody{Errors: []routerErr{{code, msg}}, Messages: []string{}})
	case code == 7003 || code == 10000:
		return routerError(ex, status, code, msg)
	}
	return aiError(ex, status, code, msg)
}

type routerErr struct {
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// noRouteBody has the key order of the live 7000 replies (llm/testdata/recorded/
// *-unknown-model-400-7000.json and *-bare-v1-path.json).
type noRouteBody struct {
	Success  bool        `json:"success"`
	Errors   []routerErr `json:"errors"`
	Messages []string    `json:"messages"`
	Result   *struct{}   `json:"result"`
}

// noRouteModel is the live answer to an unknown model on /ai/run: 400/7000, not 5007
// (llm/testdata/recorded/*-ai-run-unknown-model-400-7000.json).
func noRouteModel() output {
	return jsonOutput(http.StatusBadRequest, noRouteBody{
		Errors: []routerErr{{7000, "No route for that URI"}}, Messages: []string{},
	})
}

// noRoute answers a path nothing serves: two errors, the path echoed without /client/v4
// and with escaped slashes (llm/testdata/recorded/*-400-7003-7000-bare-v1-path.json).
func noRoute(path string) output {
	out := jsonOutput(http.StatusBadRequest, noRouteBody{Messages: []string{}, Errors: []routerErr{
		{7003, "Could not route to " + strings.TrimPrefix(path, clientV4) + ", perhaps your object identifier is invalid?"},
		{7000, "No route for that URI"},
	}})
	out.body = bytes.ReplaceAll(out.body, []byte("/"), []byte(`\/`))
	return out
}

// routerError is the envelope of authentication and account errors ("result":null), as in
// llm/testdata/recorded/*-401-10000-bad-token.json and *-404-7003-unexpanded-account.json.
func routerError(ex *exchange, status, code int, msg string) output {
	if ex.route.compat() {
		return failure(ex, status, code, msg)
	}
	return jsonOutput(status, struct {
		Result   *struct{}   `json:"result"`
		Success  bool        `json:"success"`
		Errors   []routerErr `json:"errors"`
		Messages []string    `json:"messages"`
	}{Errors: []routerErr{{code, msg}}, Messages: []string{}})
}

// aiError is the envelope of an error raised by a model ("result":{}, the message prefixed
// "AiError: AiError: " and suffixed with the request id), as in
// llm/testdata/recorded/*-408-3046.json.
func aiError(ex *exchange, status, code int, msg string) output {
	if ex.route.compat() {
		return failure(ex, status, code, msg)
	}
	if !strings.HasPrefix(msg, "AiError:") {
		msg = "AiError: AiError: " + msg
	}
	type aiErr struct {
		Message string `json:"message"`
		Code    int    `json:"code"`
	}
	out := jsonOutput(status, struct {
		Errors   []aiErr  `json:"errors"`
		Success  bool     `json:"success"`
		Result   struct{} `json:"result"`
		Messages []string `json:"messages"`
	}{Errors: []aiErr{{msg + " (" + ex.reqID + ")", code}}, Messages: []string{}})
	out.header.Set("cf-ai-req-id", ex.reqID)
	return out
}

// envelope wraps a successful /ai/run result: {"result":...,"success":true,"errors":[],
// "messages":[]}.
func envelope(status int, result any) output {
	return jsonOutput(status, struct {
		Result   any      `json:"result"`
		Success  bool     `json:"success"`
		Errors   []any    `json:"errors"`
		Messages []string `json:"messages"`
	}{result, true, []any{}, []string{}})
}

func jsonOutput(status int, v any) output {
	return output{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: []byte(mustJSON(v))}
}

func eventStream(events []string) output {
	return output{
		status: http.StatusOK,
		header: http.Header{"Content-Type": {"text/event-stream"}, "Cache-Control": {"no-cache"}},
		events: events, stream: true,
	}
}

// family is the shape of a text-generation answer: the legacy {"response", "tool_calls",
// "usage"} result, or an OpenAI chat.completion.
type family int

const (
	familyLegacy family = iota // {"response", "tool_calls", "usage"}
	familyChat                 // OpenAI chat.completion and chat.completion.chunk
)

func familyOf(ex *exchange) family {
	if ex.route == routeRun && !chatStyle(ex.model) {
		return familyLegacy
	}
	return familyChat
}

// chatStyle reports whether a model answers /ai/run with chat.completion objects instead
// of the legacy family, as llm/testdata/recorded/*-ai-run-gpt-oss-120b.json and
// *-ai-run-qwen3-30b-stream-tool-call.json show.
func chatStyle(model string) bool {
	for _, s := range []string{"gpt-oss", "qwen3", "gemma-4", "kimi", "glm"} {
		if strings.Contains(model, s) {
			return true
		}
	}
	return false
}

// ignoresStream reports whether a model answers "stream": true on /ai/run with an empty
// JSON result, {"result":{},"success":true,"errors":[],"messages":[]} (HTTP 200,
// application/json), instead of an event stream, as the live gpt-oss and Kimi K2 models
// do. The test model emulates that; Text and Calls replies stream as asked.
func ignoresStream(model string) bool {
	return strings.HasPrefix(model, "@cf/openai/gpt-oss-") || strings.HasPrefix(model, "@cf/moonshotai/kimi-k2")
}

// created is the fixed "created" time of every chat.completion (2026-01-01T00:00:00Z).
const created = 1767225600

// generate answers a text-generation request with fixed (from a Text or Calls reply) or,
// when fixed is nil, with the server's model.
func (s *Server) generate(ex *exchange, rep Reply, fixed *llm.Response) output {
	req, stream, err := parseChatRequest(ex.body)
	if err != nil && fixed == nil {
		return failure(ex, http.StatusBadRequest, 5006, "Bad input: "+err.Error())
	}
	jsonMode := req.Format != nil
	if jsonMode && ex.route == routeRun {
		// "JSON Mode currently doesn't support streaming"
		// (https://developers.cloudflare.com/workers-ai/features/json-mode/); what the live
		// service answers to both is unconfirmed, so the emulator answers JSON and lets the
		// client cope with a JSON reply to a stream request (gpt-oss does that).
		stream = false
	}
	if stream && fixed == nil && ex.route == routeRun && ignoresStream(ex.model) {
		return envelope(http.StatusOK, struct{}{})
	}
	if fixed != nil {
		for _, c := range fixed.ToolCalls {
			if _, err := compactArguments(c.Arguments); err != nil {
				return failure(ex, http.StatusInternalServerError, 0, fmt.Sprintf("llmtest: Calls: tool %q: %v", c.Name, err))
			}
		}
	}
	fam := familyOf(ex)
	if !stream {
		resp := fixed
		if resp == nil {
			if resp, err = s.model.Generate(ex.r.Context(), req); err != nil {
				return modelFailure(ex, err)
			}
		}
		r := *resp
		r.FinishReason, r.Usage = finalize(ex, rep, r.FinishReason, r.Usage, generatedLen(r.Text, r.Reasoning, r.ToolCalls), len(r.ToolCalls) > 0)
		var out output
		switch sh := shapeOf(ex); {
		case sh == shapeLegacy:
			out = envelope(http.StatusOK, legacyResult(r, jsonMode, sendFinish(rep, r.FinishReason)))
		case sh == shapeOpenAI:
			out = jsonOutput(http.StatusOK, chatCompletion(ex, r))
		case ex.route == routeRun:
			out = envelope(http.StatusOK, liveCompletion(ex, sh, r))
		default:
			out = jsonOutput(http.StatusOK, liveCompletion(ex, sh, r))
		}
		out.header.Set("cf-ai-neurons", formatNeurons(r.Usage.Neurons))
		return out
	}

	var (
		deltas    []llm.Delta
		finish    string
		usage     llm.Usage
		streamErr error
		n         int
	)
	if fixed != nil {
		deltas, finish = splitResponse(*fixed), fixed.FinishReason
	} else {
		for d, err := range s.model.Stream(ex.r.Context(), req) {
			if err != nil {
				if n == 0 {
					return modelFailure(ex, err)
				}
				streamErr = err
				break
			}
			n++
			if d.FinishReason != "" {
				finish = d.FinishReason
			}
			if d.Usage != nil {
				usage = *d.Usage
			}
			if d.Text != "" || d.Reasoning != "" || len(d.ToolCalls) > 0 {
				deltas = append(deltas, llm.Delta{Text: d.Text, Reasoning: d.Reasoning, ToolCalls: d.ToolCalls})
			}
		}
	}
	var text, reasoning strings.Builder
	var calls []llm.ToolCall
	for _, d := range deltas {
		text.WriteString(d.Text)
		reasoning.WriteString(d.Reasoning)
		calls = append(calls, d.ToolCalls...)
	}
	finish, usage = finalize(ex, rep, finish, usage, generatedLen(text.String(), reasoning.String(), calls), len(calls) > 0)
	var events []string
	switch {
	case fam == familyLegacy:
		events = legacyEvents(ex, deltas, finish, usage, sendFinish(rep, finish), streamErr)
	case ex.route.compat():
		events = chatEvents(ex, deltas, finish, usage, streamErr)
	case ex.route == routeRun && shapeOf(ex) == shapeSorted:
		events = sortedEvents(ex, deltas, finish, usage, streamErr)
	default:
		events = liveEvents(ex, deltas, finish, usage, streamErr)
	}
	out := eventStream(events)
	out.header.Set("cf-ai-neurons", formatNeurons(usage.Neurons))
	return out
}

// sendFinish says whether the legacy family reports the finish reason: only when the reply
// sets one or it is unusual, since the live legacy family rarely sends one.
func sendFinish(rep Reply, finish string) bool {
	return rep.finish != "" || (finish != "stop" && finish != "tool_calls")
}

// modelFailure reports an error from the model: an *llm.Error as it is, anything else as
// bad input, since the test model fails only on requests it cannot serve.
func modelFailure(ex *exchange, err error) output {
	if e, ok := errors.AsType[*llm.Error](err); ok && e.Status != 0 {
		return failure(ex, e.Status, e.Code, e.Message)
	}
	return failure(ex, http.StatusBadRequest, 5006, "Bad input: "+err.Error())
}

// finalize fills the finish reason and usage the answer reports: the reply's overrides
// first, then the model's values, then deterministic defaults.
func finalize(ex *exchange, rep Reply, finish string, u llm.Usage, generated int, calls bool) (string, llm.Usage) {
	switch {
	case rep.finish != "":
		finish = rep.finish
	case finish == "" && calls:
		finish = "tool_calls"
	case finish == "":
		finish = "stop"
	}
	switch {
	case rep.usage != nil:
		u = *rep.usage
	case u == (llm.Usage{}):
		u.PromptTokens, u.CompletionTokens = estimateTokens(len(ex.body)), estimateTokens(generated)
	}
	if u.TotalTokens == 0 {
		u.TotalTokens = u.PromptTokens + u.CompletionTokens
	}
	if u.CachedTokens == 0 {
		u.CachedTokens = min(ex.cachedTokens, u.PromptTokens)
	}
	if u.Neurons == 0 {
		u.Neurons = neuronsFor(ex.model, u)
	}
	return finish, u
}

func generatedLen(text, reasoning string, calls []llm.ToolCall) int {
	n := len(text) + len(reasoning)
	for _, c := range calls {
		n += len(c.Name) + len(c.Arguments)
	}
	return n
}

// estimateTokens is the usual four-bytes-a-token estimate.
func estimateTokens(n int) int { return (n + 3) / 4 }

// neuronsFor prices u with the catalog's rates (llm.EstimateNeurons: cached prompt tokens at
// the cached rate where there is one), or with 10 000 / 30 000 neurons per million tokens
// for models the catalog does not price.
func neuronsFor(model string, u llm.Usage) float64 {
	if u.Neurons != 0 {
		return u.Neurons
	}
	if info, ok := llm.LookupModel(model); ok && info.NeuronsPerMInput > 0 {
		if n, ok := llm.EstimateNeurons(model, u); ok {
			return n // cached prompt tokens at the catalog's cached rate, where it has one
		}
	}
	in, out := 10000.0, 30000.0
	return (float64(u.PromptTokens)*in + float64(u.CompletionTokens)*out) / 1e6
}

// formatNeurons renders cf-ai-neurons as the service does: a decimal with two places.
func formatNeurons(n float64) string { return strconv.FormatFloat(n, 'f', 2, 64) }

// wireUsage is usage as sent; the legacy family has no neurons field.
type wireUsage struct {
	PromptTokens        int           `json:"prompt_tokens"`
	CompletionTokens    int           `json:"completion_tokens"`
	TotalTokens         int           `json:"total_tokens"`
	PromptTokensDetails *cachedTokens `json:"prompt_tokens_details,omitempty"`
	Neurons             float64       `json:"neurons,omitempty"`
}

type cachedTokens struct {
	CachedTokens int `json:"cached_tokens"`
}

func toWireUsage(u llm.Usage, fam family) *wireUsage {
	w := &wireUsage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens, TotalTokens: u.TotalTokens}
	if fam == familyChat || u.CachedTokens > 0 {
		w.PromptTokensDetails = &cachedTokens{u.CachedTokens}
	}
	if fam == familyChat {
		w.Neurons = u.Neurons
	}
	return w
}

type legacyCall struct {
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// legacyResult is the legacy native result: "response" is null beside tool calls and a JSON
// object in JSON mode.
func legacyResult(r llm.Response, jsonMode, sendFinish bool) any {
	type result struct {
		Response     json.RawMessage `json:"response"`
		ToolCalls    []legacyCall    `json:"tool_calls,omitempty"`
		FinishReason string          `json:"finish_reason,omitempty"`
		Usage        *wireUsage      `json:"usage"`
	}
	res := result{Usage: toWireUsage(r.Usage, familyLegacy)}
	switch trimmed := strings.TrimSpace(r.Text); {
	case r.Text == "" && len(r.ToolCalls) > 0:
		res.Response = json.RawMessage("null")
	case jsonMode && json.Valid([]byte(trimmed)):
		res.Response = json.RawMessage(trimmed)
	default:
		res.Response, _ = json.Marshal(r.Text)
	}
	for _, c := range r.ToolCalls {
		args, _ := compactArguments(c.Arguments)
		res.ToolCalls = append(res.ToolCalls, legacyCall{c.Name, args})
	}
	if sendFinish {
		res.FinishReason = r.FinishReason
	}
	return res
}

type completionCall struct {
	ID       string       `json:"id"`
	Type     string       `json:"type"`
	Function functionCall `json:"function"`
}

type functionCall struct {
	Name      string `json:"name"`
	Arguments string `json:"arguments"`
}

// chatCompletion is an OpenAI chat.completion; tool-call arguments are JSON strings.
func chatCompletion(ex *exchange, r llm.Response) any {
	type message struct {
		Role             string           `json:"role"`
		Content          *string          `json:"content"`
		ReasoningContent string           `json:"reasoning_content,omitempty"`
		ToolCalls        []completionCall `json:"tool_calls,omitempty"`
	}
	type choice struct {
		Index        int     `json:"index"`
		Message      message `json:"message"`
		FinishReason string  `json:"finish_reason"`
	}
	msg := message{Role: "assistant", ReasoningContent: r.Reasoning}
	if r.Text != "" || len(r.ToolCalls) == 0 {
		msg.Content = &r.Text
	}
	for i, c := range r.ToolCalls {
		args, _ := compactArguments(c.Arguments)
		msg.ToolCalls = append(msg.ToolCalls, completionCall{callID(ex, c, i), "function", functionCall{c.Name, string(args)}})
	}
	return struct {
		ID      string     `json:"id"`
		Object  string     `json:"object"`
		Created int64      `json:"created"`
		Model   string     `json:"model"`
		Choices []choice   `json:"choices"`
		Usage   *wireUsage `json:"usage"`
	}{chatID(ex), "chat.completion", created, ex.model,
		[]choice{{0, msg, r.FinishReason}}, toWireUsage(r.Usage, familyChat)}
}

// chatID follows the recorded ids: chatcmpl-<request id> on /ai/run, id-<epoch ms> on
// /ai/v1 (llm/testdata/recorded/README.md).
func chatID(ex *exchange) string {
	if ex.route == routeRun {
		return "chatcmpl-" + ex.reqID
	}
	return "id-" + strconv.FormatInt(created*1000+ex.seq, 10)
}

func callID(ex *exchange, c llm.ToolCall, i int) string {
	if c.ID != "" {
		return c.ID
	}
	return fmt.Sprintf("chatcmpl-tool-%d-%d", ex.seq, i)
}

// compactArguments returns tool-call arguments as compact JSON object text; nil means {}.
func compactArguments(raw json.RawMessage) (json.RawMessage, error) {
	raw = json.RawMessage(strings.TrimSpace(string(raw)))
	if len(raw) == 0 {
		return json.RawMessage("{}"), nil
	}
	var b bytes.Buffer
	if raw[0] != '{' || json.Compact(&b, raw) != nil {
		return nil, fmt.Errorf("arguments are not a JSON object: %.200s", raw)
	}
	return b.Bytes(), nil
}

// splitResponse turns a fixed reply into stream deltas: reasoning and text a word at a
// time, then all tool calls.
func splitResponse(r llm.Response) []llm.Delta {
	var ds []llm.Delta
	for _, w := range words(r.Reasoning) {
		ds = append(ds, llm.Delta{Reasoning: w})
	}
	for _, w := range words(r.Text) {
		ds = append(ds, llm.Delta{Text: w})
	}
	if len(r.ToolCalls) > 0 {
		ds = append(ds, llm.Delta{ToolCalls: r.ToolCalls})
	}
	return ds
}

// words splits s before each run of spaces that follows a non-space: "a b  c" gives
// "a", " b", "  c". Joined, the pieces are s.
func words(s string) []string {
	var out []string
	start := 0
	for i := 1; i < len(s); i++ {
		if s[i] == ' ' && s[i-1] != ' ' {
			out = append(out, s[start:i])
			start = i
		}
	}
	if start < len(s) {
		out = append(out, s[start:])
	}
	return out
}

// halves splits s in two at a rune boundary, so that streamed arguments arrive in pieces.
func halves(s string) []string {
	if len(s) < 2 {
		return []string{s}
	}
	mid := len(s) / 2
	for mid > 0 && !utf8.RuneStart(s[mid]) {
		mid--
	}
	return []string{s[:mid], s[mid:]}
}

// padding stands in for the random "p" field that pads the live service's native stream
// events.
func padding(i int) string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	return letters[:1+(i*7)%len(letters)]
}

type streamCall struct {
	ID       string     `json:"id,omitempty"`
	Type     string     `json:"type,omitempty"`
	Index    int        `json:"index"`
	Function streamFunc `json:"function"`
}

type streamFunc struct {
	Name      string  `json:"name,omitempty"`
	Arguments *string `json:"arguments,omitempty"`
}

// callEvents streams one call as a start chunk (id, type, name) then argument pieces, all
// keyed by index, as OpenAI-style streams send them.
func callEvents(ex *exchange, c llm.ToolCall, index int, startArgs *string, emit func(streamCall)) {
	emit(streamCall{ID: callID(ex, c, index), Type: "function", Index: index, Function: streamFunc{Name: c.Name, Arguments: startArgs}})
	args, _ := compactArguments(c.Arguments)
	for _, part := range halves(string(args)) {
		emit(streamCall{Index: index, Function: streamFunc{Arguments: &part}})
	}
}

// mustJSON marshals values built in this package, which always marshal (user values are
// checked by JSON before they get here). HTML characters are not escaped, as the service
// does not escape them.
func mustJSON(v any) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic("llmtest: marshal reply: " + err.Error())
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// streamErrorEvent is an error sent inside a stream after the 200.
func streamErrorEvent(err error) string {
	code, msg := 0, err.Error()
	if e, ok := errors.AsType[*llm.Error](err); ok {
		code, msg = e.Code, e.Message
	}
	return mustJSON(map[string][]routerErr{"errors": {{code, msg}}})
}

// legacyEvents is the native stream of legacy models: {"response","p"} per piece, tool
// calls by index, a {"response":"","usage"} tail, then [DONE] (fixture native-stream-text.sse).
func legacyEvents(ex *exchange, deltas []llm.Delta, finish string, u llm.Usage, sendFinish bool, streamErr error) []string {
	type chunk struct {
		Response     *string      `json:"response,omitempty"`
		ToolCalls    []streamCall `json:"tool_calls,omitempty"`
		P            string       `json:"p,omitempty"`
		FinishReason string       `json:"finish_reason,omitempty"`
		Usage        *wireUsage   `json:"usage,omitempty"`
	}
	var events []string
	index := 0
	for _, d := range deltas {
		if d.Text != "" {
			events = append(events, mustJSON(chunk{Response: &d.Text, P: padding(len(events))}))
		}
		for _, c := range d.ToolCalls {
			callEvents(ex, c, index, nil, func(sc streamCall) {
				events = append(events, mustJSON(chunk{ToolCalls: []streamCall{sc}, P: padding(len(events))}))
			})
			index++
		}
	}
	if streamErr != nil {
		return append(events, streamErrorEvent(streamErr))
	}
	tail := chunk{Response: new(""), Usage: toWireUsage(u, familyLegacy)}
	if sendFinish {
		tail.FinishReason = finish
	}
	return append(events, mustJSON(tail), "[DONE]")
}

// chatEvents is an OpenAI chat.completion.chunk stream: a role chunk, content, reasoning
// and tool-call deltas, a finish_reason chunk, a usage chunk with empty choices, [DONE].
func chatEvents(ex *exchange, deltas []llm.Delta, finish string, u llm.Usage, streamErr error) []string {
	type delta struct {
		Role             string       `json:"role,omitempty"`
		Content          *string      `json:"content,omitempty"`
		ReasoningContent string       `json:"reasoning_content,omitempty"`
		ToolCalls        []streamCall `json:"tool_calls,omitempty"`
	}
	type choice struct {
		Index        int     `json:"index"`
		Delta        delta   `json:"delta"`
		FinishReason *string `json:"finish_reason"`
	}
	type chunk struct {
		ID      string     `json:"id"`
		Object  string     `json:"object"`
		Created int64      `json:"created"`
		Model   string     `json:"model"`
		Choices []choice   `json:"choices"`
		Usage   *wireUsage `json:"usage,omitempty"`
	}
	id := chatID(ex)
	event := func(d delta, fr *string) string {
		return mustJSON(chunk{id, "chat.completion.chunk", created, ex.model, []choice{{0, d, fr}}, nil})
	}
	events := []string{event(delta{Role: "assistant", Content: new("")}, nil)}
	index := 0
	for _, d := range deltas {
		if d.Reasoning != "" {
			events = append(events, event(delta{ReasoningContent: d.Reasoning}, nil))
		}
		if d.Text != "" {
			events = append(events, event(delta{Content: &d.Text}, nil))
		}
		for _, c := range d.ToolCalls {
			callEvents(ex, c, index, new(""), func(sc streamCall) {
				events = append(events, event(delta{ToolCalls: []streamCall{sc}}, nil))
			})
			index++
		}
	}
	if streamErr != nil {
		return append(events, streamErrorEvent(streamErr))
	}
	events = append(events, event(delta{}, &finish))
	events = append(events, mustJSON(chunk{id, "chat.completion.chunk", created, ex.model, []choice{}, toWireUsage(u, familyChat)}))
	return append(events, "[DONE]")
}

func (r Reply) applyHeaders(h http.Header) {
	for _, kv := range r.headers {
		h.Set(kv[0], kv[1])
	}
}

// shape is the body layout of a text-generation answer. The live service answers each
// model family in its own layout, down to key order and keys sent as null, as the files in
// llm/testdata/recorded show; clients that decode one layout and not another fail on the
// live service, so the emulator answers each family as the service does.
type shape int

const (
	shapeLegacy   shape = iota // {"response", "tool_calls", "usage"} on /ai/run
	shapeOpenAI                // the generic OpenAI-compatible server: OpenAI's chat.completion
	shapeVLLM                  // vLLM's chat.completion: keys sorted, unset keys sent as null
	shapeHybrid                // llama-3.3 on /ai/run: shapeVLLM plus legacy "response" and "tool_calls"
	shapeSorted                // GLM and Gemma 4: sorted keys, no null extras, reasoning_content
	shapeNemotron              // Nemotron: vLLM's keys in declaration order, tool_calls always present
)

// hybridModel answers /ai/run with the hybrid body
// (llm/testdata/recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__ai-run-llama-3.3-70b-hybrid.json).
const hybridModel = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"

// hybridEcho is the model id the hybrid body reports: the service names its serving variant,
// not the id requested.
const hybridEcho = "@cf/meta/llama-3.3-70b-instruct-sd"

func shapeOf(ex *exchange) shape {
	switch {
	case ex.route.compat():
		return shapeOpenAI
	case ex.route == routeRun && ex.model == hybridModel:
		return shapeHybrid
	case familyOf(ex) == familyLegacy:
		return shapeLegacy
	case strings.Contains(ex.model, "/glm-"), strings.Contains(ex.model, "/gemma-4"):
		return shapeSorted
	case strings.Contains(ex.model, "/nemotron"):
		return shapeNemotron
	}
	return shapeVLLM
}

// object builds a JSON object that keeps its keys in the order given: key, value, key,
// value, ...
func object(kv ...any) *jsonorder.Object {
	o := &jsonorder.Object{}
	for i := 0; i+1 < len(kv); i += 2 {
		o.Set(kv[i].(string), kv[i+1])
	}
	return o
}

// orNull is s, or null when s is empty.
func orNull(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// liveCompletion is a chat.completion in the layout the service uses for the model:
//   - vLLM-served models (gpt-oss, llama-3.3, qwen3 and, by default, the rest) sort their
//     keys and send the keys they do not use as null: logprobs, annotations, audio,
//     function_call, refusal, reasoning, routed_experts, stop_reason, token_ids; on /ai/run
//     the result also carries vLLM's request-level keys (ec_transfer_params, metrics,
//     prompt_text, ...) and gpt-oss repeats its reasoning as reasoning_content;
//   - llama-3.3-70b on /ai/run adds the legacy "response" (an object when the text is a JSON
//     object or array, whether or not JSON mode was asked for) and "tool_calls", and names
//     its serving variant as the model;
//   - GLM and Gemma 4 send no null keys and their reasoning as reasoning_content, with the
//     keys of the result sorted on /ai/run (llm/testdata/workers-ai/openai-chat-completion.response.json,
//     Gemma 4 through the Workers binding) and id, object, created, model first on /ai/v1;
//   - Nemotron keeps vLLM's declaration order and always sends tool_calls.
func liveCompletion(ex *exchange, sh shape, r llm.Response) *jsonorder.Object {
	calls := make([]completionCall, 0, len(r.ToolCalls))
	for i, c := range r.ToolCalls {
		args, _ := compactArguments(c.Arguments)
		calls = append(calls, completionCall{callID(ex, c, i), "function", functionCall{c.Name, string(args)}})
	}
	var content any = r.Text
	if r.Text == "" && (len(calls) > 0 || r.Reasoning != "") && sh != shapeSorted {
		content = nil
	}
	usage := toWireUsage(r.Usage, familyChat)
	var choice *jsonorder.Object
	switch sh {
	case shapeSorted:
		msg := object("content", r.Text)
		if r.Reasoning != "" {
			msg.Set("reasoning_content", r.Reasoning)
		}
		msg.Set("role", "assistant")
		if len(calls) > 0 {
			msg.Set("tool_calls", calls)
		}
		choice = object("finish_reason", r.FinishReason, "index", 0, "logprobs", nil, "message", msg)
	case shapeNemotron:
		msg := object("role", "assistant", "content", content, "refusal", nil, "annotations", nil,
			"audio", nil, "function_call", nil, "tool_calls", calls, "reasoning", orNull(r.Reasoning))
		choice = object("index", 0, "message", msg, "logprobs", nil, "finish_reason", r.FinishReason,
			"stop_reason", nil, "token_ids", nil)
	default:
		msg := object("annotations", nil, "audio", nil, "content", content, "function_call", nil,
			"reasoning", orNull(r.Reasoning))
		if r.Reasoning != "" && strings.Contains(ex.model, "/gpt-oss") {
			msg.Set("reasoning_content", r.Reasoning)
		}
		msg.Set("refusal", nil)
		msg.Set("role", "assistant")
		if len(calls) > 0 {
			msg.Set("tool_calls", calls)
		}
		choice = object("finish_reason", r.FinishReason, "index", 0, "logprobs", nil, "message", msg,
			"routed_experts", nil, "stop_reason", nil, "token_ids", nil)
	}
	choices := []any{choice}
	switch {
	case ex.route == routeRun && sh == shapeSorted:
		return object("choices", choices, "created", created, "id", chatID(ex), "model", ex.model,
			"object", "chat.completion", "usage", usage)
	case ex.route != routeRun || sh == shapeSorted || sh == shapeNemotron:
		return object("id", chatID(ex), "object", "chat.completion", "created", created, "model", ex.model,
			"choices", choices, "usage", usage)
	}
	model := ex.model
	if sh == shapeHybrid {
		model = hybridEcho
	}
	res := object("choices", choices, "created", created, "ec_transfer_params", nil, "id", chatID(ex),
		"kv_transfer_params", nil, "metrics", nil, "model", model, "object", "chat.completion",
		"prompt_logprobs", nil, "prompt_text", nil, "prompt_token_ids", nil)
	if sh == shapeHybrid {
		res.Set("response", hybridResponse(r))
	}
	res.Set("service_tier", nil)
	if sh == shapeHybrid {
		// Flat legacy calls; the recorded hybrid body has none, so their form is unconfirmed.
		legacy := make([]legacyCall, 0, len(r.ToolCalls))
		for _, c := range r.ToolCalls {
			args, _ := compactArguments(c.Arguments)
			legacy = append(legacy, legacyCall{c.Name, args})
		}
		res.Set("tool_calls", legacy)
	}
	res.Set("usage", usage)
	return res
}

// hybridResponse is the legacy "response" of the hybrid body: the text, parsed when it is
// a JSON object or array, and null beside tool calls with no text.
func hybridResponse(r llm.Response) any {
	t := strings.TrimSpace(r.Text)
	switch {
	case r.Text == "" && len(r.ToolCalls) > 0:
		return nil
	case (strings.HasPrefix(t, "{") || strings.HasPrefix(t, "[")) && json.Valid([]byte(t)):
		return json.RawMessage(t)
	}
	return r.Text
}

// streamUsage is usage as the chat-style streams send it, in their key order.
type streamUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	TotalTokens      int `json:"total_tokens"`
	CompletionTokens int `json:"completion_tokens"`
}

// liveEvents is the chat.completion.chunk stream of the service's chat-style models, as
// llm/testdata/recorded/flzxing__llm-chat-app-template__ai-run-qwen3-30b-stream-tool-call.json
// shows it: no "p" padding and no native tail; every chunk carries logprobs and
// token_ids as null; a tool call starts with its id, type and name and no arguments; the
// finish chunk has an empty content delta and stop_reason; a last chunk with no choices
// carries the usage, then [DONE]. Without stream_options every chunk also carries the
// usage so far (running totals, not increments); with stream_options.include_usage only
// the last chunk does, as OpenAI defines it. The recorded stream is from /ai/run; /ai/v1
// streams are answered the same way, which no recording confirms yet.
func liveEvents(ex *exchange, deltas []llm.Delta, finish string, u llm.Usage, streamErr error) []string {
	var opts struct {
		StreamOptions *struct {
			IncludeUsage bool `json:"include_usage"`
		} `json:"stream_options"`
	}
	_ = json.Unmarshal(ex.body, &opts) // the body was parsed before
	running := opts.StreamOptions == nil

	id := chatID(ex)
	var pieces []*jsonorder.Object
	index := 0
	for _, d := range deltas {
		if d.Reasoning != "" {
			pieces = append(pieces, object("reasoning_content", d.Reasoning))
		}
		if d.Text != "" {
			pieces = append(pieces, object("content", d.Text))
		}
		for _, c := range d.ToolCalls {
			callEvents(ex, c, index, nil, func(sc streamCall) {
				pieces = append(pieces, object("tool_calls", []streamCall{sc}))
			})
			index++
		}
	}
	// Running totals: the completion tokens rise with each piece and reach the total at the
	// finish chunk.
	usageAt := func(i int) any {
		if !running {
			return nil
		}
		c := 0
		if len(pieces) > 0 {
			c = u.CompletionTokens * i / len(pieces)
		}
		return streamUsage{u.PromptTokens, u.PromptTokens + c, c}
	}
	event := func(choice *jsonorder.Object, usage any, extra ...any) string {
		ev := object("id", id, "object", "chat.completion.chunk", "created", created, "model", ex.model,
			"choices", []any{choice})
		if usage != nil {
			ev.Set("usage", usage)
		}
		for i := 0; i+1 < len(extra); i += 2 {
			ev.Set(extra[i].(string), extra[i+1])
		}
		return mustJSON(ev)
	}
	first := object("index", 0, "delta", object("role", "assistant", "content", ""), "logprobs", nil, "finish_reason", nil)
	events := []string{event(first, usageAt(0), "prompt_token_ids", nil)}
	for i, p := range pieces {
		events = append(events, event(object("index", 0, "delta", p, "logprobs", nil, "finish_reason", nil, "token_ids", nil), usageAt(i+1)))
	}
	if streamErr != nil {
		return append(events, streamErrorEvent(streamErr))
	}
	last := object("index", 0, "delta", object("content", ""), "logprobs", nil, "finish_reason", finish,
		"stop_reason", nil, "token_ids", nil)
	events = append(events, event(last, usageAt(len(pieces))))
	total := streamUsage{u.PromptTokens, u.TotalTokens, u.CompletionTokens}
	events = append(events, mustJSON(object("id", id, "object", "chat.completion.chunk", "created", created,
		"model", ex.model, "choices", []any{}, "usage", total)))
	return append(events, "[DONE]")
}

// sortedEvents is the /ai/run stream of GLM and Gemma 4, as
// llm/testdata/workers-ai/run-chatcompletions-model-stream.sse and openai-stream-chunks.sse
// show it (both captured through the Workers binding): chat.completion.chunk events with
// sorted keys and a "p" pad, each carrying the usage of that chunk alone (the prompt in the
// first, the completion tokens spread over the pieces), a finish chunk, a chunk with no
// choices, then the native {"response":"","usage"} tail with the totals, and [DONE].
// matched_stop is a token id when the model stopped on a stop token (the emulator's is
// made up) and null otherwise. The stream is the same whatever stream_options says; how
// the live models answer stream_options, and how they stream tool calls, is unconfirmed.
func sortedEvents(ex *exchange, deltas []llm.Delta, finish string, u llm.Usage, streamErr error) []string {
	type chunkUsage struct { // every key always sent, zeros included
		PromptTokens        int          `json:"prompt_tokens"`
		CompletionTokens    int          `json:"completion_tokens"`
		TotalTokens         int          `json:"total_tokens"`
		PromptTokensDetails cachedTokens `json:"prompt_tokens_details"`
		Neurons             float64      `json:"neurons"`
	}
	usageOf := func(prompt, cached, completion int) chunkUsage {
		part := llm.Usage{PromptTokens: prompt, CompletionTokens: completion, CachedTokens: cached}
		return chunkUsage{prompt, completion, prompt + completion, cachedTokens{cached}, neuronsFor(ex.model, part)}
	}
	var pieces []*jsonorder.Object
	index := 0
	for _, d := range deltas {
		if d.Reasoning != "" {
			pieces = append(pieces, object("reasoning_content", d.Reasoning))
		}
		if d.Text != "" {
			pieces = append(pieces, object("content", d.Text, "reasoning_content", nil))
		}
		for _, c := range d.ToolCalls {
			callEvents(ex, c, index, nil, func(sc streamCall) {
				pieces = append(pieces, object("reasoning_content", nil, "tool_calls", []streamCall{sc}))
			})
			index++
		}
	}
	id := strings.ReplaceAll(ex.reqID, "-", "")
	var events []string
	event := func(choices []any, usage chunkUsage) {
		events = append(events, mustJSON(object("choices", choices, "created", created, "id", id, "model", ex.model,
			"object", "chat.completion.chunk", "p", padding(len(events)), "usage", usage)))
	}
	choice := func(delta *jsonorder.Object, finish, matched any) []any {
		return []any{object("delta", delta, "finish_reason", finish, "index", 0, "logprobs", nil, "matched_stop", matched)}
	}
	event(choice(object("content", "", "reasoning_content", nil, "role", "assistant"), nil, nil), usageOf(u.PromptTokens, u.CachedTokens, 0))
	for i, p := range pieces {
		c := u.CompletionTokens*(i+1)/len(pieces) - u.CompletionTokens*i/len(pieces)
		event(choice(p, nil, nil), usageOf(0, 0, c))
	}
	if streamErr != nil {
		return append(events, streamErrorEvent(streamErr))
	}
	var matched any
	if finish == "stop" {
		matched = 1
	}
	event(choice(object("reasoning_content", nil), finish, matched), usageOf(0, 0, 0))
	event([]any{}, usageOf(0, 0, 0))
	return append(events, mustJSON(object("response", "", "usage", toWireUsage(u, familyChat))), "[DONE]")
}

// scriptReply is one reply of a script file; see ParseScript.
type scriptReply struct {
	Text         *string           `json:"text"`
	Reasoning    string            `json:"reasoning"`
	Calls        []scriptCall      `json:"calls"`
	JSON         json.RawMessage   `json:"json"`
	SSE          []string          `json:"sse"`
	Raw          *string           `json:"raw"`
	ContentType  string            `json:"content_type"`
	Error        *scriptError      `json:"error"`
	Model        bool              `json:"model"`
	Latency      string            `json:"latency"`
	RetryAfter   string            `json:"retry_after"`
	Headers      map[string]string `json:"headers"`
	FinishReason string            `json:"finish_reason"`
	Usage        *struct {
		PromptTokens     int     `json:"prompt_tokens"`
		CompletionTokens int     `json:"completion_tokens"`
		CachedTokens     int     `json:"cached_tokens"`
		Neurons          float64 `json:"neurons"`
	} `json:"usage"`
	CutAfter *int `json:"cut_after"`
}

type scriptCall struct {
	ID        string          `json:"id"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

type scriptError struct {
	Status  int    `json:"status"`
	Code    int    `json:"code"`
	Message string `json:"message"`
}

// ParseScript reads a script of replies and returns the Handler that Script(replies...)
// would. The script is JSON: an array of reply objects, or reply objects one after another
// (JSON Lines). Each object is one reply, in the vocabulary of Reply:
//
//	{"text": "Hello"}                                      Text
//	{"text": "Let me check.", "reasoning": "The user..."}  Response, with reasoning
//	{"calls": [{"name": "get_weather", "arguments": {"city": "Paris"}}]}  Calls; "id" is optional
//	{"json": {"response": [{"id": 0, "score": 0.9}]}}      JSON
//	{"sse": ["{\"response\":\"Hi\"}", "[DONE]"]}           SSE
//	{"raw": "not json", "content_type": "text/plain"}      Raw
//	{"error": {"status": 429, "code": 3040, "message": "Capacity temporarily exceeded"}}  Fail
//	{"model": true}                                        Model: the built-in emulation
//
// and these keys add faults and details to any of them: "latency" (a time.ParseDuration
// string such as "1.5s"), "retry_after", "headers" (an object of header values),
// "finish_reason", "usage" ({"prompt_tokens", "completion_tokens", "cached_tokens",
// "neurons"}) and "cut_after" (events of a stream, or bytes of a body). "text", "reasoning"
// and "calls" combine into one reply; every other kind stands alone. Unknown keys are errors.
func ParseScript(r io.Reader) (Handler, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("llmtest: read script: %w", err)
	}
	var raws []json.RawMessage
	if t := bytes.TrimSpace(data); len(t) > 0 && t[0] == '[' {
		if err := json.Unmarshal(t, &raws); err != nil {
			return nil, fmt.Errorf("llmtest: script: %w", err)
		}
	} else {
		dec := json.NewDecoder(bytes.NewReader(data))
		for {
			var m json.RawMessage
			if err := dec.Decode(&m); err == io.EOF {
				break
			} else if err != nil {
				return nil, fmt.Errorf("llmtest: script: reply %d: %w", len(raws)+1, err)
			}
			raws = append(raws, m)
		}
	}
	replies := make([]Reply, len(raws))
	for i, raw := range raws {
		if replies[i], err = parseScriptReply(raw); err != nil {
			return nil, fmt.Errorf("llmtest: script: reply %d: %w", i+1, err)
		}
	}
	return Script(replies...), nil
}

func parseScriptReply(raw json.RawMessage) (Reply, error) {
	var sr scriptReply
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&sr); err != nil {
		return Reply{}, err
	}
	var kinds []string
	for _, k := range []struct {
		name string
		set  bool
	}{
		{"text, reasoning or calls", sr.Text != nil || sr.Reasoning != "" || sr.Calls != nil},
		{"json", sr.JSON != nil}, {"sse", sr.SSE != nil}, {"raw", sr.Raw != nil},
		{"error", sr.Error != nil}, {"model", sr.Model},
	} {
		if k.set {
			kinds = append(kinds, k.name)
		}
	}
	if len(kinds) != 1 {
		return Reply{}, fmt.Errorf("a reply needs exactly one of text/reasoning/calls, json, sse, raw, error or model; it has %d (%s)", len(kinds), strings.Join(kinds, ", "))
	}
	var rep Reply
	switch {
	case sr.JSON != nil:
		rep = JSON(sr.JSON)
	case sr.SSE != nil:
		rep = SSE(sr.SSE...)
	case sr.Raw != nil:
		ct := sr.ContentType
		if ct == "" {
			ct = "application/octet-stream"
		}
		rep = Raw(ct, []byte(*sr.Raw))
	case sr.Error != nil:
		if sr.Error.Status < 100 || sr.Error.Status > 999 {
			return Reply{}, fmt.Errorf("error.status %d is not an HTTP status", sr.Error.Status)
		}
		rep = Fail(sr.Error.Status, sr.Error.Code, sr.Error.Message)
	case sr.Model:
		rep = Model()
	default:
		r := llm.Response{Reasoning: sr.Reasoning}
		if sr.Text != nil {
			r.Text = *sr.Text
		}
		for j, c := range sr.Calls {
			if c.Name == "" {
				return Reply{}, fmt.Errorf("calls[%d]: name is required", j)
			}
			if _, err := compactArguments(c.Arguments); err != nil {
				return Reply{}, fmt.Errorf("calls[%d]: %w", j, err)
			}
			r.ToolCalls = append(r.ToolCalls, llm.ToolCall{ID: c.ID, Name: c.Name, Arguments: c.Arguments})
		}
		rep = Response(r)
	}
	if sr.ContentType != "" && sr.Raw == nil {
		rep = rep.WithContentType(sr.ContentType)
	}
	if sr.Latency != "" {
		d, err := time.ParseDuration(sr.Latency)
		if err != nil || d < 0 {
			return Reply{}, fmt.Errorf("latency %q is not a duration such as \"1.5s\"", sr.Latency)
		}
		rep = rep.WithLatency(d)
	}
	if sr.RetryAfter != "" {
		rep = rep.WithRetryAfter(sr.RetryAfter)
	}
	for _, k := range slices.Sorted(maps.Keys(sr.Headers)) {
		rep = rep.WithHeader(k, sr.Headers[k])
	}
	if sr.FinishReason != "" {
		rep = rep.WithFinishReason(sr.FinishReason)
	}
	if u := sr.Usage; u != nil {
		rep = rep.WithUsage(llm.Usage{PromptTokens: u.PromptTokens, CompletionTokens: u.CompletionTokens,
			CachedTokens: u.CachedTokens, Neurons: u.Neurons})
	}
	if sr.CutAfter != nil {
		rep = rep.CutAfter(*sr.CutAfter)
	}
	return rep, nil
}
