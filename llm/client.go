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
	"net/url"
	"os"
	"strconv"
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
// per account with NewClient and share it. The zero Client is not usable: its methods
// return an error saying so.
type Client struct {
	account     string
	token       *secret // a pointer, so that %+v of a Client prints an address, never the token
	baseURL     string
	baseSet     bool
	gateway     *gatewayConfig
	http        *http.Client
	retry       RetryPolicy
	log         *slog.Logger
	observers   []Observer
	maxBody     int64
	timeout     time.Duration // per attempt of a call that does not stream, when timeoutSet
	timeoutSet  bool          // else the limit depends on the model (timeoutFor)
	idleTimeout time.Duration // longest silence of a stream; 0 for none
	compatBase  string        // set for NewOpenAICompatible clients: requests go to {compatBase}/chat/completions
	err         error         // set for a NewOpenAICompatible model built with an option it refuses
}

// errNotCreated is what a Client not made by NewClient answers.
var errNotCreated = errors.New("llm: the Client was not created with llm.NewClient; a zero Client cannot send requests")

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
	baseSet        bool
	gatewayID      string
	gatewayOpts    []GatewayOption
	http           *http.Client
	retry          *RetryPolicy
	log            *slog.Logger
	observers      []Observer
	maxBody        int64
	timeout        *time.Duration
	idleTimeout    *time.Duration
	err            error // the first option that was refused
}

// fail records the first refused option; NewClient returns it.
func (c *config) fail(err error) {
	if c.err == nil {
		c.err = err
	}
}

// WithAccount sets the account id and API token instead of CLOUDFLARE_ACCOUNT_ID and
// CLOUDFLARE_API_TOKEN. Any non-empty token is accepted (emulators and proxies use short
// ones); it is removed from error text wherever it stands as a whole word, so a very short
// token such as "t" is not hidden inside longer words and should not be used against the
// real service, whose tokens are 40 characters long.
func WithAccount(accountID, apiToken string) Option {
	return func(c *config) { c.account, c.token, c.accountSet = accountID, apiToken, true }
}

// WithBaseURL sends every request to url, an absolute http or https URL, instead of the
// Cloudflare API (an emulator such as llmtest, a proxy, or a self-hosted gateway). With a
// gateway configured, gateway paths are also resolved against url, so one emulator serves
// both. With a base URL the API token may be empty and the account id may be any text
// that is safe in a URL path.
func WithBaseURL(url string) Option {
	return func(c *config) { c.baseURL, c.baseSet = strings.TrimRight(url, "/"), true }
}

// WithHTTPClient sends every request through hc (proxies, transports, recorders). Its own
// Timeout, if any, applies on top of WithTimeout and WithStreamIdleTimeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *config) { c.http = hc } }

// WithMaxResponseBytes caps a non-streamed response body (default 32 MiB); a larger body is
// an error, not an out-of-memory crash. Zero or less keeps the default.
func WithMaxResponseBytes(n int64) Option { return func(c *config) { c.maxBody = n } }

// accountIDHelp says what an account id looks like and where to find it.
const accountIDHelp = "a Cloudflare account id is 32 hexadecimal characters, shown as \"Account ID\" on the Workers AI page and on the account home of the dashboard " +
	"(https://developers.cloudflare.com/fundamentals/account/find-account-and-zone-ids/)"

// NewClient returns a client for the account in CLOUDFLARE_ACCOUNT_ID with the token in
// CLOUDFLARE_API_TOKEN, unless options say otherwise.
//
// It fails, before any request, when the account id or the token is missing (naming the
// missing variable), when the account id is not 32 hexadecimal characters as Cloudflare's
// are, and when an option is invalid. With WithBaseURL (an emulator or a proxy) the token
// may be missing and the account id may be anything safe in a URL path; an id with '/',
// '?', '#', '%', whitespace or an unexpanded "${...}" is refused always.
func NewClient(opts ...Option) (*Client, error) {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.err != nil {
		return nil, cfg.err
	}
	fromEnv := !cfg.accountSet
	if fromEnv {
		cfg.account = os.Getenv("CLOUDFLARE_ACCOUNT_ID")
		cfg.token = os.Getenv("CLOUDFLARE_API_TOKEN")
	}
	cfg.account = strings.TrimSpace(cfg.account)
	cfg.token = strings.TrimSpace(cfg.token)
	if cfg.baseSet {
		if err := checkBaseURL(cfg.baseURL); err != nil {
			return nil, err
		}
	}
	if err := checkAccount(cfg.account, cfg.token, fromEnv, cfg.baseSet); err != nil {
		return nil, err
	}
	if cfg.account == "" {
		cfg.account = "local"
	}
	c := &Client{
		account: cfg.account,
		token:   newSecret(cfg.token),
		baseURL: cfg.baseURL,
		baseSet: cfg.baseSet,
	}
	if !c.baseSet {
		c.baseURL = DefaultBaseURL
	}
	cfg.apply(c)
	if cfg.gatewayID != "" {
		g, err := newGatewayConfig(cfg.gatewayID, cfg.gatewayOpts)
		if err != nil {
			return nil, err
		}
		c.gateway = g
	}
	return c, nil
}

// apply sets what every kind of client takes from the options.
func (cfg *config) apply(c *Client) {
	c.http, c.log, c.maxBody = cfg.http, cfg.log, cfg.maxBody
	c.observers = cfg.observers
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
	if cfg.timeout != nil {
		c.timeout, c.timeoutSet = *cfg.timeout, true
	}
	c.idleTimeout = defaultStreamIdleTimeout
	if cfg.idleTimeout != nil {
		c.idleTimeout = *cfg.idleTimeout
	}
}

// checkBaseURL refuses a base URL that is not an absolute http or https URL.
func checkBaseURL(base string) error {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("llm: base URL %q is not an absolute http or https URL", base)
	}
	return nil
}

// checkAccount validates the account id and the token; fromEnv says whether they came from
// the environment, so that the error names the variable to set.
func checkAccount(account, token string, fromEnv, baseSet bool) error {
	if !baseSet {
		switch {
		case account == "" && token == "" && fromEnv:
			return errors.New("llm: no Cloudflare account: set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN, or pass WithAccount or WithBaseURL")
		case account == "" && fromEnv:
			return errors.New("llm: CLOUDFLARE_ACCOUNT_ID is not set (CLOUDFLARE_API_TOKEN is); " + accountIDHelp)
		case account == "":
			return errors.New("llm: WithAccount was given an empty account id; " + accountIDHelp)
		case token == "" && fromEnv:
			return errors.New("llm: CLOUDFLARE_API_TOKEN is not set (CLOUDFLARE_ACCOUNT_ID is); create a token with Workers AI permissions (https://developers.cloudflare.com/workers-ai/get-started/rest-api/)")
		case token == "":
			return errors.New("llm: WithAccount was given an empty API token")
		}
	}
	if account == "" {
		return nil
	}
	if strings.Contains(account, "${") {
		return fmt.Errorf("llm: account id %s is an unexpanded variable; %s", showAccount(account, token), accountIDHelp)
	}
	if url.PathEscape(account) != account {
		return fmt.Errorf("llm: account id %s has characters that cannot be in a URL path; %s", showAccount(account, token), accountIDHelp)
	}
	if !baseSet && !isAccountID(account) {
		return fmt.Errorf("llm: account id %s is not a Cloudflare account id; %s", showAccount(account, token), accountIDHelp)
	}
	return nil
}

// isAccountID reports whether s has the form of a Cloudflare account id.
func isAccountID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := range len(s) {
		if !('0' <= s[i] && s[i] <= '9' || 'a' <= s[i] && s[i] <= 'f' || 'A' <= s[i] && s[i] <= 'F') {
			return false
		}
	}
	return true
}

// showAccount quotes a refused account id for an error, unless it could be a secret (the
// token, or text long enough to be one, set in the wrong variable): then only its first
// characters and its length are shown.
func showAccount(account, token string) string {
	secretLike := len(account) >= 20
	for i := range len(account) {
		if !isTokenByte(account[i]) {
			secretLike = false
		}
	}
	if account == token && token != "" || secretLike {
		return fmt.Sprintf("%q... (%d characters; is it the API token?)", account[:min(4, len(account))], len(account))
	}
	return strconv.Quote(account)
}

// String describes the client without its token.
func (c *Client) String() string {
	if c == nil {
		return "llm.Client(nil)"
	}
	return fmt.Sprintf("llm.Client{account: %s, base: %s, token: [REDACTED]}", c.account, c.baseURL)
}

// LogValue keeps the token out of structured logs.
func (c *Client) LogValue() slog.Value {
	if c == nil {
		return slog.StringValue("llm.Client(nil)")
	}
	return slog.GroupValue(slog.String("account", c.account), slog.String("base", c.baseURL))
}

// runURL is the native endpoint of a model. Model ids go into the path unescaped, slashes
// and @ included, as Workers AI expects.
func (c *Client) runURL(model string) string {
	if c == nil {
		return ""
	}
	if c.gateway != nil {
		return c.gatewayBase() + "/v1/" + c.account + "/" + c.gateway.id + "/workers-ai/" + model
	}
	return c.baseURL + "/accounts/" + c.account + "/ai/run/" + model
}

// v1URL is an OpenAI-compatible endpoint ("chat/completions", "embeddings").
func (c *Client) v1URL(path string) string {
	switch {
	case c == nil:
		return ""
	case c.compatBase != "":
		return c.compatBase + "/" + path
	case c.gateway != nil:
		return c.gatewayBase() + "/v1/" + c.account + "/" + c.gateway.id + "/workers-ai/v1/" + path
	}
	return c.baseURL + "/accounts/" + c.account + "/ai/v1/" + path
}

// accountURL is a non-inference account route (gateway logs, vectorize).
func (c *Client) accountURL(path string) string {
	if c == nil {
		return ""
	}
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
	// createsWork marks a request whose repetition creates new work (a batch submission):
	// once it may have reached the service it is not sent again, and the error says so.
	createsWork bool
	op          string       // the operation observers are told; "" to derive it from model
	obs         *observation // nil when the call is not observed
}

// send performs cl with retries and returns a 2xx response whose body the caller must close.
// A service error on the only attempt is returned as the *Error; every other failure is a
// *RetryError naming the request once and wrapping the last attempt's error.
func (c *Client) send(ctx context.Context, cl call) (*http.Response, error) {
	if c == nil || c.http == nil {
		return nil, errNotCreated
	}
	if c.err != nil {
		return nil, c.err
	}
	var resp *http.Response
	n, notified := 0, 0 // attempts made, and reported to the observation with their wait
	run, err := c.retry.do(ctx, cl.createsWork, func() error {
		n++
		r, err := c.sendOnce(ctx, cl)
		resp = r
		return err
	}, func(err error, next time.Duration) {
		cl.obs.attempt(n, err, next)
		notified = n
	})
	if err == nil {
		cl.obs.sent(run.attempts, resp, nil)
		return resp, nil
	}
	if run.attempts > notified {
		// The last attempt's failure, unless it was reported already and the wait after it
		// is what ended the call.
		cl.obs.attempt(run.attempts, err, 0)
	}
	cl.obs.sent(run.attempts, nil, err)
	if _, ok := err.(*Error); ok && run.attempts == 1 && run.stopped == "" {
		return nil, err
	}
	return nil, &RetryError{Method: cl.method, URL: c.redact(cl.url), Attempts: run.attempts, Elapsed: run.elapsed, Stopped: run.stopped, Err: err}
}

// sendOnce makes one attempt of cl.
func (c *Client) sendOnce(ctx context.Context, cl call) (*http.Response, error) {
	a := c.newAttempt(ctx, cl)
	actx := ctx
	if a != nil {
		actx = a.ctx
	}
	resp, err := c.roundTrip(actx, cl)
	if err != nil {
		err = c.transportFailure(ctx, a, err)
		if a != nil {
			a.end()
		}
		return nil, err
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		if a != nil {
			resp.Body = &attemptBody{rc: resp.Body, a: a}
		}
		return resp, nil
	}
	body, readErr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	timedOut := a.timedOut()
	if a != nil {
		a.end()
	}
	if readErr != nil && timedOut != nil && ctx.Err() == nil {
		return nil, timedOut
	}
	e := parseError(resp.StatusCode, resp.Header, body, cl.model)
	if cl.model != "" && c.compatBase == "" && errors.Is(e, ErrModelNotFound) {
		e.Hint = modelHint(cl.model)
	}
	return nil, c.redactErr(e)
}

// roundTrip sends one request of cl under ctx.
func (c *Client) roundTrip(ctx context.Context, cl call) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, cl.method, cl.url, bytes.NewReader(cl.body))
	if err != nil {
		return nil, fmt.Errorf("build request: %w", err)
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
	return c.http.Do(req)
}

// jsonContentType is the Content-Type header value of JSON requests, shared by all of them (see
// secret.bearer for why sharing is safe). It is never modified.
var jsonContentType = []string{"application/json"}

// readBody reads a whole response body under the size cap and closes it.
func (c *Client) readBody(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := readCapped(resp.Body, resp.ContentLength, c.maxBody)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, fmt.Errorf("llm: response body exceeds %d bytes (raise it with WithMaxResponseBytes)", c.maxBody)
	case errors.Is(err, ErrTimeout):
		return nil, err
	case err != nil:
		return nil, c.redactErr(fmt.Errorf("llm: read response: %w", err))
	}
	return b, nil
}

// errTooLarge is a body longer than its cap.
var errTooLarge = errors.New("body too large")

// readCapped reads r to its end, failing with errTooLarge as soon as more than limit bytes
// have arrived, without reading the rest. announced is the Content-Length (-1 or 0 when
// unknown); a larger announced length fails at once.
//
// The body is gathered in chunks that are never copied while it grows, then joined once: a
// body of n bytes costs about 2n at its peak (n when the announced length is right, the
// common case: one chunk of that size and no join), where growing one slice costs up to 4n,
// and a body over the cap costs the cap, not the body. A Content-Length is only a hint: a
// longer body is read on, under the same limit.
func readCapped(r io.Reader, announced, limit int64) ([]byte, error) {
	if announced > limit {
		return nil, errTooLarge
	}
	const minChunk, maxChunk = 512, 4 << 20
	size := int64(minChunk)
	if announced > 0 {
		size = announced + 1 // the spare byte lets the last Read report EOF without a new chunk
	}
	var chunks [][]byte
	total := int64(0)
	buf := make([]byte, 0, min(size, limit+1))
	for {
		if len(buf) == cap(buf) {
			if total > limit {
				return nil, errTooLarge
			}
			chunks = append(chunks, buf)
			size = min(max(total, minChunk), maxChunk, limit+1-total)
			buf = make([]byte, 0, size)
		}
		n, err := r.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		total += int64(n)
		if total > limit {
			return nil, errTooLarge
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
	}
	if len(chunks) == 0 {
		return buf, nil
	}
	out := make([]byte, 0, total)
	for _, ch := range chunks {
		out = append(out, ch...)
	}
	return append(out, buf...), nil
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
	result, err := c.unwrapResult(data, model)
	if err != nil {
		return err
	}
	if output == nil {
		return nil
	}
	if err := json.Unmarshal(result, output); err != nil {
		return c.redactErr(fmt.Errorf("llm: run %s: decode result: %w", model, err))
	}
	return nil
}

// RunBytes calls any model and returns the reply as bytes with its content type. JSON
// replies come back as the envelope's result; image and audio bodies as they are. The kind
// is decided by Content-Type, not by model (stable-diffusion-xl-lightning was seen answering
// JPEG where its family answers PNG).
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

// exchange sends cl and returns the whole reply with its media type. It is the one place
// where every call other than a chat model's is observed.
func (c *Client) exchange(ctx context.Context, cl call) ([]byte, string, error) {
	if o, octx := c.begin(ctx, &cl, nil); o != nil {
		data, mt, err := c.exchangeOnce(octx, cl)
		o.endRaw(data, mt, err)
		return data, mt, err
	}
	return c.exchangeOnce(ctx, cl)
}

// exchangeOnce is exchange without observation.
func (c *Client) exchangeOnce(ctx context.Context, cl call) ([]byte, string, error) {
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
	result, err := c.unwrapResult(data, cl.model)
	if err != nil {
		return nil, "", err
	}
	return result, mt, nil
}

// unwrapResult is unwrapEnvelope naming model in a service error, with the token removed
// from whatever the service wrote.
func (c *Client) unwrapResult(data []byte, model string) (json.RawMessage, error) {
	result, err := unwrapEnvelope(data)
	if err != nil {
		if e, ok := errors.AsType[*Error](err); ok {
			e.Model = model
		}
		return nil, c.redactErr(err)
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
	data, _, err := c.runRaw(ctx, call{method: method, url: url, body: body, op: OpAccountAPI})
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return c.redactErr(fmt.Errorf("llm: %s: decode result: %w", method, err))
	}
	return nil
}

// RunOpenAI posts input as JSON to the OpenAI-compatible endpoint path ("embeddings",
// "chat/completions", ...; through the gateway when one is configured) and decodes the
// reply into output, which may be nil. model names the model for errors.
func (c *Client) RunOpenAI(ctx context.Context, model, path string, input, output any) error {
	body, ct, err := encodeInput(input)
	if err != nil {
		return err
	}
	path = strings.TrimLeft(path, "/")
	op := OpRun
	switch {
	case strings.HasPrefix(path, "embeddings"):
		op = OpEmbeddings
	case strings.HasPrefix(path, "chat/completions"):
		op = OpChat
	}
	data, _, err := c.runRaw(ctx, call{method: http.MethodPost, url: c.v1URL(path), model: model, body: body, contentType: ct, op: op})
	if err != nil {
		return err
	}
	if output == nil {
		return nil
	}
	if err := json.Unmarshal(data, output); err != nil {
		return c.redactErr(fmt.Errorf("llm: %s: decode reply: %w", path, err))
	}
	return nil
}

// AccountAPI calls another route of the account on the Cloudflare API (Vectorize, AI
// Gateway logs, ...) with the client's token, retry policy and size limit. path is
// relative to /accounts/{account_id}/, e.g. "vectorize/v2/indexes"; it never goes
// through AI Gateway. body is sent with contentType ("application/json" when empty; nil
// body for none); the envelope's result is decoded into out, which may be nil.
func (c *Client) AccountAPI(ctx context.Context, method, path, contentType string, body []byte, out any) error {
	data, _, err := c.runRaw(ctx, call{method: method, url: c.accountURL(strings.TrimLeft(path, "/")), body: body, contentType: contentType, op: OpAccountAPI})
	if err != nil {
		return err
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return c.redactErr(fmt.Errorf("llm: %s %s: decode result: %w", method, path, err))
	}
	return nil
}
