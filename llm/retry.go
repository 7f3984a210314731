package llm

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/cenkalti/backoff/v4"
)

// RetryPolicy says how often and how long a failed call is retried. Zero fields take the
// defaults of DefaultRetryPolicy(); MaxAttempts 1 disables retries.
//
// Retried: capacity (3040), per-minute rate limit (3021), service timeouts (3007, 3008,
// 3046), HTTP 408, 409, 429 and 5xx, transport errors (ErrUnreachable) and attempts that
// passed WithTimeout. Never retried: the daily allocation errors 3036 and 4006 (they clear
// at 00:00 UTC), every other 4xx, a cancelled context, a stream once its first event has
// arrived, and a request that creates work (Client.Queue) once it may have reached the
// service.
//
// Waits grow exponentially from InitialInterval to MaxInterval, with jitter. A Retry-After
// from the server is waited in full, even past MaxInterval (a per-minute limit asks for up
// to 60 s), but the call gives up at once, rather than sleep, when the wait would end after
// MaxElapsed or after the context's deadline.
type RetryPolicy struct {
	MaxAttempts     int           // attempts in all, the first included
	InitialInterval time.Duration // first backoff; later ones grow exponentially, with jitter
	MaxInterval     time.Duration // cap on one backoff wait; a server's Retry-After may be longer
	MaxElapsed      time.Duration // no attempt starts later than this after the first one
	// RetryAfterScale multiplies every Retry-After the server sends before it is waited; zero
	// (or a negative value) means 1. Tests set it below 1 so that a scripted Retry-After
	// costs milliseconds.
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

// RetryError reports a call that could not be completed: one that failed to reach the
// service, timed out, or failed again after retries. It names the request once, says how
// many attempts were made over how long, and wraps the last attempt's error, so that the
// *Error the service sent, its sentinel (ErrCapacity, ...), ErrUnreachable, ErrTimeout and
// the transport's own errors all stay reachable with errors.Is and errors.As. A service
// error on the only attempt made is returned as the *Error itself.
type RetryError struct {
	Method   string        // HTTP method
	URL      string        // the URL requested, with the token removed should it appear
	Attempts int           // attempts made, the first included
	Elapsed  time.Duration // from the start of the first attempt to giving up
	// Stopped says why no further attempt was made when the policy would have allowed one
	// ("" when the error was final, or attempts ran out).
	Stopped string
	Err     error // the last attempt's error
}

func (e *RetryError) Error() string {
	var b strings.Builder
	b.WriteString("llm: " + e.Method + " " + e.URL + ": ")
	if e.Attempts > 1 {
		b.WriteString("gave up after " + strconv.Itoa(e.Attempts) + " attempts in " + e.Elapsed.Round(time.Millisecond).String())
		if e.Stopped != "" {
			b.WriteString(" (" + e.Stopped + ")")
		}
		b.WriteString(": ")
	} else if e.Stopped != "" {
		b.WriteString(e.Stopped + ": ")
	}
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the last attempt's error.
func (e *RetryError) Unwrap() error { return e.Err }

// retryRun is what do reports besides the error.
type retryRun struct {
	attempts int
	elapsed  time.Duration
	stopped  string // why no further attempt was made although the policy allowed one
}

// notCreated says, for a call that creates work, that its failure may have created it anyway.
const notCreated = "not retried: the request may have reached the service, and sending it again could create its work twice"

// do runs op until it succeeds, fails permanently, or the policy is exhausted. A call that
// creates work (createsWork) is retried only after failures that prove the service did not
// take the request (see notReceived).
func (p RetryPolicy) do(ctx context.Context, createsWork bool, op func() error, notify func(error, time.Duration)) (retryRun, error) {
	start := time.Now()
	var exp *backoff.ExponentialBackOff // built on the first retry: almost every call succeeds at once
	run := retryRun{}
	for {
		run.attempts++
		err := op()
		run.elapsed = time.Since(start)
		if err == nil {
			return run, nil
		}
		if ctxErr := ctx.Err(); ctxErr != nil {
			if !errors.Is(err, ctxErr) {
				err = fmt.Errorf("%w: %w", ctxErr, err)
			}
			return run, err
		}
		if e, ok := errors.AsType[*Error](err); ok && !e.Retryable() {
			return run, err
		}
		if createsWork && !notReceived(err) {
			run.stopped = notCreated
			return run, err
		}
		if run.attempts >= p.MaxAttempts {
			return run, err
		}
		if exp == nil {
			exp = backoff.NewExponentialBackOff(
				backoff.WithInitialInterval(p.InitialInterval),
				backoff.WithMaxInterval(p.MaxInterval),
				backoff.WithMaxElapsedTime(0), // MaxElapsed is judged below, Retry-After included
			)
		}
		wait := exp.NextBackOff()
		if e, ok := errors.AsType[*Error](err); ok && e.RetryAfter > 0 {
			hint := e.RetryAfter
			if p.RetryAfterScale > 0 {
				hint = time.Duration(float64(hint) * p.RetryAfterScale)
			}
			wait = max(wait, hint) // the server's word wins over MaxInterval
		}
		if run.elapsed+wait > p.MaxElapsed {
			run.stopped = "the next attempt, " + wait.Round(time.Millisecond).String() + " away, would start past the retry budget of " + p.MaxElapsed.String()
			return run, err
		}
		if deadline, ok := ctx.Deadline(); ok && !time.Now().Add(wait).Before(deadline) {
			// Sleeping until the deadline would only delay the same failure.
			return run, fmt.Errorf("%w before the next attempt, due in %v: %w", context.DeadlineExceeded, wait.Round(time.Millisecond), err)
		}
		if notify != nil {
			notify(err, wait)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			run.elapsed = time.Since(start)
			// Report both the cancellation and why we were waiting.
			return run, fmt.Errorf("%w while waiting to retry after: %w", ctx.Err(), err)
		case <-t.C:
		}
	}
}
