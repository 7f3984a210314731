package llmtest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"image"
	"image/color"
	"image/png"
	"io"
	"maps"
	"math"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gowai/gowai/llm"
)

// Server is a Workers AI emulator on a local HTTP server. It answers the native
// /accounts/{account}/ai/run/{model} route (JSON, event streams, image bytes), the
// OpenAI-compatible /accounts/{account}/ai/v1/chat/completions and /ai/v1/embeddings
// routes, the same routes under AI Gateway's /v1/{account}/{gateway}/workers-ai/ prefix
// (with cf-aig-log-id, cf-aig-cache-status and the gateway cache), gateway log feedback,
// a generic OpenAI-compatible server under /v1 for llm.NewOpenAICompatible, the async
// batch API (?queueRequest=true) and Vectorize v2 in memory. Every route is served both
// at the root and under /client/v4, so a client whose base URL is Cloudflare's documented
// https://api.cloudflare.com/client/v4 reaches the server with only the host changed.
//
// Replies follow the live service's wire format: envelopes, headers (cf-ai-req-id,
// cf-ai-neurons), error bodies and codes, and each model family's body layout (key order,
// keys sent as null, llama-3.3's hybrid body on /ai/run, running usage in chat-style
// streams), as llm/testdata/recorded shows them. Ids and
// timestamps in replies are deterministic for a given order of requests.
//
// A Server is safe for concurrent use. Close it when done.
type Server struct {
	ts      *httptest.Server
	handler Handler
	model   llm.Model
	token   string
	account string

	seq atomic.Int64 // numbers requests: request ids, log ids

	mu       sync.Mutex
	requests []Recorded
	logs     map[string]string // gateway log id -> gateway id
	cache    map[string]cached // gateway cache by request key

	queue *batchQueue     // async batch API jobs (batch.go)
	vec   *vectorizeStore // Vectorize v2 indexes (vectorize.go)

	prompts promptCache // the prompt cache by session-affinity key (window.go)

	onAnswer func(Recorded) // WithRequestLog
	// slim is set by NewHandler: nobody reads Requests, so the server keeps no list of
	// requests; each exchange holds its own record until it is logged.
	slim bool
}

// Recorded is one request the server received, in arrival order. Authorization headers
// are redacted to "Bearer [REDACTED]".
type Recorded struct {
	Method string
	Path   string // URL path, unescaped
	Model  string // from the path or the body; "" on routes that are not a model's
	Header http.Header
	Body   []byte
	// Status is the HTTP status answered; 0 while the request is still being handled or
	// when the client gave up first.
	Status int
	// OutOfScript is set when a Script handler had no reply left for this request.
	OutOfScript bool
	// Duration is the time from the request's arrival to the end of its answer (or to the
	// client giving up); 0 while the request is still being handled.
	Duration time.Duration
}

// ServerOption configures a Server.
type ServerOption func(*Server)

// WithToken makes the server require "Authorization: Bearer <token>" on every request and
// answer anything else with 401, code 10000 "Authentication error", as the service does.
// Without it any token, or none, is accepted.
func WithToken(token string) ServerOption { return func(s *Server) { s.token = token } }

// WithAccount makes the server answer only the given account id; other account ids get
// 404, code 7003 "Could not route to ...", as the service does. Without it any account id
// is accepted.
func WithAccount(accountID string) ServerOption { return func(s *Server) { s.account = accountID } }

// WithModel sets the model that answers text generation when the reply is Model() (or the
// Handler is nil). The default is NewTestModel().
func WithModel(m llm.Model) ServerOption { return func(s *Server) { s.model = m } }

// WithRequestLog makes the server call f with each request once its answer is written, or
// once the client has given up on it (Status 0), with its Duration set. f may be called
// from several goroutines at once. The Recorded that NewHandler's handler passes has no
// Header and no Body.
func WithRequestLog(f func(Recorded)) ServerOption { return func(s *Server) { s.onAnswer = f } }

// NewServer starts a Server. Every request on a model route is answered with the Reply
// that h returns; a nil h answers every request with Model(), the built-in emulation.
func NewServer(h Handler, opts ...ServerOption) *Server {
	s, mux := newServer(h, opts)
	s.ts = httptest.NewServer(mux)
	return s
}

// NewHandler returns the emulator as an http.Handler, to serve on an address of the
// caller's choosing, as cmd/workers-ai-emulator does: it answers exactly as a Server from
// NewServer does, routes, options and state (batch jobs, Vectorize indexes, the gateway
// cache) included. It keeps no list of the requests, so a long-running handler does not
// grow with them; use WithRequestLog to see them.
func NewHandler(h Handler, opts ...ServerOption) http.Handler {
	_, mux := newHandler(h, opts)
	return mux
}

// newHandler is NewHandler, with the Server behind the handler.
func newHandler(h Handler, opts []ServerOption) (*Server, *http.ServeMux) {
	s, mux := newServer(h, opts)
	s.slim = true
	return s, mux
}

func newServer(h Handler, opts []ServerOption) (*Server, *http.ServeMux) {
	s := &Server{
		handler: h,
		logs:    map[string]string{},
		cache:   map[string]cached{},
		queue:   newBatchQueue(),
		vec:     newVectorizeStore(),
	}
	for _, o := range opts {
		o(s)
	}
	if s.handler == nil {
		s.handler = func(string, []byte) Reply { return Model() }
	}
	if s.model == nil {
		s.model = NewTestModel()
	}
	mux := http.NewServeMux()
	// Every route is also served under /client/v4, the path of Cloudflare's documented base
	// URL (https://api.cloudflare.com/client/v4), so a client configured with that URL
	// works with only the host swapped.
	for _, prefix := range []string{"", clientV4} {
		handle := func(method, path string, rt route) {
			mux.HandleFunc(strings.TrimSpace(method+" "+prefix+path), s.serve(rt))
		}
		handle("POST", "/accounts/{account}/ai/run/{model...}", routeRun)
		handle("POST", "/accounts/{account}/ai/v1/chat/completions", routeV1Chat)
		handle("POST", "/accounts/{account}/ai/v1/embeddings", routeV1Embeddings)
		handle("GET", "/accounts/{account}/ai/models/search", routeModels)
		handle("POST", "/v1/{account}/{gateway}/workers-ai/{model...}", routeRun)
		handle("POST", "/v1/{account}/{gateway}/workers-ai/v1/chat/completions", routeV1Chat)
		handle("POST", "/v1/{account}/{gateway}/workers-ai/v1/embeddings", routeV1Embeddings)
		handle("POST", "/v1/chat/completions", routeCompatChat)
		handle("POST", "/v1/embeddings", routeCompatEmbeddings)
		// {gw}, not {gateway}: feedback is an API call, not a request through the gateway.
		handle("PATCH", "/accounts/{account}/ai-gateway/gateways/{gw}/logs/{log}", routeFeedback)
		handle("", "/accounts/{account}/vectorize/v2/indexes", routeVectorize)
		handle("", "/accounts/{account}/vectorize/v2/indexes/{index}", routeVectorize)
		handle("", "/accounts/{account}/vectorize/v2/indexes/{index}/{op...}", routeVectorize)
	}
	mux.HandleFunc("/", s.serve(routeNone))
	return s, mux
}

// URL returns the server's root, e.g. "http://127.0.0.1:41234". Give it to
// llm.WithBaseURL; with llm.WithGateway the gateway routes are served from the same root.
func (s *Server) URL() string { return s.ts.URL }

// Close shuts the server down and blocks until all outstanding requests have completed.
func (s *Server) Close() { s.ts.Close() }

// Requests returns a copy of every request received so far, in arrival order. A request
// appears before the first byte of its answer is sent, so once a client has a response,
// its request is listed.
func (s *Server) Requests() []Recorded {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Recorded, len(s.requests))
	for i, r := range s.requests {
		r.Header = r.Header.Clone()
		r.Body = slices.Clone(r.Body)
		out[i] = r
	}
	return out
}

// Client returns an llm.Client pointed at the server, with account "test-account" (or
// the WithAccount id) and token "test-token" (or the WithToken token).
//
// Its retry policy makes as many attempts as llm.DefaultRetryPolicy, in the same cases,
// but waits milliseconds: backoff starts at 1 ms and grows to at most 20 ms, and every
// Retry-After is scaled by 1/1000, so a scripted Fail(429, 3040, ...).WithRetryAfter("3")
// costs 3 ms instead of 3 s. opts are applied after all of that and replace it: to test
// the production timing, pass llm.WithRetry(llm.DefaultRetryPolicy()), preferably inside
// a testing/synctest bubble.
func (s *Server) Client(opts ...llm.Option) (*llm.Client, error) {
	account, token := "test-account", "test-token"
	if s.account != "" {
		account = s.account
	}
	if s.token != "" {
		token = s.token
	}
	base := []llm.Option{llm.WithBaseURL(s.URL()), llm.WithAccount(account, token), llm.WithRetry(fastRetryPolicy())}
	return llm.NewClient(append(base, opts...)...)
}

// fastRetryPolicy is llm.DefaultRetryPolicy with its waits divided by about 1000.
func fastRetryPolicy() llm.RetryPolicy {
	p := llm.DefaultRetryPolicy()
	p.InitialInterval = time.Millisecond
	p.MaxInterval = 20 * time.Millisecond
	p.MaxElapsed = 5 * time.Second
	p.RetryAfterScale = 1.0 / 1000
	return p
}

// clientV4 is the path of Cloudflare's API base URL, https://api.cloudflare.com/client/v4.
const clientV4 = "/client/v4"

type route int

const (
	routeNone             route = iota
	routeRun                    // native /ai/run/{model}: enveloped JSON
	routeV1Chat                 // Workers AI /ai/v1/chat/completions: bare chat.completion
	routeV1Embeddings           // Workers AI /ai/v1/embeddings
	routeCompatChat             // generic OpenAI-compatible server: any model, OpenAI errors
	routeCompatEmbeddings       // generic OpenAI-compatible embeddings
	routeFeedback               // AI Gateway log feedback
	routeVectorize              // Vectorize v2 (vectorize.go)
	routeModels                 // the model catalog, /ai/models/search (catalog.go)
)

func (rt route) compat() bool { return rt == routeCompatChat || rt == routeCompatEmbeddings }

// exchange is one request being answered.
type exchange struct {
	route   route
	r       *http.Request
	body    []byte
	model   string
	gateway string // set on AI Gateway routes
	reqID   string // cf-ai-req-id
	seq     int64
	rec     int       // index in Server.requests
	own     *Recorded // the record itself when the server keeps no list (NewHandler)
	// cachedTokens is the prompt prefix the emulated prompt cache reused for this request
	// (window.go); the answer reports it as usage.prompt_tokens_details.cached_tokens.
	cachedTokens int
}

// output is an answer, built whole before it is written, so that the gateway cache can
// keep it and Requests can show its status before the client sees it.
type output struct {
	status int
	header http.Header
	body   []byte
	events []string // an event stream when non-nil; body is then unused
	stream bool
}

type cached struct {
	out     output
	expires time.Time
}

func (s *Server) serve(rt route) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		limit := int64(64 << 20)
		if rt == routeVectorize {
			limit = vecMaxBody + 1 // Vectorize takes writes of up to 100 MB; its route refuses more
		}
		start := time.Now()
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
		ex := &exchange{route: rt, r: r, body: body, gateway: r.PathValue("gateway"), seq: s.seq.Add(1)}
		ex.reqID = fmt.Sprintf("00000000-0000-4000-8000-%012x", ex.seq)
		if rt == routeRun {
			ex.model = r.PathValue("model")
		}
		if rt == routeV1Chat || rt == routeV1Embeddings || rt == routeCompatChat || rt == routeCompatEmbeddings {
			var m struct {
				Model string `json:"model"`
			}
			_ = json.Unmarshal(body, &m) // a bad body is reported below, once the route is known
			ex.model = m.Model
		}
		s.record(ex, body)
		defer func() {
			var rec Recorded
			s.note(ex, func(r *Recorded) {
				r.Duration = time.Since(start)
				rec = *r
			})
			if s.onAnswer != nil {
				rec.Header, rec.Body = rec.Header.Clone(), slices.Clone(rec.Body)
				s.onAnswer(rec)
			}
		}()
		if err != nil {
			s.write(w, ex, aiError(ex, http.StatusRequestEntityTooLarge, 3006, "Request is too large"))
			return
		}
		s.answer(w, ex)
	}
}

// answer checks the credentials and the route, then builds and writes the reply.
func (s *Server) answer(w http.ResponseWriter, ex *exchange) {
	r := ex.r
	if s.token != "" && r.Header.Get("Authorization") != "Bearer "+s.token {
		s.write(w, ex, routerError(ex, http.StatusUnauthorized, 10000, "Authentication error"))
		return
	}
	if acc := r.PathValue("account"); s.account != "" && ex.route != routeNone && acc != s.account {
		s.write(w, ex, routerError(ex, http.StatusNotFound, 7003,
			"Could not route to "+clientV4+strings.TrimPrefix(r.URL.EscapedPath(), clientV4)+", perhaps your object identifier is invalid?"))
		return
	}
	switch ex.route {
	case routeNone:
		s.write(w, ex, noRoute(r.URL.EscapedPath()))
		return
	case routeFeedback:
		s.write(w, ex, s.feedback(ex))
		return
	case routeVectorize:
		s.write(w, ex, s.vectorize(ex))
		return
	case routeModels:
		s.write(w, ex, searchModels(ex))
		return
	}
	if ex.route == routeRun && r.URL.Query().Get("queueRequest") == "true" {
		s.write(w, ex, s.queued(ex))
		return
	}
	if ex.model == "" && ex.route != routeRun {
		s.write(w, ex, aiError(ex, http.StatusBadRequest, 5006, "Bad input: required properties at '/' are 'model'"))
		return
	}

	key, ttl, cacheable := cacheKey(ex)
	if cacheable {
		s.mu.Lock()
		c, hit := s.cache[key]
		s.mu.Unlock()
		if hit && time.Now().Before(c.expires) {
			out := c.out
			out.header = c.out.header.Clone()
			out.header.Set("cf-aig-cache-status", "HIT")
			s.write(w, ex, out)
			return
		}
	}

	if out, refused := s.admit(ex); refused {
		s.write(w, ex, out)
		return
	}
	rep := s.handler(ex.model, ex.body)
	if rep.outOfScript {
		s.note(ex, func(r *Recorded) { r.OutOfScript = true })
	}
	if rep.latency > 0 {
		t := time.NewTimer(rep.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	out := s.render(ex, rep)
	if cacheable && out.status/100 == 2 {
		s.mu.Lock()
		s.cache[key] = cached{out: out, expires: time.Now().Add(ttl)}
		s.mu.Unlock()
	}
	s.write(w, ex, out)
}

// cacheKey says whether AI Gateway would cache this request, and for how long: a gateway
// route with cf-aig-cache-ttl (seconds) set and no cf-aig-skip-cache (see
// https://developers.cloudflare.com/ai-gateway/features/caching/).
// Identical requests share a key; cf-aig-cache-key replaces the body in it.
func cacheKey(ex *exchange) (string, time.Duration, bool) {
	h := ex.r.Header
	if ex.gateway == "" || h.Get("cf-aig-skip-cache") == "true" {
		return "", 0, false
	}
	secs, err := strconv.Atoi(h.Get("cf-aig-cache-ttl"))
	if err != nil || secs <= 0 {
		return "", 0, false
	}
	key := string(ex.body)
	if k := h.Get("cf-aig-cache-key"); k != "" {
		key = "key:" + k
	}
	return ex.r.URL.Path + "\x00" + key, time.Duration(secs) * time.Second, true
}

// record notes ex's request: in the server's list, or, for NewHandler's handler, in ex
// alone.
func (s *Server) record(ex *exchange, body []byte) {
	rec := Recorded{Method: ex.r.Method, Path: ex.r.URL.Path, Model: ex.model}
	if s.slim {
		ex.own = &rec
		return
	}
	rec.Header, rec.Body = redactHeader(ex.r.Header), body
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, rec)
	ex.rec = len(s.requests) - 1
}

// note changes the record of ex's request with f, under the server's lock.
func (s *Server) note(ex *exchange, f func(*Recorded)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ex.own != nil {
		f(ex.own)
		return
	}
	f(&s.requests[ex.rec])
}

// write sends out, adding the gateway headers on gateway routes.
func (s *Server) write(w http.ResponseWriter, ex *exchange, out output) {
	h := w.Header()
	for k, v := range out.header {
		h[k] = v
	}
	if ex.gateway != "" {
		logID := gatewayLogID(ex.seq)
		s.mu.Lock()
		s.logs[logID] = ex.gateway
		s.mu.Unlock()
		h.Set("cf-aig-log-id", logID)
		if h.Get("cf-aig-cache-status") == "" {
			h.Set("cf-aig-cache-status", "MISS")
		}
	}
	s.note(ex, func(r *Recorded) { r.Status = out.status })

	if !out.stream {
		h.Set("Content-Length", strconv.Itoa(len(out.body)))
		w.WriteHeader(out.status)
		_, _ = w.Write(out.body)
		return
	}
	w.WriteHeader(out.status)
	flusher, _ := w.(http.Flusher)
	for _, e := range out.events {
		if _, err := io.WriteString(w, "data: "+e+"\n\n"); err != nil {
			return // the client went away
		}
		if flusher != nil {
			flusher.Flush()
		}
	}
}

// gatewayLogID is a deterministic id shaped like AI Gateway's: 26 characters of
// Crockford base32, as a ULID is.
func gatewayLogID(n int64) string {
	const alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	id := []byte("01HZXTEST0" + "0000000000000000") // a fixed "timestamp", then the counter
	for i := len(id) - 1; i >= 10 && n > 0; i-- {
		id[i] = alphabet[n&31]
		n >>= 5
	}
	return string(id)
}

// feedback answers PATCH .../ai-gateway/gateways/{gateway}/logs/{log} (see
// https://developers.cloudflare.com/ai-gateway/evaluations/add-human-feedback-api/).
func (s *Server) feedback(ex *exchange) output {
	logID, gw := ex.r.PathValue("log"), ex.r.PathValue("gw")
	s.mu.Lock()
	owner, ok := s.logs[logID]
	s.mu.Unlock()
	if !ok || owner != gw {
		return routerError(ex, http.StatusNotFound, 7003, "llmtest: gateway "+gw+" has no log "+logID)
	}
	var fb struct {
		Feedback *int            `json:"feedback"`
		Score    *int            `json:"score"`
		Metadata json.RawMessage `json:"metadata"`
	}
	bad := func(msg string) output { return routerError(ex, http.StatusBadRequest, 5006, "Bad input: "+msg) }
	switch {
	case json.Unmarshal(ex.body, &fb) != nil:
		return bad("the body must be a JSON object {feedback?, score?, metadata?}")
	case fb.Feedback != nil && *fb.Feedback != 1 && *fb.Feedback != -1:
		return bad("feedback must be 1, -1 or null")
	case fb.Score != nil && (*fb.Score < 0 || *fb.Score > 100):
		return bad("score must be between 0 and 100")
	case len(fb.Metadata) > 0 && fb.Metadata[0] != '{' && string(fb.Metadata) != "null":
		return bad("metadata must be an object or null")
	}
	if fb.Metadata == nil {
		fb.Metadata = json.RawMessage("null")
	}
	return envelope(http.StatusOK, map[string]any{
		"id": logID, "feedback": fb.Feedback, "score": fb.Score, "metadata": fb.Metadata,
	})
}

// emulate is the built-in answer to a model route: Model() replies and the nil Handler.
func (s *Server) emulate(ex *exchange, rep Reply) output {
	info, known := llm.LookupModel(ex.model)
	if ex.model == DefaultTestModelID {
		// Not in the catalog, but always served: it answers in the legacy family on /ai/run.
		info, known = llm.ModelInfo{ID: DefaultTestModelID, Task: llm.TaskTextGeneration}, true
	}
	if !known && !ex.route.compat() {
		// The live service answers an unknown model with 400/7000, not 5007
		// (llm/testdata/recorded/*-ai-run-unknown-model-400-7000.json).
		return noRouteModel()
	}
	switch ex.route {
	case routeV1Embeddings, routeCompatEmbeddings:
		if known && info.Task != llm.TaskTextEmbeddings {
			return aiError(ex, http.StatusBadRequest, 5006,
				fmt.Sprintf("llmtest: %s is a %s model, not an embeddings model", ex.model, info.Task))
		}
		return s.embeddings(ex, info)
	case routeV1Chat, routeCompatChat:
		if known && info.Task != llm.TaskTextGeneration {
			return aiError(ex, http.StatusBadRequest, 5006,
				fmt.Sprintf("llmtest: %s is a %s model; chat completions take text-generation models", ex.model, info.Task))
		}
		return s.generate(ex, rep, nil)
	}
	// The task models (tasks.go) first: llama-guard is a text-generation model with an
	// answer of its own.
	if out, ok := s.task(ex, info); ok {
		return out
	}
	switch info.Task {
	case llm.TaskTextGeneration:
		return s.generate(ex, rep, nil)
	case llm.TaskTextEmbeddings:
		var probe struct {
			Contexts json.RawMessage `json:"contexts"`
		}
		if json.Unmarshal(ex.body, &probe) == nil && probe.Contexts != nil {
			return s.rerank(ex) // bge-m3 reranks when given {query, contexts}
		}
		return s.embeddings(ex, info)
	case llm.TaskRerank:
		return s.rerank(ex)
	case llm.TaskImageToText:
		return s.describe(ex)
	case llm.TaskTextToImage:
		return s.paint(ex, info)
	}
	return aiError(ex, http.StatusBadRequest, 5006, fmt.Sprintf(
		"llmtest: the emulator does not answer %s models (%s); give NewServer a Handler that does", info.Task, ex.model))
}

// wireRequest is a text-generation body in any of the forms the service takes: prompt or
// messages, OpenAI or legacy tools, bare or wrapped JSON schema.
type wireRequest struct {
	Prompt              *string         `json:"prompt"`
	Messages            []wireMessage   `json:"messages"`
	Image               json.RawMessage `json:"image"`
	Tools               []wireTool      `json:"tools"`
	ToolChoice          json.RawMessage `json:"tool_choice"`
	ResponseFormat      *wireFormat     `json:"response_format"`
	GuidedJSON          json.RawMessage `json:"guided_json"`
	MaxTokens           int             `json:"max_tokens"`
	MaxCompletionTokens int             `json:"max_completion_tokens"`
	Temperature         *float64        `json:"temperature"`
	TopP                *float64        `json:"top_p"`
	TopK                *int            `json:"top_k"`
	Seed                *int64          `json:"seed"`
	RepetitionPenalty   *float64        `json:"repetition_penalty"`
	FrequencyPenalty    *float64        `json:"frequency_penalty"`
	PresencePenalty     *float64        `json:"presence_penalty"`
	ReasoningEffort     string          `json:"reasoning_effort"`
	Stream              bool            `json:"stream"`
}

type wireMessage struct {
	Role       string          `json:"role"`
	Content    json.RawMessage `json:"content"`
	ToolCalls  []wireToolCall  `json:"tool_calls"`
	ToolCallID string          `json:"tool_call_id"`
}

// wireToolCall is an OpenAI call {id, type, function:{name, arguments}} or a legacy flat
// {name, arguments}; arguments may be a JSON string or an object.
type wireToolCall struct {
	ID       string `json:"id"`
	Function *struct {
		Name      string          `json:"name"`
		Arguments json.RawMessage `json:"arguments"`
	} `json:"function"`
	Name      string          `json:"name"`
	Arguments json.RawMessage `json:"arguments"`
}

// wireTool is an OpenAI {type, function:{...}} tool or a legacy flat one.
type wireTool struct {
	Function    *wireToolDef `json:"function"`
	Name        string       `json:"name"`
	Description string       `json:"description"`
	Parameters  json.RawMessage
}

type wireToolDef struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Parameters  json.RawMessage `json:"parameters"`
}

type wireFormat struct {
	Type       string          `json:"type"`
	JSONSchema json.RawMessage `json:"json_schema"`
}

// parseChatRequest reads a text-generation body into an llm.Request. It reports the stream
// flag even when the rest of the body is bad.
func parseChatRequest(body []byte) (llm.Request, bool, error) {
	var w wireRequest
	if err := json.Unmarshal(body, &w); err != nil {
		return llm.Request{}, false, fmt.Errorf("the body is not a valid request: %w", err)
	}
	req := llm.Request{
		MaxTokens: w.MaxTokens, Temperature: w.Temperature, TopP: w.TopP, TopK: w.TopK, Seed: w.Seed,
		RepetitionPenalty: w.RepetitionPenalty, FrequencyPenalty: w.FrequencyPenalty,
		PresencePenalty: w.PresencePenalty, ReasoningEffort: w.ReasoningEffort,
	}
	if w.MaxCompletionTokens > 0 {
		req.MaxTokens = w.MaxCompletionTokens
	}
	format, err := parseFormat(w.ResponseFormat, w.GuidedJSON)
	if err != nil {
		return req, w.Stream, err
	}
	req.Format = format
	switch {
	case len(w.Messages) > 0:
		for i, m := range w.Messages {
			msg, err := parseMessage(m)
			if err != nil {
				return req, w.Stream, fmt.Errorf("messages[%d]: %w", i, err)
			}
			req.Messages = append(req.Messages, msg)
		}
	case w.Prompt != nil:
		req.Messages = []llm.Message{llm.User(*w.Prompt)}
	default:
		return req, w.Stream, errors.New("Error: oneOf at '/' not met, 0 matches: required properties at '/' are 'prompt', required properties at '/' are 'messages'")
	}
	if len(w.Image) > 0 && string(w.Image) != "null" {
		// llama-3.2-11b-vision takes one image as a top-level byte array.
		img, err := imageBytes(w.Image)
		if err != nil {
			return req, w.Stream, fmt.Errorf("image: %w", err)
		}
		i := len(req.Messages) - 1
		for i > 0 && req.Messages[i].Role != llm.RoleUser {
			i--
		}
		req.Messages[i].Images = append(req.Messages[i].Images, llm.Image{Data: img, MIME: http.DetectContentType(img)})
	}
	for i, t := range w.Tools {
		def := llm.ToolDef{Name: t.Name, Description: t.Description, Parameters: t.Parameters}
		if t.Function != nil {
			def = llm.ToolDef{Name: t.Function.Name, Description: t.Function.Description, Parameters: t.Function.Parameters}
		}
		if def.Name == "" {
			return req, w.Stream, fmt.Errorf("tools[%d]: name is required", i)
		}
		req.Tools = append(req.Tools, def)
	}
	if req.ToolChoice, err = parseToolChoice(w.ToolChoice); err != nil {
		return req, w.Stream, err
	}
	return req, w.Stream, nil
}

func parseMessage(m wireMessage) (llm.Message, error) {
	msg := llm.Message{Role: llm.Role(m.Role), ToolCallID: m.ToolCallID}
	switch msg.Role {
	case llm.RoleSystem, llm.RoleUser, llm.RoleAssistant, llm.RoleTool:
	default:
		return msg, fmt.Errorf("role %q is not system, user, assistant or tool", m.Role)
	}
	content := bytes.TrimSpace(m.Content)
	switch {
	case len(content) == 0 || string(content) == "null":
	case content[0] == '"':
		if err := json.Unmarshal(content, &msg.Content); err != nil {
			return msg, fmt.Errorf("content: %w", err)
		}
	default:
		var parts []struct {
			Type     string `json:"type"`
			Text     string `json:"text"`
			ImageURL *struct {
				URL string `json:"url"`
			} `json:"image_url"`
		}
		if err := json.Unmarshal(content, &parts); err != nil {
			return msg, fmt.Errorf("content must be a string or an array of parts: %w", err)
		}
		var texts []string
		for j, p := range parts {
			switch {
			case p.Type == "text":
				texts = append(texts, p.Text)
			case p.Type == "image_url" && p.ImageURL != nil:
				img, err := decodeDataURL(p.ImageURL.URL)
				if err != nil {
					return msg, fmt.Errorf("content[%d].image_url: %w", j, err)
				}
				msg.Images = append(msg.Images, img)
			default:
				return msg, fmt.Errorf("content[%d]: unsupported part type %q", j, p.Type)
			}
		}
		msg.Content = strings.Join(texts, "\n")
	}
	for j, tc := range m.ToolCalls {
		name, args := tc.Name, tc.Arguments
		if tc.Function != nil {
			name, args = tc.Function.Name, tc.Function.Arguments
		}
		if len(args) > 0 && args[0] == '"' {
			var s string
			if err := json.Unmarshal(args, &s); err != nil {
				return msg, fmt.Errorf("tool_calls[%d].arguments: %w", j, err)
			}
			args = json.RawMessage(s)
		}
		a, err := compactArguments(args)
		if err != nil {
			return msg, fmt.Errorf("tool_calls[%d]: %w", j, err)
		}
		msg.ToolCalls = append(msg.ToolCalls, llm.ToolCall{ID: tc.ID, Name: name, Arguments: a})
	}
	return msg, nil
}

// decodeDataURL reads an image_url; the service takes data: URLs only.
func decodeDataURL(u string) (llm.Image, error) {
	rest, ok := strings.CutPrefix(u, "data:")
	if !ok {
		return llm.Image{}, fmt.Errorf("url must be a data: URL, got %.40q", u)
	}
	meta, data, ok := strings.Cut(rest, ",")
	if !ok {
		return llm.Image{}, errors.New("data: URL has no comma")
	}
	mimeType, isBase64 := strings.CutSuffix(meta, ";base64")
	if !isBase64 {
		return llm.Image{}, errors.New("data: URL must be base64-encoded")
	}
	b, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return llm.Image{}, fmt.Errorf("data: URL: %w", err)
	}
	return llm.Image{Data: b, MIME: mimeType}, nil
}

// imageBytes reads an image given as an array of byte values, or as base64 text.
func imageBytes(raw json.RawMessage) ([]byte, error) {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		if b, err := base64.StdEncoding.DecodeString(s); err == nil {
			return b, nil
		}
		return []byte(s), nil
	}
	var vals []int
	if err := json.Unmarshal(raw, &vals); err != nil {
		return nil, errors.New("must be an array of byte values or a string")
	}
	b := make([]byte, len(vals))
	for i, v := range vals {
		if v < 0 || v > 255 {
			return nil, fmt.Errorf("value %d at [%d] is not a byte", v, i)
		}
		b[i] = byte(v)
	}
	return b, nil
}

// parseFormat reads response_format (json_schema bare or wrapped {name, schema}, or
// json_object) and guided_json.
func parseFormat(rf *wireFormat, guided json.RawMessage) (*llm.Format, error) {
	if len(guided) > 0 && string(guided) != "null" {
		return &llm.Format{Schema: guided}, nil
	}
	if rf == nil {
		return nil, nil
	}
	switch rf.Type {
	case "", "text":
		return nil, nil
	case "json_object":
		return &llm.Format{}, nil
	case "json_schema":
		var probe struct {
			Schema     json.RawMessage `json:"schema"`
			Type       json.RawMessage `json:"type"`
			Properties json.RawMessage `json:"properties"`
		}
		if err := json.Unmarshal(rf.JSONSchema, &probe); err != nil {
			return nil, fmt.Errorf("response_format.json_schema must be an object: %w", err)
		}
		if len(probe.Schema) > 0 && probe.Type == nil && probe.Properties == nil {
			return &llm.Format{Schema: probe.Schema}, nil // the OpenAI wrapper {name, strict, schema}
		}
		return &llm.Format{Schema: rf.JSONSchema}, nil
	}
	return nil, fmt.Errorf("response_format.type %q is not json_object, json_schema or text", rf.Type)
}

// parseToolChoice reads "auto" | "none" | "required" | {type:"function", function:{name}}.
func parseToolChoice(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	var obj struct {
		Function struct {
			Name string `json:"name"`
		} `json:"function"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Function.Name == "" {
		return "", errors.New(`tool_choice must be a string or {"type":"function","function":{"name":...}}`)
	}
	return obj.Function.Name, nil
}

// embeddings answers native {text, pooling} with {shape, data, pooling} and the
// OpenAI-compatible {model, input} with an embeddings list and no usage
// (llm/testdata/recorded/*-ai-v1-embeddings-qwen3-no-usage.json).
func (s *Server) embeddings(ex *exchange, info llm.ModelInfo) output {
	var in struct {
		Text    json.RawMessage `json:"text"`
		Input   json.RawMessage `json:"input"`
		Pooling string          `json:"pooling"`
		Format  string          `json:"encoding_format"`
	}
	if err := json.Unmarshal(ex.body, &in); err != nil {
		return aiError(ex, http.StatusBadRequest, 5006, "Bad input: "+err.Error())
	}
	native := ex.route == routeRun
	field, raw := "input", in.Input
	if native {
		field, raw = "text", in.Text
	}
	if len(raw) == 0 || string(raw) == "null" {
		if native {
			return aiError(ex, http.StatusBadRequest, 5006, "Bad input: Error: oneOf at '/' not met, 0 matches: required properties at '/' are 'text', required properties at '/' are 'requests'")
		}
		return aiError(ex, http.StatusBadRequest, 5006, "Bad input: required properties at '/' are 'input'")
	}
	var texts []string
	if raw[0] == '"' {
		texts = make([]string, 1)
		if err := json.Unmarshal(raw, &texts[0]); err != nil {
			return aiError(ex, http.StatusBadRequest, 5006, "Bad input: "+err.Error())
		}
	} else if err := json.Unmarshal(raw, &texts); err != nil {
		return aiError(ex, http.StatusBadRequest, 5006, "Bad input: Type mismatch of '/"+field+"', not a string or an array of strings")
	}
	limit := info.MaxBatchItems
	if limit == 0 {
		limit = 100 // the bge schemas cap text at 100 items
	}
	if len(texts) > limit {
		return aiError(ex, http.StatusBadRequest, 5006, fmt.Sprintf(
			"Bad input: Error: maxItems at '/%s' not met: %d items, at most %d allowed", field, len(texts), limit))
	}
	pooling := in.Pooling
	switch pooling {
	case "":
		pooling = "mean"
	case "mean", "cls":
	default:
		return aiError(ex, http.StatusBadRequest, 5006, fmt.Sprintf("Bad input: pooling %q is not mean or cls", pooling))
	}
	dims := info.Dimensions
	if dims == 0 {
		dims = 384
	}
	vecs := Embed(texts, dims)
	n := 0
	for _, t := range texts {
		n += estimateTokens(len(t))
	}
	usage := llm.Usage{PromptTokens: n, TotalTokens: n}
	usage.Neurons = neuronsFor(ex.model, usage)
	var out output
	switch {
	case native && strings.Contains(ex.model, "/qwen3-embedding"):
		// {data, shape, usage}, no pooling (llm/testdata/recorded/marmarko__brainz__ai-run-qwen3-embedding-usage.json).
		out = envelope(http.StatusOK, object("data", vecs, "shape", []int{len(texts), dims}, "usage", toWireUsage(usage, familyChat)))
	case native:
		// {shape, data, pooling}, in the order of Cloudflare's documented output
		// (llm/testdata/workers-ai/embeddings-bge-small.response.json).
		out = envelope(http.StatusOK, object("shape", []int{len(texts), dims}, "data", vecs, "pooling", pooling))
	default:
		if in.Format != "" && in.Format != "float" && in.Format != "base64" {
			return aiError(ex, http.StatusBadRequest, 5006, fmt.Sprintf("Bad input: encoding_format %q is not float or base64", in.Format))
		}
		type item struct {
			Object    string `json:"object"`
			Embedding any    `json:"embedding"`
			Index     int    `json:"index"`
		}
		items := make([]item, len(vecs))
		for i, v := range vecs {
			items[i] = item{"embedding", v, i}
			if in.Format == "base64" {
				// OpenAI's base64 form: the vector's float32 values, little-endian, in standard base64.
				b := make([]byte, 0, 4*len(v))
				for _, f := range v {
					b = binary.LittleEndian.AppendUint32(b, math.Float32bits(f))
				}
				items[i].Embedding = base64.StdEncoding.EncodeToString(b)
			}
		}
		out = jsonOutput(http.StatusOK, struct {
			Object string `json:"object"`
			Data   []item `json:"data"`
			Model  string `json:"model"`
		}{"list", items, ex.model})
	}
	out.header.Set("cf-ai-neurons", formatNeurons(usage.Neurons))
	return out
}

// rerank scores each context by the share of the query's words it contains. The score is
// lexical and deterministic, not semantic: enough to test ordering and top_k.
func (s *Server) rerank(ex *exchange) output {
	var in struct {
		Query    *string `json:"query"`
		Contexts []struct {
			Text string `json:"text"`
		} `json:"contexts"`
		TopK *int `json:"top_k"`
	}
	if err := json.Unmarshal(ex.body, &in); err != nil {
		return aiError(ex, http.StatusBadRequest, 5006, "Bad input: "+err.Error())
	}
	if in.Query == nil || in.Contexts == nil {
		return aiError(ex, http.StatusBadRequest, 5006, "Bad input: Error: required properties at '/' are 'query,contexts'")
	}
	if in.TopK != nil && *in.TopK < 1 {
		return aiError(ex, http.StatusBadRequest, 5006, fmt.Sprintf("Bad input: top_k %d is less than 1", *in.TopK))
	}
	type ranked struct {
		ID    int     `json:"id"`
		Score float64 `json:"score"`
	}
	query := wordSet(*in.Query)
	out := make([]ranked, len(in.Contexts))
	for i, c := range in.Contexts {
		out[i].ID = i
		if len(query) > 0 {
			hits := 0
			for w := range wordSet(c.Text) {
				if query[w] {
					hits++
				}
			}
			out[i].Score = float64(hits) / float64(len(query))
		}
	}
	slices.SortStableFunc(out, func(a, b ranked) int { return cmpFloatDesc(a.Score, b.Score) })
	if in.TopK != nil && *in.TopK < len(out) {
		out = out[:*in.TopK]
	}
	tokens := estimateTokens(len(ex.body))
	return envelope(http.StatusOK, map[string]any{
		"response": out,
		// usage with details and neurons (llm/testdata/recorded/marmarko__brainz__ai-run-bge-reranker-base.json)
		"usage": toWireUsage(llm.Usage{PromptTokens: tokens, TotalTokens: tokens, Neurons: neuronsFor(ex.model, llm.Usage{PromptTokens: tokens})}, familyChat),
	})
}

func cmpFloatDesc(a, b float64) int {
	switch {
	case a > b:
		return -1
	case a < b:
		return 1
	}
	return 0
}

// wordSet is the set of lower-cased runs of letters and digits in s.
func wordSet(s string) map[string]bool {
	set := map[string]bool{}
	for _, w := range strings.FieldsFunc(strings.ToLower(s), func(r rune) bool {
		return !unicode.IsLetter(r) && !unicode.IsDigit(r)
	}) {
		set[w] = true
	}
	return set
}

// describe answers image-to-text models ({image, prompt} in, {description} out). A body that is not JSON is taken as the image itself, as uform accepts.
func (s *Server) describe(ex *exchange) output {
	var in struct {
		Image  json.RawMessage `json:"image"`
		Prompt string          `json:"prompt"`
	}
	var img []byte
	if json.Unmarshal(ex.body, &in) != nil {
		img = ex.body
	} else {
		if len(in.Image) == 0 || string(in.Image) == "null" {
			return aiError(ex, http.StatusBadRequest, 5006, "Bad input: required properties at '/' are 'image'")
		}
		var err error
		if img, err = imageBytes(in.Image); err != nil {
			return aiError(ex, http.StatusBadRequest, 5006, "Bad input: image "+err.Error())
		}
	}
	return envelope(http.StatusOK, map[string]string{
		"description": fmt.Sprintf(" test model: image of %d bytes; prompt: %s", len(img), in.Prompt),
	})
}

// paint answers text-to-image models with an 8×8 PNG whose colour depends on the prompt,
// in the model's output form: base64 in JSON, raw bytes, or base64 after a multipart
// request. The size asked for is checked, not honoured.
func (s *Server) paint(ex *exchange, info llm.ModelInfo) output {
	var prompt string
	if info.ImageOutput == llm.ImageOutputMultipartJSON {
		fields, images, err := readForm(ex.r.Header.Get("Content-Type"), ex.body)
		if err != nil {
			return aiError(ex, http.StatusBadRequest, 5006, "Bad input: "+err.Error())
		}
		for _, dim := range []string{"width", "height"} {
			if n, err := strconv.Atoi(fields[dim]); err == nil && n > 2048 {
				// llm/testdata/recorded/*-3030-width.json
				return aiError(ex, http.StatusBadRequest, 3030, fmt.Sprintf("%d is too large, max %s is 2048", n, dim))
			}
		}
		if images > 4 {
			return aiError(ex, http.StatusBadRequest, 3030, "provided too many input images. max=4") // *-3030-too-many-images.json
		}
		prompt = fields["prompt"] // an empty prompt is accepted (*-empty-prompt-200.json)
	} else {
		var in map[string]json.RawMessage
		if err := json.Unmarshal(ex.body, &in); err != nil {
			return aiError(ex, http.StatusBadRequest, 5006, "Bad input: "+err.Error())
		}
		if err := json.Unmarshal(in["prompt"], &prompt); err != nil || prompt == "" || utf8.RuneCountInString(prompt) > 2048 {
			return aiError(ex, http.StatusBadRequest, 5006, "Bad input: prompt must be a string of 1 to 2048 characters")
		}
		if ex.model == "@cf/black-forest-labs/flux-1-schnell" {
			// flux-1-schnell's input schema has additionalProperties:false.
			for _, k := range slices.Sorted(maps.Keys(in)) {
				if k != "prompt" && k != "steps" {
					return aiError(ex, http.StatusBadRequest, 5006, "Bad input: Error: Additional or unevaluated properties '/"+k+"' at '/' not allowed")
				}
			}
			var steps int
			if json.Unmarshal(in["steps"], &steps) == nil && steps > 8 {
				return aiError(ex, http.StatusBadRequest, 5006, fmt.Sprintf("Bad input: Error: maximum at '/steps' not met: %d > 8", steps))
			}
		}
	}
	png := tinyPNG(prompt)
	var out output
	if info.ImageOutput == llm.ImageOutputBinary {
		out = output{status: http.StatusOK, header: http.Header{"Content-Type": {"image/png"}}, body: png}
	} else {
		out = envelope(http.StatusOK, map[string]string{"image": base64.StdEncoding.EncodeToString(png)})
	}
	out.header.Set("cf-ai-neurons", formatNeurons(neuronsFor(ex.model, llm.Usage{PromptTokens: estimateTokens(len(prompt))})))
	return out
}

// readForm reads a multipart/form-data body: its text fields and how many input images
// (input_image_N) it carries.
func readForm(contentType string, body []byte) (map[string]string, int, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "multipart/form-data" {
		// The message the service gives to a JSON body.
		return nil, 0, errors.New("required properties at '/' are 'multipart'")
	}
	mr := multipart.NewReader(bytes.NewReader(body), params["boundary"])
	fields := map[string]string{}
	images := 0
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return fields, images, nil
		}
		if err != nil {
			return nil, 0, fmt.Errorf("multipart body: %w", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			return nil, 0, fmt.Errorf("multipart part %q: %w", p.FormName(), err)
		}
		if strings.HasPrefix(p.FormName(), "input_image") {
			images++
			continue
		}
		fields[p.FormName()] = string(b)
	}
}

func tinyPNG(seed string) []byte {
	h := fnv.New32a()
	h.Write([]byte(seed))
	v := h.Sum32()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	c := color.RGBA{R: uint8(v), G: uint8(v >> 8), B: uint8(v >> 16), A: 255}
	for y := range 8 {
		for x := range 8 {
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	_ = png.Encode(&b, img) // writing to memory cannot fail
	return b.Bytes()
}
