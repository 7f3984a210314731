package llm

import (
	"math"
	"slices"
	"strings"
	"testing"
)

// documentedModels lists every model id the library documents as current (glm-5.x as the
// glm-5.2 of testdata/recorded), the task models of the speech, nlp and vision packages
// among them.
var documentedModels = []string{
	"@cf/meta/llama-3.3-70b-instruct-fp8-fast",
	"@cf/meta/llama-4-scout-17b-16e-instruct",
	"@cf/meta/llama-3.1-8b-instruct",
	"@cf/meta/llama-3.1-8b-instruct-fast",
	"@cf/meta/llama-3.1-8b-instruct-fp8",
	"@cf/meta/llama-3.1-8b-instruct-awq",
	"@cf/meta/llama-3-8b-instruct",
	"@cf/meta/llama-3.2-1b-instruct",
	"@cf/meta/llama-3.2-3b-instruct",
	"@cf/meta/llama-3.2-11b-vision-instruct",
	"@cf/meta/llama-guard-3-8b",
	"@hf/nousresearch/hermes-2-pro-mistral-7b",
	"@hf/thebloke/deepseek-coder-6.7b-instruct-awq",
	"@cf/deepseek-ai/deepseek-r1-distill-qwen-32b",
	"@cf/qwen/qwen2.5-coder-32b-instruct",
	"@cf/qwen/qwq-32b",
	"@cf/qwen/qwen3-30b-a3b-fp8",
	"@cf/mistralai/mistral-small-3.1-24b-instruct",
	"@cf/google/gemma-3-12b-it",
	"@cf/google/gemma-4-26b-a4b-it",
	"@cf/openai/gpt-oss-120b",
	"@cf/openai/gpt-oss-20b",
	"@cf/moonshotai/kimi-k2.6",
	"@cf/zai-org/glm-4.7-flash",
	"@cf/zai-org/glm-5.2",
	"@cf/baai/bge-small-en-v1.5",
	"@cf/baai/bge-base-en-v1.5",
	"@cf/baai/bge-large-en-v1.5",
	"@cf/baai/bge-m3",
	"@cf/google/embeddinggemma-300m",
	"@cf/qwen/qwen3-embedding-0.6b",
	"@cf/baai/bge-reranker-base",
	"@cf/black-forest-labs/flux-1-schnell",
	"@cf/stabilityai/stable-diffusion-xl-base-1.0",
	"@cf/bytedance/stable-diffusion-xl-lightning",
	"@cf/lykon/dreamshaper-8-lcm",
	"@cf/openai/whisper",
	"@cf/openai/whisper-tiny-en",
	"@cf/openai/whisper-large-v3-turbo",
	"@cf/deepgram/nova-3",
	"@cf/meta/m2m100-1.2b",
	"@cf/facebook/bart-large-cnn",
	"@cf/huggingface/distilbert-sst-2-int8",
	"@cf/llava-hf/llava-1.5-7b-hf",
	"@cf/unum/uform-gen2-qwen-500m",
	"@cf/deepgram/aura-1",
	"@cf/deepgram/aura-2-en",
	"@cf/deepgram/aura-2-es",
	"@cf/myshell-ai/melotts",
	"@cf/ai4bharat/indictrans2-en-indic-1B",
	"@cf/microsoft/resnet-50",
	"@cf/facebook/detr-resnet-50",
}

func TestEveryDocumentedModelIsCatalogued(t *testing.T) {
	for _, id := range documentedModels {
		info, ok := LookupModel(id)
		if !ok {
			t.Errorf("LookupModel(%q) not found", id)
			continue
		}
		if info.ID != id {
			t.Errorf("LookupModel(%q).ID = %q", id, info.ID)
		}
	}
}

func TestCatalogFacts(t *testing.T) {
	tests := []struct {
		name  string
		id    string
		check func(ModelInfo) bool
	}{
		{"bge-small has 384 dimensions", "@cf/baai/bge-small-en-v1.5", func(m ModelInfo) bool { return m.Dimensions == 384 }},
		{"bge-base has 768 dimensions", "@cf/baai/bge-base-en-v1.5", func(m ModelInfo) bool { return m.Dimensions == 768 }},
		{"bge-large has 1024 dimensions", "@cf/baai/bge-large-en-v1.5", func(m ModelInfo) bool { return m.Dimensions == 1024 }},
		{"bge-m3 has 1024 dimensions", "@cf/baai/bge-m3", func(m ModelInfo) bool { return m.Dimensions == 1024 }},
		{"bge reads 512 tokens per text, 100 texts per call", "@cf/baai/bge-small-en-v1.5",
			func(m ModelInfo) bool { return m.MaxInputTokens == 512 && m.MaxBatchItems == 100 && m.Batch }},
		{"embeddings get 3000 rpm", "@cf/baai/bge-small-en-v1.5", func(m ModelInfo) bool { return m.RequestsPerMinute == 3000 }},
		{"bge-large gets 1500 rpm", "@cf/baai/bge-large-en-v1.5", func(m ModelInfo) bool { return m.RequestsPerMinute == 1500 }},
		{"text generation gets 300 rpm", "@cf/meta/llama-3.3-70b-instruct-fp8-fast", func(m ModelInfo) bool { return m.RequestsPerMinute == 300 }},
		{"qwen1.5-14b override is 150 rpm", "@cf/qwen/qwen1.5-14b-chat-awq", func(m ModelInfo) bool { return m.RequestsPerMinute == 150 }},
		{"sd-v1-5-img2img override is 1500 rpm", "@cf/runwayml/stable-diffusion-v1-5-img2img", func(m ModelInfo) bool { return m.RequestsPerMinute == 1500 }},
		{"image-to-text gets 720 rpm", "@cf/llava-hf/llava-1.5-7b-hf", func(m ModelInfo) bool { return m.RequestsPerMinute == 720 }},
		{"llama-3.3 calls tools, does JSON mode and batches", "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
			func(m ModelInfo) bool {
				return m.Tools && m.JSONMode && m.Batch && !m.Vision && m.ContextWindow == 24000
			}},
		{"llama-3.3 neurons come from the published table", "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
			func(m ModelInfo) bool { return m.NeuronsPerMInput == 26668 && m.NeuronsPerMOutput == 204805 }},
		{"llama-4-scout neurons are converted from USD", "@cf/meta/llama-4-scout-17b-16e-instruct",
			func(m ModelInfo) bool {
				return math.Abs(m.NeuronsPerMInput-24545.45) < 0.01 && math.Abs(m.NeuronsPerMOutput-77272.73) < 0.01
			}},
		{"llama-4-scout takes content parts and nine-char tool ids", "@cf/meta/llama-4-scout-17b-16e-instruct",
			func(m ModelInfo) bool { return m.Vision && m.VisionInput == VisionContentParts && m.NineCharToolIDs }},
		{"mistral-small needs nine-char tool ids, JSON only via guided_json", "@cf/mistralai/mistral-small-3.1-24b-instruct",
			func(m ModelInfo) bool { return m.NineCharToolIDs && m.Tools && !m.JSONMode }},
		{"qwq is reasoning without flagged tools", "@cf/qwen/qwq-32b",
			func(m ModelInfo) bool { return m.Reasoning && !m.Tools && m.NineCharToolIDs }},
		{"llama-3.2-vision takes image bytes behind a licence gate", "@cf/meta/llama-3.2-11b-vision-instruct",
			func(m ModelInfo) bool {
				return m.VisionInput == VisionImageBytes && m.LicenseGate && m.StringContentOnly && !m.Tools
			}},
		{"llama-3.1-8b takes string content only", "@cf/meta/llama-3.1-8b-instruct",
			func(m ModelInfo) bool { return m.StringContentOnly && m.ContextWindow == 7968 && m.JSONMode }},
		{"gpt-oss-120b reasons, calls tools and batches", "@cf/openai/gpt-oss-120b",
			func(m ModelInfo) bool {
				return m.Reasoning && m.Tools && m.JSONMode && m.Batch && m.ContextWindow == 128000
			}},
		{"kimi-k2.6 has a 262144-token window and vision", "@cf/moonshotai/kimi-k2.6",
			func(m ModelInfo) bool { return m.ContextWindow == 262144 && m.VisionInput == VisionContentParts }},
		{"llava is image-to-text", "@cf/llava-hf/llava-1.5-7b-hf",
			func(m ModelInfo) bool { return m.Task == TaskImageToText && m.VisionInput == VisionImageToText }},
		{"flux-1-schnell answers base64 in JSON", "@cf/black-forest-labs/flux-1-schnell",
			func(m ModelInfo) bool { return m.ImageOutput == ImageOutputJSONBase64 }},
		{"sdxl answers raw bytes", "@cf/stabilityai/stable-diffusion-xl-base-1.0",
			func(m ModelInfo) bool { return m.ImageOutput == ImageOutputBinary }},
		{"flux-2 takes multipart", "@cf/black-forest-labs/flux-2-klein-4b",
			func(m ModelInfo) bool { return m.ImageOutput == ImageOutputMultipartJSON }},
		{"the reranker is rate limited as text classification", "@cf/baai/bge-reranker-base",
			func(m ModelInfo) bool { return m.Task == TaskRerank && m.RequestsPerMinute == 2000 }},
		{"m2m100 batches and costs 31050 neurons per M", "@cf/meta/m2m100-1.2b",
			func(m ModelInfo) bool { return m.Batch && m.NeuronsPerMInput == 31050 && m.Task == TaskTranslation }},
		{"whisper is speech recognition at 720 rpm", "@cf/openai/whisper",
			func(m ModelInfo) bool { return m.Task == TaskSpeechRecognition && m.RequestsPerMinute == 720 }},
		// The task models' prices (https://developers.cloudflare.com/workers-ai/platform/pricing/).
		{"whisper costs 41.14 neurons per audio minute", "@cf/openai/whisper",
			func(m ModelInfo) bool { return m.NeuronsPerAudioMinute == 41.14 && m.NeuronsPerMInput == 0 }},
		{"whisper-large-v3-turbo costs 46.63 neurons per audio minute", "@cf/openai/whisper-large-v3-turbo",
			func(m ModelInfo) bool { return m.NeuronsPerAudioMinute == 46.63 }},
		{"nova-3 costs 472.73 neurons per audio minute", "@cf/deepgram/nova-3",
			func(m ModelInfo) bool { return m.NeuronsPerAudioMinute == 472.73 && m.RequestsPerMinute == 720 }},
		{"melotts costs 18.63 neurons per audio minute spoken", "@cf/myshell-ai/melotts",
			func(m ModelInfo) bool { return m.NeuronsPerAudioMinute == 18.63 && m.Task == TaskTextToSpeech }},
		{"aura-1 costs 1363.64 neurons per 1000 characters", "@cf/deepgram/aura-1",
			func(m ModelInfo) bool { return m.NeuronsPerKCharacters == 1363.64 }},
		{"aura-2-en costs 2727.27 neurons per 1000 characters", "@cf/deepgram/aura-2-en",
			func(m ModelInfo) bool { return m.NeuronsPerKCharacters == 2727.27 }},
		{"aura-2-es costs 2727.27 neurons per 1000 characters", "@cf/deepgram/aura-2-es",
			func(m ModelInfo) bool { return m.NeuronsPerKCharacters == 2727.27 }},
		{"indictrans2 costs 31050 neurons per M tokens each way", "@cf/ai4bharat/indictrans2-en-indic-1B",
			func(m ModelInfo) bool {
				return m.NeuronsPerMInput == 31050 && m.NeuronsPerMOutput == 31050 && m.RequestsPerMinute == 720
			}},
		{"distilbert costs 2394 neurons per M input tokens", "@cf/huggingface/distilbert-sst-2-int8",
			func(m ModelInfo) bool { return m.NeuronsPerMInput == 2394 && m.RequestsPerMinute == 2000 }},
		{"resnet-50 costs 228055 neurons per M images", "@cf/microsoft/resnet-50",
			func(m ModelInfo) bool { return m.NeuronsPerMInput == 228055 && m.RequestsPerMinute == 3000 }},
		{"detr-resnet-50 is object detection at 3000 rpm", "@cf/facebook/detr-resnet-50",
			func(m ModelInfo) bool { return m.Task == TaskObjectDetection && m.RequestsPerMinute == 3000 }},
		{"llama-guard-3-8b costs 44003 and 2730 neurons per M tokens", "@cf/meta/llama-guard-3-8b",
			func(m ModelInfo) bool { return m.NeuronsPerMInput == 44003 && m.NeuronsPerMOutput == 2730 }},
		{"bart-large-cnn is summarisation at 1500 rpm", "@cf/facebook/bart-large-cnn",
			func(m ModelInfo) bool { return m.Task == TaskSummarization && m.RequestsPerMinute == 1500 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, ok := LookupModel(tt.id)
			if !ok {
				t.Fatalf("LookupModel(%q) not found", tt.id)
			}
			if !tt.check(m) {
				t.Errorf("LookupModel(%q) = %+v", tt.id, m)
			}
		})
	}
}

func TestCatalogIsConsistent(t *testing.T) {
	if !slices.IsSortedFunc(catalog, func(a, b ModelInfo) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("catalog literal is not sorted by ID")
	}
	for i, m := range catalog {
		if i > 0 && catalog[i-1].ID == m.ID {
			t.Errorf("%s is listed twice", m.ID)
		}
		if !strings.HasPrefix(m.ID, "@cf/") && !strings.HasPrefix(m.ID, "@hf/") {
			t.Errorf("%s: id lacks the @cf/ or @hf/ prefix", m.ID)
		}
		if m.Task == "" {
			t.Errorf("%s: no task", m.ID)
		}
		if m.Vision != (m.VisionInput != VisionNone) {
			t.Errorf("%s: Vision=%v but VisionInput=%d", m.ID, m.Vision, m.VisionInput)
		}
		if m.StringContentOnly && m.VisionInput == VisionContentParts {
			t.Errorf("%s: string-only content cannot carry image parts", m.ID)
		}
		if (m.ImageOutput != "") != (m.Task == TaskTextToImage) {
			t.Errorf("%s: ImageOutput %q on task %s", m.ID, m.ImageOutput, m.Task)
		}
		if m.Task != TaskTextEmbeddings && (m.Dimensions != 0 || m.MaxInputTokens != 0 || m.MaxBatchItems != 0) {
			t.Errorf("%s: embedding limits on task %s", m.ID, m.Task)
		}
		if m.Task != TaskTextGeneration && (m.Tools || m.JSONMode || m.NineCharToolIDs) {
			t.Errorf("%s: chat flags on task %s", m.ID, m.Task)
		}
	}
}

func TestLookupMissReturnsFalse(t *testing.T) {
	for _, id := range []string{"", "@cf/no/such-model", "llama-3.3-70b-instruct-fp8-fast", "@CF/META/LLAMA-3.1-8B-INSTRUCT"} {
		if m, ok := LookupModel(id); ok || m != (ModelInfo{}) {
			t.Errorf("LookupModel(%q) = %+v, %v; want zero, false", id, m, ok)
		}
	}
}

func TestModelsIsSortedAndCallersCannotChangeTheCatalog(t *testing.T) {
	got := Models()
	if len(got) != len(catalog) {
		t.Fatalf("Models() returned %d models, catalog has %d", len(got), len(catalog))
	}
	if !slices.IsSortedFunc(got, func(a, b ModelInfo) int { return strings.Compare(a.ID, b.ID) }) {
		t.Error("Models() is not sorted by ID")
	}
	const id = "@cf/baai/bge-small-en-v1.5"
	i := slices.IndexFunc(got, func(m ModelInfo) bool { return m.ID == id })
	if i < 0 {
		t.Fatalf("Models() lacks %s", id)
	}
	got[i].Dimensions = 1
	got[0].ID = "@cf/changed"
	if m, _ := LookupModel(id); m.Dimensions != 384 {
		t.Errorf("after mutating Models(), LookupModel(%q).Dimensions = %d, want 384", id, m.Dimensions)
	}
	if again := Models(); again[0].ID == "@cf/changed" || again[i].Dimensions != 384 {
		t.Error("mutating one Models() result changed the next one")
	}
}
