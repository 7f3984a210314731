package llm

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"iter"
)

// maxSSELine bounds one line of an event stream. Every Workers AI event is one line, and a
// few are large (moondream's terminal event repeats the whole answer, see
// testdata/recorded/marmarko__brainz__ai-run-moondream-stream-sse.json), so the bound is
// generous; anything longer is an error rather than a silently cut event.
const maxSSELine = 8 << 20

// sseEvents yields the data payload of each server-sent event, with several data: lines of
// one event joined by "\n". Comments, event:, id: and retry: lines are skipped. A final
// event without its blank line is still delivered (moondream's stream ends with "data: [DONE]"
// and no line end), and a clean EOF just ends the sequence. Lines may end in LF, CRLF or a
// lone CR.
//
// Before yielding an event that the end of the body ended rather than a blank line, sseEvents
// sets *unterminated (when it is not nil): such an event may have been cut anywhere, and only
// its decoding can tell.
//
// The yielded slice is reused: it is only valid until the next iteration.
func sseEvents(r io.Reader, unterminated *bool) iter.Seq2[[]byte, error] {
	return func(yield func([]byte, error) bool) {
		sc := bufio.NewScanner(r)
		// +2 leaves room for the CRLF after a line of exactly maxSSELine bytes.
		sc.Buffer(make([]byte, 0, 16<<10), maxSSELine+2)
		sc.Split(scanSSELine)
		var data []byte
		hasData := false
		first := true
		for sc.Scan() {
			line := sc.Bytes()
			if len(line) > maxSSELine {
				// The scanner's buffer also holds the line end, so it can return one line
				// slightly longer than the bound.
				yield(nil, errorf("event stream line longer than %d bytes: %w", maxSSELine, bufio.ErrTooLong))
				return
			}
			if first {
				// The SSE specification allows one leading UTF-8 byte order mark.
				line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
				first = false
			}
			if len(line) == 0 {
				if hasData {
					if !yield(data, nil) {
						return
					}
					data, hasData = data[:0], false
				}
				continue
			}
			field, value, _ := bytes.Cut(line, []byte(":"))
			if string(field) != "data" {
				// Comments (empty field name), event:, id:, retry: and unknown fields.
				continue
			}
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
			if hasData {
				data = append(data, '\n')
			}
			data = append(data, value...)
			hasData = true
		}
		if err := sc.Err(); err != nil {
			if errors.Is(err, bufio.ErrTooLong) {
				yield(nil, errorf("event stream line longer than %d bytes: %w", maxSSELine, err))
				return
			}
			yield(nil, errorf("read event stream: %w", err))
			return
		}
		if hasData {
			if unterminated != nil {
				*unterminated = true
			}
			yield(data, nil)
		}
	}
}

// scanSSELine is a bufio.SplitFunc for SSE lines, which may end in LF, CRLF or a lone CR.
func scanSSELine(data []byte, atEOF bool) (advance int, token []byte, err error) {
	lf := bytes.IndexByte(data, '\n')
	before := data
	if lf >= 0 {
		before = data[:lf]
	}
	if cr := bytes.IndexByte(before, '\r'); cr >= 0 {
		switch {
		case cr+1 < len(data) && data[cr+1] == '\n':
			return cr + 2, data[:cr], nil
		case cr+1 < len(data) || atEOF:
			return cr + 1, data[:cr], nil
		default:
			// The CR ends what has been read so far: an LF may still follow it.
			return 0, nil, nil
		}
	}
	if lf >= 0 {
		return lf + 1, data[:lf], nil
	}
	if atEOF && len(data) > 0 {
		return len(data), data, nil
	}
	return 0, nil, nil
}

// decodeStream turns a text/event-stream body from Workers AI (/ai/run with stream:true,
// /ai/v1/chat/completions, or any OpenAI-compatible server) into deltas. It owns body: it
// closes it when the stream ends, on error, or as soon as the consumer stops iterating.
// model is used for *Error.Model of in-band errors. The sequence can be ranged over once.
//
// Text and reasoning are yielded as they arrive. The last delta, sent when [DONE] arrives,
// carries the assembled tool calls, the finish reason and the usage. A stream that ends
// without [DONE] yields an error wrapping ErrTruncatedStream after what did arrive, wherever
// the cut fell: between events, or inside one, which then cannot be decoded.
//
// Moondream's stream (testdata/recorded/marmarko__brainz__ai-run-moondream-stream-sse.json) sends its answer as cumulative chunk.answer values
// inside a protocol of its own; those are not text deltas and are ignored, while its usage
// tail is still read.
func decodeStream(body io.ReadCloser, model string) iter.Seq2[Delta, error] {
	used := false
	return func(yield func(Delta, error) bool) {
		if used {
			yield(Delta{}, errorf("stream for %s ranged over twice; its body is already consumed", model))
			return
		}
		used = true
		// The body is released before the last item is handed over, not after: a consumer
		// may run tools on the final delta, and must not hold the connection meanwhile.
		closed := false
		release := func() {
			if !closed {
				closed = true
				body.Close()
			}
		}
		defer release()
		fail := func(err error) {
			release()
			yield(Delta{}, err)
		}
		d := newStreamDecoder(model)
		unterminated := false
		for payload, err := range sseEvents(body, &unterminated) {
			if err != nil {
				fail(err)
				return
			}
			delta, done, err := d.event(payload)
			switch {
			case err != nil && unterminated:
				if _, inBand := errors.AsType[*Error](err); !inBand {
					// The body ended inside this event: the stream was cut, and the JSON
					// error only says where.
					err = fmt.Errorf("%w (%d events from %s, the last cut off after %d bytes)",
						ErrTruncatedStream, d.events, model, len(payload))
				}
				fail(err)
				return
			case err != nil:
				fail(err)
				return
			case done:
				final, err := d.final()
				release()
				yield(final, err)
				return
			case delta.Text != "" || delta.Reasoning != "":
				if !yield(delta, nil) {
					return
				}
			}
		}
		fail(fmt.Errorf("%w (%d events from %s)", ErrTruncatedStream, d.events, model))
	}
}

// streamEvent is every field of a stream event the decoder uses, for all the shapes that share
// one stream: legacy native tokens, OpenAI chunks, the native usage tail and in-band errors.
// It is decoded into again and again; the raw fields keep their buffers between events.
type streamEvent struct {
	Response     json.RawMessage `json:"response"`
	Usage        wireUsage       `json:"usage"`
	Choices      []streamChoice  `json:"choices"`
	ToolCalls    []toolCallDelta `json:"tool_calls"`
	FinishReason string          `json:"finish_reason"`
	Errors       json.RawMessage `json:"errors"`
	Error        json.RawMessage `json:"error"`
}

type streamChoice struct {
	Delta struct {
		Content          string          `json:"content"`
		ReasoningContent string          `json:"reasoning_content"`
		Reasoning        string          `json:"reasoning"`
		ToolCalls        []toolCallDelta `json:"tool_calls"`
	} `json:"delta"`
	Text         string `json:"text"` // text_completion chunks
	FinishReason string `json:"finish_reason"`
}

// toolCallDelta is one streamed tool-call entry: a start (id, name), an argument fragment,
// the all-null finishing entry that ends a native streamed call ({"id":null,"type":null,
// "function":{"name":null,"arguments":""}}, testdata/workers-ai/native-stream-tool-calls.sse),
// or a flat legacy {name, arguments}.
type toolCallDelta struct {
	Index    *int   `json:"index"`
	ID       string `json:"id"`
	Function struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

func (e *streamEvent) reset() {
	e.Response = e.Response[:0]
	e.Usage = wireUsage{}
	e.Errors = e.Errors[:0]
	e.Error = e.Error[:0]
	// Keep the choices' backing array but zero it: encoding/json leaves absent keys alone.
	c := e.Choices[:cap(e.Choices)]
	clear(c)
	e.Choices = c[:0]
	e.ToolCalls = nil
	e.FinishReason = ""
}

// eventFeed hands the decoder one event payload, then io.EOF (which ends a top-level number).
type eventFeed struct{ p []byte }

func (f *eventFeed) Read(b []byte) (int, error) {
	if len(f.p) == 0 {
		return 0, io.EOF
	}
	n := copy(b, f.p)
	f.p = f.p[n:]
	return n, nil
}

// toolCallBuilder gathers one streamed tool call.
type toolCallBuilder struct {
	index int // the wire index, or -1 for flat entries that have none
	id    string
	name  string
	args  []byte
}

// streamDecoder holds what a stream has said so far.
type streamDecoder struct {
	model  string
	events int
	calls  []toolCallBuilder
	reason string

	// One json.Decoder reads every event into one streamEvent, fed a payload at a time:
	// unlike json.Unmarshal it keeps its scanner and decode state between calls, which saves
	// most of the per-event allocations (BenchmarkDecodeStream).
	dec  *json.Decoder
	feed eventFeed
	fed  int64 // bytes fed to dec so far
	ev   streamEvent

	hasTail   bool // a native {"response":"","usage":{...}} tail was seen
	tail      Usage
	hasTotals bool // an OpenAI include_usage chunk ({"choices":[],"usage":{...}}) was seen
	totals    Usage
	chunks    int // per-chunk usages seen
	last, sum Usage
	decreased bool
}

func newStreamDecoder(model string) *streamDecoder {
	d := &streamDecoder{model: model}
	d.dec = json.NewDecoder(&d.feed)
	return d
}

// event decodes one payload. done reports [DONE].
func (d *streamDecoder) event(payload []byte) (delta Delta, done bool, err error) {
	d.events++
	payload = bytes.TrimSpace(payload)
	if len(payload) == 0 {
		return Delta{}, false, nil
	}
	if string(payload) == "[DONE]" {
		return Delta{}, true, nil
	}
	ev := &d.ev
	ev.reset()
	d.feed.p = payload
	d.fed += int64(len(payload))
	if err := d.dec.Decode(ev); err != nil {
		return Delta{}, false, errorf("decode stream event %d %s: %w", d.events, snippet(payload), err)
	}
	if d.dec.InputOffset() != d.fed {
		return Delta{}, false, errorf("decode stream event %d %s: more than one JSON value", d.events, snippet(payload))
	}
	// Errors can arrive inside a stream that began with HTTP 200, as an event with "errors" or
	// "error"; an empty "errors":[] is not one.
	if present(ev.Errors) || present(ev.Error) {
		e := &Error{Model: d.model}
		if fillErrorFromBody(e, payload) {
			if m := trailingID.FindStringSubmatch(e.Message); m != nil {
				e.RequestID = m[1]
			}
			return Delta{}, false, e
		}
	}
	// A usage of all zeros says nothing (moondream sends one on every event), and counting it
	// would make running totals look like increments.
	if u := ev.Usage.usage(); u != (Usage{}) {
		kind := usageChunk
		switch {
		case len(ev.Choices) > 0 || len(ev.ToolCalls) > 0:
		case string(ev.Response) == `""`:
			kind = usageTail
		case !present(ev.Response):
			kind = usageTotals
		}
		d.addUsage(u, kind)
	}
	d.reason = cmp.Or(ev.FinishReason, d.reason)
	// As in a whole reply, an event that carries tool calls both in its choice and at the top
	// level (the llama-3.3 hybrid of the two families) sends the same calls twice: the
	// choice's win.
	calls := ev.ToolCalls
	if len(ev.Choices) > 0 {
		c := &ev.Choices[0]
		delta.Text = cmp.Or(c.Delta.Content, c.Text)
		// gpt-oss sends the same text under both names: take one.
		delta.Reasoning = cmp.Or(c.Delta.ReasoningContent, c.Delta.Reasoning)
		d.reason = cmp.Or(c.FinishReason, d.reason)
		if len(c.Delta.ToolCalls) > 0 {
			calls = c.Delta.ToolCalls
		}
	}
	if err := d.addToolCalls(calls); err != nil {
		return Delta{}, false, err
	}
	if delta.Text == "" && present(ev.Response) {
		if delta.Text, err = responseText(ev.Response); err != nil {
			return Delta{}, false, errorf("decode response of stream event %d %s: %w", d.events, snippet(payload), err)
		}
	}
	return delta, false, nil
}

// responseText reads a legacy "response" value. It is usually a string, but the service
// also sends numbers and objects there (an object in JSON mode, see
// https://developers.cloudflare.com/workers-ai/features/json-mode/): those are passed on as
// their JSON text.
func responseText(raw json.RawMessage) (string, error) {
	switch {
	case string(raw) == "null":
		return "", nil
	case raw[0] != '"':
		return string(raw), nil
	case bytes.IndexByte(raw, '\\') < 0:
		return string(raw[1 : len(raw)-1]), nil
	}
	var s string
	err := json.Unmarshal(raw, &s)
	return s, err
}

// usageKind says what the usage of an event counts.
type usageKind int

const (
	usageChunk  usageKind = iota // one chunk's: an increment or a running total
	usageTail                    // the native {"response":"","usage":{...}} tail: the stream's total
	usageTotals                  // an event with nothing but usage (OpenAI's include_usage chunk): the total
)

// addUsage records one event's usage. Chat-style streams report it per chunk either as
// increments (gemma-4, with a cumulative native tail) or as running totals (qwen3, see
// testdata/recorded/flzxing__llm-chat-app-template__ai-run-qwen3-30b-stream-tool-call.json),
// and OpenAI-compatible streams may end with a chunk that has no choices and the totals,
// which the library asks for with stream_options.include_usage. So the total is only
// decided at the end; see usage.
func (d *streamDecoder) addUsage(u Usage, kind usageKind) {
	switch kind {
	case usageTail:
		d.hasTail, d.tail = true, u
		return
	case usageTotals:
		d.hasTotals, d.totals = true, u
		return
	}
	if d.chunks > 0 && (u.TotalTokens < d.last.TotalTokens ||
		u.CompletionTokens < d.last.CompletionTokens || u.Neurons < d.last.Neurons) {
		d.decreased = true
	}
	d.chunks++
	d.last = u
	d.sum = d.sum.Add(u)
}

// usage is the stream's total: the native tail when there is one, else the totals chunk
// (either replaces what the chunks said, never adds to it, though it keeps their neurons
// when it has none); otherwise the chunks' total.
func (d *streamDecoder) usage() Usage {
	var u Usage
	switch {
	case d.hasTail:
		u = d.tail
	case d.hasTotals:
		u = d.totals
	default:
		return d.chunkUsage()
	}
	if u.Neurons == 0 {
		u.Neurons = d.chunkUsage().Neurons
	}
	return u
}

// chunkUsage is the total of the per-chunk usages: the last when they never went down
// (running totals), else their sum (increments).
func (d *streamDecoder) chunkUsage() Usage {
	if d.decreased {
		return d.sum
	}
	return d.last
}

// addToolCalls merges streamed tool-call entries into the calls being assembled.
func (d *streamDecoder) addToolCalls(entries []toolCallDelta) error {
	for i := range entries {
		t := &entries[i]
		name := cmp.Or(t.Function.Name, t.Name)
		args := t.Function.Arguments
		if len(args) == 0 {
			args = t.Arguments
		}
		if t.ID == "" && name == "" && (!present(args) || string(args) == `""`) {
			// The all-null finishing entry, or one that carries nothing.
			continue
		}
		var n int
		switch {
		case t.Index != nil:
			n = d.callAt(*t.Index, t.ID, name)
		case name != "":
			// A flat legacy entry without an index starts a call of its own.
			d.calls = append(d.calls, toolCallBuilder{index: -1})
			n = len(d.calls) - 1
		case len(d.calls) > 0:
			n = len(d.calls) - 1
		default:
			return errorf("stream event %d: tool call arguments before any tool call was started", d.events)
		}
		b := &d.calls[n]
		b.id = cmp.Or(b.id, t.ID)
		b.name = cmp.Or(b.name, name)
		if err := appendArguments(b, args); err != nil {
			return errorf("stream event %d: tool call %q: %w", d.events, b.name, err)
		}
	}
	return nil
}

// callAt returns the position of the call an entry with the given wire index, id and name
// belongs to, starting a call if it is new. Ollama sends parallel calls whole, all at index 0
// with different ids, so an id or a function name other than the one the call at that index
// already has starts another call there; later fragments at that index go to the newest.
func (d *streamDecoder) callAt(index int, id, name string) int {
	for n := len(d.calls) - 1; n >= 0; n-- {
		b := &d.calls[n]
		if b.index != index {
			continue
		}
		if id != "" && b.id != "" && id != b.id || name != "" && b.name != "" && name != b.name {
			break
		}
		return n
	}
	d.calls = append(d.calls, toolCallBuilder{index: index})
	return len(d.calls) - 1
}

// appendArguments adds an argument fragment: a JSON string is a piece of the arguments' text;
// anything else (an object, in the legacy flat shape) is the arguments themselves.
func appendArguments(b *toolCallBuilder, raw json.RawMessage) error {
	if !present(raw) {
		return nil
	}
	if raw[0] != '"' {
		b.args = append(b.args, raw...)
		return nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return err
	}
	b.args = append(b.args, s...)
	return nil
}

// final builds the last delta: the complete tool calls, the finish reason and the usage. One
// call whose arguments stop in the middle of an object (a reply cut off at max_tokens) makes
// it an *unfinishedCallError instead, holding the reply without the text, which the consumer
// has had.
func (d *streamDecoder) final() (Delta, error) {
	var calls []ToolCall
	var cut *unfinishedCall
	for i, b := range d.calls {
		if b.name == "" {
			return Delta{}, errorf("stream tool call %d (id %q) never named its function", i, b.id)
		}
		args, err := normalizeArguments(b.args)
		if err != nil {
			err = errorf("stream tool call %q: %w", b.name, err)
			if cut != nil || !unfinishedArguments(b.args) {
				return Delta{}, err
			}
			cut = &unfinishedCall{id: b.id, name: b.name, raw: string(b.args), err: err}
			continue
		}
		calls = append(calls, ToolCall{ID: b.id, Name: b.name, Arguments: args})
	}
	ensureToolCallIDs(calls)
	reason := normalizeFinishReason(d.reason)
	u := d.usage()
	if cut != nil {
		return Delta{}, &unfinishedCallError{resp: &Response{FinishReason: reason, ToolCalls: calls, Usage: u}, call: *cut}
	}
	if reason == "" && len(calls) > 0 {
		reason = "tool_calls"
	}
	return Delta{FinishReason: reason, ToolCalls: calls, Usage: &u}, nil
}

// present reports whether a raw field was sent with a value other than null.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}
