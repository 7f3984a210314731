package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gowai/gowai/llm"
)

// Result is the outcome of one call. Output is what the model reads back: the tool's output,
// or "error: ..." saying what went wrong. Err keeps the Go error for the caller; it is nil
// when the tool succeeded.
type Result struct {
	Call     llm.ToolCall
	Output   string
	Err      error
	Duration time.Duration
}

// resultJSON is Result in JSON: the error as its text.
type resultJSON struct {
	Call     llm.ToolCall
	Output   string
	Err      string `json:",omitempty"`
	Duration time.Duration
}

// MarshalJSON encodes r with Err as its text (Err's Error()), so that a Result can be
// stored: the fields are Call, Output, Err and Duration (in nanoseconds).
func (r Result) MarshalJSON() ([]byte, error) {
	w := resultJSON{Call: r.Call, Output: r.Output, Duration: r.Duration}
	if r.Err != nil {
		w.Err = r.Err.Error()
	}
	return json.Marshal(w)
}

// UnmarshalJSON decodes what MarshalJSON encodes. Err comes back as an error with the same
// text; it no longer matches the errors it wrapped (errors.Is, errors.As).
func (r *Result) UnmarshalJSON(b []byte) error {
	var w resultJSON
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("tools: Result: %w", err)
	}
	*r = Result{Call: w.Call, Output: w.Output, Duration: w.Duration}
	if w.Err != "" {
		r.Err = storedError(w.Err)
	}
	return nil
}

// storedError is an error read back from its text.
type storedError string

func (e storedError) Error() string { return string(e) }

// Set is a group of tools with distinct names that runs the calls a model asks for. A Set is
// safe for concurrent use; WithTimeout and WithLogger return a changed copy and leave the
// receiver as it was.
type Set struct {
	tools   []Tool
	byName  map[string]Tool
	defs    []llm.ToolDef
	timeout time.Duration
	log     *slog.Logger
	before  func(context.Context, llm.ToolCall) context.Context // WithCallHooks
	after   func(context.Context, Result)
}

// NewSet returns a Set of ts. It refuses a nil tool, a tool New or Func could not build
// (matching ErrInvalidTool), a name the providers reject, and two tools with the same name.
func NewSet(ts ...Tool) (*Set, error) {
	s := &Set{byName: make(map[string]Tool, len(ts)), defs: make([]llm.ToolDef, 0, len(ts))}
	var errs []error
	for i, t := range ts {
		if t == nil {
			errs = append(errs, fmt.Errorf("%w: tool %d is nil", ErrInvalidTool, i))
			continue
		}
		if b, ok := t.(interface{ err() error }); ok && b.err() != nil {
			errs = append(errs, b.err())
			continue
		}
		def := t.Def()
		def.Parameters = bytes.Clone(def.Parameters) // a Tool may hand out bytes it keeps
		if err := checkName(def.Name); err != nil {
			errs = append(errs, err)
			continue
		}
		if _, dup := s.byName[def.Name]; dup {
			errs = append(errs, fmt.Errorf("%w %q: two tools have this name", ErrInvalidTool, def.Name))
			continue
		}
		s.byName[def.Name] = t
		s.tools = append(s.tools, t)
		s.defs = append(s.defs, def)
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return s, nil
}

// Defs returns the tools' descriptions, in the order given to NewSet, for llm.Request.Tools.
// They are the caller's own copy, Parameters included.
func (s *Set) Defs() []llm.ToolDef {
	defs := slices.Clone(s.defs)
	for i := range defs {
		defs[i].Parameters = bytes.Clone(defs[i].Parameters)
	}
	return defs
}

// WithTimeout returns a copy of s in which each call is given at most d (0, the default, means
// no limit beyond ctx). The limit reaches the tool through its context, and Run does not wait
// past it: a call still running at its deadline gets a timeout Result at once. Go cannot stop
// a goroutine from outside, so a tool that ignores its context goes on running in the
// background until it returns by itself; its late output is discarded.
func (s *Set) WithTimeout(d time.Duration) *Set {
	c := *s
	c.timeout = d
	return &c
}

// WithCallHooks returns a copy of s that calls before as each call starts and after once it
// has its Result, both in the goroutine that runs the call, so that the hooks of concurrent
// calls run concurrently. The context before returns is the one the tool runs under (the
// call's timeout is added to it) and the one after is given. A call that never starts,
// because Run's ctx was done first, has neither; after is called also for a call that failed,
// panicked or timed out, with the Result the model reads. Either hook may be nil.
func (s *Set) WithCallHooks(before func(context.Context, llm.ToolCall) context.Context, after func(context.Context, Result)) *Set {
	c := *s
	c.before, c.after = before, after
	return &c
}

// WithLogger returns a copy of s that logs tool panics, with their stack, to l (default
// slog.Default()). The stack is never sent to the model.
func (s *Set) WithLogger(l *slog.Logger) *Set {
	c := *s
	c.log = l
	return &c
}

// Run runs calls concurrently, at most limit at a time (limit <= 0 means all at once), and
// returns one Result per call in the order of calls. It never fails as a whole: invalid
// arguments, an unknown tool, a tool's error, a panic and a timeout each become a Result whose
// Output tells the model what happened. When ctx is done, calls that have not started are not
// started; their Err is ctx's error and their Output "error: cancelled".
//
// Run returns when every call has returned, timed out (WithTimeout) or been cancelled with
// ctx, whichever comes first, so a tool that ignores its context cannot hold Run up. Such a
// tool is abandoned, not stopped: its goroutine keeps running until the tool returns, its
// result is discarded, and its slot under limit is freed for the next call. A tool that
// watches its context (as every tool should) has returned by the time Run does.
func (s *Set) Run(ctx context.Context, calls []llm.ToolCall, limit int) []Result {
	results := make([]Result, len(calls))
	if limit <= 0 {
		limit = len(calls)
	}
	var g errgroup.Group
	g.SetLimit(limit)
	for i, c := range calls {
		// g.Go blocks while limit calls run and does not watch ctx, so a cancelled ctx is
		// checked again by the call itself once it gets a slot.
		if ctx.Err() != nil {
			results[i] = cancelled(ctx, c)
			continue
		}
		g.Go(func() error {
			results[i] = s.call(ctx, c)
			return nil
		})
	}
	_ = g.Wait() // the funcs never fail: every outcome is a Result
	return results
}

// call runs one call and turns every way it can end into a Result.
func (s *Set) call(ctx context.Context, c llm.ToolCall) Result {
	if ctx.Err() != nil {
		return cancelled(ctx, c)
	}
	if s.before != nil {
		if hctx := s.before(ctx, c); hctx != nil { // a hook that returns no context keeps ctx
			ctx = hctx
		}
	}
	start := time.Now()
	r := s.invoke(ctx, c)
	r.Duration = time.Since(start)
	if s.after != nil {
		s.after(ctx, r)
	}
	return r
}

func (s *Set) invoke(ctx context.Context, c llm.ToolCall) Result {
	t, ok := s.byName[c.Name]
	if !ok {
		names := make([]string, len(s.defs))
		for i, d := range s.defs {
			names[i] = d.Name
		}
		return Result{
			Call:   c,
			Err:    fmt.Errorf("%w %q", ErrUnknownTool, c.Name),
			Output: fmt.Sprintf("error: there is no tool named %q; the tools are: %s", c.Name, strings.Join(names, ", ")),
		}
	}
	callCtx := ctx
	if s.timeout > 0 {
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, s.timeout)
		defer cancel()
	}
	out, err := s.await(callCtx, t, c)
	if err == nil {
		return Result{Call: c, Output: out}
	}
	r := Result{Call: c}
	var argErr *ArgumentError
	switch {
	case errors.As(err, &argErr):
		r.Err = err
		r.Output = fmt.Sprintf("error: invalid arguments for %s; nothing was run. Problems:\n%s\nCall it again with corrected arguments.",
			c.Name, strings.Join(argErr.Problems, "\n"))
	case errors.Is(err, ErrPanicked):
		r.Err = err
		r.Output = fmt.Sprintf("error: tool %s failed with an internal error", c.Name)
	case ctx.Err() != nil:
		r.Err = fmt.Errorf("tools: %s: %w", c.Name, ctx.Err())
		r.Output = "error: cancelled"
	case callCtx.Err() != nil:
		r.Err = fmt.Errorf("tools: %s: timed out after %s: %w", c.Name, s.timeout, callCtx.Err())
		r.Output = fmt.Sprintf("error: tool %s timed out after %s", c.Name, s.timeout)
	default:
		r.Err = fmt.Errorf("tools: %s: %w", c.Name, err)
		r.Output = "error: " + err.Error()
	}
	return r
}

// outcome is what a tool call returned.
type outcome struct {
	out string
	err error
}

// await runs t under callCtx and returns its outcome, or callCtx's error as soon as callCtx
// is done, leaving a tool that ignores its context to finish in the background. The channel
// has room for the late outcome, so the abandoned goroutine never blocks and exits as soon as
// the tool returns.
func (s *Set) await(callCtx context.Context, t Tool, c llm.ToolCall) (string, error) {
	if callCtx.Done() == nil {
		// Nothing can end the call early: run it here, without another goroutine.
		return s.protect(callCtx, t, c)
	}
	done := make(chan outcome, 1)
	go func() {
		out, err := s.protect(callCtx, t, c)
		done <- outcome{out, err}
	}()
	select {
	case o := <-done:
		return o.out, o.err
	case <-callCtx.Done():
		// A tool that returned just as the deadline passed keeps its answer.
		select {
		case o := <-done:
			return o.out, o.err
		default:
		}
		return "", callCtx.Err()
	}
}

// protect calls t, turning a panic into an error matching ErrPanicked. The panic and its stack
// go to the log only: they describe the program, not anything the model can fix.
func (s *Set) protect(ctx context.Context, t Tool, c llm.ToolCall) (out string, err error) {
	defer func() {
		if v := recover(); v != nil {
			log := s.log
			if log == nil {
				log = slog.Default()
			}
			log.ErrorContext(ctx, "tools: tool panicked", "tool", c.Name, "call_id", c.ID, "panic", v, "stack", string(debug.Stack()))
			err = fmt.Errorf("%w: %s: %v", ErrPanicked, c.Name, v)
		}
	}()
	return t.Call(ctx, c.Arguments)
}

func cancelled(ctx context.Context, c llm.ToolCall) Result {
	return Result{Call: c, Err: ctx.Err(), Output: "error: cancelled"}
}
