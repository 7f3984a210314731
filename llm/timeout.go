package llm

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/url"
	"sync"
	"syscall"
	"time"
)

// The default timeouts, chosen to fit the slowest catalogued model of each task with room
// to spare: an attempt that passes them is stuck, not slow.
const (
	defaultStreamIdleTimeout = 2 * time.Minute
	defaultRouteTimeout      = 2 * time.Minute  // account routes, and tasks that answer in seconds
	defaultChatTimeout       = 5 * time.Minute  // text generation without streaming, reasoning models included
	defaultSlowTimeout       = 10 * time.Minute // image generation, long audio, models the catalog does not know
)

// WithTimeout bounds each attempt of a call that does not stream, from sending the request
// to reading the last byte of the reply. An attempt that runs out fails with an error
// matching ErrTimeout and is retried like an HTTP 408; the context given to the call still
// bounds the whole call, retries included. Zero disables the limit.
//
// Without this option the limit depends on the model's catalogued Task: 5 minutes for text
// generation, 10 minutes for text-to-image and speech recognition, 5 minutes for
// image-to-text and text-to-speech, 2 minutes for the other tasks and for account routes
// (Vectorize, gateway feedback, the model search), and 10 minutes for a model the catalog
// does not know, including every model of NewOpenAICompatible.
func WithTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail(errors.New("llm: WithTimeout: negative duration " + d.String()))
			return
		}
		c.timeout = &d
	}
}

// WithStreamIdleTimeout ends a stream (ChatModel.Stream) with an error matching ErrTimeout
// when no byte has arrived for d, the wait for the response headers included. A stream
// whose headers did not arrive in time is retried; one that falls silent after its first
// event is not. The default is 2 minutes; zero disables it.
func WithStreamIdleTimeout(d time.Duration) Option {
	return func(c *config) {
		if d < 0 {
			c.fail(errors.New("llm: WithStreamIdleTimeout: negative duration " + d.String()))
			return
		}
		c.idleTimeout = &d
	}
}

// timeoutFor is the per-attempt limit of a call that does not stream.
func (c *Client) timeoutFor(model string) time.Duration {
	if c.timeoutSet {
		return c.timeout
	}
	if model == "" {
		return defaultRouteTimeout
	}
	info, ok := LookupModel(model)
	if !ok || c.compatBase != "" {
		return defaultSlowTimeout
	}
	switch info.Task {
	case TaskTextGeneration, TaskImageToText, TaskTextToSpeech:
		return defaultChatTimeout
	case TaskTextToImage, TaskSpeechRecognition:
		return defaultSlowTimeout
	}
	return defaultRouteTimeout
}

// timeoutError is the client's own timeout: an attempt past WithTimeout or a stream silent
// past WithStreamIdleTimeout. It matches ErrTimeout.
type timeoutError struct{ msg string }

func (e *timeoutError) Error() string        { return e.msg }
func (e *timeoutError) Is(target error) bool { return target == ErrTimeout }

func attemptTimeout(d time.Duration) error {
	return &timeoutError{"llm: no complete reply within " + d.String() + " (the per-attempt limit; change it with llm.WithTimeout)"}
}

func streamIdle(d time.Duration) error {
	return &timeoutError{"llm: the stream sent nothing for " + d.String() + " (change the limit with llm.WithStreamIdleTimeout)"}
}

// attempt is the context of one attempt and what cancels it: the per-attempt timeout, or
// the idle timer of a stream, which each Read of the body re-arms.
type attempt struct {
	ctx    context.Context
	cancel context.CancelCauseFunc
	idle   time.Duration
	timer  *time.Timer
}

// newAttempt derives the context of one attempt of cl from the call's ctx.
func (c *Client) newAttempt(ctx context.Context, cl call) *attempt {
	if cl.stream {
		if c.idleTimeout <= 0 {
			return nil
		}
		a := &attempt{idle: c.idleTimeout}
		a.ctx, a.cancel = context.WithCancelCause(ctx)
		cause := streamIdle(a.idle)
		a.timer = time.AfterFunc(a.idle, func() { a.cancel(cause) })
		return a
	}
	d := c.timeoutFor(cl.model)
	if d <= 0 {
		return nil
	}
	actx, stop := context.WithTimeoutCause(ctx, d, attemptTimeout(d))
	return &attempt{ctx: actx, cancel: func(error) { stop() }}
}

// end releases the attempt's timer and context.
func (a *attempt) end() {
	if a.timer != nil {
		a.timer.Stop()
	}
	a.cancel(context.Canceled)
}

// timedOut returns the attempt's timeout error if that is what ended it.
func (a *attempt) timedOut() error {
	if a == nil {
		return nil
	}
	if t, ok := errors.AsType[*timeoutError](context.Cause(a.ctx)); ok {
		return t
	}
	return nil
}

// attemptBody is a reply body read under its attempt's limits: Read re-arms a stream's idle
// timer, turns a failure caused by a timeout into that timeout's error, and Close releases
// the attempt.
type attemptBody struct {
	rc   io.ReadCloser
	a    *attempt
	once sync.Once
}

func (b *attemptBody) Read(p []byte) (int, error) {
	n, err := b.rc.Read(p)
	if n > 0 && b.a.timer != nil {
		b.a.timer.Reset(b.a.idle)
	}
	if err != nil && err != io.EOF {
		if t := b.a.timedOut(); t != nil {
			err = t
		}
	}
	return n, err
}

func (b *attemptBody) Close() error {
	err := b.rc.Close()
	b.once.Do(b.a.end)
	return err
}

// transportError is a request that got no HTTP reply. Its text is the cause without the
// URL, which the RetryError around it names once; its chain holds ErrUnreachable for a
// network failure and the transport's own error.
type transportError struct {
	msg  string
	errs []error
}

func (e *transportError) Error() string   { return e.msg }
func (e *transportError) Unwrap() []error { return e.errs }

// transportFailure describes err, returned by the HTTP client for an attempt of a call
// whose context is ctx.
func (c *Client) transportFailure(ctx context.Context, a *attempt, err error) error {
	if ctx.Err() == nil {
		if t := a.timedOut(); t != nil {
			return t
		}
	}
	inner := err
	for {
		ue, ok := inner.(*url.Error)
		if !ok {
			break
		}
		inner = ue.Err
	}
	msg := c.redact(inner.Error())
	if ctx.Err() == nil && isNetworkFailure(err) {
		return &transportError{msg: "service unreachable: " + msg, errs: []error{ErrUnreachable, err}}
	}
	return &transportError{msg: msg, errs: []error{err}}
}

// isNetworkFailure reports whether err means the service could not be reached or the
// connection broke: DNS, refused or reset connections, TLS, I/O timeouts.
func isNetworkFailure(err error) bool {
	if _, ok := errors.AsType[net.Error](err); ok {
		return true
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.RecordHeaderError](err); ok {
		return true
	}
	if _, ok := errors.AsType[tls.AlertError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.UnknownAuthorityError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.HostnameError](err); ok {
		return true
	}
	if _, ok := errors.AsType[x509.CertificateInvalidError](err); ok {
		return true
	}
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}

// notReceived reports whether a failed attempt certainly did not reach the service, so that
// a call that creates work may be sent again: the connection was never made (DNS failure,
// refused connection, certificate refused), or the service answered 429 with a rate-limit
// or capacity code, refusing the request before taking it.
func notReceived(err error) bool {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Status == 429 && e.Retryable()
	}
	if _, ok := errors.AsType[*net.DNSError](err); ok {
		return true
	}
	if op, ok := errors.AsType[*net.OpError](err); ok && op.Op == "dial" {
		return true
	}
	if _, ok := errors.AsType[*tls.CertificateVerificationError](err); ok {
		return true
	}
	return false
}
