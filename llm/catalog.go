package llm

import (
	"slices"
	"sync"
)

// Task is what a model does, in the terms of the Workers AI catalog.
type Task string

// The tasks of the catalogued models.
const (
	TaskTextGeneration      Task = "text-generation"
	TaskTextEmbeddings      Task = "text-embeddings"
	TaskTextClassification  Task = "text-classification"
	TaskRerank              Task = "rerank"
	TaskTextToImage         Task = "text-to-image"
	TaskImageToText         Task = "image-to-text"
	TaskImageClassification Task = "image-classification"
	TaskObjectDetection     Task = "object-detection"
	TaskSpeechRecognition   Task = "automatic-speech-recognition"
	TaskTextToSpeech        Task = "text-to-speech"
	TaskTranslation         Task = "translation"
	TaskSummarization       Task = "summarization"
)

// VisionInput is how a model takes images on the wire.
type VisionInput int

const (
	// VisionNone: the model takes no images.
	VisionNone VisionInput = iota
	// VisionContentParts: OpenAI-style content parts {"type":"image_url","image_url":{"url":"data:..."}}
	// in the user message; HTTP URLs are refused by the service, only data: URLs pass.
	VisionContentParts
	// VisionImageBytes: a top-level "image" array of byte values 0..255 beside string-only
	// messages, one image per request (llama-3.2-11b-vision).
	VisionImageBytes
	// VisionImageToText: the image-to-text task, {image, prompt, max_tokens} in and
	// {description} out (llava, uform).
	VisionImageToText
)

// The values of ModelInfo.ImageOutput: how a text-to-image model returns its picture
// (https://developers.cloudflare.com/workers-ai/models/, each model's output schema).
const (
	ImageOutputJSONBase64    = "json-base64"    // JSON envelope, result.image is base64
	ImageOutputBinary        = "binary"         // raw image bytes; PNG or JPEG, read the Content-Type
	ImageOutputMultipartJSON = "multipart-json" // multipart/form-data request, JSON base64 reply
)

// ModelInfo is what the library knows about a Workers AI model from the documentation and
// recorded traffic. Zero means "not documented", never "none": an unknown context window is
// 0, not a claim that the model takes no input.
type ModelInfo struct {
	ID            string // catalog id with its prefix, e.g. "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	Task          Task
	ContextWindow int // tokens; input plus max_tokens must fit or the service answers 413

	// Tools: Cloudflare's model catalog flags function calling. Some unflagged models
	// (llama-3.1-8b, llama-3.2-*) accept tools in their schema but call them poorly.
	Tools bool
	// JSONMode: the model takes response_format json_schema
	// (https://developers.cloudflare.com/workers-ai/features/json-mode/). Models that
	// only take guided_json (gemma-3, mistral-small-3.1, qwq) are false.
	JSONMode  bool
	Vision    bool // accepts images; see VisionInput for how
	Reasoning bool // thinks before answering, spending output tokens

	RequestsPerMinute int // per account, by task with per-model overrides (https://developers.cloudflare.com/workers-ai/platform/limits/)

	// Neurons (Workers AI's billing unit, $0.011 per 1000) per million input and output
	// tokens (https://developers.cloudflare.com/workers-ai/platform/pricing/); for image
	// classification NeuronsPerMInput prices a million images. 0 where pricing is per
	// image tile, step, audio minute or character.
	NeuronsPerMInput, NeuronsPerMOutput float64
	// NeuronsPerMCachedInput prices input tokens served from the prompt cache (see
	// Request.SessionAffinity); 0 where no cached rate is published, and they are then
	// priced as ordinary input.
	NeuronsPerMCachedInput float64
	// NeuronsPerAudioMinute prices speech models billed by the minute of audio: the audio
	// heard by speech recognition, the audio spoken by melotts.
	NeuronsPerAudioMinute float64
	// NeuronsPerKCharacters prices text-to-speech models billed by the thousand characters
	// of input text (aura-1).
	NeuronsPerKCharacters float64

	VisionInput VisionInput // how images go on the wire for this model

	Dimensions     int // embedding models: length of each vector
	MaxInputTokens int // embedding models: tokens per text the model reads
	MaxBatchItems  int // embedding models: texts per request

	// Batch: the model takes the async batch API, ?queueRequest=true
	// (https://developers.cloudflare.com/workers-ai/features/batch-api/).
	Batch bool
	// LicenseGate: the account must send {"prompt":"agree"} once before the first call,
	// or every call fails with 403/5016.
	LicenseGate bool
	// NineCharToolIDs: the schema requires tool_call_id to match [a-zA-Z0-9]{9}; the library
	// rewrites ids to that form when sending.
	NineCharToolIDs bool
	// StringContentOnly: messages[].content must be a string; parts are refused with
	// "Type mismatch of '/messages/1/content'".
	StringContentOnly bool
	// ImageOutput: text-to-image models only, one of the ImageOutput constants.
	ImageOutput string
}

// LookupModel returns what the catalog knows about the model with the given id.
func LookupModel(id string) (ModelInfo, bool) {
	i, ok := catalogIndex()[id]
	if !ok {
		return ModelInfo{}, false
	}
	return catalog[i], true
}

// Models returns every catalogued model, sorted by ID. The slice is the caller's own.
func Models() []ModelInfo { return slices.Clone(catalog) }

var catalogIndex = sync.OnceValue(func() map[string]int {
	m := make(map[string]int, len(catalog))
	for i, info := range catalog {
		m[info.ID] = i
	}
	return m
})

// usdPerNeuron converts USD list prices to neurons where only USD is published
// ($0.011 per 1000 neurons: https://developers.cloudflare.com/workers-ai/platform/pricing/).
const usdPerNeuron = USDPerNeuron

// Requests per minute by task (https://developers.cloudflare.com/workers-ai/platform/limits/);
// the table spells out per-model overrides.
const (
	rpmTextGeneration = 300
	rpmEmbeddings     = 3000
	rpmClassification = 2000
	rpmTextToImage    = 720
	rpmImageToText    = 720
	rpmSpeech         = 720
	rpmTranslation    = 720
	rpmSummarization  = 1500
	rpmImageAnalysis  = 3000 // image classification and object detection
)

// catalog is sorted by ID (a test checks it). Sources: Cloudflare's model pages, pricing and
// limits (https://developers.cloudflare.com/workers-ai/models/) and the exchanges in
// testdata/recorded; a model seen only there carries only what they show.
var catalog = []ModelInfo{
	{ID: "@cf/ai4bharat/indictrans2-en-indic-1B", Task: TaskTranslation, RequestsPerMinute: rpmTranslation,
		NeuronsPerMInput: 31050, NeuronsPerMOutput: 31050},
	{ID: "@cf/baai/bge-base-en-v1.5", Task: TaskTextEmbeddings, RequestsPerMinute: rpmEmbeddings,
		NeuronsPerMInput: 6058, Dimensions: 768, MaxInputTokens: 512, MaxBatchItems: 100, Batch: true},
	// bge-large's schema was not read; its input and batch limits follow the rest of the
	// family.
	{ID: "@cf/baai/bge-large-en-v1.5", Task: TaskTextEmbeddings, RequestsPerMinute: 1500,
		NeuronsPerMInput: 18582, Dimensions: 1024, MaxInputTokens: 512, MaxBatchItems: 100, Batch: true},
	{ID: "@cf/baai/bge-m3", Task: TaskTextEmbeddings, ContextWindow: 60000, RequestsPerMinute: rpmEmbeddings,
		NeuronsPerMInput: 0.0118 / usdPerNeuron, Dimensions: 1024, MaxBatchItems: 100, Batch: true},
	// The catalog files the reranker under Text Classification, so that task's limit applies.
	{ID: "@cf/baai/bge-reranker-base", Task: TaskRerank, RequestsPerMinute: rpmClassification},
	{ID: "@cf/baai/bge-small-en-v1.5", Task: TaskTextEmbeddings, RequestsPerMinute: rpmEmbeddings,
		NeuronsPerMInput: 1841, Dimensions: 384, MaxInputTokens: 512, MaxBatchItems: 100, Batch: true},
	{ID: "@cf/black-forest-labs/flux-1-schnell", Task: TaskTextToImage, RequestsPerMinute: rpmTextToImage,
		ImageOutput: ImageOutputJSONBase64},
	{ID: "@cf/black-forest-labs/flux-2-dev", Task: TaskTextToImage, RequestsPerMinute: rpmTextToImage,
		ImageOutput: ImageOutputMultipartJSON},
	{ID: "@cf/black-forest-labs/flux-2-klein-4b", Task: TaskTextToImage, RequestsPerMinute: rpmTextToImage,
		ImageOutput: ImageOutputMultipartJSON},
	{ID: "@cf/black-forest-labs/flux-2-klein-9b", Task: TaskTextToImage, RequestsPerMinute: rpmTextToImage,
		ImageOutput: ImageOutputMultipartJSON},
	{ID: "@cf/bytedance/stable-diffusion-xl-lightning", Task: TaskTextToImage, RequestsPerMinute: rpmTextToImage,
		ImageOutput: ImageOutputBinary},
	// Text-to-speech has no per-task rate limit in the limits table.
	{ID: "@cf/deepgram/aura-1", Task: TaskTextToSpeech, NeuronsPerKCharacters: 1363.64},
	{ID: "@cf/deepgram/aura-2-en", Task: TaskTextToSpeech, NeuronsPerKCharacters: 2727.27},
	{ID: "@cf/deepgram/aura-2-es", Task: TaskTextToSpeech, NeuronsPerKCharacters: 2727.27},
	{ID: "@cf/deepgram/nova-3", Task: TaskSpeechRecognition, RequestsPerMinute: rpmSpeech,
		NeuronsPerAudioMinute: 472.73},
	{ID: "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", Task: TaskTextGeneration, ContextWindow: 80000,
		JSONMode: true, Reasoning: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 45170, NeuronsPerMOutput: 443756},
	{ID: "@cf/facebook/bart-large-cnn", Task: TaskSummarization, RequestsPerMinute: rpmSummarization},
	{ID: "@cf/facebook/detr-resnet-50", Task: TaskObjectDetection, RequestsPerMinute: rpmImageAnalysis},
	{ID: "@cf/google/embeddinggemma-300m", Task: TaskTextEmbeddings, RequestsPerMinute: rpmEmbeddings},
	{ID: "@cf/google/gemma-3-12b-it", Task: TaskTextGeneration, ContextWindow: 80000,
		Vision: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 0.35 / usdPerNeuron, NeuronsPerMOutput: 0.56 / usdPerNeuron,
		VisionInput: VisionContentParts},
	// Thinking is on by default.
	{ID: "@cf/google/gemma-4-26b-a4b-it", Task: TaskTextGeneration,
		JSONMode: true, Reasoning: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 0.100 / usdPerNeuron, NeuronsPerMOutput: 0.300 / usdPerNeuron},
	{ID: "@cf/huggingface/distilbert-sst-2-int8", Task: TaskTextClassification, RequestsPerMinute: rpmClassification,
		NeuronsPerMInput: 2394},
	{ID: "@cf/leonardo/lucid-origin", Task: TaskTextToImage, RequestsPerMinute: rpmTextToImage,
		ImageOutput: ImageOutputJSONBase64},
	{ID: "@cf/leonardo/phoenix-1.0", Task: TaskTextToImage, RequestsPerMinute: rpmTextToImage,
		ImageOutput: ImageOutputBinary},
	{ID: "@cf/llava-hf/llava-1.5-7b-hf", Task: TaskImageToText, Vision: true, RequestsPerMinute: rpmImageToText,
		VisionInput: VisionImageToText},
	{ID: "@cf/lykon/dreamshaper-8-lcm", Task: TaskTextToImage, RequestsPerMinute: rpmTextToImage,
		ImageOutput: ImageOutputBinary},
	{ID: "@cf/meta/llama-2-7b-chat-fp16", Task: TaskTextGeneration, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 50505, NeuronsPerMOutput: 606061},
	{ID: "@cf/meta/llama-3-8b-instruct", Task: TaskTextGeneration,
		JSONMode: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 25608, NeuronsPerMOutput: 75147, StringContentOnly: true},
	{ID: "@cf/meta/llama-3-8b-instruct-awq", Task: TaskTextGeneration, ContextWindow: 8192,
		RequestsPerMinute: rpmTextGeneration, NeuronsPerMInput: 11161, NeuronsPerMOutput: 24215, StringContentOnly: true},
	{ID: "@cf/meta/llama-3.1-70b-instruct-fp8-fast", Task: TaskTextGeneration, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 26668, NeuronsPerMOutput: 204805},
	{ID: "@cf/meta/llama-3.1-8b-instruct", Task: TaskTextGeneration, ContextWindow: 7968,
		JSONMode: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 25608, NeuronsPerMOutput: 75147, StringContentOnly: true},
	{ID: "@cf/meta/llama-3.1-8b-instruct-awq", Task: TaskTextGeneration, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 11161, NeuronsPerMOutput: 24215, StringContentOnly: true},
	// Not the same model as -fp8-fast: no per-token price is published for -fast.
	{ID: "@cf/meta/llama-3.1-8b-instruct-fast", Task: TaskTextGeneration, ContextWindow: 128000,
		RequestsPerMinute: rpmTextGeneration, StringContentOnly: true},
	{ID: "@cf/meta/llama-3.1-8b-instruct-fp8", Task: TaskTextGeneration, ContextWindow: 32000,
		RequestsPerMinute: rpmTextGeneration, NeuronsPerMInput: 13778, NeuronsPerMOutput: 26128, StringContentOnly: true},
	{ID: "@cf/meta/llama-3.1-8b-instruct-fp8-fast", Task: TaskTextGeneration, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 4119, NeuronsPerMOutput: 34868, StringContentOnly: true},
	// Tools appear in the schema but the catalog does not flag function calling.
	{ID: "@cf/meta/llama-3.2-11b-vision-instruct", Task: TaskTextGeneration,
		Vision: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 4410, NeuronsPerMOutput: 61493,
		VisionInput: VisionImageBytes, LicenseGate: true, StringContentOnly: true},
	{ID: "@cf/meta/llama-3.2-1b-instruct", Task: TaskTextGeneration, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 2457, NeuronsPerMOutput: 18252},
	{ID: "@cf/meta/llama-3.2-3b-instruct", Task: TaskTextGeneration, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 4625, NeuronsPerMOutput: 30475},
	{ID: "@cf/meta/llama-3.3-70b-instruct-fp8-fast", Task: TaskTextGeneration, ContextWindow: 24000,
		Tools: true, JSONMode: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 26668, NeuronsPerMOutput: 204805, Batch: true},
	{ID: "@cf/meta/llama-4-scout-17b-16e-instruct", Task: TaskTextGeneration, ContextWindow: 131000,
		Tools: true, JSONMode: true, Vision: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 0.27 / usdPerNeuron, NeuronsPerMOutput: 0.85 / usdPerNeuron,
		VisionInput: VisionContentParts, Batch: true, NineCharToolIDs: true},
	// JSON mode here is response_format {type:"json_object"} only, answering with a fixed
	// {safe, categories} object; its 131072-token context window is not documented, so left out.
	{ID: "@cf/meta/llama-guard-3-8b", Task: TaskTextGeneration, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 44003, NeuronsPerMOutput: 2730},
	{ID: "@cf/meta/m2m100-1.2b", Task: TaskTranslation, RequestsPerMinute: rpmTranslation,
		NeuronsPerMInput: 31050, NeuronsPerMOutput: 31050, Batch: true},
	{ID: "@cf/microsoft/phi-2", Task: TaskTextGeneration, RequestsPerMinute: 720},
	{ID: "@cf/microsoft/resnet-50", Task: TaskImageClassification, RequestsPerMinute: rpmImageAnalysis,
		NeuronsPerMInput: 228055}, // per million images
	{ID: "@cf/mistral/mistral-7b-instruct-v0.1", Task: TaskTextGeneration, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 10000, NeuronsPerMOutput: 17300},
	{ID: "@cf/mistralai/mistral-small-3.1-24b-instruct", Task: TaskTextGeneration, ContextWindow: 128000,
		Tools: true, Vision: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 0.35 / usdPerNeuron, NeuronsPerMOutput: 0.56 / usdPerNeuron,
		VisionInput: VisionContentParts, NineCharToolIDs: true},
	// Needs a paid billing method.
	{ID: "@cf/moonshotai/kimi-k2.6", Task: TaskTextGeneration, ContextWindow: 262144,
		Tools: true, JSONMode: true, Vision: true, Reasoning: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 0.95 / usdPerNeuron, NeuronsPerMOutput: 4.00 / usdPerNeuron,
		NeuronsPerMCachedInput: 0.16 / usdPerNeuron, VisionInput: VisionContentParts},
	{ID: "@cf/myshell-ai/melotts", Task: TaskTextToSpeech, NeuronsPerAudioMinute: 18.63}, // per minute of audio spoken
	// Seen only in testdata/recorded (*nemotron-reasoning-only.json): reasoning that can spend
	// the whole budget.
	{ID: "@cf/nvidia/nemotron-3-120b-a12b", Task: TaskTextGeneration, Reasoning: true,
		RequestsPerMinute: rpmTextGeneration},
	{ID: "@cf/openai/gpt-oss-120b", Task: TaskTextGeneration, ContextWindow: 128000,
		Tools: true, JSONMode: true, Reasoning: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 0.35 / usdPerNeuron, NeuronsPerMOutput: 0.75 / usdPerNeuron, Batch: true},
	{ID: "@cf/openai/gpt-oss-20b", Task: TaskTextGeneration, ContextWindow: 128000,
		Tools: true, JSONMode: true, Reasoning: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 0.20 / usdPerNeuron, NeuronsPerMOutput: 0.30 / usdPerNeuron},
	// Whisper is priced per audio minute, not per token; whisper-tiny-en's price is not
	// published.
	{ID: "@cf/openai/whisper", Task: TaskSpeechRecognition, RequestsPerMinute: rpmSpeech,
		NeuronsPerAudioMinute: 41.14},
	{ID: "@cf/openai/whisper-large-v3-turbo", Task: TaskSpeechRecognition, RequestsPerMinute: rpmSpeech,
		NeuronsPerAudioMinute: 46.63},
	{ID: "@cf/openai/whisper-tiny-en", Task: TaskSpeechRecognition, RequestsPerMinute: rpmSpeech},
	{ID: "@cf/pfnet/plamo-embedding-1b", Task: TaskTextEmbeddings, RequestsPerMinute: rpmEmbeddings},
	{ID: "@cf/qwen/qwen1.5-0.5b-chat", Task: TaskTextGeneration, RequestsPerMinute: 1500},
	{ID: "@cf/qwen/qwen1.5-1.8b-chat", Task: TaskTextGeneration, RequestsPerMinute: 720},
	{ID: "@cf/qwen/qwen1.5-14b-chat-awq", Task: TaskTextGeneration, RequestsPerMinute: 150},
	{ID: "@cf/qwen/qwen2.5-coder-32b-instruct", Task: TaskTextGeneration, ContextWindow: 32768,
		JSONMode: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 0.66 / usdPerNeuron, NeuronsPerMOutput: 1.00 / usdPerNeuron},
	{ID: "@cf/qwen/qwen3-30b-a3b-fp8", Task: TaskTextGeneration, ContextWindow: 32768,
		Tools: true, JSONMode: true, Reasoning: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 0.051 / usdPerNeuron, NeuronsPerMOutput: 0.34 / usdPerNeuron, Batch: true},
	// 1024 dimensions (testdata/recorded/*qwen3-embedding-usage.json) and at most 32 texts per
	// request.
	{ID: "@cf/qwen/qwen3-embedding-0.6b", Task: TaskTextEmbeddings, ContextWindow: 8192,
		RequestsPerMinute: rpmEmbeddings, NeuronsPerMInput: 0.012 / usdPerNeuron,
		Dimensions: 1024, MaxBatchItems: 32},
	// Seen only in testdata/recorded (*vision-two-images.json): two image_url parts in one
	// message, reasoning output.
	{ID: "@cf/qwen/qwen3.8-27b", Task: TaskTextGeneration, Vision: true, Reasoning: true,
		RequestsPerMinute: rpmTextGeneration, VisionInput: VisionContentParts},
	// Tools are in the schema but not flagged in the catalog; JSON only via guided_json.
	{ID: "@cf/qwen/qwq-32b", Task: TaskTextGeneration, ContextWindow: 24000,
		Reasoning: true, RequestsPerMinute: rpmTextGeneration,
		NeuronsPerMInput: 0.66 / usdPerNeuron, NeuronsPerMOutput: 1.00 / usdPerNeuron, NineCharToolIDs: true},
	{ID: "@cf/runwayml/stable-diffusion-v1-5-img2img", Task: TaskTextToImage, RequestsPerMinute: 1500,
		ImageOutput: ImageOutputBinary},
	{ID: "@cf/runwayml/stable-diffusion-v1-5-inpainting", Task: TaskTextToImage, RequestsPerMinute: rpmTextToImage,
		ImageOutput: ImageOutputBinary},
	{ID: "@cf/stabilityai/stable-diffusion-xl-base-1.0", Task: TaskTextToImage, RequestsPerMinute: rpmTextToImage,
		ImageOutput: ImageOutputBinary},
	{ID: "@cf/tinyllama/tinyllama-1.1b-chat-v1.0", Task: TaskTextGeneration, RequestsPerMinute: 720},
	{ID: "@cf/unum/uform-gen2-qwen-500m", Task: TaskImageToText, Vision: true, RequestsPerMinute: rpmImageToText,
		VisionInput: VisionImageToText},
	{ID: "@cf/zai-org/glm-4.7-flash", Task: TaskTextGeneration, Reasoning: true,
		RequestsPerMinute: rpmTextGeneration},
	// Seen in testdata/recorded (*glm-5.2-cached-tokens.json, *glm-5.2-reasoning-only.json).
	{ID: "@cf/zai-org/glm-5.2", Task: TaskTextGeneration, Reasoning: true,
		RequestsPerMinute: rpmTextGeneration},
	{ID: "@hf/nousresearch/hermes-2-pro-mistral-7b", Task: TaskTextGeneration, ContextWindow: 24000,
		Tools: true, JSONMode: true, RequestsPerMinute: rpmTextGeneration, StringContentOnly: true},
	{ID: "@hf/thebloke/deepseek-coder-6.7b-instruct-awq", Task: TaskTextGeneration,
		JSONMode: true, RequestsPerMinute: rpmTextGeneration},
	{ID: "@hf/thebloke/mistral-7b-instruct-v0.1-awq", Task: TaskTextGeneration, RequestsPerMinute: 400},
}
