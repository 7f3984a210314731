package llm_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// recordingObserver keeps everything an llm.Observer is told.
type recordingObserver struct {
	mu       sync.Mutex
	starts   []llm.CallInfo
	attempts []llm.AttemptInfo
	ends     []llm.CallResult
}

type obsKey struct{}

func (r *recordingObserver) StartCall(ctx context.Context, info llm.CallInfo) context.Context {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.starts = append(r.starts, info)
	return context.WithValue(ctx, obsKey{}, len(r.starts))
}

func (r *recordingObserver) Attempt(ctx context.Context, _ llm.CallInfo, a llm.AttemptInfo) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(obsKey{}) == nil {
		panic("Attempt without the context StartCall returned")
	}
	r.attempts = append(r.attempts, a)
}

func (r *recordingObserver) EndCall(ctx context.Context, _ llm.CallInfo, res llm.CallResult) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if ctx.Value(obsKey{}) == nil {
		panic("EndCall without the context StartCall returned")
	}
	r.ends = append(r.ends, res)
}

// recordHandler is a slog.Handler that keeps the records it is given.
type recordHandler struct {
	mu      *sync.Mutex
	records *[]slog.Record
}

func newRecordHandler() recordHandler {
	return recordHandler{mu: new(sync.Mutex), records: new([]slog.Record)}
}

func (h recordHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	*h.records = append(*h.records, r.Clone())
	return nil
}
func (h recordHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordHandler) WithGroup(string) slog.Handler      { return h }

func (h recordHandler) all() []slog.Record {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]slog.Record(nil), *h.records...)
}

// count is how many records have the message msg.
func (h recordHandler) count(msg string) int {
	n := 0
	for _, r := range h.all() {
		if r.Message == msg {
			n++
		}
	}
	return n
}

func attrsOf(r slog.Record) map[string]slog.Value {
	m := map[string]slog.Value{}
	r.Attrs(func(a slog.Attr) bool { m[a.Key] = a.Value; return true })
	return m
}

// callAttrs are the attributes every call record carries.
var callAttrs = []string{"operation", "model", "endpoint", "stream", "duration", "attempts", "status",
	"prompt_tokens", "completion_tokens", "cached_tokens", "neurons", "neurons_estimated", "dollars",
	"request_id", "gateway_log_id", "gateway_cache_status", "error"}

const secretToken = "zz9SECRETtokenVALUE0123456789abcdefABCDE"

func TestObserverChatCall(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Text("hello there")), llmtest.WithToken(secretToken))
	defer srv.Close()
	obs := &recordingObserver{}
	h := newRecordHandler()
	c, err := srv.Client(llm.WithObserver(obs), llm.WithLogger(slog.New(h)))
	if err != nil {
		t.Fatal(err)
	}
	temp := 0.25
	r, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), llm.Request{
		Messages: []llm.Message{llm.User("hi")}, Temperature: &temp})
	if err != nil {
		t.Fatal(err)
	}
	if len(obs.starts) != 1 || len(obs.ends) != 1 || len(obs.attempts) != 0 {
		t.Fatalf("starts %d ends %d attempts %d, want 1 1 0", len(obs.starts), len(obs.ends), len(obs.attempts))
	}
	info := obs.starts[0]
	if info.Operation != llm.OpChat || info.Model != "@cf/meta/llama-3.1-8b-instruct" || info.Endpoint != llm.EndpointNative ||
		info.ServerAddress != "127.0.0.1" || info.ServerPort == 0 || info.Stream {
		t.Errorf("CallInfo = %+v", info)
	}
	if info.Request == nil || info.Request.MaxTokens != llm.DefaultMaxTokens || *info.Request.Temperature != temp {
		t.Errorf("CallInfo.Request = %+v, want the default max tokens and the temperature sent", info.Request)
	}
	res := obs.ends[0]
	if res.Err != nil || res.Attempts != 1 || res.Status != 200 || res.Response == nil || res.Response.Text != "hello there" || res.TimeToFirstEvent != 0 ||
		res.RequestID == "" || res.Usage.Neurons == 0 || res.Usage != r.Usage {
		t.Errorf("CallResult = %+v", res)
	}
	recs := h.all()
	if len(recs) != 1 || recs[0].Message != llm.LogMessageCall || recs[0].Level != slog.LevelInfo {
		t.Fatalf("log records = %v, want one %q at Info", recs, llm.LogMessageCall)
	}
	a := attrsOf(recs[0])
	for _, k := range callAttrs {
		if _, ok := a[k]; !ok {
			t.Errorf("log record lacks %q", k)
		}
	}
	if a["operation"].String() != "chat" || a["attempts"].Int64() != 1 || a["status"].Int64() != 200 ||
		a["request_id"].String() != r.RequestID || a["neurons"].Float64() != r.Usage.Neurons ||
		a["dollars"].Float64() != r.Usage.Dollars() || a["error"].String() != "" {
		t.Errorf("log attributes = %v", a)
	}
}

func TestObserverRetriesAndFailure(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Fail(429, 3040, "Capacity temporarily exceeded "+secretToken),
		llmtest.Fail(429, 3040, "Capacity temporarily exceeded "+secretToken),
		llmtest.Fail(429, 3040, "Capacity temporarily exceeded "+secretToken),
		llmtest.Fail(429, 3040, "Capacity temporarily exceeded "+secretToken),
	), llmtest.WithToken(secretToken))
	defer srv.Close()
	obs := &recordingObserver{}
	h := newRecordHandler()
	c, err := srv.Client(llm.WithObserver(obs), llm.WithLogger(slog.New(h)))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}})
	if !errors.Is(err, llm.ErrCapacity) {
		t.Fatalf("err = %v, want ErrCapacity", err)
	}
	if len(obs.attempts) != 4 {
		t.Fatalf("%d attempts observed, want 4", len(obs.attempts))
	}
	for i, a := range obs.attempts {
		if a.Attempt != i+1 || a.Status != 429 || !errors.Is(a.Err, llm.ErrCapacity) || (a.Wait > 0) != (i < 3) {
			t.Errorf("attempt %d = %+v", i, a)
		}
	}
	res := obs.ends[0]
	if res.Attempts != 4 || res.Status != 429 || !errors.Is(res.Err, llm.ErrCapacity) || res.Response != nil {
		t.Errorf("CallResult = %+v", res)
	}
	var calls, retries int
	for _, r := range h.all() {
		switch r.Message {
		case llm.LogMessageCall:
			calls++
			a := attrsOf(r)
			if a["attempts"].Int64() != 4 || a["status"].Int64() != 429 || a["error"].String() == "" {
				t.Errorf("call record = %v", a)
			}
		case llm.LogMessageRetry:
			retries++
			if r.Level != slog.LevelDebug {
				t.Errorf("retry logged at %v, want Debug", r.Level)
			}
		default:
			t.Errorf("unexpected record %q", r.Message)
		}
	}
	if calls != 1 || retries != 4 {
		t.Errorf("%d call records and %d retry records, want 1 and 4", calls, retries)
	}
	assertNoToken(t, obs, h)
}

func TestObserverStream(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	obs := &recordingObserver{}
	h := newRecordHandler()
	c, err := srv.Client(llm.WithObserver(obs), llm.WithLogger(slog.New(h)))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Model("@cf/meta/llama-3.1-8b-instruct")
	var text strings.Builder
	var usage llm.Usage
	for d, err := range m.Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("Say something long please")}}) {
		if err != nil {
			t.Fatal(err)
		}
		text.WriteString(d.Text)
		if d.Usage != nil {
			usage = *d.Usage
		}
	}
	if len(obs.ends) != 1 {
		t.Fatalf("%d ends, want 1", len(obs.ends))
	}
	res := obs.ends[0]
	if !obs.starts[0].Stream || res.Err != nil || res.Abandoned || res.Response == nil || res.Response.Text != text.String() ||
		res.Usage != usage || res.Response.FinishReason == "" {
		t.Errorf("CallResult = %+v (text %q, usage %+v)", res, text.String(), usage)
	}
	if usage.Neurons == 0 {
		t.Errorf("stream usage %+v has no neurons; the emulator reports them in cf-ai-neurons", usage)
	}
	if res.TimeToFirstEvent <= 0 || res.TimeToFirstEvent > res.Duration {
		t.Errorf("TimeToFirstEvent = %v, want within the call's %v", res.TimeToFirstEvent, res.Duration)
	}
	// A consumer that stops at the first delta still ends the call, marked abandoned.
	for range m.Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("Say something long please")}}) {
		break
	}
	if len(obs.ends) != 2 || !obs.ends[1].Abandoned || obs.ends[1].Err != nil {
		t.Errorf("abandoned stream: ends = %+v", obs.ends)
	}
	starts := h.count(llm.LogMessageStreamStart)
	if starts != 2 {
		t.Errorf("%d stream-start records, want 2", starts)
	}
}

func TestObserverStreamError(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(llmtest.SSE(`{"response":"par"}`,
		`{"errors":[{"code":3040,"message":"failed with `+secretToken+`"}]}`)), llmtest.WithToken(secretToken))
	defer srv.Close()
	obs := &recordingObserver{}
	h := newRecordHandler()
	c, err := srv.Client(llm.WithObserver(obs), llm.WithLogger(slog.New(h)))
	if err != nil {
		t.Fatal(err)
	}
	var got error
	for _, err := range c.Model("@cf/meta/llama-3.1-8b-instruct").Stream(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}) {
		if err != nil {
			got = err
		}
	}
	if got == nil || strings.Contains(got.Error(), secretToken) {
		t.Fatalf("stream error = %v, want an error without the token", got)
	}
	if len(obs.ends) != 1 || obs.ends[0].Err == nil {
		t.Fatalf("ends = %+v, want one with the error", obs.ends)
	}
	assertNoToken(t, obs, h)
}

// TestDecodeErrorsRedacted: a 200 reply with success:false that echoes the token, and an
// error event inside a stream, never show the token.
func TestDecodeErrorsRedacted(t *testing.T) {
	body := `{"result":null,"success":false,"errors":[{"code":5006,"message":"bad input near Bearer ` + secretToken + `"}],"messages":[]}`
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Raw("application/json", []byte(body)),
		llmtest.Raw("application/json", []byte(body)),
		llmtest.SSE(`{"response":"a"}`, `{"error":"upstream said `+secretToken+`"}`),
	), llmtest.WithToken(secretToken))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	m := c.Model("@cf/meta/llama-3.1-8b-instruct")
	req := llm.Request{Messages: []llm.Message{llm.User("hi")}}
	_, err = m.Generate(t.Context(), req)
	if err == nil || strings.Contains(err.Error(), secretToken) || strings.Contains(fmt.Sprintf("%+v", err), secretToken) {
		t.Errorf("Generate error = %v, want one without the token", err)
	}
	for _, err := range m.Stream(t.Context(), req) { // the JSON reply to a stream request
		if err == nil || strings.Contains(err.Error(), secretToken) {
			t.Errorf("Stream (JSON reply) error = %v, want one without the token", err)
		}
	}
	var got error
	for _, err := range m.Stream(t.Context(), req) {
		if err != nil {
			got = err
		}
	}
	if got == nil || strings.Contains(got.Error(), secretToken) {
		t.Errorf("in-stream error = %v, want one without the token", got)
	}
}

func TestObserverRunEmbeddings(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	obs := &recordingObserver{}
	c, err := srv.Client(llm.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	var out struct {
		Data [][]float32 `json:"data"`
	}
	if err := c.Run(t.Context(), "@cf/baai/bge-base-en-v1.5", map[string]any{"text": []string{"a", "b"}}, &out); err != nil {
		t.Fatal(err)
	}
	if len(obs.starts) != 1 || obs.starts[0].Operation != llm.OpEmbeddings || obs.starts[0].Request != nil {
		t.Fatalf("starts = %+v", obs.starts)
	}
	if res := obs.ends[0]; res.Err != nil || res.Usage.Neurons == 0 || res.Status != 200 {
		t.Errorf("CallResult = %+v", res)
	}
}

func TestNeuronsEstimated(t *testing.T) {
	const model = "@cf/meta/llama-3.1-8b-instruct"
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Text("hi").WithUsage(llm.Usage{PromptTokens: 1000, CompletionTokens: 500, TotalTokens: 1500}).WithHeader("cf-ai-neurons", "0"),
	))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Model(model).Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	want, ok := llm.EstimateNeurons(model, r.Usage)
	if !ok || want == 0 {
		t.Fatalf("the catalog does not price %s", model)
	}
	if !r.Usage.NeuronsEstimated || r.Usage.Neurons != want || r.Usage.Dollars() != want*llm.USDPerNeuron {
		t.Errorf("usage %+v, want %v estimated neurons", r.Usage, want)
	}
	sum := llm.Usage{Neurons: 1}.Add(r.Usage)
	if !sum.NeuronsEstimated {
		t.Error("Add dropped NeuronsEstimated")
	}
}

func TestNoObserverNoLog(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client(llm.WithObserver(nil))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}); err != nil {
		t.Fatal(err)
	}
}

// assertNoToken fails when the token appears in anything observed or logged.
func assertNoToken(t *testing.T, obs *recordingObserver, h recordHandler) {
	t.Helper()
	var b strings.Builder
	for _, a := range obs.attempts {
		fmt.Fprintf(&b, "%+v %v\n", a, a.Err)
	}
	for _, r := range obs.ends {
		fmt.Fprintf(&b, "%+v %v\n", r, r.Err)
	}
	for _, r := range h.all() {
		fmt.Fprintf(&b, "%s %v\n", r.Message, attrsOf(r))
	}
	if strings.Contains(b.String(), secretToken) {
		t.Errorf("the token appears in what was observed or logged:\n%s", b.String())
	}
}

func TestObserverBatch(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	obs := &recordingObserver{}
	c, err := srv.Client(llm.WithObserver(obs))
	if err != nil {
		t.Fatal(err)
	}
	b, err := c.Queue(t.Context(), "@cf/baai/bge-base-en-v1.5", []any{map[string]any{"text": "a"}}, llm.WithPollInterval(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Wait(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(obs.starts) < 2 {
		t.Fatalf("%d calls observed, want the submission and at least one poll", len(obs.starts))
	}
	for i, info := range obs.starts {
		if info.Operation != llm.OpBatch || info.Model != "@cf/baai/bge-base-en-v1.5" || info.Endpoint != llm.EndpointNative {
			t.Errorf("call %d: %+v", i, info)
		}
	}
	if len(obs.ends) != len(obs.starts) {
		t.Errorf("%d starts, %d ends", len(obs.starts), len(obs.ends))
	}
}

// TestObserverCancelledDuringWait: a call cancelled while it waits to retry reports each
// attempt once.
func TestObserverCancelledDuringWait(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Fail(429, 3040, "Capacity temporarily exceeded")))
	defer srv.Close()
	obs := &recordingObserver{}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	wait := &cancelOnAttempt{recordingObserver: obs, cancel: cancel}
	c, err := srv.Client(llm.WithObserver(wait), llm.WithRetry(llm.RetryPolicy{MaxAttempts: 3, InitialInterval: time.Hour, MaxInterval: time.Hour, MaxElapsed: 3 * time.Hour}))
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(ctx, llm.Request{Messages: []llm.Message{llm.User("hi")}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if len(obs.attempts) != 1 || obs.attempts[0].Attempt != 1 || obs.attempts[0].Wait <= 0 {
		t.Errorf("attempts = %+v, want attempt 1 once, with its wait", obs.attempts)
	}
	if len(obs.ends) != 1 || obs.ends[0].Attempts != 1 || !errors.Is(obs.ends[0].Err, context.Canceled) {
		t.Errorf("ends = %+v", obs.ends)
	}
}

// cancelOnAttempt cancels the call when an attempt fails.
type cancelOnAttempt struct {
	*recordingObserver
	cancel context.CancelFunc
}

func (c *cancelOnAttempt) Attempt(ctx context.Context, info llm.CallInfo, a llm.AttemptInfo) {
	c.recordingObserver.Attempt(ctx, info, a)
	c.cancel()
}

// TestLogOneRecordPerCall: every operation logs one Info record per call with the same
// attributes in the same order; stream events and retries log at Debug, starting with the
// same four attributes; the token appears in none of them.
func TestLogOneRecordPerCall(t *testing.T) {
	srv := llmtest.NewServer(nil, llmtest.WithToken(secretToken))
	defer srv.Close()
	obs := &recordingObserver{}
	h := newRecordHandler()
	c, err := srv.Client(llm.WithObserver(obs), llm.WithLogger(slog.New(h)))
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	m := c.Model("@cf/meta/llama-3.1-8b-instruct")
	req := llm.Request{Messages: []llm.Message{llm.User("Say something long please")}}
	if _, err := m.Generate(ctx, req); err != nil {
		t.Fatal(err)
	}
	var deltas int
	for _, err := range m.Stream(ctx, req) {
		if err != nil {
			t.Fatal(err)
		}
		deltas++
	}
	var emb struct {
		Data [][]float32 `json:"data"`
	}
	if err := c.Run(ctx, "@cf/baai/bge-base-en-v1.5", map[string]any{"text": []string{"a"}}, &emb); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.RunBytes(ctx, "@cf/black-forest-labs/flux-1-schnell", map[string]any{"prompt": "a cat"}); err != nil {
		t.Fatal(err)
	}
	b, err := c.Queue(ctx, "@cf/baai/bge-base-en-v1.5", []any{map[string]any{"text": "a"}}, llm.WithPollInterval(time.Millisecond, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.Wait(ctx); err != nil {
		t.Fatal(err)
	}

	base := []string{"operation", "model", "endpoint", "stream"}
	var ops []string
	var events []int64
	for _, r := range h.all() {
		var keys []string
		r.Attrs(func(a slog.Attr) bool { keys = append(keys, a.Key); return true })
		a := attrsOf(r)
		switch r.Message {
		case llm.LogMessageCall:
			if r.Level != slog.LevelInfo || !slices.Equal(keys, callAttrs) {
				t.Errorf("%s record at %v with %q, want Info with %q", a["operation"], r.Level, keys, callAttrs)
			}
			op := a["operation"].String()
			if a["stream"].Bool() {
				op += "+stream"
			}
			ops = append(ops, op)
		case llm.LogMessageStreamEvent:
			events = append(events, a["event"].Int64())
			fallthrough
		case llm.LogMessageStreamStart:
			if r.Level != slog.LevelDebug || len(keys) < len(base) || !slices.Equal(keys[:len(base)], base) || !a["stream"].Bool() {
				t.Errorf("%s record at %v with %q", r.Message, r.Level, keys)
			}
		default:
			t.Errorf("unexpected record %q", r.Message)
		}
	}
	ops = slices.Compact(ops)
	if want := []string{"chat", "chat+stream", "embeddings", "text_to_image", "batch"}; !slices.Equal(ops, want) {
		t.Errorf("call records for %q, want %q", ops, want)
	}
	calls := h.count(llm.LogMessageCall)
	if calls != len(obs.ends) {
		t.Errorf("%d call records for %d calls", calls, len(obs.ends))
	}
	if len(events) != deltas || deltas == 0 || events[0] != 1 || events[len(events)-1] != int64(deltas) {
		t.Errorf("stream event records %v for %d deltas", events, deltas)
	}
	assertNoToken(t, obs, h)
}

// contentFreeObserver is a recordingObserver that records no content.
type contentFreeObserver struct{ *recordingObserver }

func (contentFreeObserver) RecordsContent() bool { return false }

// TestStreamTextKeptOnlyForContent: a stream's text is gathered for observers only when one
// records content; a logger or a content-free observer leaves Stream's memory flat.
func TestStreamTextKeptOnlyForContent(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	free, all := &recordingObserver{}, &recordingObserver{}
	req := llm.Request{Messages: []llm.Message{llm.User("Say something long please")}}
	for _, tc := range []struct {
		name     string
		opts     []llm.Option
		obs      *recordingObserver
		wantText bool
	}{
		{"content-free observer and logger", []llm.Option{llm.WithObserver(contentFreeObserver{free}), llm.WithLogger(slog.New(newRecordHandler()))}, free, false},
		{"plain observer too", []llm.Option{llm.WithObserver(contentFreeObserver{free}), llm.WithObserver(all)}, all, true},
	} {
		c, err := srv.Client(tc.opts...)
		if err != nil {
			t.Fatal(err)
		}
		var text strings.Builder
		for d, err := range c.Model("@cf/meta/llama-3.1-8b-instruct").Stream(t.Context(), req) {
			if err != nil {
				t.Fatal(err)
			}
			text.WriteString(d.Text)
		}
		res := tc.obs.ends[len(tc.obs.ends)-1]
		if res.Response == nil || res.Response.FinishReason == "" || res.Usage.CompletionTokens == 0 {
			t.Fatalf("%s: CallResult = %+v, want the reply without its text", tc.name, res)
		}
		if got := res.Response.Text; (got == text.String()) != tc.wantText || (got == "") == tc.wantText {
			t.Errorf("%s: observed text %q, streamed %q, want it kept: %v", tc.name, got, text.String(), tc.wantText)
		}
	}
}

// TestLogGateway: a call through AI Gateway logs the gateway's log id and cache status.
func TestLogGateway(t *testing.T) {
	srv := llmtest.NewServer(nil, llmtest.WithToken(secretToken))
	defer srv.Close()
	h := newRecordHandler()
	c, err := srv.Client(llm.WithLogger(slog.New(h)), llm.WithGateway("my-gateway"))
	if err != nil {
		t.Fatal(err)
	}
	r, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}})
	if err != nil {
		t.Fatal(err)
	}
	recs := h.all()
	if len(recs) != 1 {
		t.Fatalf("%d records, want 1", len(recs))
	}
	a := attrsOf(recs[0])
	if r.Gateway.LogID == "" || a["gateway_log_id"].String() != r.Gateway.LogID || a["gateway_cache_status"].String() != r.Gateway.CacheStatus ||
		a["endpoint"].String() != llm.EndpointGateway || a["request_id"].String() != r.RequestID {
		t.Errorf("log attributes %v, want gateway %+v", a, r.Gateway)
	}
	assertNoToken(t, &recordingObserver{}, h)
}

// TestStreamAskedAgainIsOneCall: a stream the model cannot serve, asked again without
// streaming, is one observed call with both requests among its attempts, one log record,
// and its usage reported once.
func TestStreamAskedAgainIsOneCall(t *testing.T) {
	usage := llm.Usage{PromptTokens: 12, CompletionTokens: 5, TotalTokens: 17, Neurons: 1.5}
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Raw("application/json", []byte(`{"result":{},"success":true,"errors":[],"messages":[]}`)),
		llmtest.Text("Hello from a whole reply.").WithUsage(usage),
	))
	defer srv.Close()
	obs := &recordingObserver{}
	h := newRecordHandler()
	c, err := srv.Client(llm.WithObserver(obs), llm.WithLogger(slog.New(h)))
	if err != nil {
		t.Fatal(err)
	}
	var reported []llm.Usage
	ctx := llm.WithUsageFunc(t.Context(), func(u llm.Usage) { reported = append(reported, u) })
	for _, err := range c.Model("@cf/openai/gpt-oss-120b").Stream(ctx, llm.Request{Messages: []llm.Message{llm.User("hi")}}) {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(obs.starts) != 1 || len(obs.ends) != 1 {
		t.Fatalf("%d starts and %d ends, want one call", len(obs.starts), len(obs.ends))
	}
	res := obs.ends[0]
	if res.Attempts != 2 || res.Err != nil || res.Response == nil || res.Response.Text != "Hello from a whole reply." || res.Usage.Neurons != usage.Neurons {
		t.Errorf("CallResult = %+v, want 2 attempts and the whole reply", res)
	}
	if len(reported) != 1 || reported[0].Neurons != usage.Neurons {
		t.Errorf("usage reported %+v, want it once", reported)
	}
	calls := h.count(llm.LogMessageCall)
	if calls != 1 {
		t.Errorf("%d call records, want 1", calls)
	}
}

// TestCutToolCallIsBilled: a reply cut off in a tool call's arguments fails, but what the
// service counted for it reaches observers, the log record and WithUsageFunc.
func TestCutToolCallIsBilled(t *testing.T) {
	for _, tc := range []struct {
		name   string
		stream bool
		reply  llmtest.Reply
	}{
		{"generate", false, truncationCases[0].reply},
		{"stream", true, truncationCases[len(truncationCases)-1].reply},
	} {
		srv := llmtest.NewServer(llmtest.Script(tc.reply))
		obs := &recordingObserver{}
		h := newRecordHandler()
		c, err := srv.Client(llm.WithObserver(obs), llm.WithLogger(slog.New(h)))
		if err != nil {
			t.Fatal(err)
		}
		var reported []llm.Usage
		ctx := llm.WithUsageFunc(t.Context(), func(u llm.Usage) { reported = append(reported, u) })
		m := c.Model("@cf/qwen/qwen3-30b-a3b-fp8")
		req := llm.Request{Messages: []llm.Message{llm.User("write it")}}
		if tc.stream {
			for _, e := range m.Stream(ctx, req) {
				if e != nil {
					err = e
				}
			}
		} else {
			_, err = m.Generate(ctx, req)
		}
		srv.Close()
		if _, ok := errors.AsType[*llm.TruncatedToolCallError](err); !ok {
			t.Fatalf("%s: err = %v, want a *TruncatedToolCallError", tc.name, err)
		}
		want := llm.Usage{PromptTokens: 40, CompletionTokens: 64, TotalTokens: 104, Neurons: 2.5}
		if len(obs.ends) != 1 || obs.ends[0].Usage != want || obs.ends[0].Err == nil {
			t.Errorf("%s: ends = %+v, want the failure with usage %+v", tc.name, obs.ends, want)
		}
		if len(reported) != 1 || reported[0] != want {
			t.Errorf("%s: reported %+v, want %+v once", tc.name, reported, want)
		}
		if recs := h.all(); len(recs) == 0 || attrsOf(recs[len(recs)-1])["neurons"].Float64() != 2.5 {
			t.Errorf("%s: log records %v, want the call's with its neurons", tc.name, recs)
		}
	}
}

// namedObserver checks that its Attempt and EndCall get the context its StartCall returned.
type namedObserver struct {
	name string
	t    *testing.T
	ends *[]string
}

type observerName struct{}

func (n namedObserver) StartCall(ctx context.Context, _ llm.CallInfo) context.Context {
	return context.WithValue(ctx, observerName{}, n.name)
}

func (n namedObserver) Attempt(ctx context.Context, _ llm.CallInfo, _ llm.AttemptInfo) {
	if got := ctx.Value(observerName{}); got != n.name {
		n.t.Errorf("observer %s: Attempt got the context of %v", n.name, got)
	}
}

func (n namedObserver) EndCall(ctx context.Context, _ llm.CallInfo, _ llm.CallResult) {
	if got := ctx.Value(observerName{}); got != n.name {
		n.t.Errorf("observer %s: EndCall got the context of %v", n.name, got)
	}
	*n.ends = append(*n.ends, n.name)
}

// TestSeveralObservers: each observer is given back its own context, and the last to start
// is the first to end.
func TestSeveralObservers(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Fail(429, 3040, "Capacity temporarily exceeded"), llmtest.Text("hi")))
	defer srv.Close()
	var ends []string
	c, err := srv.Client(llm.WithObserver(namedObserver{"outer", t, &ends}), llm.WithObserver(namedObserver{"inner", t, &ends}),
		llm.WithRetry(llm.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ends, []string{"inner", "outer"}) {
		t.Errorf("EndCall order %v, want inner then outer", ends)
	}
}

// chunkObserver is a namedObserver that counts the chunks it is told of.
type chunkObserver struct {
	namedObserver
	chunks *int
}

func (c chunkObserver) Chunk(ctx context.Context, _ llm.CallInfo, since time.Duration) {
	if got := ctx.Value(observerName{}); got != c.name || since < 0 {
		c.t.Errorf("Chunk got the context of %v and %v", got, since)
	}
	*c.chunks++
}

// TestChunkObserver: a ChunkObserver hears of every delta after the first, under its own
// context; a call that does not stream has no chunks.
func TestChunkObserver(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	var ends []string
	chunks := 0
	c, err := srv.Client(llm.WithObserver(chunkObserver{namedObserver{"chunks", t, &ends}, &chunks}), llm.WithObserver(namedObserver{"other", t, &ends}))
	if err != nil {
		t.Fatal(err)
	}
	m := c.Model("@cf/meta/llama-3.1-8b-instruct")
	req := llm.Request{Messages: []llm.Message{llm.User("Say something long please")}}
	deltas := 0
	for _, err := range m.Stream(t.Context(), req) {
		if err != nil {
			t.Fatal(err)
		}
		deltas++
	}
	if deltas < 2 || chunks != deltas-1 {
		t.Errorf("%d chunks for %d deltas", chunks, deltas)
	}
	if _, err := m.Generate(t.Context(), req); err != nil {
		t.Fatal(err)
	}
	if chunks != deltas-1 {
		t.Errorf("Generate added %d chunks", chunks-(deltas-1))
	}
}

// nilContextObserver returns no context from StartCall.
type nilContextObserver struct{ ends *int }

func (nilContextObserver) StartCall(context.Context, llm.CallInfo) context.Context { return nil }
func (nilContextObserver) Attempt(context.Context, llm.CallInfo, llm.AttemptInfo)  {}
func (n nilContextObserver) EndCall(ctx context.Context, _ llm.CallInfo, _ llm.CallResult) {
	if ctx != nil {
		*n.ends++
	}
}

// TestObserverReturningNilContext: an observer whose StartCall returns nil does not break
// the call; it is given the context it was given.
func TestObserverReturningNilContext(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	ends := 0
	c, err := srv.Client(llm.WithObserver(nilContextObserver{&ends}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hi")}}); err != nil {
		t.Fatal(err)
	}
	if ends != 1 {
		t.Errorf("EndCall ran %d times with a context, want 1", ends)
	}
}
