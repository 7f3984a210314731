package nlp_test

import (
	"context"
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/nlp"
)

// TestMain fails the run if a test leaves a goroutine behind (agent runs start them).
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func newServer(t testing.TB, h llmtest.Handler) (*llmtest.Server, *llm.Client) {
	t.Helper()
	srv := llmtest.NewServer(h, llmtest.WithBatchPolls(0))
	t.Cleanup(srv.Close)
	c, err := srv.Client(llm.WithRetry(llm.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

func body(t *testing.T, r llmtest.Recorded) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("body %s: %v", r.Body, err)
	}
	return m
}

func TestTranslate(t *testing.T) {
	srv, c := newServer(t, nil)
	ctx := context.Background()
	tr, err := nlp.Translate(ctx, c, nlp.M2M100, "Hello", "FR", nlp.WithSource("en"))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Text != "[fr] Hello" || tr.Usage.Neurons <= 0 {
		t.Errorf("Translate = %+v", tr)
	}
	got := body(t, srv.Requests()[0])
	if got["text"] != "Hello" || got["target_lang"] != "fr" || got["source_lang"] != "en" || len(got) != 3 {
		t.Errorf("request = %v, want {text, target_lang: fr, source_lang: en}", got)
	}

	tr, err = nlp.Translate(ctx, c, nlp.IndicTrans2, "Hello", "hin_Deva")
	if err != nil {
		t.Fatal(err)
	}
	if tr.Text != "[hin_Deva] Hello" {
		t.Errorf("indictrans2: %q", tr.Text)
	}
	if got := body(t, srv.Requests()[1]); got["target_language"] != "hin_Deva" || got["text"] != "Hello" {
		t.Errorf("indictrans2 request = %v", got)
	}
	// English named as indictrans2's own code is English.
	for _, src := range []string{"eng_Latn", "English", "en"} {
		if _, err := nlp.Translate(ctx, c, nlp.IndicTrans2, "Hello", "hin_Deva", nlp.WithSource(src)); err != nil {
			t.Errorf("source %q: %v", src, err)
		}
	}
}

func TestTranslateAll(t *testing.T) {
	srv, c := newServer(t, nil)
	ctx := context.Background()
	texts := []string{"one", "two", "three"}
	out, u, err := nlp.TranslateAll(ctx, c, nlp.M2M100, texts, "german", nlp.WithQueueOptions(llm.WithPollInterval(time.Millisecond, time.Millisecond)))
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := llm.EstimateNeurons(nlp.M2M100, u); u.TotalTokens == 0 || u.Neurons != want || !u.NeuronsEstimated {
		t.Errorf("batch usage %+v, want its tokens priced at m2m100's rates (%v neurons), estimated", u, want)
	}
	if strings.Join(out, "|") != "[de] one|[de] two|[de] three" {
		t.Errorf("TranslateAll = %q", out)
	}
	first := srv.Requests()[0]
	var sub struct {
		Requests []map[string]string `json:"requests"`
	}
	_ = json.Unmarshal(first.Body, &sub)
	if len(sub.Requests) != 3 || sub.Requests[2]["text"] != "three" || sub.Requests[2]["target_lang"] != "de" {
		t.Errorf("batch submission %s", first.Body)
	}

	n := len(srv.Requests())
	out, _, err = nlp.TranslateAll(ctx, c, nlp.IndicTrans2, texts, "tam_Taml")
	if err != nil {
		t.Fatal(err)
	}
	if len(srv.Requests()) != n+1 || out[1] != "[tam_Taml] two" {
		t.Errorf("indictrans2: %d requests, %q; want one request", len(srv.Requests())-n, out)
	}
}

func TestTextTasksRefuseBeforeSending(t *testing.T) {
	srv, c := newServer(t, nil)
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["unknown target"] = nlp.Translate(ctx, c, nlp.M2M100, "Hi", "klingon")
	_, errs["unknown source"] = nlp.Translate(ctx, c, nlp.M2M100, "Hi", "fr", nlp.WithSource("elvish"))
	_, errs["indic target"] = nlp.Translate(ctx, c, nlp.IndicTrans2, "Hi", "french")
	_, errs["indic source"] = nlp.Translate(ctx, c, nlp.IndicTrans2, "Hi", "hin_Deva", nlp.WithSource("fr"))
	_, errs["unknown model"] = nlp.Translate(ctx, c, "@cf/x/y", "Hi", "fr")
	_, errs["empty text"] = nlp.Translate(ctx, c, nlp.M2M100, " ", "fr")
	_, _, errs["empty text in batch"] = nlp.TranslateAll(ctx, c, nlp.M2M100, []string{"a", ""}, "fr")
	_, errs["empty summary input"] = nlp.Summarize(ctx, c, nlp.BartLargeCNN, "", 0)
	_, errs["negative length"] = nlp.Summarize(ctx, c, nlp.BartLargeCNN, "text", -1)
	_, errs["summarize with a chat model"] = nlp.Summarize(ctx, c, "@cf/meta/llama-3.1-8b-instruct", "text", 0)
	_, errs["empty classify"] = nlp.Classify(ctx, c, nlp.DistilBERTSST2, "")
	_, errs["classify with a translator"] = nlp.Classify(ctx, c, nlp.M2M100, "text")
	_, errs["empty moderate"] = nlp.Moderate(ctx, c, nlp.LlamaGuard3, "")
	_, errs["system role"] = nlp.ModerateChat(ctx, c, nlp.LlamaGuard3, []llm.Message{llm.System("x")})
	_, errs["no messages"] = nlp.ModerateChat(ctx, c, nlp.LlamaGuard3, nil)
	want := map[string]string{
		"unknown target": "does not translate into \"klingon\"; it takes arabic, chinese",
		"unknown source": "does not translate from \"elvish\"",
		"indic target":   "does not translate into \"french\"; it takes asm_Beng",
		"indic source":   "translates only from English",
		"unknown model":  "not a translation model",
		"empty text":     "empty text", "empty text in batch": "text 1 is empty",
		"empty summary input": "empty text", "negative length": "negative",
		"summarize with a chat model": "text-generation model, not a summarisation one",
		"empty classify":              "empty text", "classify with a translator": "translation model",
		"empty moderate": "empty text", "system role": "role \"system\"", "no messages": "no messages",
	}
	for name, err := range errs {
		if err == nil || !strings.Contains(err.Error(), want[name]) || !strings.HasPrefix(err.Error(), "nlp: ") {
			t.Errorf("%s: err = %v, want one containing %q", name, err, want[name])
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

func TestSummarizeAndClassify(t *testing.T) {
	srv, c := newServer(t, nil)
	ctx := context.Background()
	s, err := nlp.Summarize(ctx, c, nlp.BartLargeCNN, "Cats sleep a lot during the day. They hunt at night.", 4)
	if err != nil {
		t.Fatal(err)
	}
	if s.Text != "test model summary: Cats sleep a lot" {
		t.Errorf("Summary = %q", s.Text)
	}
	if got := body(t, srv.Requests()[0]); got["max_length"] != 4.0 || got["input_text"] == nil {
		t.Errorf("request = %v", got)
	}
	cl, err := nlp.Classify(ctx, c, nlp.DistilBERTSST2, "a terrible, awful day")
	if err != nil {
		t.Fatal(err)
	}
	if cl.Top().Label != "NEGATIVE" || cl.Labels[0].Score < cl.Labels[1].Score || cl.Usage.Neurons <= 0 {
		t.Errorf("Classify = %+v", cl)
	}
}

// TestClassifySortsLabels reads the documented reply (NEGATIVE first) and sorts it.
func TestClassifySortsLabels(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.JSON(json.RawMessage(`[{"label":"NEGATIVE","score":0.0012},{"label":"POSITIVE","score":0.9988}]`))))
	cl, err := nlp.Classify(context.Background(), c, nlp.DistilBERTSST2, "great")
	if err != nil {
		t.Fatal(err)
	}
	if cl.Top() != (nlp.Label{Label: "POSITIVE", Score: 0.9988}) {
		t.Errorf("Top = %+v", cl.Top())
	}
}

// TestModerateBothShapes reads Llama Guard's text verdict and its JSON-mode object.
func TestModerateBothShapes(t *testing.T) {
	srv, c := newServer(t, llmtest.Script(
		llmtest.JSON(json.RawMessage(`{"response":"safe","usage":{"prompt_tokens":10,"completion_tokens":2,"total_tokens":12}}`)).WithHeader("cf-ai-neurons", ""),
		llmtest.JSON(json.RawMessage(`{"response":"unsafe\nS1,S10"}`)),
		llmtest.JSON(json.RawMessage(`{"response":{"safe":false,"categories":["S9"]}}`)),
		llmtest.JSON(json.RawMessage(`{"response":{"safe":true,"categories":[]}}`)),
		llmtest.JSON(json.RawMessage(`{"response":"maybe"}`)),
		llmtest.JSON(json.RawMessage(`{}`)),
	))
	ctx := context.Background()
	v, err := nlp.Moderate(ctx, c, nlp.LlamaGuard3, "How do I bake bread?")
	if err != nil || !v.Safe || len(v.Categories) != 0 || v.Usage.PromptTokens != 10 {
		t.Errorf("safe text: %+v, %v", v, err)
	}
	// Without a cf-ai-neurons header the tokens are priced from the catalog.
	if want, _ := llm.EstimateNeurons(nlp.LlamaGuard3, llm.Usage{PromptTokens: 10, CompletionTokens: 2}); want == 0 || math.Abs(v.Usage.Neurons-want) > 1e-12 || !v.Usage.NeuronsEstimated {
		t.Errorf("safe text: usage %+v, want %v neurons, estimated", v.Usage, want)
	}
	if got := body(t, srv.Requests()[0]); !strings.Contains(string(srv.Requests()[0].Body), `"messages":[{"role":"user","content":"How do I bake bread?"}]`) {
		t.Errorf("request = %v", got)
	}
	v, err = nlp.ModerateChat(ctx, c, nlp.LlamaGuard3, []llm.Message{llm.User("q"), llm.Assistant("a")})
	if err != nil || v.Safe || len(v.Categories) != 2 || v.Categories[0].Name() != "Violent Crimes" || v.Categories[1].String() != "S10 (Hate)" {
		t.Errorf("text verdict: %+v, %v", v, err)
	}
	v, err = nlp.Moderate(ctx, c, nlp.LlamaGuard3, "x")
	if err != nil || v.Safe || v.Categories[0].Name() != "Indiscriminate Weapons" {
		t.Errorf("object verdict: %+v, %v", v, err)
	}
	v, err = nlp.Moderate(ctx, c, nlp.LlamaGuard3, "x")
	if err != nil || !v.Safe {
		t.Errorf("safe object: %+v, %v", v, err)
	}
	if _, err := nlp.Moderate(ctx, c, nlp.LlamaGuard3, "x"); err == nil || !strings.Contains(err.Error(), "neither safe nor unsafe") {
		t.Errorf("odd verdict: err = %v", err)
	}
	if _, err := nlp.Moderate(ctx, c, nlp.LlamaGuard3, "x"); err == nil || !strings.Contains(err.Error(), "no verdict") {
		t.Errorf("no verdict: err = %v", err)
	}
}

// TestToolsInAgentRun gives an agent the translate, moderate, summarize and classify tools
// and checks that each runs against the emulated models.
func TestToolsInAgentRun(t *testing.T) {
	const chat = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	script := llmtest.Script(
		llmtest.Calls(
			llm.ToolCall{ID: "a", Name: "translate", Arguments: json.RawMessage(`{"text":"Good morning","target_language":"spanish"}`)},
			llm.ToolCall{ID: "b", Name: "moderate", Arguments: json.RawMessage(`{"text":"Good morning"}`)},
			llm.ToolCall{ID: "c", Name: "summarize", Arguments: json.RawMessage(`{"text":"Long text. More."}`)},
			llm.ToolCall{ID: "d", Name: "classify_sentiment", Arguments: json.RawMessage(`{"text":"great"}`)},
		),
		llmtest.Text("Buenos días, and it is safe."),
	)
	_, c := newServer(t, func(model string, b []byte) llmtest.Reply {
		switch model {
		case chat:
			return script(model, b)
		case nlp.LlamaGuard3:
			return llmtest.JSON(json.RawMessage(`{"response":"safe"}`))
		}
		return llmtest.Model()
	})
	a := agent.New(c.Model(chat), agent.WithTools(
		nlp.TranslateTool(c, nlp.M2M100), nlp.ModerateTool(c, nlp.LlamaGuard3),
		nlp.SummarizeTool(c, nlp.BartLargeCNN), nlp.ClassifyTool(c, nlp.DistilBERTSST2)))
	res, err := a.Run(context.Background(), "Translate 'Good morning' to Spanish and check it is safe.")
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res.Steps[0].Results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Call.Name, r.Err)
		}
		got[r.Call.Name] = r.Output
	}
	want := map[string]string{
		"translate":          "[es] Good morning",
		"moderate":           `{"safe":true}`,
		"summarize":          "test model summary: Long text.",
		"classify_sentiment": `[{"label":"POSITIVE","score":0.891},{"label":"NEGATIVE","score":0.109}]`,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s -> %s, want %s", k, got[k], v)
		}
	}
}

// TestToolsCountTowardAgentUsage checks that what the translate and classify tools spend
// reaches the agent's usage when the service sends no cf-ai-neurons header: their texts
// counted at llm.EstimateBytesPerToken bytes a token and priced from the catalog.
func TestToolsCountTowardAgentUsage(t *testing.T) {
	const chat = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	one := llm.Usage{PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2, Neurons: 1}
	script := llmtest.Script(
		llmtest.Calls(
			llm.ToolCall{ID: "a", Name: "translate", Arguments: json.RawMessage(`{"text":"Good morning","target_language":"es"}`)},
			llm.ToolCall{ID: "b", Name: "classify_sentiment", Arguments: json.RawMessage(`{"text":"great"}`)},
		).WithUsage(one),
		llmtest.Text("Buenos días.").WithUsage(one),
	)
	_, c := newServer(t, func(model string, b []byte) llmtest.Reply {
		if model == chat {
			return script(model, b)
		}
		return llmtest.Model().WithHeader("cf-ai-neurons", "") // the service sent none
	})
	a := agent.New(c.Model(chat), agent.WithTools(nlp.TranslateTool(c, nlp.M2M100), nlp.ClassifyTool(c, nlp.DistilBERTSST2)))
	res, err := a.Run(context.Background(), "Translate 'Good morning' to Spanish and say if it is positive.")
	if err != nil {
		t.Fatal(err)
	}
	tokens := func(s string) int { return (len(s) + llm.EstimateBytesPerToken - 1) / llm.EstimateBytesPerToken }
	tr, _ := llm.EstimateNeurons(nlp.M2M100, llm.Usage{PromptTokens: tokens("Good morning"), CompletionTokens: tokens("[es] Good morning")})
	cl, _ := llm.EstimateNeurons(nlp.DistilBERTSST2, llm.Usage{PromptTokens: tokens("great")})
	if got, want := res.Spent.Neurons, 2+tr+cl; tr == 0 || cl == 0 || math.Abs(got-want) > 1e-9 || !res.Spent.NeuronsEstimated {
		t.Errorf("Spent = %+v, want %.6f neurons (2 of chat, %.6f translating, %.6f classifying), estimated", res.Spent, want, tr, cl)
	}
}
