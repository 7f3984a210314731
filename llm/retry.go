package llm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// RetryPolicy says how often and how long a failed call is retried. Zero fields take the
// defaults of DefaultRetryPolicy(); MaxAttempts 1 disables retries.
//
// Retried: capacity (3040), per-minute rate limit (3021), service timeouts (3007, 3008,
// 3046), HTTP 408, 409, 429 and 5xx, and transport errors. Never retried: the daily
// allocation errors 3036 and 4006 (they clear at 00:00 UTC), every other 4xx, a cancelled
// context, and a stream once its first event has arrived.
type RetryPolicy struct {
	MaxAttempts     int           // attempts in all, the first included
	InitialInterval time.Duration // first backoff; later ones grow exponentially, with jitter
	MaxInterval     time.Duration // cap on one wait, Retry-After included
	MaxElapsed      time.Duration // give up once this much time has passed since the first attempt
	// RetryAfterScale multiplies every Retry-After the server sends before it is waited; zero
	// means 1. Tests set it below 1 so that a scripted Retry-After costs milliseconds
	// (llmtest.Server.Client uses 1/1000, matching its millisecond backoff).
	RetryAfterScale float64
}

// DefaultRetryPolicy returns the policy used when WithRetry is not given.
func DefaultRetryPolicy() RetryPolicy {
	return RetryPolicy{
		MaxAttempts:     4,
		InitialInterval: 500 * time.Millisecond,
		MaxInterval:     20 * time.Second,
		MaxElapsed:      2 * time.Minute,
	}
}

// WithRetry sets the retry policy.
func WithRetry(p RetryPolicy) Option { return func(c *config) { c.retry = &p } }

func (p RetryPolicy) withDefaults() RetryPolicy {
	d := DefaultRetryPolicy()
	if p.MaxAttempts <= 0 {
		p.MaxAttempts = d.MaxAttempts
	}
	if p.InitialInterval <= 0 {
		p.InitialInterval = d.InitialInterval
	}
	if p.MaxInterval <= 0 {
		p.MaxInterval = max(d.MaxInterval, p.InitialInterval)
	}
	if p.MaxElapsed <= 0 {
		p.MaxElapsed = d.MaxElapsed
	}
	return p
}

// hintBackOff lets a Retry-After value lengthen the next wait once, clamped to max.
type hintBackOff struct {
	backoff.BackOff
	hint time.Duration
	max  time.Duration
}

func (h *hintBackOff) NextBackOff() time.Duration {
	d := h.BackOff.NextBackOff()
	if d == backoff.Stop {
		return d
	}
	if h.hint > d {
		d = h.hint
	}
	h.hint = 0
	return min(d, h.max)
}

// do runs op until it succeeds, fails permanently, or the policy is exhausted.
func (p RetryPolicy) do(ctx context.Context, op func() error, notify func(error, time.Duration)) error {
	// Almost every call succeeds at once, so the first attempt runs before the backoff objects and
	// closures are allocated. MaxElapsed still counts from the start of the first attempt.
	start := time.Now()
	first := op()
	if first == nil {
		return nil
	}
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(p.InitialInterval),
		backoff.WithMaxInterval(p.MaxInterval),
		// A zero MaxElapsedTime would mean "never give up": a first attempt that used up the whole
		// budget leaves a nanosecond, so that no retry fits.
		backoff.WithMaxElapsedTime(max(p.MaxElapsed-time.Since(start), time.Nanosecond)),
	)
	hb := &hintBackOff{BackOff: exp, max: p.MaxInterval}
	// WithContext must be the outermost wrapper, or a sleep ignores cancellation (deps.md).
	bo := backoff.WithContext(backoff.WithMaxRetries(hb, uint64(p.MaxAttempts-1)), ctx)
	var last error
	err := backoff.RetryNotify(func() error {
		// RetryNotify starts with an attempt: its first is the one already made.
		err := first
		if err != nil {
			first = nil
		} else {
			err = op()
		}
		if err == nil {
			return nil
		}
		last = err
		if ctx.Err() != nil {
			return backoff.Permanent(err)
		}
		if e, ok := errors.AsType[*Error](err); ok {
			if !e.Retryable() {
				return backoff.Permanent(err)
			}
			hb.hint = e.RetryAfter
			if p.RetryAfterScale > 0 {
				hb.hint = time.Duration(float64(e.RetryAfter) * p.RetryAfterScale)
			}
		}
		return err
	}, bo, notify)
	if err != nil && ctx.Err() != nil && last != nil && !errors.Is(last, ctx.Err()) {
		// Cancelled while waiting to retry: report both the cancellation and why we were waiting.
		return fmt.Errorf("%w (while retrying after: %v)", ctx.Err(), last)
	}
	return err
}
