package llmtest

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"unicode/utf8"
)

// Mode says whether a Recorder replays a cassette or records one.
type Mode int

const (
	// ModeReplay answers every request from the cassette and never touches the network.
	// It is the zero Mode, so a test can only reach the network by asking to.
	ModeReplay Mode = iota
	// ModeRecord sends every request through the next RoundTripper and keeps the exchange;
	// Close writes the cassette.
	ModeRecord
	// ModeAuto replays when the cassette file exists and records otherwise.
	ModeAuto
)

// Recorder is an http.RoundTripper that records HTTP exchanges to a cassette file and
// replays them, so that a test recorded once against the live service runs offline.
//
// In record mode each request goes through the next RoundTripper; its response body is read
// whole (event streams included) and kept, and Close writes the cassette atomically as
// indented JSON. Credentials never reach the file: Authorization, cf-aig-authorization and
// X-Auth-Key headers are redacted, and any Bearer token seen is also scrubbed from every
// URL, header and body before writing.
//
// In replay mode a request is answered by the first unused recorded exchange with the same
// method, URL and body; a request without one fails with an error naming it. Responses
// are replayed whole.
//
// A Recorder is safe for concurrent use.
type Recorder struct {
	path string
	mode Mode // ModeReplay or ModeRecord once resolved
	next http.RoundTripper

	mu      sync.Mutex
	loadErr error
	tape    []interaction
	used    []bool
	secrets map[string]bool
}

// cassette is the file format: interactions in the order they completed.
type cassette struct {
	Interactions []interaction `json:"interactions"`
}

type interaction struct {
	Request  recordedRequest  `json:"request"`
	Response recordedResponse `json:"response"`
}

type recordedRequest struct {
	Method  string      `json:"method"`
	URL     string      `json:"url"`
	Headers http.Header `json:"headers"`
	body
}

type recordedResponse struct {
	Status  int         `json:"status"`
	Headers http.Header `json:"headers"`
	body
}

// body is text when it is valid UTF-8 and base64 otherwise.
type body struct {
	Body   string `json:"body"`
	Base64 bool   `json:"body_base64,omitempty"`
	raw    []byte
}

func newBody(b []byte) body {
	if utf8.Valid(b) {
		return body{Body: string(b), raw: b}
	}
	return body{Body: base64.StdEncoding.EncodeToString(b), Base64: true, raw: b}
}

func (b *body) decode() error {
	if !b.Base64 {
		b.raw = []byte(b.Body)
		return nil
	}
	raw, err := base64.StdEncoding.DecodeString(b.Body)
	b.raw = raw
	return err
}

// NewRecorder returns a Recorder for the cassette at path. next carries requests in record
// mode; nil means http.DefaultTransport. A cassette that cannot be read in replay mode
// makes every RoundTrip fail with the reason.
func NewRecorder(path string, mode Mode, next http.RoundTripper) *Recorder {
	if next == nil {
		next = http.DefaultTransport
	}
	r := &Recorder{path: path, mode: mode, next: next, secrets: map[string]bool{}}
	if mode == ModeAuto {
		r.mode = ModeRecord
		if _, err := os.Stat(path); err == nil {
			r.mode = ModeReplay
		}
	}
	if r.mode == ModeReplay {
		r.loadErr = r.load()
	}
	return r
}

func (r *Recorder) load() error {
	data, err := os.ReadFile(r.path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("llmtest: recorder: cassette %s does not exist; record it with ModeRecord or ModeAuto", r.path)
		}
		return fmt.Errorf("llmtest: recorder: %w", err)
	}
	var c cassette
	if err := json.Unmarshal(data, &c); err != nil {
		return fmt.Errorf("llmtest: recorder: cassette %s: %w", r.path, err)
	}
	for i := range c.Interactions {
		in := &c.Interactions[i]
		if err := in.Request.decode(); err != nil {
			return fmt.Errorf("llmtest: recorder: cassette %s: interaction %d request body: %w", r.path, i, err)
		}
		if err := in.Response.decode(); err != nil {
			return fmt.Errorf("llmtest: recorder: cassette %s: interaction %d response body: %w", r.path, i, err)
		}
	}
	r.tape = c.Interactions
	r.used = make([]bool, len(c.Interactions))
	return nil
}

// RoundTrip records or replays one exchange. It implements http.RoundTripper.
func (r *Recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil {
		var err error
		reqBody, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("llmtest: recorder: read request body: %w", err)
		}
	}
	if r.mode == ModeReplay {
		return r.replay(req, reqBody)
	}
	return r.record(req, reqBody)
}

func (r *Recorder) replay(req *http.Request, reqBody []byte) (*http.Response, error) {
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.loadErr != nil {
		return nil, r.loadErr
	}
	url := req.URL.String()
	for i, in := range r.tape {
		if r.used[i] || in.Request.Method != req.Method || in.Request.URL != url || !bytes.Equal(in.Request.raw, reqBody) {
			continue
		}
		r.used[i] = true
		return &http.Response{
			Status:        fmt.Sprintf("%d %s", in.Response.Status, http.StatusText(in.Response.Status)),
			StatusCode:    in.Response.Status,
			Proto:         "HTTP/1.1",
			ProtoMajor:    1,
			ProtoMinor:    1,
			Header:        in.Response.Headers.Clone(),
			Body:          io.NopCloser(bytes.NewReader(in.Response.raw)),
			ContentLength: int64(len(in.Response.raw)),
			Request:       req,
		}, nil
	}
	unused := 0
	for _, u := range r.used {
		if !u {
			unused++
		}
	}
	return nil, fmt.Errorf("llmtest: recorder: no recorded exchange for %s %s with body %.200q in cassette %s (%d interactions, %d unused)",
		req.Method, url, reqBody, r.path, len(r.tape), unused)
}

func (r *Recorder) record(req *http.Request, reqBody []byte) (*http.Response, error) {
	out := req.Clone(req.Context())
	if req.Body != nil {
		out.Body = io.NopCloser(bytes.NewReader(reqBody))
		out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(reqBody)), nil }
		out.ContentLength = int64(len(reqBody))
	}
	resp, err := r.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, fmt.Errorf("llmtest: recorder: read response body: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	resp.ContentLength = int64(len(respBody))

	r.mu.Lock()
	defer r.mu.Unlock()
	for _, k := range secretHeaders {
		v := req.Header.Get(k)
		// Tokens shorter than 8 bytes are left to header redaction: scrubbing them everywhere
		// would mangle unrelated text. Cloudflare tokens are 40 characters.
		if token := strings.TrimSpace(strings.TrimPrefix(v, "Bearer ")); len(token) >= 8 {
			r.secrets[token] = true
		}
	}
	r.tape = append(r.tape, interaction{
		Request:  recordedRequest{Method: req.Method, URL: req.URL.String(), Headers: redactHeader(req.Header), body: newBody(reqBody)},
		Response: recordedResponse{Status: resp.StatusCode, Headers: resp.Header.Clone(), body: newBody(respBody)},
	})
	return resp, nil
}

// Close writes the cassette in record mode, replacing the file atomically; in replay mode
// it does nothing. Every secret seen is scrubbed before anything is written.
func (r *Recorder) Close() error {
	if r.mode != ModeRecord {
		return nil
	}
	r.mu.Lock()
	c := cassette{Interactions: make([]interaction, len(r.tape))}
	for i, in := range r.tape {
		c.Interactions[i] = interaction{
			Request: recordedRequest{Method: in.Request.Method, URL: r.scrub(in.Request.URL),
				Headers: r.scrubHeader(in.Request.Headers), body: newBody(r.scrubBytes(in.Request.raw))},
			Response: recordedResponse{Status: in.Response.Status,
				Headers: r.scrubHeader(in.Response.Headers), body: newBody(r.scrubBytes(in.Response.raw))},
		}
	}
	r.mu.Unlock()
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("llmtest: recorder: encode cassette: %w", err)
	}
	return writeAtomic(r.path, append(data, '\n'))
}

func (r *Recorder) scrub(s string) string {
	for secret := range r.secrets {
		s = strings.ReplaceAll(s, secret, "[REDACTED]")
	}
	return s
}

func (r *Recorder) scrubBytes(b []byte) []byte {
	for secret := range r.secrets {
		b = bytes.ReplaceAll(b, []byte(secret), []byte("[REDACTED]"))
	}
	return b
}

func (r *Recorder) scrubHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		for _, v := range vs {
			out[k] = append(out[k], r.scrub(v))
		}
	}
	return out
}

// writeAtomic writes data to a temporary file beside path and renames it over path, so a
// reader never sees half a cassette.
func writeAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("llmtest: recorder: %w", err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("llmtest: recorder: %w", err)
	}
	_, werr := f.Write(data)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("llmtest: recorder: write cassette: %w", err)
	}
	if err := os.Rename(f.Name(), path); err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("llmtest: recorder: write cassette: %w", err)
	}
	return nil
}

// secretHeaders carry credentials: the API token, an authenticated AI Gateway's token,
// and a legacy global API key.
var secretHeaders = []string{"Authorization", "cf-aig-authorization", "X-Auth-Key"}

// redactHeader returns a copy of h with credentials replaced: a Bearer token by
// "Bearer [REDACTED]", anything else by "[REDACTED]".
func redactHeader(h http.Header) http.Header {
	out := h.Clone()
	if out == nil {
		out = http.Header{}
	}
	for _, k := range secretHeaders {
		vs := out.Values(k)
		if len(vs) == 0 {
			continue
		}
		red := make([]string, len(vs))
		for i, v := range vs {
			red[i] = "[REDACTED]"
			if strings.HasPrefix(v, "Bearer ") {
				red[i] = "Bearer [REDACTED]"
			}
		}
		out[http.CanonicalHeaderKey(k)] = red
	}
	return out
}
