package compat

import (
	"errors"
	"io"
	"strings"
	"testing"

	openai "github.com/sashabaranov/go-openai"
	"github.com/sashabaranov/go-openai/jsonschema"
)

func goOpenAI(t *testing.T) *openai.Client {
	t.Helper()
	cfg := openai.DefaultConfig(token)
	cfg.BaseURL = v1Base(newServer(t, nil))
	return openai.NewClientWithConfig(cfg)
}

func TestGoOpenAI(t *testing.T) {
	const client = "go-openai"
	msgs := []openai.ChatCompletionMessage{{Role: openai.ChatMessageRoleUser, Content: "What is the weather in Paris?"}}

	t.Run("chat", func(t *testing.T) {
		cell(t, client, "chat", "ok")
		resp, err := goOpenAI(t).CreateChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: chatModel, Messages: msgs})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Choices) != 1 || !strings.HasPrefix(resp.Choices[0].Message.Content, "test model:") ||
			resp.Choices[0].FinishReason != openai.FinishReasonStop || resp.Usage.TotalTokens == 0 {
			t.Fatalf("%+v", resp)
		}
	})
	t.Run("stream", func(t *testing.T) {
		cell(t, client, "stream", "ok")
		st, err := goOpenAI(t).CreateChatCompletionStream(t.Context(), openai.ChatCompletionRequest{Model: chatModel, Messages: msgs, Stream: true})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var text strings.Builder
		var finish openai.FinishReason
		usage := 0
		for {
			chunk, err := st.Recv()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range chunk.Choices {
				text.WriteString(c.Delta.Content)
				if c.FinishReason != "" {
					finish = c.FinishReason
				}
			}
			if chunk.Usage != nil {
				usage = chunk.Usage.TotalTokens
			}
		}
		if !strings.HasPrefix(text.String(), "test model:") || finish != openai.FinishReasonStop || usage == 0 {
			t.Fatalf("text %q, finish %q, usage %d", text.String(), finish, usage)
		}
	})
	t.Run("tools", func(t *testing.T) {
		cell(t, client, "tools", "ok")
		resp, err := goOpenAI(t).CreateChatCompletion(t.Context(), openai.ChatCompletionRequest{
			Model: chatModel, Messages: msgs,
			Tools: []openai.Tool{{Type: openai.ToolTypeFunction, Function: &openai.FunctionDefinition{
				Name: "get_weather", Description: "Weather of a city", Parameters: weatherSchema,
			}}},
		})
		if err != nil {
			t.Fatal(err)
		}
		c := resp.Choices[0]
		if c.FinishReason != openai.FinishReasonToolCalls || len(c.Message.ToolCalls) != 1 ||
			c.Message.ToolCalls[0].Function.Name != "get_weather" || c.Message.ToolCalls[0].ID == "" {
			t.Fatalf("%+v", c)
		}
		checkCity(t, c.Message.ToolCalls[0].Function.Arguments)
	})
	t.Run("json schema", func(t *testing.T) {
		cell(t, client, "json schema", "ok")
		var schema jsonschema.Definition
		schema.Type = jsonschema.Object
		schema.Properties = map[string]jsonschema.Definition{"animal": {Type: jsonschema.String}, "legs": {Type: jsonschema.Integer}}
		schema.Required = []string{"animal", "legs"}
		resp, err := goOpenAI(t).CreateChatCompletion(t.Context(), openai.ChatCompletionRequest{
			Model: chatModel, Messages: []openai.ChatCompletionMessage{{Role: "user", Content: "Give one animal and its number of legs."}},
			ResponseFormat: &openai.ChatCompletionResponseFormat{Type: openai.ChatCompletionResponseFormatTypeJSONSchema,
				JSONSchema: &openai.ChatCompletionResponseFormatJSONSchema{Name: "animal", Schema: &schema, Strict: true}},
		})
		if err != nil {
			t.Fatal(err)
		}
		checkAnimal(t, resp.Choices[0].Message.Content)
	})
	t.Run("embeddings", func(t *testing.T) {
		cell(t, client, "embeddings", "ok")
		resp, err := goOpenAI(t).CreateEmbeddings(t.Context(), openai.EmbeddingRequestStrings{Model: embedModel, Input: []string{"a", "b"}})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 || resp.Data[1].Index != 1 {
			t.Fatalf("%d vectors", len(resp.Data))
		}
		checkVectors(t, [][]float32{resp.Data[0].Embedding, resp.Data[1].Embedding})
	})
	t.Run("embeddings base64", func(t *testing.T) {
		cell(t, client, "embeddings (base64)", "ok: decoded as float32")
		resp, err := goOpenAI(t).CreateEmbeddings(t.Context(), openai.EmbeddingRequestStrings{Model: embedModel, Input: []string{"a", "b"},
			EncodingFormat: openai.EmbeddingEncodingFormatBase64})
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Data) != 2 {
			t.Fatalf("%d vectors", len(resp.Data))
		}
		checkVectors(t, [][]float32{resp.Data[0].Embedding, resp.Data[1].Embedding})
	})
	t.Run("unknown model", func(t *testing.T) {
		cell(t, client, "unknown model", "error: HTTP 400 (7000 in the body)")
		_, err := goOpenAI(t).CreateChatCompletion(t.Context(), openai.ChatCompletionRequest{Model: unknownModel, Messages: msgs})
		// The body is Cloudflare's envelope, not OpenAI's {"error":{...}}: go-openai reports
		// a RequestError with the status and the raw body, as it does against the live service.
		var re *openai.RequestError
		if !errors.As(err, &re) || re.HTTPStatusCode != 400 || !strings.Contains(string(re.Body), `"code":7000`) {
			t.Fatalf("error %T %v, want a RequestError with status 400 and code 7000 in the body", err, err)
		}
		t.Logf("go-openai hands its user: %v", err)
	})
}
