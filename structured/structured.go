package structured

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"reflect"
	"strings"

	"github.com/gowai/gowai/internal/schema"
	"github.com/gowai/gowai/llm"
)

// Result is a validated value with what it took to get it.
type Result[T any] struct {
	Value    T
	Attempts int       // answers the model gave (1 when the first was valid)
	Mode     Mode      // the mode that produced Value
	Usage    llm.Usage // summed over all attempts, failed ones included
	Raw      string    // the last answer as the model sent it: the valid one when there is no error
	// Dropped lists schema constraints the mode could not take and that were left out of the
	// schema sent to the model ("/properties/email: format=email"). They are still enforced
	// by validation, so a violation is fed back to the model on retry.
	Dropped []string
}

// Partial is one step of Stream: a best-effort T decoded from the JSON received so far.
// The last one has Done set and a fully validated Value. A Partial with Problems set and
// no Value announces that the answer so far was invalid and a new attempt starts.
type Partial[T any] struct {
	Value    T
	Done     bool
	Attempt  int      // the attempt this value belongs to, from 1
	Problems []string // set when the attempt's answer was invalid and another follows
	// Usage is what the attempts so far cost, summed; set on the Partial with Done, on the
	// ones with Problems and on the one that comes with an error, zero on the others.
	Usage llm.Usage
}

// SchemaFor returns the JSON Schema sent for T (non-struct types wrapped in {"value": ...}).
// The bytes are the caller's own copy.
func SchemaFor[T any]() (json.RawMessage, error) {
	s, err := schema.For(reflect.TypeFor[T]())
	if err != nil {
		return nil, fmt.Errorf("structured: %w", err)
	}
	return s.Document(), nil
}

// Generate asks m for a T described by prompt and returns a validated T, retrying with
// feedback up to WithMaxAttempts times.
func Generate[T any](ctx context.Context, m llm.Model, prompt string, opts ...Option) (T, error) {
	r, err := GenerateFrom[T](ctx, m, []llm.Message{llm.User(prompt)}, opts...)
	if err != nil {
		var zero T
		return zero, err
	}
	return r.Value, nil
}

// GenerateFrom is Generate over a whole conversation (system turns, history, images).
//
// Each attempt is validated in order: the JSON is extracted from the reply (fences and
// prose removed), checked against T's schema, decoded into T with unknown fields rejected,
// and passed to T's Validate method if it has one. An invalid answer is sent back with the
// list of problems; a retry carries the original conversation plus only the last invalid
// answer, so the context does not grow with attempts. An answer cut off at max_tokens (a
// reply with finish reason "length", or a tool call the llm client reports as an
// *llm.TruncatedToolCallError) is invalid like any other: the model is asked to answer more
// briefly. After the last attempt the error is a *ValidationError. Errors from the model
// (after the llm client's own retries) are returned as they are, wrapped.
//
// Once a request has been made, the *Result is non-nil even when err is not: it holds the
// Usage of every attempt (failed ones are billed too), Attempts, the Mode of the last
// request and the Raw text of the last answer; Value is the zero T unless err is nil.
func GenerateFrom[T any](ctx context.Context, m llm.Model, msgs []llm.Message, opts ...Option) (*Result[T], error) {
	c, err := newCall[T](m, msgs, opts)
	if err != nil {
		return nil, err
	}
	res := &Result[T]{}
	var last *attempt[T]
	for n := 1; n <= c.opts.maxAttempts; {
		req, dropped := c.request(last, false)
		res.Mode, res.Dropped = c.mode(), dropped
		resp, err := m.Generate(ctx, req)
		if err != nil {
			if cut, ok := truncatedCall[T](err); ok {
				res.Usage = res.Usage.Add(cut.usage)
				res.Attempts, res.Raw, last = n, cut.output, cut.attempt
				c.opts.attempted(ctx, AttemptInfo{Attempt: n, Mode: c.mode(), Problems: last.problems, Usage: cut.usage})
				n++
				continue
			}
			if c.fallback(err) {
				continue
			}
			return res, fmt.Errorf("structured: %s mode: %w", c.mode(), err)
		}
		res.Usage = res.Usage.Add(resp.Usage)
		res.Attempts = n
		last = c.check(replyText(resp.Text, resp.ToolCalls, c.mode()), resp.FinishReason)
		res.Raw = last.output
		c.opts.attempted(ctx, AttemptInfo{Attempt: n, Mode: c.mode(), Problems: last.problems, Usage: resp.Usage})
		if last.problems == nil {
			res.Value = last.value
			return res, nil
		}
		n++
	}
	return res, &ValidationError{Attempts: res.Attempts, Output: last.output, Problems: last.problems, Usage: res.Usage}
}

// cutCall is a tool call the llm client reported as cut off at max_tokens, as an invalid
// answer.
type cutCall[T any] struct {
	*attempt[T]
	usage llm.Usage
}

// truncatedCall reports whether err is an *llm.TruncatedToolCallError, and the invalid
// answer it stands for: its raw arguments, to be shown to the model with the request to
// answer more briefly, and the usage billed for it.
func truncatedCall[T any](err error) (cutCall[T], bool) {
	e, ok := errors.AsType[*llm.TruncatedToolCallError](err)
	if !ok {
		return cutCall[T]{}, false
	}
	c := cutCall[T]{attempt: &attempt[T]{output: e.RawArguments, problems: []string{cutOffProblem}}}
	if e.Response != nil {
		c.usage = e.Response.Usage
	}
	return c, true
}

// Stream is Generate with the value delivered as it arrives: each Partial holds a
// best-effort T decoded from the JSON so far; the last has Done set and is validated. If
// the finished answer is invalid (or cut off at max_tokens), a Partial with Problems
// announces the retry and the values start over. Breaking out of the loop stops the
// request.
//
// What a caller sees: a Partial whenever the JSON received has grown by a quarter since
// the previous one (so at every delta of a short answer, and a few dozen times over a long
// one: the whole stream costs a small multiple of decoding the answer once, however it is
// cut). Within one attempt, partial values only grow: fields and elements appear, a string
// grows as it arrives, a number or true/false/null appears only once it is complete (12 is
// never shown for 125). Partial values are decoded leniently (unknown fields ignored) and
// not validated. The Partial with Done, the one with Problems and the error Partial carry
// Usage, summed over the attempts so far; the others carry none.
//
// JSON mode cannot stream on Workers AI and tool-call arguments arrive whole, so ModeAuto
// streams in prompt mode, where the JSON arrives token by token.
func Stream[T any](ctx context.Context, m llm.Model, prompt string, opts ...Option) iter.Seq2[Partial[T], error] {
	return func(yield func(Partial[T], error) bool) {
		c, err := newCall[T](m, []llm.Message{llm.User(prompt)}, opts)
		if err != nil {
			yield(Partial[T]{}, err)
			return
		}
		if c.opts.mode == ModeAuto {
			c.modes = []Mode{ModePrompt}
		}
		var (
			last  *attempt[T]
			usage llm.Usage
			n     int
		)
		for n = 1; n <= c.opts.maxAttempts; n++ {
			attemptStart := usage
			req, _ := c.request(last, true)
			var (
				text   []byte
				calls  []llm.ToolCall
				finish string
				scan   = newScan()
				shown  []byte // the document of the last Partial
				seen   int    // len(text) when a Partial was last considered
				cut    *attempt[T]
			)
			for d, err := range m.Stream(ctx, req) {
				if err != nil {
					if tc, ok := truncatedCall[T](err); ok {
						usage = usage.Add(tc.usage)
						cut = tc.attempt
						break
					}
					yield(Partial[T]{Attempt: n, Usage: usage}, fmt.Errorf("structured: %s mode: %w", c.mode(), err))
					return
				}
				if d.Usage != nil {
					usage = usage.Add(*d.Usage)
				}
				calls = append(calls, d.ToolCalls...)
				if d.FinishReason != "" {
					finish = d.FinishReason
				}
				if d.Text == "" {
					continue
				}
				text = append(text, d.Text...)
				scan.scan(text)
				// Geometric spacing keeps the total work linear: each Partial costs O(len(text)).
				if scan.tok == tokNumber || len(text)-seen < seen/4 {
					continue
				}
				seen = len(text)
				doc, ok := scan.complete(text)
				if !ok || bytes.Equal(doc, shown) {
					continue
				}
				if v, err := c.decode(doc, false); err == nil {
					shown = doc
					if !yield(Partial[T]{Value: v, Attempt: n}, nil) {
						return
					}
				}
			}
			last = cut
			if last == nil {
				last = c.check(replyText(string(text), calls, c.mode()), finish)
			}
			c.opts.attempted(ctx, AttemptInfo{Attempt: n, Mode: c.mode(), Problems: last.problems, Usage: since(usage, attemptStart)})
			if last.problems == nil {
				yield(Partial[T]{Value: last.value, Done: true, Attempt: n, Usage: usage}, nil)
				return
			}
			if n < c.opts.maxAttempts && !yield(Partial[T]{Attempt: n, Problems: last.problems, Usage: usage}, nil) {
				return
			}
		}
		yield(Partial[T]{Attempt: c.opts.maxAttempts, Usage: usage},
			&ValidationError{Attempts: c.opts.maxAttempts, Output: last.output, Problems: last.problems, Usage: usage})
	}
}

// call is what stays fixed across the attempts of one Generate or Stream.
type call[T any] struct {
	s     *schema.Schema
	opts  options
	msgs  []llm.Message
	modes []Mode // candidates in order; modes[0] is in use
}

// attempt is one checked answer.
type attempt[T any] struct {
	output   string
	value    T
	problems []string
}

func newCall[T any](m llm.Model, msgs []llm.Message, opts []Option) (*call[T], error) {
	if m == nil {
		return nil, errors.New("structured: nil model")
	}
	if len(msgs) == 0 {
		return nil, errors.New("structured: no messages")
	}
	o, err := buildOptions(opts)
	if err != nil {
		return nil, err
	}
	s, err := schema.For(reflect.TypeFor[T]())
	if err != nil {
		return nil, fmt.Errorf("structured: %w", err)
	}
	modes := candidateModes(m, o.mode)
	if s.HasRefs && o.mode == ModeAuto {
		// A recursive T's schema needs $ref/$defs, which constrained decoding (JSON mode) and the
		// function-calling templates of Workers AI models do not take; in the prompt the model reads
		// them, and validation enforces the whole schema whatever the mode.
		modes = []Mode{ModePrompt}
	}
	return &call[T]{s: s, opts: o, msgs: msgs, modes: modes}, nil
}

func (c *call[T]) mode() Mode { return c.modes[0] }

// fallback moves to the next mode when err says the current one is unsupported.
func (c *call[T]) fallback(err error) bool {
	if len(c.modes) < 2 || !unsupportedMode(err) {
		return false
	}
	c.modes = c.modes[1:]
	return true
}

// request builds the request of the next attempt; last is the previous invalid answer.
func (c *call[T]) request(last *attempt[T], stream bool) (llm.Request, []string) {
	var req llm.Request
	var dropped []string
	system := c.opts.system
	switch c.mode() {
	case ModeJSONSchema:
		req.Format = &llm.Format{Schema: c.s.Document()} // a copy: WithRequest edits and models may write to it
	case ModeTool:
		params, d := schema.Simplify(c.s.JSON, toolModeDrops...)
		dropped = d
		desc := "Call this tool with your answer; its arguments are the answer."
		if len(d) > 0 {
			desc += " Constraints: " + strings.Join(d, "; ") + "."
		}
		req.Tools = []llm.ToolDef{{Name: answerTool, Description: desc, Parameters: params}}
		req.ToolChoice = answerTool
	case ModePrompt:
		system = strings.TrimSpace(system + "\n\n" + promptInstructions + "```json\n" + string(c.s.JSON) + "\n```")
	}
	msgs := make([]llm.Message, 0, len(c.msgs)+3)
	if system != "" {
		msgs = append(msgs, llm.System(system))
	}
	msgs = append(msgs, c.msgs...)
	if last != nil {
		msgs = append(msgs, llm.Assistant(last.output), llm.User(feedback(last.problems)))
	}
	req.Messages = msgs
	for _, f := range c.opts.edits {
		f(&req)
	}
	return req, dropped
}

// check validates one answer.
func (c *call[T]) check(output, finish string) *attempt[T] {
	a := &attempt[T]{output: output}
	if finish == "length" {
		a.problems = []string{cutOffProblem}
		return a
	}
	doc, err := extractJSON(output)
	if err != nil {
		a.problems = []string{"/: " + err.Error()}
		return a
	}
	if p := c.s.Validate(doc); p != nil {
		a.problems = p
		return a
	}
	v, err := c.decode(doc, true)
	if err != nil {
		a.problems = []string{"/: " + err.Error()}
		return a
	}
	if err := validateValue(&v); err != nil {
		a.problems = []string{"/: " + err.Error()}
		return a
	}
	a.value = v
	return a
}

// decode unmarshals doc into T, unwrapping {"value": ...} for non-struct types. strict
// rejects unknown fields; partial values during streaming are decoded leniently.
func (c *call[T]) decode(doc []byte, strict bool) (T, error) {
	var zero T
	dec := json.NewDecoder(bytes.NewReader(doc))
	if strict {
		dec.DisallowUnknownFields()
	}
	if c.s.Wrapped {
		var w struct {
			Value T `json:"value"`
		}
		if err := dec.Decode(&w); err != nil {
			return zero, err
		}
		return w.Value, nil
	}
	var v T
	if err := dec.Decode(&v); err != nil {
		return zero, err
	}
	return v, nil
}

// validateValue runs T's own Validate method, on the value or its pointer.
func validateValue[T any](v *T) error {
	if val, ok := any(v).(interface{ Validate() error }); ok {
		return val.Validate()
	}
	if val, ok := any(*v).(interface{ Validate() error }); ok {
		return val.Validate()
	}
	return nil
}

// replyText is the text that should hold the JSON: in tool mode, the arguments of the call
// to the answer tool (or the text, when a model answered without calling it).
func replyText(text string, calls []llm.ToolCall, mode Mode) string {
	if mode == ModeTool {
		for _, tc := range calls {
			if tc.Name == answerTool {
				return string(tc.Arguments)
			}
		}
	}
	return text
}

func feedback(problems []string) string {
	var b strings.Builder
	b.WriteString("Your previous answer was not valid:\n")
	for _, p := range problems {
		b.WriteString("- " + p + "\n")
	}
	b.WriteString("Reply again with the corrected JSON only.")
	return b.String()
}

const answerTool = "answer"

// cutOffProblem is the problem line of an answer cut off by the max_tokens limit.
const cutOffProblem = "/: your answer was cut off at max_tokens before it was complete: answer more briefly"

const promptInstructions = "Reply with one JSON value that validates against this JSON Schema, and nothing else: no prose, no code fences.\n"

// toolModeDrops are keywords left out of tool parameters: function-calling templates of
// the smaller Workers AI models render only types, descriptions and enums, and some
// reject unknown keywords. Validation still enforces them.
var toolModeDrops = []string{"pattern", "format", "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "multipleOf"}

// candidateModes lists the modes to try, in order.
func candidateModes(m llm.Model, forced Mode) []Mode {
	if forced != ModeAuto {
		return []Mode{forced}
	}
	all := []Mode{ModeJSONSchema, ModeTool, ModePrompt}
	id, ok := m.(interface{ ID() string })
	if !ok {
		return all
	}
	info, known := llm.LookupModel(id.ID())
	switch {
	case !known:
		return all
	case info.JSONMode:
		if info.Tools {
			return all
		}
		return []Mode{ModeJSONSchema, ModePrompt}
	case info.Tools:
		return []Mode{ModeTool, ModePrompt}
	}
	return []Mode{ModePrompt}
}

// unsupportedMode reports whether the service refused the mode itself, rather than the
// request: "JSON Mode couldn't be met" (Workers AI's answer when constrained decoding
// fails, https://developers.cloudflare.com/workers-ai/features/json-mode/), code 5025, or a bad-input error
// that points at response_format, tools or tool_choice.
func unsupportedMode(err error) bool {
	e, ok := errors.AsType[*llm.Error](err)
	if !ok {
		return false
	}
	msg := strings.ToLower(e.Message)
	if e.Code == 5025 || strings.Contains(msg, "json mode") {
		return true
	}
	if errors.Is(err, llm.ErrBadInput) {
		for _, k := range []string{"response_format", "json_schema", "guided_json", "tools", "tool_choice"} {
			if strings.Contains(msg, k) {
				return true
			}
		}
	}
	return false
}

// since is what usage grew by after it was start.
func since(usage, start llm.Usage) llm.Usage {
	return llm.Usage{
		PromptTokens:     usage.PromptTokens - start.PromptTokens,
		CompletionTokens: usage.CompletionTokens - start.CompletionTokens,
		TotalTokens:      usage.TotalTokens - start.TotalTokens,
		CachedTokens:     usage.CachedTokens - start.CachedTokens,
		Neurons:          usage.Neurons - start.Neurons,
		NeuronsEstimated: usage.NeuronsEstimated,
	}
}
