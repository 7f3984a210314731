package compat

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/cloudflare/cloudflare-go/v6"
	"github.com/cloudflare/cloudflare-go/v6/ai"
	"github.com/cloudflare/cloudflare-go/v6/option"
	"github.com/cloudflare/cloudflare-go/v6/shared"
	"github.com/gowai/gowai/llm/llmtest"
)

// cloudflareAI is cloudflare-go's Workers AI service pointed at the emulator with Cloudflare's documented base URL,
// host swapped.
func cloudflareAI(t *testing.T, srv *llmtest.Server) *ai.AIService {
	t.Helper()
	return ai.NewAIService(option.WithBaseURL(srv.URL()+"/client/v4/"), option.WithAPIToken(token), option.WithMaxRetries(0))
}

func userMessages(s string) []ai.AIRunParamsBodyTextGenerationMessage {
	return ([]ai.AIRunParamsBodyTextGenerationMessage{{
		Role:    cloudflare.F("user"),
		Content: cloudflare.F[ai.AIRunParamsBodyTextGenerationMessagesContentUnion](shared.UnionString(s)),
	}})
}

// run calls AI.Run and returns what the SDK's union decoded the result into.
func run(t *testing.T, srv *llmtest.Server, model string, body ai.AIRunParamsBodyUnion) (ai.AIRunResponseUnion, error) {
	t.Helper()
	res, err := cloudflareAI(t, srv).Run(t.Context(), model, ai.AIRunParams{AccountID: cloudflare.F(account), Body: body})
	if err != nil {
		return nil, err
	}
	return *res, nil
}

// recordedBody is the response body of a file in ../llm/testdata.
func recordedBody(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile("../llm/testdata/" + path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(path, "recorded/") {
		return b
	}
	var rec struct {
		Response struct {
			Body string `json:"body"`
		} `json:"response"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		t.Fatal(err)
	}
	return []byte(rec.Response.Body)
}

func TestCloudflareGo(t *testing.T) {
	const client = "cloudflare-go"
	t.Run("chat", func(t *testing.T) {
		cell(t, client, "chat", "ok (AIRunResponseObject)")
		res, err := run(t, newServer(t, nil), chatModel, ai.AIRunParamsBodyTextGeneration{Messages: cloudflare.F(userMessages("What is the weather in Paris?"))})
		if err != nil {
			t.Fatal(err)
		}
		obj, ok := res.(ai.AIRunResponseObject)
		if !ok || !strings.HasPrefix(obj.Response, "test model:") || obj.Usage.TotalTokens == 0 {
			t.Fatalf("%T %+v", res, res)
		}
	})
	t.Run("stream", func(t *testing.T) {
		// AI.Run decodes one JSON body: with "stream": true the service answers
		// text/event-stream, which the SDK refuses to decode, so the user gets an error
		// and no text.
		cell(t, client, "stream", "error: the SDK will not decode a text/event-stream body")
		res, err := run(t, newServer(t, nil), chatModel, ai.AIRunParamsBodyTextGeneration{
			Messages: cloudflare.F(userMessages("What is the weather in Paris?")), Stream: cloudflare.F(true)})
		if err == nil || !strings.Contains(err.Error(), "text/event-stream") {
			t.Fatalf("%T %+v, error %v; want an error naming text/event-stream", res, res, err)
		}
		t.Logf("cloudflare-go hands its user: %v", err)
	})
	t.Run("tools", func(t *testing.T) {
		cell(t, client, "tools", "ok (legacy tool_calls)")
		res, err := run(t, newServer(t, nil), chatModel, ai.AIRunParamsBodyTextGeneration{
			Messages: cloudflare.F(userMessages("What is the weather in Paris?")),
			Tools: cloudflare.F([]ai.AIRunParamsBodyTextGenerationToolUnion{ai.AIRunParamsBodyTextGenerationToolsObject{
				Name: cloudflare.F("get_weather"), Description: cloudflare.F("Weather of a city"),
				Parameters: cloudflare.F(ai.AIRunParamsBodyTextGenerationToolsObjectParameters{
					Type: cloudflare.F("object"), Required: cloudflare.F([]string{"city"}),
					Properties: cloudflare.F(map[string]ai.AIRunParamsBodyTextGenerationToolsObjectParametersProperties{
						"city": {Type: cloudflare.F("string"), Description: cloudflare.F("the city")},
					}),
				}),
			}}),
		})
		if err != nil {
			t.Fatal(err)
		}
		obj, ok := res.(ai.AIRunResponseObject)
		if !ok || len(obj.ToolCalls) != 1 || obj.ToolCalls[0].Name != "get_weather" {
			t.Fatalf("%T %+v", res, res)
		}
		args, err := json.Marshal(obj.ToolCalls[0].Arguments)
		if err != nil {
			t.Fatal(err)
		}
		checkCity(t, string(args))
	})
	t.Run("json schema", func(t *testing.T) {
		// In JSON mode "response" is an object, which the SDK's text-generation variant
		// (Response string) does not accept: the union falls back to AIRunResponseAudio and
		// the user gets an empty Audio and no answer. Cloudflare's documented JSON-mode body
		// is decoded the same way.
		cell(t, client, "json schema", "mis-decoded as live: AIRunResponseAudio, answer lost")
		body := ai.AIRunParamsBodyTextGeneration{
			Messages: cloudflare.F(userMessages("Give one animal and its number of legs.")),
			ResponseFormat: cloudflare.F(ai.AIRunParamsBodyTextGenerationResponseFormat{
				Type: cloudflare.F(ai.AIRunParamsBodyTextGenerationResponseFormatTypeJsonSchema), JsonSchema: cloudflare.F[any](animalSchema),
			}),
		}
		sameDecoding(t, chatModel, body, "workers-ai/native-json-mode.response.json", "ai.AIRunResponseAudio")
		res, err := run(t, newServer(t, nil), chatModel, body)
		if err != nil {
			t.Fatal(err)
		}
		if a := res.(ai.AIRunResponseAudio); a.Audio != "" || !strings.Contains(a.JSON.RawJSON(), `"animal"`) {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("llama-3.3 object response", func(t *testing.T) {
		cell(t, client, "llama-3.3 JSON answer (object response)", "mis-decoded as live: AIRunResponseAudio")
		sameDecodingScripted(t, hybridModel, llmtest.Text(`{"animal": "cat", "legs": 4}`),
			"recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__ai-run-llama-3.3-70b-hybrid.json", "ai.AIRunResponseAudio")
	})
	t.Run("embeddings", func(t *testing.T) {
		// bge answers {shape, data, pooling} and qwen3-embedding {data, shape, usage}: the key
		// beside shape and data makes the union pick AIRunResponseAudio over
		// AIRunResponseTextEmbeddings, so the user gets an empty Audio and no vectors, on
		// the recorded live body as on the emulator's.
		cell(t, client, "embeddings", "mis-decoded as live: AIRunResponseAudio, vectors lost (bge pooling, qwen3 usage)")
		body := ai.AIRunParamsBodyTextEmbeddings{
			Text: cloudflare.F[ai.AIRunParamsBodyTextEmbeddingsTextUnion](ai.AIRunParamsBodyTextEmbeddingsTextArray{"a", "b"}),
		}
		sameDecoding(t, embedModel, body, "workers-ai/embeddings-bge-small.response.json", "ai.AIRunResponseAudio")
		sameDecoding(t, "@cf/qwen/qwen3-embedding-0.6b", body, "recorded/marmarko__brainz__ai-run-qwen3-embedding-usage.json", "ai.AIRunResponseAudio")
		res, err := run(t, newServer(t, nil), embedModel, body)
		if err != nil {
			t.Fatal(err)
		}
		if a := res.(ai.AIRunResponseAudio); a.Audio != "" || !strings.Contains(a.JSON.RawJSON(), `"pooling"`) {
			t.Fatalf("%+v", a)
		}
	})
	t.Run("model list", func(t *testing.T) {
		// AI.Models.List types each entry as interface{}: the user gets maps to pick apart.
		cell(t, client, "model list (AI.Models.List)", "ok: entries as map[string]any")
		page, err := cloudflareAI(t, newServer(t, nil)).Models.List(t.Context(), ai.ModelListParams{AccountID: cloudflare.F(account), Search: cloudflare.F("gpt-oss")})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, m := range page.Result {
			e, ok := m.(map[string]any)
			if !ok {
				t.Fatalf("entry %T", m)
			}
			names = append(names, fmt.Sprint(e["name"]))
		}
		if strings.Join(names, " ") != "@cf/openai/gpt-oss-120b @cf/openai/gpt-oss-20b" || page.ResultInfo.Page != 1 || page.ResultInfo.PerPage != 100 {
			t.Fatalf("listed %q, result_info %+v", names, page.ResultInfo)
		}
	})
	t.Run("unknown model", func(t *testing.T) {
		cell(t, client, "unknown model", "error: 400 with code 7000")
		_, err := run(t, newServer(t, nil), unknownModel, ai.AIRunParamsBodyTextGeneration{Messages: cloudflare.F(userMessages("hi"))})
		if err == nil || !strings.Contains(err.Error(), "400") || !strings.Contains(err.Error(), "7000") {
			t.Fatalf("error %v, want 400 and 7000", err)
		}
		t.Logf("cloudflare-go hands its user: %v", err)
	})
}

// sameDecoding checks that the SDK decodes the emulator's built-in answer to body and the
// recorded body at path into the same variant, want.
func sameDecoding(t *testing.T, model string, body ai.AIRunParamsBodyUnion, path, want string) {
	t.Helper()
	sameDecodingOf(t, model, body, llmtest.Model(), path, want)
}

// sameDecodingScripted is sameDecoding with a scripted reply to a chat request.
func sameDecodingScripted(t *testing.T, model string, reply llmtest.Reply, path, want string) {
	t.Helper()
	body := ai.AIRunParamsBodyTextGeneration{Messages: cloudflare.F(userMessages("Give one animal and its number of legs."))}
	sameDecodingOf(t, model, body, reply, path, want)
}

func sameDecodingOf(t *testing.T, model string, body ai.AIRunParamsBodyUnion, reply llmtest.Reply, path, want string) {
	t.Helper()
	var got []string
	for _, h := range []llmtest.Handler{
		llmtest.Script(reply),
		llmtest.Script(llmtest.Raw("application/json", recordedBody(t, path))),
	} {
		res, err := run(t, newServer(t, h), model, body)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, fmt.Sprintf("%T", res))
	}
	if got[0] != want || got[1] != want {
		t.Fatalf("the emulator's answer decodes as %s and %s as %s; want both %s", got[0], path, got[1], want)
	}
}
