package llm_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// TestRunTask checks what RunTask keeps of a reply: the envelope's result or the raw
// bytes, the media type, the request id and the neurons of the headers; and that it sends
// a raw Body with its content type and the query.
func TestRunTask(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.JSON(map[string]string{"text": "hi"}).WithHeader("cf-ai-neurons", "2.5"),
		llmtest.Raw("audio/mpeg", []byte{0xFF, 0xFB, 0x90, 0x64}).WithHeader("cf-ai-neurons", "1"),
		llmtest.Fail(400, 5006, "Bad input: no"),
	))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := c.RunTask(ctx, "@cf/deepgram/nova-3", llm.Body{ContentType: "audio/wav", Data: []byte("RIFF")}, url.Values{"language": {"en"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Data) != `{"text":"hi"}` || !r.JSON() || r.Usage.Neurons != 2.5 || r.RequestID == "" {
		t.Errorf("JSON reply: %+v", r)
	}
	req := srv.Requests()[0]
	if req.Header.Get("Content-Type") != "audio/wav" || string(req.Body) != "RIFF" || !strings.HasSuffix(req.Path, "/ai/run/@cf/deepgram/nova-3") {
		t.Errorf("request %s %q %q", req.Path, req.Header.Get("Content-Type"), req.Body)
	}
	r, err = c.RunTask(ctx, "@cf/deepgram/aura-1", map[string]string{"text": "hi"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.JSON() || r.ContentType != "audio/mpeg" || len(r.Data) != 4 || r.Usage.Neurons != 1 {
		t.Errorf("audio reply: %+v", r)
	}
	_, err = c.RunTask(ctx, "@cf/deepgram/aura-1", map[string]string{"text": "hi"}, nil)
	var e *llm.Error
	if !errors.As(err, &e) || e.Code != 5006 || e.RequestID == "" {
		t.Errorf("err = %v, want the *llm.Error with its request id", err)
	}
	if _, err := c.RunTask(ctx, "", nil, nil); err == nil {
		t.Error("empty model: no error")
	}
}

// endObserver keeps the CallInfo and CallResult of every call it sees end.
type endObserver struct {
	mu    sync.Mutex
	infos []llm.CallInfo
	ends  []llm.CallResult
}

func (o *endObserver) StartCall(ctx context.Context, _ llm.CallInfo) context.Context { return ctx }
func (o *endObserver) Attempt(context.Context, llm.CallInfo, llm.AttemptInfo)        {}
func (o *endObserver) EndCall(_ context.Context, info llm.CallInfo, res llm.CallResult) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.infos = append(o.infos, info)
	o.ends = append(o.ends, res)
}

// TestRunTaskReportsUsage checks that a RunTask call is observed and reports its usage to
// WithUsageFunc: the cf-ai-neurons header when sent, else the tokens of the result priced
// from the catalog, else WithNeuronEstimate's figure, marked estimated; an estimate never
// replaces what the service reported.
func TestRunTaskReportsUsage(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.JSON(map[string]string{"text": "hi"}).WithHeader("cf-ai-neurons", "2.5"),
		llmtest.JSON(map[string]string{"text": "hi"}).WithHeader("cf-ai-neurons", ""),
		llmtest.JSON(map[string]any{"response": "safe", "usage": map[string]int{"prompt_tokens": 1000, "completion_tokens": 0}}).WithHeader("cf-ai-neurons", ""),
		llmtest.Raw("audio/mpeg", []byte{0xFF, 0xFB, 0x90, 0x64}).WithHeader("cf-ai-neurons", ""),
		llmtest.Fail(400, 5006, "Bad input: no"),
	))
	defer srv.Close()
	// An empty cf-ai-neurons header stands for one the service did not send.
	obs := &endObserver{}
	c, err := srv.Client(llm.WithObserver(obs), llm.WithRetry(llm.RetryPolicy{MaxAttempts: 1}))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []llm.Usage
	ctx := llm.WithUsageFunc(t.Context(), func(u llm.Usage) {
		mu.Lock()
		defer mu.Unlock()
		got = append(got, u)
	})
	est := llm.WithNeuronEstimate(func(r *llm.TaskReply) float64 { return float64(len(r.Data)) })

	r, err := c.RunTask(ctx, "@cf/openai/whisper", llm.Body{ContentType: "audio/wav", Data: []byte("RIFF")}, nil, est)
	if err != nil || r.Usage.Neurons != 2.5 || r.Usage.NeuronsEstimated {
		t.Errorf("header neurons: %+v, %v; want 2.5 as reported", r, err)
	}
	r, err = c.RunTask(ctx, "@cf/openai/whisper", llm.Body{ContentType: "audio/wav", Data: []byte("RIFF")}, nil, est)
	if err != nil || r.Usage.Neurons != float64(len(`{"text":"hi"}`)) || !r.Usage.NeuronsEstimated {
		t.Errorf("no header: %+v, %v; want the estimate", r, err)
	}
	// distilbert is priced per token: the result's tokens are priced from the catalog, and the
	// caller's estimate is not asked.
	r, err = c.RunTask(ctx, "@cf/huggingface/distilbert-sst-2-int8", map[string]string{"text": "x"}, nil, est)
	if err != nil || r.Usage.PromptTokens != 1000 || r.Usage.Neurons != 2.394 || !r.Usage.NeuronsEstimated {
		t.Errorf("result tokens: %+v, %v; want 1000 prompt tokens at 2394 neurons a million", r, err)
	}
	r, err = c.RunTask(ctx, "@cf/deepgram/aura-1", map[string]string{"text": "hi"}, nil, est)
	if err != nil || r.Usage.Neurons != 4 || !r.Usage.NeuronsEstimated {
		t.Errorf("raw audio: %+v, %v; want the estimate of its 4 bytes", r, err)
	}
	if _, err := c.RunTask(ctx, "@cf/deepgram/aura-1", map[string]string{"text": "hi"}, nil, est); err == nil {
		t.Fatal("5006: no error")
	}

	mu.Lock()
	defer mu.Unlock()
	want := []float64{2.5, 13, 2.394, 4}
	if len(got) != len(want) {
		t.Fatalf("usage reported %d times (%+v), want %d: once a call, not for the failed one", len(got), got, len(want))
	}
	for i, n := range want {
		if got[i].Neurons != n {
			t.Errorf("report %d: %+v, want %v neurons", i, got[i], n)
		}
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if len(obs.ends) != 5 || obs.infos[0].Operation != llm.OpSpeechRecognition || obs.infos[3].Operation != llm.OpTextToSpeech ||
		obs.ends[0].Usage.Neurons != 2.5 || obs.ends[0].RequestID == "" || obs.ends[4].Err == nil || obs.ends[4].Status != 400 {
		t.Errorf("observer saw %+v / %+v", obs.infos, obs.ends)
	}
}

// TestRunTaskWithoutClient returns an error, not a panic, for a nil or zero Client, also
// under WithUsageFunc (which makes every call observed).
func TestRunTaskWithoutClient(t *testing.T) {
	ctx := llm.WithUsageFunc(t.Context(), func(llm.Usage) { t.Error("usage reported for a call never sent") })
	var nilClient *llm.Client
	for name, c := range map[string]*llm.Client{"nil": nilClient, "zero": {}} {
		if _, err := c.RunTask(ctx, "@cf/openai/whisper", map[string]string{"a": "b"}, nil); err == nil {
			t.Errorf("%s Client: no error", name)
		}
	}
}
