package structured

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gowai/gowai/llm"
)

// Mode is how the schema reaches the model.
type Mode int

const (
	// ModeAuto picks per model from the llm catalog: JSON mode where the model supports it,
	// else tool mode where it supports tools, else prompt mode. A model the catalog does not
	// know starts with JSON mode and falls back when the service says the mode is unsupported.
	// A recursive T (whose schema needs $ref/$defs, see SchemaFor) always goes in prompt mode:
	// JSON mode and tool mode on Workers AI do not take references. Force a mode with WithMode
	// to send references anyway (to a provider known to accept them).
	ModeAuto Mode = iota
	// ModeJSONSchema sends the schema as response_format (the service constrains decoding).
	ModeJSONSchema
	// ModeTool offers one tool whose parameters are the schema and forces the model to call it.
	ModeTool
	// ModePrompt puts the schema in the system prompt and asks for JSON only.
	ModePrompt
)

func (m Mode) String() string {
	switch m {
	case ModeAuto:
		return "auto"
	case ModeJSONSchema:
		return "json_schema"
	case ModeTool:
		return "tool"
	case ModePrompt:
		return "prompt"
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// Option configures one Generate, GenerateFrom or Stream call.
type Option func(*options)

type options struct {
	system      string
	maxAttempts int
	mode        Mode
	edits       []func(*llm.Request)
	hooks       []func(context.Context, AttemptInfo)
}

// AttemptInfo describes one answer of the model once it has been checked.
type AttemptInfo struct {
	Attempt  int       // counted from 1
	Mode     Mode      // the mode the answer was asked in
	Problems []string  // what was wrong with it ("/json/pointer: message" lines); nil when it was valid
	Usage    llm.Usage // what this answer cost
}

// WithAttemptHook calls f after each answer of the model has been checked, valid or not,
// with the context of the call, before any retry is sent: tracing records the problems that
// caused a retry (the package otelgowai adds them as span events). Errors of the model
// itself are not answers and do not reach f. f must not keep or modify a.Problems. Given
// more than once, every hook runs, in order.
func WithAttemptHook(f func(ctx context.Context, a AttemptInfo)) Option {
	return func(o *options) {
		if f != nil {
			o.hooks = append(o.hooks, f)
		}
	}
}

// attempted runs the attempt hooks.
func (o *options) attempted(ctx context.Context, a AttemptInfo) {
	for _, f := range o.hooks {
		f(ctx, a)
	}
}

// WithSystem adds a system prompt in front of the conversation.
func WithSystem(s string) Option { return func(o *options) { o.system = s } }

// WithMaxAttempts sets how many answers the model may give before the call fails with a
// *ValidationError (default 3). Transport errors are retried by the llm client and do not
// count.
func WithMaxAttempts(n int) Option { return func(o *options) { o.maxAttempts = n } }

// WithMode forces a mode instead of ModeAuto.
func WithMode(m Mode) Option { return func(o *options) { o.mode = m } }

// WithRequest edits every request before it is sent (temperature, max tokens, ...). A nil
// f is ignored.
func WithRequest(f func(*llm.Request)) Option {
	return func(o *options) {
		if f != nil {
			o.edits = append(o.edits, f)
		}
	}
}

func buildOptions(opts []Option) (options, error) {
	o := options{maxAttempts: 3}
	for _, f := range opts {
		f(&o)
	}
	if o.maxAttempts < 1 {
		return o, fmt.Errorf("structured: WithMaxAttempts(%d): need at least 1", o.maxAttempts)
	}
	if o.mode < ModeAuto || o.mode > ModePrompt {
		return o, fmt.Errorf("structured: unknown mode %d", int(o.mode))
	}
	return o, nil
}

// ErrInvalidOutput is matched (errors.Is) by every *ValidationError.
var ErrInvalidOutput = errors.New("structured: the model's output did not validate")

// ValidationError reports that the model never produced a valid value.
type ValidationError struct {
	Attempts int       // answers the model gave
	Output   string    // the last answer, as the model sent it
	Problems []string  // what was wrong with it, one "/json/pointer: message" line each
	Usage    llm.Usage // what all the attempts cost
}

func (e *ValidationError) Error() string {
	return fmt.Sprintf("structured: no valid output after %d attempt(s): %s", e.Attempts, strings.Join(e.Problems, "; "))
}

// Is makes errors.Is(err, ErrInvalidOutput) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidOutput }
