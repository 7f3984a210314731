package compat

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gowai/gowai/llm/llmtest"
	"github.com/tmc/langchaingo/llms"
	"github.com/tmc/langchaingo/llms/cloudflare"
	"github.com/tmc/langchaingo/llms/openai"
)

func langchainOpenAI(t *testing.T) *openai.LLM {
	t.Helper()
	m, err := openai.New(openai.WithBaseURL(v1Base(newServer(t, nil))), openai.WithToken(token),
		openai.WithModel(chatModel), openai.WithEmbeddingModel(embedModel))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func human(s string) []llms.MessageContent {
	return []llms.MessageContent{llms.TextParts(llms.ChatMessageTypeHuman, s)}
}

func TestLangchainOpenAI(t *testing.T) {
	const client = "langchaingo/openai"
	t.Run("chat", func(t *testing.T) {
		cell(t, client, "chat", "ok")
		resp, err := langchainOpenAI(t).GenerateContent(t.Context(), human("What is the weather in Paris?"))
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Choices) != 1 || !strings.HasPrefix(resp.Choices[0].Content, "test model:") || resp.Choices[0].StopReason != "stop" {
			t.Fatalf("%+v", resp.Choices)
		}
	})
	t.Run("stream", func(t *testing.T) {
		cell(t, client, "stream", "ok")
		var streamed strings.Builder
		resp, err := langchainOpenAI(t).GenerateContent(t.Context(), human("What is the weather in Paris?"),
			llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error { streamed.Write(chunk); return nil }))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(streamed.String(), "test model:") || resp.Choices[0].Content != streamed.String() {
			t.Fatalf("streamed %q, content %q", streamed.String(), resp.Choices[0].Content)
		}
	})
	t.Run("tools", func(t *testing.T) {
		cell(t, client, "tools", "ok")
		resp, err := langchainOpenAI(t).GenerateContent(t.Context(), human("What is the weather in Paris?"),
			llms.WithTools([]llms.Tool{{Type: "function", Function: &llms.FunctionDefinition{
				Name: "get_weather", Description: "Weather of a city", Parameters: weatherSchema,
			}}}))
		if err != nil {
			t.Fatal(err)
		}
		calls := resp.Choices[0].ToolCalls
		if len(calls) != 1 || calls[0].FunctionCall == nil || calls[0].FunctionCall.Name != "get_weather" {
			t.Fatalf("%+v", resp.Choices[0])
		}
		checkCity(t, calls[0].FunctionCall.Arguments)
	})
	t.Run("json schema", func(t *testing.T) {
		cell(t, client, "json schema", "ok")
		m, err := openai.New(openai.WithBaseURL(v1Base(newServer(t, nil))), openai.WithToken(token), openai.WithModel(chatModel),
			openai.WithResponseFormat(&openai.ResponseFormat{Type: "json_schema", JSONSchema: &openai.ResponseFormatJSONSchema{
				Name: "animal", Strict: true, Schema: &openai.ResponseFormatJSONSchemaProperty{
					Type: "object", Required: []string{"animal", "legs"},
					Properties: map[string]*openai.ResponseFormatJSONSchemaProperty{"animal": {Type: "string"}, "legs": {Type: "integer"}},
				},
			}}))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := m.GenerateContent(t.Context(), human("Give one animal and its number of legs."))
		if err != nil {
			t.Fatal(err)
		}
		checkAnimal(t, resp.Choices[0].Content)
	})
	t.Run("embeddings", func(t *testing.T) {
		cell(t, client, "embeddings", "ok")
		vecs, err := langchainOpenAI(t).CreateEmbedding(t.Context(), []string{"a", "b"})
		if err != nil {
			t.Fatal(err)
		}
		checkVectors(t, vecs)
	})
	t.Run("unknown model", func(t *testing.T) {
		cell(t, client, "unknown model", "error naming status 400")
		_, err := langchainOpenAI(t).GenerateContent(t.Context(), human("hi"), llms.WithModel(unknownModel))
		if err == nil || !strings.Contains(err.Error(), "400") {
			t.Fatalf("error %v, want one naming status 400", err)
		}
		t.Logf("langchaingo/openai hands its user: %v", err)
	})
}

// langchainCloudflare is langchaingo's Workers AI provider pointed at the emulator: it posts
// to <server URL>/<account>/ai/run/<model>, so the server URL is .../client/v4/accounts.
func langchainCloudflare(t *testing.T, srv *llmtest.Server, model string) *cloudflare.LLM {
	t.Helper()
	m, err := cloudflare.New(cloudflare.WithServerURL(srv.URL()+"/client/v4/accounts"), cloudflare.WithAccountID(account),
		cloudflare.WithToken(token), cloudflare.WithModel(model))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestLangchainCloudflare(t *testing.T) {
	const client = "langchaingo/cloudflare"
	t.Run("chat", func(t *testing.T) {
		cell(t, client, "chat", "ok")
		resp, err := langchainCloudflare(t, newServer(t, nil), chatModel).GenerateContent(t.Context(), human("What is the weather in Paris?"))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(resp.Choices[0].Content, "test model:") {
			t.Fatalf("%+v", resp.Choices)
		}
	})
	t.Run("stream", func(t *testing.T) {
		cell(t, client, "stream", "ok: raw native events handed over")
		var events []string
		_, err := langchainCloudflare(t, newServer(t, nil), chatModel).GenerateContent(t.Context(), human("What is the weather in Paris?"),
			llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error { events = append(events, string(chunk)); return nil }))
		if err != nil {
			t.Fatal(err)
		}
		// The provider hands each native event's JSON to the callback as it is.
		var text strings.Builder
		for _, e := range events {
			var ev struct {
				Response string `json:"response"`
			}
			if err := json.Unmarshal([]byte(e), &ev); err != nil {
				t.Fatalf("event %q: %v", e, err)
			}
			text.WriteString(ev.Response)
		}
		if !strings.HasPrefix(text.String(), "test model:") {
			t.Fatalf("streamed %q", text.String())
		}
	})
	t.Run("tools", func(t *testing.T) {
		// The provider sends the messages only: llms.WithTools is dropped, so the model
		// answers in text and the user gets no tool calls.
		cell(t, client, "tools", "tools dropped: the provider sends none, the user gets text")
		srv := newServer(t, nil)
		resp, err := langchainCloudflare(t, srv, chatModel).GenerateContent(t.Context(), human("What is the weather in Paris?"),
			llms.WithTools([]llms.Tool{{Type: "function", Function: &llms.FunctionDefinition{
				Name: "get_weather", Description: "Weather of a city", Parameters: weatherSchema,
			}}}))
		if err != nil {
			t.Fatal(err)
		}
		if c := resp.Choices[0]; len(c.ToolCalls) != 0 || c.FuncCall != nil || !strings.HasPrefix(c.Content, "test model:") {
			t.Fatalf("%+v", c)
		}
		if body := srv.Requests()[0].Body; strings.Contains(string(body), "get_weather") {
			t.Fatalf("the provider sent the tools: %s", body)
		}
	})
	t.Run("json schema", func(t *testing.T) {
		cell(t, client, "json schema", "n/a: the provider sends no response_format")
		t.Skip("langchaingo's cloudflare provider has no JSON mode option")
	})
	t.Run("embeddings", func(t *testing.T) {
		cell(t, client, "embeddings", "ok with WithModel(embedding model); error with a chat model")
		srv := newServer(t, nil)
		vecs, err := langchainCloudflare(t, srv, embedModel).CreateEmbedding(t.Context(), []string{"a", "b"})
		if err != nil {
			t.Fatal(err)
		}
		checkVectors(t, vecs)
		// The provider posts embeddings to the chat model's route (WithEmbeddingModel is
		// not used for the URL), which a text-generation model refuses with 400.
		if _, err := langchainCloudflare(t, srv, chatModel).CreateEmbedding(t.Context(), []string{"a"}); err == nil || !strings.Contains(err.Error(), "5006") {
			t.Fatalf("embedding through a chat model: %v, want a 5006 error", err)
		}
	})
	t.Run("unknown model", func(t *testing.T) {
		cell(t, client, "unknown model", "error with the raw body (7000)")
		_, err := langchainCloudflare(t, newServer(t, nil), unknownModel).GenerateContent(t.Context(), human("hi"))
		if err == nil || !strings.Contains(err.Error(), "7000") {
			t.Fatalf("error %v, want the 7000 body", err)
		}
	})
	t.Run("object response", func(t *testing.T) {
		// llama-3.3 on /ai/run answers JSON text with "response" as an object; the provider
		// decodes "response" into a string and fails. It fails on the recorded live body
		// and on the emulator's answer with the same error.
		cell(t, client, "llama-3.3 JSON answer (object response)", "fails as live: cannot unmarshal object into string")
		live := recordedBody(t, "recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__ai-run-llama-3.3-70b-hybrid.json")
		var errs []string
		for _, h := range []llmtest.Handler{
			llmtest.Script(llmtest.Raw("application/json", live)),        // the live bytes
			llmtest.Script(llmtest.Text(`{"animal": "cat", "legs": 4}`)), // the emulator
		} {
			_, err := langchainCloudflare(t, newServer(t, h), hybridModel).GenerateContent(t.Context(), human("Give one animal and its number of legs."))
			if err == nil {
				t.Fatal("the provider read an object response")
			}
			errs = append(errs, err.Error())
		}
		if errs[0] != errs[1] || !strings.Contains(errs[0], "cannot unmarshal object") {
			t.Fatalf("live: %s\nemulator: %s", errs[0], errs[1])
		}
		t.Logf("both: %s", errs[0])
		// A plain-text answer from the same model still works.
		resp, err := langchainCloudflare(t, newServer(t, llmtest.Script(llmtest.Text("a cat"))), hybridModel).GenerateContent(t.Context(), human("One animal?"))
		if err != nil || resp.Choices[0].Content != "a cat" {
			t.Fatalf("%v, %v", resp, err)
		}
	})
}
