package llmtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/gowai/gowai/internal/jsonorder"
	"github.com/gowai/gowai/llm"
)

// DefaultTestModelID is the model id a TestModel reports unless WithModelID changes it.
const DefaultTestModelID = "@cf/gowai/test-model"

// TestModel is a deterministic llm.Model that answers in memory, without HTTP, so that
// programs built on gowai can be tested offline. The same request always gets the same
// response, and a TestModel is safe for concurrent use. For each request it:
//
//   - returns ctx.Err() when the context is done;
//   - checks the request as a real server would, returning an *llm.Error with status 400
//     and code 5006 (errors.Is(err, llm.ErrBadInput)) when there are no messages, a
//     message has an unknown role, a tool message's ToolCallID answers no call made by an
//     earlier assistant message, or ToolChoice names no offered tool;
//   - when tools are offered and ToolChoice is not "none", calls in one turn every offered
//     tool that no assistant message of the conversation has called yet, in the order
//     offered, with arguments built from tool.Parameters as described below; call IDs are "call_<n>",
//     numbered on from the calls already in the conversation, and FinishReason is
//     "tool_calls". A ToolChoice naming a tool calls that tool alone, even when it was
//     called before, unless the last message is that tool's result; ToolChoice "required"
//     calls the first tool again once every tool has been called;
//   - otherwise, when Format is set, answers with a value of Format.Schema as compact JSON,
//     or {"answer":"<summary>"} when the schema is nil;
//   - otherwise, when a system message holds a JSON Schema in a ```json fenced block (how
//     prompt-mode structured output asks for JSON), answers with a value of that schema;
//   - otherwise answers with a summary of the request, such as
//     test model: received 3 messages (last user message: "what is 2+2?"); tool results: calc -> 4
//     where the last user message is cut to 200 runes and each tool result to 80. The
//     summary always starts with "test model:", so it cannot pass for a real model's answer.
//
// Tool arguments and JSON answers are built as Example builds them, always valid for the
// schema, but read from the request so that different inputs get different answers:
//
//   - a string property named expression, expr, formula, query, search, search_query,
//     question, text, input, q or prompt (case, "_" and "-" ignored) gets the last user
//     message, cut to 200 runes and to maxLength, even when the schema has examples; for
//     expression, expr and formula only the longest run of arithmetic in it, so "What is
//     2+2?" gives "2+2";
//   - otherwise a value with examples gets one of them, picked by a hash of the messages;
//     numeric examples and defaults are scaled by a factor between 1 and 1.9 (integers stay
//     integers) and date or date-time examples move by up to 27 days, by the same hash, so
//     equal examples stay equal within one answer; enum values the last user message
//     mentions as a word come first, then the enum in order;
//   - a number without examples, default, const or enum gets a number of the last user
//     message that fits its bounds, and a plain string (no format or pattern) one to three
//     consecutive words of it; failing that, the value Example would build, moved a few
//     steps (a number up by 1 to 9 steps, a formatted string to another valid one).
//
// Every choice depends only on the messages and the schema: the same request always gets
// the same answer. Answers are cached per request and schema (up to 1024).
//
// Usage counts one token per four runes (at least one): message contents for
// PromptTokens, text and tool-call arguments for CompletionTokens; Neurons is 0. Text
// longer than MaxTokens*4 runes (llm.DefaultMaxTokens when MaxTokens is 0) is cut to that
// length with FinishReason "length", so that truncation handling can be tested.
//
// Stream delivers the same response as Generate in deltas of WithChunkSize runes; the
// last delta carries FinishReason, Usage and any tool calls.
type TestModel struct {
	cfg testModelConfig

	mu       sync.Mutex
	examples map[string]exampleResult // answers are deterministic and costly: kept per request and schema
}

type exampleResult struct {
	out json.RawMessage
	err error
}

// maxCachedExamples bounds the per-model cache of generated answers.
const maxCachedExamples = 1024

// example is the answer for schema to the request h digests, remembered per request and
// schema.
func (m *TestModel) example(schema json.RawMessage, h *requestHint) (json.RawMessage, error) {
	key := h.key + string(schema)
	m.mu.Lock()
	r, ok := m.examples[key]
	m.mu.Unlock()
	if ok {
		return bytes.Clone(r.out), r.err
	}
	out, err := example(schema, h)
	m.mu.Lock()
	if m.examples == nil || len(m.examples) >= maxCachedExamples {
		m.examples = make(map[string]exampleResult)
	}
	m.examples[key] = exampleResult{bytes.Clone(out), err}
	m.mu.Unlock()
	return out, err
}

var _ llm.Model = (*TestModel)(nil)

type testModelConfig struct {
	id        string
	chunkSize int
}

// TestModelOption configures a TestModel.
type TestModelOption func(*testModelConfig)

// NewTestModel returns a TestModel.
func NewTestModel(opts ...TestModelOption) *TestModel {
	cfg := testModelConfig{id: DefaultTestModelID, chunkSize: 8}
	for _, o := range opts {
		o(&cfg)
	}
	return &TestModel{cfg: cfg}
}

// WithModelID sets the id reported in Response.Model; an empty id keeps the default,
// DefaultTestModelID.
func WithModelID(id string) TestModelOption {
	return func(c *testModelConfig) {
		if id != "" {
			c.id = id
		}
	}
}

// WithChunkSize sets how many runes of text each streamed delta carries (default 8);
// values below 1 keep the default.
func WithChunkSize(runes int) TestModelOption {
	return func(c *testModelConfig) {
		if runes > 0 {
			c.chunkSize = runes
		}
	}
}

const (
	userEchoRunes   = 200 // the last user message in a summary
	toolResultRunes = 80  // each tool result in a summary
)

// Generate answers req as described on TestModel.
func (m *TestModel) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	conv, err := m.check(req)
	if err != nil {
		return nil, err
	}
	resp := &llm.Response{Model: m.cfg.id, FinishReason: "stop"}
	if tools := m.toolsToCall(req, conv); len(tools) > 0 {
		resp.FinishReason = "tool_calls"
		n := len(conv.callName)
		hint := newRequestHint(req.Messages)
		for _, t := range tools {
			args, err := m.arguments(t, hint)
			if err != nil {
				return nil, err
			}
			var id string
			for used := true; used; _, used = conv.callName[id] {
				n++
				id = "call_" + strconv.Itoa(n)
			}
			resp.ToolCalls = append(resp.ToolCalls, llm.ToolCall{ID: id, Name: t.Name, Arguments: args})
		}
	} else if resp.Text, err = m.answer(req, conv); err != nil {
		return nil, err
	}

	limit := req.MaxTokens
	if limit == 0 {
		limit = llm.DefaultMaxTokens
	}
	// len(r) > limit*4, written so that a huge MaxTokens cannot overflow.
	if r := []rune(resp.Text); len(r) > 0 && limit <= (len(r)-1)/4 {
		resp.Text = string(r[:limit*4])
		resp.FinishReason = "length"
	}

	prompt := 0
	for _, msg := range req.Messages {
		prompt += utf8.RuneCountInString(msg.Content)
	}
	completion := utf8.RuneCountInString(resp.Text)
	for _, c := range resp.ToolCalls {
		completion += utf8.RuneCount(c.Arguments)
	}
	resp.Usage.PromptTokens = max(prompt/4, 1)
	resp.Usage.CompletionTokens = max(completion/4, 1)
	resp.Usage.TotalTokens = resp.Usage.PromptTokens + resp.Usage.CompletionTokens
	return resp, nil
}

// Stream answers req like Generate, in deltas of the configured chunk size. It starts no
// goroutine; a consumer that stops iterating stops it at once.
func (m *TestModel) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) {
		resp, err := m.Generate(ctx, req)
		if err != nil {
			yield(llm.Delta{}, err)
			return
		}
		text := []rune(resp.Text)
		for len(text) > m.cfg.chunkSize {
			if err := ctx.Err(); err != nil {
				yield(llm.Delta{}, err)
				return
			}
			if !yield(llm.Delta{Text: string(text[:m.cfg.chunkSize])}, nil) {
				return
			}
			text = text[m.cfg.chunkSize:]
		}
		if err := ctx.Err(); err != nil {
			yield(llm.Delta{}, err)
			return
		}
		usage := resp.Usage
		yield(llm.Delta{
			Text:         string(text),
			FinishReason: resp.FinishReason,
			ToolCalls:    resp.ToolCalls,
			Usage:        &usage,
		}, nil)
	}
}

// conversation is what a request's messages say about tool calls.
type conversation struct {
	callName map[string]string // ID of every tool call an assistant message made -> tool name
	called   map[string]bool   // names of the tools called so far
}

// check validates req the way the service's input validation would, so that bugs in an
// agent loop fail here rather than only against the real service.
func (m *TestModel) check(req llm.Request) (conversation, error) {
	conv := conversation{callName: map[string]string{}, called: map[string]bool{}}
	if len(req.Messages) == 0 {
		return conv, m.badInput("the request has no messages")
	}
	if req.MaxTokens < 0 {
		return conv, m.badInput(fmt.Sprintf("MaxTokens is %d; it must not be negative", req.MaxTokens))
	}
	for i, msg := range req.Messages {
		switch msg.Role {
		case llm.RoleSystem, llm.RoleUser:
		case llm.RoleAssistant:
			for _, c := range msg.ToolCalls {
				conv.callName[c.ID] = c.Name
				conv.called[c.Name] = true
			}
		case llm.RoleTool:
			if _, ok := conv.callName[msg.ToolCallID]; !ok {
				return conv, m.badInput(fmt.Sprintf("message %d is a tool result for call %q, which no earlier assistant message made", i, msg.ToolCallID))
			}
		default:
			return conv, m.badInput(fmt.Sprintf("message %d has unknown role %q", i, msg.Role))
		}
	}
	switch req.ToolChoice {
	case "", "auto", "none":
	case "required":
		if len(req.Tools) == 0 {
			return conv, m.badInput(`ToolChoice is "required" but no tools are offered`)
		}
	default:
		if m.tool(req, req.ToolChoice) == nil {
			return conv, m.badInput(fmt.Sprintf("ToolChoice %q names no offered tool", req.ToolChoice))
		}
	}
	return conv, nil
}

func (m *TestModel) badInput(msg string) error {
	return &llm.Error{Status: 400, Code: 5006, Message: "test model: " + msg, Model: m.cfg.id}
}

func (m *TestModel) tool(req llm.Request, name string) *llm.ToolDef {
	for i := range req.Tools {
		if req.Tools[i].Name == name {
			return &req.Tools[i]
		}
	}
	return nil
}

// toolsToCall returns the tools to call this turn; none means answer.
func (m *TestModel) toolsToCall(req llm.Request, conv conversation) []llm.ToolDef {
	switch req.ToolChoice {
	case "none":
		return nil
	case "", "auto", "required":
	default:
		last := req.Messages[len(req.Messages)-1]
		if last.Role == llm.RoleTool && conv.callName[last.ToolCallID] == req.ToolChoice {
			return nil
		}
		return []llm.ToolDef{*m.tool(req, req.ToolChoice)}
	}
	var pending []llm.ToolDef
	for _, t := range req.Tools {
		if !conv.called[t.Name] {
			pending = append(pending, t)
		}
	}
	if len(pending) == 0 && req.ToolChoice == "required" {
		pending = req.Tools[:1]
	}
	return pending
}

// arguments builds a call's arguments from the tool's parameter schema. A tool without
// parameters, or with an empty schema, gets {}.
func (m *TestModel) arguments(t llm.ToolDef, h *requestHint) (json.RawMessage, error) {
	params := bytes.TrimSpace(t.Parameters)
	if len(params) == 0 || string(params) == "true" || isEmptyObject(params) {
		return json.RawMessage("{}"), nil
	}
	args, err := m.example(params, h)
	if err != nil {
		return nil, m.badInput(fmt.Sprintf("tool %q parameters: %v", t.Name, err))
	}
	if args[0] != '{' {
		return nil, m.badInput(fmt.Sprintf("tool %q parameters do not describe a JSON object", t.Name))
	}
	return args, nil
}

func isEmptyObject(b []byte) bool {
	var m map[string]json.RawMessage
	return json.Unmarshal(b, &m) == nil && m != nil && len(m) == 0
}

// answer is the final text: JSON for the requested format, else the summary.
func (m *TestModel) answer(req llm.Request, conv conversation) (string, error) {
	summary := summarize(req.Messages, conv)
	if req.Format == nil {
		if schema := promptSchema(req.Messages); schema != nil {
			if out, err := m.example(schema, newRequestHint(req.Messages)); err == nil {
				return string(out), nil
			}
		}
		return summary, nil
	}
	if len(bytes.TrimSpace(req.Format.Schema)) == 0 {
		answer, _ := jsonorder.Marshal(summary) // cannot fail: a string always encodes
		return `{"answer":` + string(answer) + "}", nil
	}
	out, err := m.example(req.Format.Schema, newRequestHint(req.Messages))
	if err != nil {
		return "", m.badInput(fmt.Sprintf("Format.Schema: %v", err))
	}
	return string(out), nil
}

// summarize describes the request in one line: message count, last user message and the
// tool results, so that tests and examples can see data flow through an agent loop.
func summarize(msgs []llm.Message, conv conversation) string {
	var b strings.Builder
	fmt.Fprintf(&b, "test model: received %d message", len(msgs))
	if len(msgs) != 1 {
		b.WriteByte('s')
	}
	for i := len(msgs) - 1; i >= 0; i-- {
		if msgs[i].Role != llm.RoleUser {
			continue
		}
		fmt.Fprintf(&b, " (last user message: %q", cut(msgs[i].Content, userEchoRunes))
		switch n := len(msgs[i].Images); n {
		case 0:
		case 1:
			b.WriteString(", 1 image")
		default:
			fmt.Fprintf(&b, ", %d images", n)
		}
		b.WriteByte(')')
		break
	}
	sep := "; tool results: "
	for _, msg := range msgs {
		if msg.Role == llm.RoleTool {
			fmt.Fprintf(&b, "%s%s -> %s", sep, conv.callName[msg.ToolCallID], cut(msg.Content, toolResultRunes))
			sep = ", "
		}
	}
	return b.String()
}

// cut shortens s to n runes, marking a cut with "…".
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// Embed returns one unit vector of dims values per text. The vectors are NOT semantic: a
// hash of the text seeds them, so equal texts get equal vectors and different texts get
// nearly orthogonal ones (cosine near 0, spread about 1/sqrt(dims)). Use it to test
// plumbing (batching, storage, ordering), not retrieval quality. dims below 1 give empty
// vectors.
func Embed(texts []string, dims int) [][]float32 {
	out := make([][]float32, len(texts))
	for i, text := range texts {
		if dims < 1 {
			out[i] = []float32{}
			continue
		}
		sum := sha256.Sum256([]byte(text))
		src := rand.NewPCG(binary.LittleEndian.Uint64(sum[:8]), binary.LittleEndian.Uint64(sum[8:16]))
		v := make([]float64, dims)
		norm := 0.0
		for norm == 0 {
			for j := range v {
				// Uniform in [-1, 1) from the top 53 bits: PCG's output is fixed by its
				// algorithm, so vectors are the same on every platform and Go release.
				v[j] = float64(src.Uint64()>>11)/(1<<52) - 1
				norm += v[j] * v[j]
			}
		}
		norm = math.Sqrt(norm)
		vec := make([]float32, dims)
		for j := range v {
			vec[j] = float32(v[j] / norm)
		}
		out[i] = vec
	}
	return out
}

// promptSchema finds a JSON Schema given in a system message's ```json fenced block, the
// way a prompt asks a model without JSON mode for structured output. nil when none.
func promptSchema(msgs []llm.Message) json.RawMessage {
	for _, msg := range msgs {
		if msg.Role != llm.RoleSystem {
			continue
		}
		rest := msg.Content
		for {
			_, after, ok := strings.Cut(rest, "```json\n")
			if !ok {
				break
			}
			block, tail, ok := strings.Cut(after, "\n```")
			if !ok {
				break
			}
			rest = tail
			var probe struct {
				Type       json.RawMessage `json:"type"`
				Properties json.RawMessage `json:"properties"`
			}
			if json.Unmarshal([]byte(block), &probe) == nil && (probe.Type != nil || probe.Properties != nil) {
				return json.RawMessage(block)
			}
		}
	}
	return nil
}
