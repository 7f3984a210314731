package llm

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strings"
	"time"
)

// DefaultBaseURL is the Cloudflare REST API root.
const DefaultBaseURL = "https://api.cloudflare.com/client/v4"

// DefaultGatewayURL is the AI Gateway root.
const DefaultGatewayURL = "https://gateway.ai.cloudflare.com"

// DefaultMaxResponseBytes caps how much of a non-streamed response body is read.
const DefaultMaxResponseBytes = 32 << 20

// Client talks to Workers AI over its REST API. It is safe for concurrent use; create one
// per account and share it.
type Client struct {
	account    string
	token      *secret // a pointer, so that %+v of a Client prints an address, never the token
	baseURL    string
	baseSet    bool
	gateway    *gatewayConfig
	http       *http.Client
	retry      RetryPolicy
	log        *slog.Logger
	maxBody    int64
	compatBase string // set for NewOpenAICompatible clients: requests go to {compatBase}/chat/completions
}

// secret holds an API token. Its formatting methods never show the value.
type secret struct {
	v string
	// bearer is the header value {"Bearer " + v}, built once rather than on every request. It
	// lives here and not on Client, where %+v of a Client would print it. Sharing it between
	// requests is safe: a RoundTripper must not modify the request, and Header.Add appends to a
	// copy because the slice is full (len == cap).
	bearer []string
}

// newSecret returns token as a secret; the empty token sends no Authorization header.
func newSecret(token string) *secret {
	s := &secret{v: token}
	if token != "" {
		s.bearer = []string{"Bearer " + token}
	}
	return s
}

func (*secret) String() string   { return "[REDACTED]" }
func (*secret) GoString() string { return "[REDACTED]" }

// Option configures a Client at construction.
type Option func(*config)

type config struct {
	account, token string
	accountSet     bool
	baseURL        string
	gatewayID      string
	gatewayOpts    []GatewayOption
	http           *http.Client
	retry          *RetryPolicy
	log            *slog.Logger
	maxBody        int64
}

// WithAccount sets the account id and API token instead of CLOUDFLARE_ACCOUNT_ID and
// CLOUDFLARE_API_TOKEN.
func WithAccount(accountID, apiToken string) Option {
	return func(c *config) { c.account, c.token, c.accountSet = accountID, apiToken, true }
}

// WithBaseURL sends every request to url instead of the Cloudflare API (an emulator such as
// llmtest, a proxy, or a self-hosted gateway). With a gateway configured, gateway paths are
// also resolved against url, so one emulator serves both.
func WithBaseURL(url string) Option {
	return func(c *config) { c.baseURL = strings.TrimRight(url, "/") }
}

// WithHTTPClient sends every request through hc (timeouts, proxies, transports, recorders).
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.http = hc } }

// WithLogger logs each attempt at debug level and each retry at info level. The API token
// never appears in a log line.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithMaxResponseBytes caps a non-streamed response body (default 32 MiB); a larger body is
// an error, not an out-of-memory crash.
func WithMaxResponseBytes(n int64) Option { return func(c *config) { c.maxBody = n } }

// NewClient returns a client for the account in CLOUDFLARE_ACCOUNT_ID with the token in
// CLOUDFLARE_API_TOKEN, unless options say otherwise. Without an account and without a
// base URL it fails, naming both variables.
func NewClient(opts ...Option) (*Client, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.accountSet {
		cfg.account = os.Getenv("CLOUDFLARE_ACCOUNT_ID")
		cfg.token = os.Getenv("CLOUDFLARE_API_TOKEN")
	}
	cfg.account = strings.TrimSpace(cfg.account)
	cfg.token = strings.TrimSpace(cfg.token)
	if cfg.baseURL == "" {
		if cfg.account == "" {
			return nil, errors.New("llm: no Cloudflare account: set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN, or pass WithAccount or WithBaseURL")
		}
		if cfg.token == "" {
			return nil, errors.New("llm: no API token: set CLOUDFLARE_API_TOKEN or pass WithAccount")
		}
	}
	if strings.ContainsAny(cfg.account, "/?#") || strings.Contains(cfg.account, "${") {
		// An unexpanded "${CLOUDFLARE_ACCOUNT_ID}" reaches the service as a 404/7003 (recordings #27).
		return nil, fmt.Errorf("llm: account id %q is not a Cloudflare account id", cfg.account)
	}
	if cfg.account == "" {
		cfg.account = "local"
	}
	c := &Client{
		account: cfg.account,
		token:   newSecret(cfg.token),
		baseURL: cfg.baseURL,
		baseSet: cfg.baseURL != "",
		http:    cfg.http,
		log:     cfg.log,
		maxBody: cfg.maxBody,
	}
	if c.baseURL == "" {
		c.baseURL = DefaultBaseURL
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	c.retry = DefaultRetryPolicy()
	if cfg.retry != nil {
		c.retry = cfg.retry.withDefaults()
	}
	if cfg.gatewayID != "" {
		g, err := newGatewayConfig(cfg.gatewayID, cfg.gatewayOpts)
		if err != nil {
			return nil, err
		}
		c.gateway = g
	}
	return c, nil
}

// String describes the client without its token.
func (c *Client) String() string {
	return fmt.Sprintf("llm.Client{account: %s, base: %s, token: [REDACTED]}", c.account, c.baseURL)
}

// LogValue keeps the token out of structured logs.
func (c *Client) LogValue() slog.Value {
	return slog.GroupValue(slog.String("account", c.account), slog.String("base", c.baseURL))
}

// runURL is the native endpoint of a model. Model ids go into the path unescaped, slashes
// and @ included (reference §1).
func (c *Client) runURL(model string) string {
	if c.gateway != nil {
		return c.gatewayBase() + "/v1/" + c.account + "/" + c.gateway.id + "/workers-ai/" + model
	}
	return c.baseURL + "/accounts/" + c.account + "/ai/run/" + model
}

// v1URL is an OpenAI-compatible endpoint ("chat/completions", "embeddings").
func (c *Client) v1URL(path string) string {
	switch {
	case c.compatBase != "":
		return c.compatBase + "/" + path
	case c.gateway != nil:
		return c.gatewayBase() + "/v1/" + c.account + "/" + c.gateway.id + "/workers-ai/v1/" + path
	}
	return c.baseURL + "/accounts/" + c.account + "/ai/v1/" + path
}

// accountURL is a non-inference account route (gateway logs, vectorize).
func (c *Client) accountURL(path string) string {
	return c.baseURL + "/accounts/" + c.account + "/" + path
}

func (c *Client) gatewayBase() string {
	if c.baseSet {
		return c.baseURL
	}
	return DefaultGatewayURL
}

// call is one HTTP exchange, retried as a whole.
type call struct {
	method      string
	url         string
	model       string // "" on routes that are not a model's
	body        []byte
	contentType string
	header      http.Header
	stream      bool // the reply is an event stream read as it arrives
}

// send performs c with retries and returns a 2xx response whose body the caller must close.
// Errors from the service are *Error; after the last attempt the last error is returned.
func (c *Client) send(ctx context.Context, cl call) (*http.Response, error) {
	var resp *http.Response
	attempt := 0
	err := c.retry.do(ctx, func() error {
		attempt++
		r, err := c.sendOnce(ctx, cl)
		resp = r
		return err
	}, func(err error, next time.Duration) {
		if c.log != nil {
			c.log.LogAttrs(ctx, slog.LevelInfo, "llm: retrying", slog.String("model", cl.model),
				slog.Int("attempt", attempt), slog.Duration("delay", next), slog.String("error", err.Error()))
		}
	})
	if err != nil {
		return nil, err
	}
	return resp, nil
}

func (c *Client) sendOnce(ctx context.Context, cl call) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, bytes.NewReader(cl.body))
	if err != nil {
		return nil, fmt.Errorf("llm: build request: %w", err)
	}
	// The common header values are assigned as prepared slices: Header.Set allocates one per call.
	if cl.body != nil {
		if ct := cl.contentType; ct == "" || ct == "application/json" {
			req.Header["Content-Type"] = jsonContentType
		} else {
			req.Header.Set("Content-Type", ct)
		}
	}
	if c.token.bearer != nil {
		req.Header["Authorization"] = c.token.bearer
	}
	if c.gateway != nil {
		c.gateway.apply(req.Header)
	}
	for k, vs := range cl.header {
		req.Header[k] = vs
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("llm: %s %s: %w", cl.method, c.redactURL(cl.url), err)
	}
	if c.log != nil {
		c.log.LogAttrs(ctx, slog.LevelDebug, "llm: response", slog.String("method", cl.method),
			slog.String("url", c.redactURL(cl.url)), slog.Int("status", resp.StatusCode))
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return resp, nil
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return nil, parseError(resp.StatusCode, resp.Header, body, cl.model)
}

// redactURL keeps URLs in errors free of anything token-like (a token never goes in a URL,
// but a mis-set account id might be one: recordings README, opencode#23773).
func (c *Client) redactURL(u string) string {
	if t := c.token.v; t != "" {
		u = strings.ReplaceAll(u, t, "[REDACTED]")
	}
	return u
}

// jsonContentType is the Content-Type header value of JSON requests, shared by all of them (see
// secret.bearer for why sharing is safe). It is never modified.
var jsonContentType = []string{"application/json"}

// readBody reads a whole response body under the size cap.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	r := io.LimitReader(resp.Body, c.maxBody+1)
	var b []byte
	var err error
	if n := resp.ContentLength; n > 0 && n <= c.maxBody {
		b, err = readSized(r, n)
	} else {
		b, err = io.ReadAll(r)
	}
	if err != nil {
		return nil, fmt.Errorf("llm: read response: %w", err)
	}
	if int64(len(b)) > c.maxBody {
		return nil, fmt.Errorf("llm: response body exceeds %d bytes (raise it with WithMaxResponseBytes)", c.maxBody)
	}
	return b, nil
}

// readSized reads r to its end into one buffer sized for the n bytes the response announced
// (Content-Length), where io.ReadAll grows from 512 bytes: 5 allocations for a 1.3 KB chat
// reply, 12 and 1.6 MB of garbage for 800 KB of embeddings (bench/README.md findings #3). The
// spare byte lets the last Read report EOF without a larger buffer. A body longer than
// announced is not cut there: the rest is read too, and the caller's limit still applies.
func readSized(r io.Reader, n int64) ([]byte, error) {
	b := make([]byte, 0, n+1)
	for len(b) < cap(b) {
		k, err := r.Read(b[len(b):cap(b)])
		b = b[:len(b)+k]
		if err == io.EOF {
			return b, nil
		}
		if err != nil {
			return b, err
		}
	}
	rest, err := io.ReadAll(r)
	return append(b, rest...), err
}

// mediaType returns the lower-case media type of a response ("application/json").
func mediaType(h http.Header) string {
	ct := h.Get("Content-Type")
	switch ct {
	case "application/json", "text/event-stream":
		// What the service sends, answered before mime.ParseMediaType builds a map of parameters.
		return ct
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(ct))
	}
	return mt
}

func isJSON(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

// Body is a raw request body for RunBytes and Run: audio for speech recognition,
// multipart/form-data for flux-2 image models.
type Body struct {
	ContentType string
	Data        []byte
}

// encodeInput marshals a Run input; []byte and json.RawMessage are sent as they are.
func encodeInput(input any) ([]byte, string, error) {
	switch v := input.(type) {
	case Body:
		return v.Data, v.ContentType, nil
	case *Body:
		return v.Data, v.ContentType, nil
	case json.RawMessage:
		return v, "application/json", nil
	case []byte:
		return v, "application/json", nil
	}
	b, err := json.Marshal(input)
	if err != nil {
		return nil, "", fmt.Errorf("llm: encode input: %w", err)
	}
	return b, "application/json", nil
}

// Run calls any model with a JSON input and decodes the JSON result (the envelope removed)
// into output, which may be nil. A non-JSON reply (an image, audio) is an error: use RunBytes.
func (c *Client) Run(ctx context.Context, model string, input, output any) error {
	cl, err := c.runCall(model, input)
	if err != nil {
		return err
	}
	data, mt, err := c.exchange(ctx, cl)
	if err != nil {
		return err
	}
	if !isJSON(mt) {
		return fmt.Errorf("llm: run %s: reply is %s, not JSON (use RunBytes)", model, mt)
	}
	if decodeResultInto(data, output) {
		return nil
	}
	result, err := unwrapResult(data, model)
	if err != nil {
		return err
	}
	if output == nil {
		return nil
	}
	if err := json.Unmarshal(result, output); err != nil {
		return fmt.Errorf("llm: run %s: decode result: %w", model, err)
	}
	return nil
}

// RunBytes calls any model and returns the reply as bytes with its content type. JSON
// replies come back as the envelope's result; image and audio bodies as they are. The kind
// is decided by Content-Type, not by model (SDXL Lightning answers JPEG, reference §1).
func (c *Client) RunBytes(ctx context.Context, model string, input any) ([]byte, string, error) {
	cl, err := c.runCall(model, input)
	if err != nil {
		return nil, "", err
	}
	return c.runRaw(ctx, cl)
}

// runCall is the request of Run and RunBytes.
func (c *Client) runCall(model string, input any) (call, error) {
	if model == "" {
		return call{}, errors.New("llm: run: empty model id")
	}
	body, ct, err := encodeInput(input)
	if err != nil {
		return call{}, err
	}
	return call{method: http.MethodPost, url: c.runURL(model), model: model, body: body, contentType: ct}, nil
}

// exchange sends cl and returns the whole reply with its media type.
func (c *Client) exchange(ctx context.Context, cl call) ([]byte, string, error) {
	resp, err := c.send(ctx, cl)
	if err != nil {
		return nil, "", err
	}
	mt := mediaType(resp.Header)
	data, err := c.readBody(resp)
	if err != nil {
		return nil, "", err
	}
	return data, mt, nil
}

// runRaw is exchange with a JSON reply's envelope removed.
func (c *Client) runRaw(ctx context.Context, cl call) ([]byte, string, error) {
	data, mt, err := c.exchange(ctx, cl)
	if err != nil {
		return nil, "", err
	}
	if !isJSON(mt) {
		return data, mt, nil
	}
	result, err := unwrapResult(data, cl.model)
	if err != nil {
		return nil, "", err
	}
	return result, mt, nil
}

// unwrapResult is unwrapEnvelope naming model in a service error.
func unwrapResult(data []byte, model string) (json.RawMessage, error) {
	result, err := unwrapEnvelope(data)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok {
			e.Model = model
		}
		return nil, err
	}
	return result, nil
}

// doJSON sends a JSON body to an account route (no model) and decodes the envelope's
// result into out (nil to ignore).
func (c *Client) doJSON(ctx context.Context, method, url string, in, out any) error {
	var body []byte
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("llm: encode request: %w", err)
		}
		body = b
	}
	data, _, err := c.runRaw(ctx, call{method: method, url: url, body: body})
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(data, out)
}

// RunOpenAI posts input as JSON to the OpenAI-compatible endpoint path ("embeddings",
// "chat/completions", ...; through the gateway when one is configured) and decodes the
// reply into output, which may be nil. model names the model for errors.
func (c *Client) RunOpenAI(ctx context.Context, model, path string, input, output any) error {
	body, ct, err := encodeInput(input)
	if err != nil {
		return err
	}
	data, _, err := c.runRaw(ctx, call{method: http.MethodPost, url: c.v1URL(strings.TrimLeft(path, "/")), model: model, body: body, contentType: ct})
	if err != nil {
		return err
	}
	if output == nil {
		return nil
	}
	if err := json.Unmarshal(data, output); err != nil {
		return fmt.Errorf("llm: %s: decode reply: %w", path, err)
	}
	return nil
}

// AccountAPI calls another route of the account on the Cloudflare API (Vectorize, AI
// Gateway logs, ...) with the client's token, retry policy and size limit. path is
// relative to /accounts/{account_id}/, e.g. "vectorize/v2/indexes"; it never goes
// through AI Gateway. body is sent with contentType ("application/json" when empty; nil
// body for none); the envelope's result is decoded into out, which may be nil.
func (c *Client) AccountAPI(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	data, _, err := c.runRaw(ctx, call{method: method, url: c.accountURL(strings.TrimLeft(path, "/")), body: body, contentType: contentType})
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("llm: %s %s: decode result: %w", method, path, err)
	}
	return nil
}
