package llm

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Observer follows every call a Client makes to the service, for tracing, metrics and logs,
// without the llm package depending on any of them (the package otelgowai implements it with
// OpenTelemetry). Set one with WithObserver.
//
// A call is one use of an entry point that reaches the service: ChatModel.Generate,
// ChatModel.Stream, Client.Run, RunBytes, RunOpenAI, AccountAPI, and each submission or poll
// of a batch. Its retries belong to it. For each call:
//
//   - StartCall runs before the first attempt; the context it returns is the one the
//     request is sent under (so an instrumented http.RoundTripper nests beneath it) and the
//     one given to that observer's Attempt and EndCall. With several observers, each
//     StartCall is given the context the previous one returned, the request goes under the
//     last one's, and each observer's Attempt and EndCall get the context its own StartCall
//     returned; EndCall runs in the reverse order, the last observer's first.
//   - Attempt runs after each attempt that failed, with the wait before the next one, or
//     zero when no other attempt follows.
//   - EndCall runs once when the call is over: a non-streamed call when its reply has been
//     read and decoded, a stream when it ends, whether it ran to its end, failed part way, or
//     its consumer stopped reading (CallResult.Abandoned).
//
// A stream that the model cannot serve (it answers with an empty result) and that is asked
// again without streaming is one call; its attempts count both requests. A request refused
// before anything is sent (an empty model id, a request that cannot fit
// the model's context window) is not a call: no method runs. Methods may be called from
// several goroutines at once and must not block for long; they must not keep
// CallInfo.Request or CallResult.Response past their return, nor modify them.
type Observer interface {
	StartCall(ctx context.Context, info CallInfo) context.Context
	Attempt(ctx context.Context, info CallInfo, a AttemptInfo)
	EndCall(ctx context.Context, info CallInfo, res CallResult)
}

// ContentObserver is an Observer that says whether it records what calls carry. The text
// and reasoning of a stream are gathered into CallResult.Response only for an observer that
// wants them: one that does not implement ContentObserver, or whose RecordsContent reports
// true. Otherwise that Response has the stream's finish reason, tool calls and usage but no
// Text or Reasoning, and a stream's memory stays flat however long the reply, as it does
// without observers. RecordsContent is asked once per call, when it starts.
type ContentObserver interface {
	Observer
	RecordsContent() bool
}

// ChunkObserver is an Observer that also follows the deltas of a stream: Chunk runs for
// each delta after the first, with the time since the previous one arrived, under the
// context the observer's StartCall returned. It must be quick: it runs on the stream's
// path.
type ChunkObserver interface {
	Observer
	Chunk(ctx context.Context, info CallInfo, sincePrevious time.Duration)
}

// WithObserver has o follow every call of the client (see Observer). Given more than once,
// every observer given follows, in order. A client without observer and logger spends
// nothing on observation.
func WithObserver(o Observer) Option {
	return func(c *config) {
		if o != nil {
			c.observers = append(c.observers, o)
		}
	}
}

// The operations a CallInfo names. They follow the OpenTelemetry GenAI conventions where those
// have a name for it, and the Workers AI task otherwise.
const (
	OpChat                   = "chat"                         // text generation: ChatModel, or Run on a text-generation model
	OpEmbeddings             = "embeddings"                   // text embeddings
	OpTextToImage            = "text_to_image"                // image generation
	OpImageToText            = "image_to_text"                // image captioning
	OpSpeechRecognition      = "automatic_speech_recognition" // speech to text
	OpTextToSpeech           = "text_to_speech"               // speech synthesis
	OpTranslation            = "translation"                  // translation
	OpSummarization          = "summarization"                // summarization
	OpTextClassification     = "text_classification"          // text classification
	OpImageClassification    = "image_classification"         // image classification
	OpObjectDetection        = "object_detection"             // object detection
	OpRerank                 = "rerank"                       // reranking
	OpBatch                  = "batch"                        // a submission or a poll of the async batch API
	OpAccountAPI             = "account_api"                  // another route of the account (Vectorize, AI Gateway)
	OpRun                    = "run"                          // Run on a model the catalog does not know
	EndpointNative           = "native"                       // /ai/run/{model}
	EndpointV1               = "v1"                           // /ai/v1/..., the OpenAI-compatible endpoint
	EndpointGateway          = "gateway"                      // AI Gateway's workers-ai/{model}
	EndpointGatewayV1        = "gateway/v1"                   // AI Gateway's workers-ai/v1/...
	EndpointOpenAICompatible = "openai_compatible"            // another OpenAI-compatible server (NewOpenAICompatible)
	EndpointAccount          = "account"                      // an account route (AccountAPI)
)

// CallInfo describes a call as it is sent.
type CallInfo struct {
	Operation string // OpChat, OpEmbeddings, ...
	Model     string // the model id; "" for account routes
	Endpoint  string // EndpointNative, EndpointV1, ...
	// ServerAddress and ServerPort are the host and port the request goes to.
	ServerAddress string
	ServerPort    int
	Stream        bool // the reply is read as a stream
	// Request is a chat call's request as sent: MaxTokens holds the budget actually sent (the
	// default filled in, after the context-window fit), and the sampling settings are those
	// that were set. It carries the messages, which are sensitive: record them only when the
	// user asked for content. nil for other operations.
	Request *Request
}

// AttemptInfo is one failed attempt of a call.
type AttemptInfo struct {
	Attempt int           // counted from 1
	Status  int           // the HTTP status, 0 when no response arrived
	Err     error         // what failed; the API token never appears in its text
	Wait    time.Duration // before the next attempt; 0 when none follows
}

// CallResult is how a call ended.
type CallResult struct {
	// Response is a chat call's reply (for a stream, gathered from its deltas, its text only
	// for observers that record content: see ContentObserver); nil for other operations and
	// for a chat call that failed.
	Response *Response
	// Usage is what the call used: a chat reply's, or the usage and cf-ai-neurons header of
	// another reply. Neurons are estimated from the catalog when the service reported none
	// (Usage.NeuronsEstimated).
	Usage     Usage
	RequestID string      // cf-ai-req-id, when the service sent one
	Gateway   GatewayInfo // when routed through AI Gateway
	Status    int         // the HTTP status of the last attempt, 0 when none arrived
	Attempts  int         // attempts made, the first included
	Duration  time.Duration
	Err       error // nil on success; the API token never appears in its text
	// Abandoned is set when the consumer of a stream stopped reading before its end.
	Abandoned bool
	// TimeToFirstEvent is, for a stream, the time from the call's start to its first delta;
	// 0 when none arrived (and for calls that do not stream).
	TimeToFirstEvent time.Duration
}

// observation is one observed call. It exists only when the client has an observer or a
// logger, so that the calls of a client without them allocate nothing for it.
type observation struct {
	c     *Client
	ctx   context.Context   // the request's: what the last StartCall returned
	ctxs  []context.Context // what each StartCall returned, when there are several observers
	info  CallInfo
	start time.Time
	usage func(Usage) // WithUsageFunc's, from the call's context

	attempts int
	status   int
	header   http.Header // of the successful attempt

	// For streams: the reply gathered from the deltas, its text only when keepText is set
	// (an observer records content).
	keepText        bool
	text, reasoning strings.Builder
	stream          Response
	streamErr       error
	events          int
	firstEvent      time.Duration // after start, when the first delta arrived
	lastEvent       time.Time     // when the latest delta arrived, for ChunkObservers
	chunks          bool          // an observer is a ChunkObserver
	abandoned       bool
	usageSeen       bool
}

// ctxOf is the context observer i's StartCall returned.
func (o *observation) ctxOf(i int) context.Context {
	if o.ctxs != nil {
		return o.ctxs[i]
	}
	return o.ctx
}

// observing reports whether calls of c are observed.
func (c *Client) observing() bool {
	return c != nil && (len(c.observers) > 0 || c.log != nil)
}

// begin starts observing a call of cl; it returns nil when c observes nothing. The returned
// context is the one to send the request under.
func (c *Client) begin(ctx context.Context, cl *call, req *Request) (*observation, context.Context) {
	usage, _ := ctx.Value(usageKey{}).(func(Usage))
	if !c.observing() && usage == nil {
		return nil, ctx
	}
	o := &observation{c: c, start: time.Now(), usage: usage}
	o.info = CallInfo{Operation: cl.op, Model: cl.model, Endpoint: c.endpointOf(cl.url), Stream: cl.stream, Request: req}
	if o.info.Operation == "" {
		o.info.Operation = operationFor(cl.model)
	}
	if u, err := url.Parse(cl.url); err == nil {
		o.info.ServerAddress = u.Hostname()
		switch port := u.Port(); {
		case port != "":
			o.info.ServerPort, _ = strconv.Atoi(port)
		case u.Scheme == "https":
			o.info.ServerPort = 443
		case u.Scheme == "http":
			o.info.ServerPort = 80
		}
	}
	for _, ob := range c.observers {
		if next := ob.StartCall(ctx, o.info); next != nil { // a nil context keeps the one given
			ctx = next
		}
		if len(c.observers) > 1 {
			o.ctxs = append(o.ctxs, ctx)
		}
		if co, ok := ob.(ContentObserver); !ok || co.RecordsContent() {
			o.keepText = cl.stream
		}
		if _, ok := ob.(ChunkObserver); ok {
			o.chunks = cl.stream
		}
	}
	o.ctx = ctx
	cl.obs = o
	return o, ctx
}

// endpointOf names the endpoint of a request URL.
func (c *Client) endpointOf(u string) string {
	switch {
	case c.compatBase != "":
		return EndpointOpenAICompatible
	case c.gateway != nil && strings.Contains(u, "/workers-ai/v1/"):
		return EndpointGatewayV1
	case c.gateway != nil && strings.Contains(u, "/workers-ai/"):
		return EndpointGateway
	case strings.Contains(u, "/ai/v1/"):
		return EndpointV1
	case strings.Contains(u, "/ai/run/"):
		return EndpointNative
	}
	return EndpointAccount
}

// operationFor names the operation of a Run on model, after its task in the catalog.
func operationFor(model string) string {
	info, ok := LookupModel(model)
	if !ok {
		return OpRun
	}
	switch info.Task {
	case TaskTextGeneration:
		return OpChat
	case TaskTextEmbeddings:
		return OpEmbeddings
	case TaskTextToImage:
		return OpTextToImage
	case TaskImageToText:
		return OpImageToText
	case TaskSpeechRecognition:
		return OpSpeechRecognition
	case TaskTextToSpeech:
		return OpTextToSpeech
	case TaskTranslation:
		return OpTranslation
	case TaskSummarization:
		return OpSummarization
	case TaskTextClassification:
		return OpTextClassification
	case TaskImageClassification:
		return OpImageClassification
	case TaskObjectDetection:
		return OpObjectDetection
	case TaskRerank:
		return OpRerank
	}
	return strings.ReplaceAll(string(info.Task), "-", "_")
}

// attempt reports a failed attempt n; wait is the pause before the next one (0: none).
func (o *observation) attempt(n int, err error, wait time.Duration) {
	if o == nil {
		return
	}
	a := AttemptInfo{Attempt: o.attempts + n, Status: statusOf(err), Err: o.c.redactErr(err), Wait: wait}
	for i, ob := range o.c.observers {
		ob.Attempt(o.ctxOf(i), o.info, a)
	}
	o.c.logAttempt(o, a)
}

// statusOf is the HTTP status an error carries, 0 for none.
func statusOf(err error) int {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Status
	}
	return 0
}

// sent records how send ended: the attempts made, and the response or the error. A call
// that sends twice (a stream asked again without streaming) counts the attempts of both.
func (o *observation) sent(attempts int, resp *http.Response, err error) {
	if o == nil {
		return
	}
	o.attempts += attempts
	if resp != nil {
		o.status, o.header = resp.StatusCode, resp.Header
		return
	}
	o.status = statusOf(err)
}

// end finishes the call with res, to which it adds what the observation knows.
func (o *observation) end(res CallResult) {
	if o == nil {
		return
	}
	res.Duration = time.Since(o.start)
	res.Attempts, res.Status = o.attempts, o.status
	if res.Err != nil {
		res.Err = o.c.redactErr(res.Err)
		if e, ok := errors.AsType[*Error](res.Err); ok && res.RequestID == "" {
			res.RequestID = e.RequestID
		}
		if res.Status == 0 || res.Status/100 == 2 {
			if s := statusOf(res.Err); s != 0 {
				res.Status = s
			}
		}
	}
	if o.header != nil {
		if res.RequestID == "" {
			res.RequestID = o.header.Get("cf-ai-req-id")
		}
		if res.Gateway == (GatewayInfo{}) {
			res.Gateway = gatewayInfo(o.header)
		}
	}
	for i := len(o.c.observers) - 1; i >= 0; i-- {
		o.c.observers[i].EndCall(o.ctxOf(i), o.info, res)
	}
	o.c.logCall(o, res)
	if o.usage != nil && res.Usage != (Usage{}) {
		o.usage(res.Usage)
	}
}

type usageKey struct{}

// WithUsageFunc returns a context under which every call a Client makes reports what it
// used to f once it is over: tokens and neurons, the neurons estimated from the catalog's
// prices where the service reported none (Usage.NeuronsEstimated), also for a call that
// failed after the service counted it. f may be called from several goroutines at once.
// A nil f stops the reports a parent context asked for.
//
// An agent uses it to count what its tools spend on Workers AI (a vision model asked by
// vision.Tool, the embeddings of a search) toward its usage and Budget.
func WithUsageFunc(ctx context.Context, f func(Usage)) context.Context {
	return context.WithValue(ctx, usageKey{}, f)
}

// endChat finishes a chat call that did not stream.
func (o *observation) endChat(r *Response, err error) {
	if o == nil {
		return
	}
	res := CallResult{Response: r, Err: err}
	if r != nil {
		res.Usage, res.RequestID, res.Gateway = r.Usage, r.RequestID, r.Gateway
	}
	o.end(o.billedFailure(res))
}

// billedFailure adds to res, a failed chat call without usage, what the service counted for
// a reply it cut off in the middle of a tool call: the call failed, but it is billed.
func (o *observation) billedFailure(res CallResult) CallResult {
	cut, ok := errors.AsType[*TruncatedToolCallError](res.Err)
	if !ok || cut.Response == nil || res.Usage != (Usage{}) {
		return res
	}
	r := cut.Response
	res.Usage = r.Usage
	estimateNeurons(o.info.Model, &res.Usage)
	if res.RequestID == "" {
		res.RequestID = r.RequestID
	}
	if res.Gateway == (GatewayInfo{}) {
		res.Gateway = r.Gateway
	}
	return res
}

// delta records one item a stream yields.
func (o *observation) delta(d Delta, err error) {
	o.events++
	if o.events == 1 && err == nil {
		o.firstEvent = time.Since(o.start)
	}
	if o.chunks && err == nil {
		o.chunk()
	}
	o.c.logEvent(o, o.events, d, err)
	if err != nil {
		o.streamErr = err
		return
	}
	if o.keepText {
		o.text.WriteString(d.Text)
		o.reasoning.WriteString(d.Reasoning)
	}
	o.stream.ToolCalls = append(o.stream.ToolCalls, d.ToolCalls...)
	if d.FinishReason != "" {
		o.stream.FinishReason = d.FinishReason
	}
	if d.Usage != nil {
		o.stream.Usage, o.usageSeen = *d.Usage, true
	}
}

// chunk tells the ChunkObservers that a delta arrived, after the first.
func (o *observation) chunk() {
	now := time.Now()
	last := o.lastEvent
	o.lastEvent = now
	if last.IsZero() {
		return
	}
	for i, ob := range o.c.observers {
		if co, ok := ob.(ChunkObserver); ok {
			co.Chunk(o.ctxOf(i), o.info, now.Sub(last))
		}
	}
}

// endStream finishes a streamed chat call.
func (o *observation) endStream() {
	if o == nil {
		return
	}
	res := CallResult{Err: o.streamErr, Abandoned: o.abandoned, TimeToFirstEvent: o.firstEvent}
	if o.streamErr == nil && !o.abandoned || o.usageSeen {
		r := o.stream
		r.Text, r.Reasoning = o.text.String(), o.reasoning.String()
		if o.header != nil {
			fillFromHeaders(&r, o.header)
		}
		res.Usage = r.Usage
		if o.streamErr == nil {
			res.Response = &r
		}
	}
	o.end(o.billedFailure(res))
}

// wrapYield has o see every item a stream yields, and whether its consumer stopped early.
func (o *observation) wrapYield(yield func(Delta, error) bool) func(Delta, error) bool {
	return func(d Delta, err error) bool {
		o.delta(d, err)
		if !yield(d, err) {
			o.abandoned = err == nil
			return false
		}
		return true
	}
}

// endRaw finishes a call of Run, RunBytes, RunOpenAI, AccountAPI or a batch, whose reply
// was data of media type mt. The usage is read from a JSON reply (the envelope's result, or
// the top level) and from the cf-ai-neurons header.
func (o *observation) endRaw(data []byte, mt string, err error) {
	if o == nil {
		return
	}
	res := CallResult{Err: err}
	if err == nil && isJSON(mt) {
		var w struct {
			Success *bool `json:"success"`
			Result  struct {
				Usage *wireUsage `json:"usage"`
			} `json:"result"`
			Usage *wireUsage `json:"usage"`
		}
		_ = json.Unmarshal(data, &w) // a result that is not an object has no usage to read
		switch {
		case w.Success != nil && !*w.Success:
			if _, uerr := unwrapEnvelope(data); uerr != nil {
				res.Err = uerr
			}
		case w.Result.Usage != nil:
			res.Usage = w.Result.Usage.usage()
		case w.Usage != nil:
			res.Usage = w.Usage.usage()
		}
	}
	if err == nil && o.header != nil && res.Usage.Neurons == 0 {
		res.Usage.Neurons = headerNeurons(o.header)
	}
	if o.info.Model != "" {
		estimateNeurons(o.info.Model, &res.Usage)
	}
	o.end(res)
}
