package compat

import (
	"errors"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
)

func openAIGo(t *testing.T) openai.Client {
	t.Helper()
	return openai.NewClient(option.WithBaseURL(v1Base(newServer(t, nil))), option.WithAPIKey(token),
		option.WithUnsafeAllowHTTP(), option.WithMaxRetries(0))
}

func TestOpenAIGo(t *testing.T) {
	const client = "openai-go"
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("What is the weather in Paris?")}

	t.Run("chat", func(t *testing.T) {
		cell(t, client, "chat", "ok")
		c := openAIGo(t)
		resp, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: chatModel, Messages: msgs})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Choices) != 1 || !strings.HasPrefix(resp.Choices[0].Message.Content, "test model:") ||
			resp.Choices[0].FinishReason != "stop" || resp.Usage.TotalTokens == 0 {
			t.Fatalf("%s", resp.RawJSON())
		}
	})
	t.Run("stream", func(t *testing.T) {
		cell(t, client, "stream", "ok")
		c := openAIGo(t)
		st := c.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: chatModel, Messages: msgs,
			StreamOptions: openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}})
		var acc openai.ChatCompletionAccumulator
		for st.Next() {
			acc.AddChunk(st.Current())
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if len(acc.Choices) != 1 || !strings.HasPrefix(acc.Choices[0].Message.Content, "test model:") ||
			acc.Choices[0].FinishReason != "stop" || acc.Usage.TotalTokens == 0 {
			t.Fatalf("accumulated %+v", acc.ChatCompletion)
		}
	})
	t.Run("stream without stream_options", func(t *testing.T) {
		// Without stream_options the chat-style streams carry the running usage in every
		// chunk (the recorded /ai/run stream of qwen3-30b does; the emulator answers /ai/v1
		// streams the same way). ChatCompletionAccumulator adds every chunk's usage up, so
		// the user gets a multiple of the real count; the last chunk's usage is the real one.
		cell(t, client, "stream without stream_options", "accumulator adds up the running usage: counts inflated; the last chunk's usage is right")
		c := openAIGo(t)
		st := c.Chat.Completions.NewStreaming(t.Context(), openai.ChatCompletionNewParams{Model: chatModel, Messages: msgs})
		var acc openai.ChatCompletionAccumulator
		var last openai.CompletionUsage
		chunks := 0
		for st.Next() {
			acc.AddChunk(st.Current())
			last = st.Current().Usage
			chunks++
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(acc.Choices[0].Message.Content, "test model:") || last.PromptTokens == 0 {
			t.Fatalf("text %q, last usage %+v", acc.Choices[0].Message.Content, last)
		}
		if acc.Usage.PromptTokens != int64(chunks)*last.PromptTokens {
			t.Fatalf("accumulated %d prompt tokens over %d chunks of %d", acc.Usage.PromptTokens, chunks, last.PromptTokens)
		}
		t.Logf("openai-go hands its user %d prompt tokens for %d", acc.Usage.PromptTokens, last.PromptTokens)
	})
	t.Run("tools", func(t *testing.T) {
		cell(t, client, "tools", "ok")
		c := openAIGo(t)
		resp, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: chatModel, Messages: msgs,
			Tools: []openai.ChatCompletionToolUnionParam{openai.ChatCompletionFunctionTool(shared.FunctionDefinitionParam{
				Name: "get_weather", Description: openai.String("Weather of a city"), Parameters: weatherSchema,
			})}})
		if err != nil {
			t.Fatal(err)
		}
		ch := resp.Choices[0]
		if ch.FinishReason != "tool_calls" || len(ch.Message.ToolCalls) != 1 || ch.Message.ToolCalls[0].Function.Name != "get_weather" {
			t.Fatalf("%s", resp.RawJSON())
		}
		checkCity(t, ch.Message.ToolCalls[0].Function.Arguments)
	})
	t.Run("json schema", func(t *testing.T) {
		cell(t, client, "json schema", "ok")
		c := openAIGo(t)
		resp, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: chatModel,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Give one animal and its number of legs.")},
			ResponseFormat: openai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
				JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "animal", Schema: animalSchema, Strict: openai.Bool(true)},
			}}})
		if err != nil {
			t.Fatal(err)
		}
		checkAnimal(t, resp.Choices[0].Message.Content)
	})
	t.Run("embeddings", func(t *testing.T) {
		cell(t, client, "embeddings", "ok (float and base64)")
		c := openAIGo(t)
		// Both forms must give the emulator's vectors; the float form travels as decimal
		// text of float32 values, the base64 form as their bytes.
		for _, format := range []openai.EmbeddingNewParamsEncodingFormat{openai.EmbeddingNewParamsEncodingFormatFloat, openai.EmbeddingNewParamsEncodingFormatBase64} {
			resp, err := c.Embeddings.New(t.Context(), openai.EmbeddingNewParams{Model: embedModel, EncodingFormat: format,
				Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"a", "b"}}})
			if err != nil {
				t.Fatal(err)
			}
			if len(resp.Data) != 2 {
				t.Fatalf("%s: %d vectors", format, len(resp.Data))
			}
			checkVectors(t, [][]float64{resp.Data[0].Embedding, resp.Data[1].Embedding})
		}
	})
	t.Run("unknown model", func(t *testing.T) {
		cell(t, client, "unknown model", "*openai.Error, status 400, no message (the body is Cloudflare's envelope)")
		c := openAIGo(t)
		_, err := c.Chat.Completions.New(t.Context(), openai.ChatCompletionNewParams{Model: unknownModel, Messages: msgs})
		var ae *openai.Error
		if !errors.As(err, &ae) || ae.StatusCode != 400 {
			t.Fatalf("error %T %v, want *openai.Error with status 400", err, err)
		}
		// openai-go reads OpenAI's {"error":{...}}; Cloudflare's {"errors":[...]} leaves the
		// message empty, against the live service as against the emulator.
		if ae.Message != "" {
			t.Errorf("message %q: the client read a message out of Cloudflare's envelope", ae.Message)
		}
		t.Logf("openai-go hands its user: %v", err)
	})
}
