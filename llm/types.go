package llm

import (
	"context"
	"encoding/json"
	"iter"
)

// Model is what every higher-level package talks to: one call that returns a whole
// response, and one that streams it. *ChatModel implements it over HTTP; llmtest.TestModel
// implements it in memory.
type Model interface {
	Generate(ctx context.Context, req Request) (*Response, error)
	Stream(ctx context.Context, req Request) iter.Seq2[Delta, error]
}

// Role is the author of a message.
type Role string

// The roles a conversation can hold.
const (
	RoleSystem    Role = "system"
	RoleUser      Role = "user"
	RoleAssistant Role = "assistant"
	RoleTool      Role = "tool"
)

// DefaultMaxTokens is sent when Request.MaxTokens is zero. Most native Workers AI models
// default to 256 output tokens and cut answers off silently, so the library
// always sends an explicit, larger budget.
const DefaultMaxTokens = 1024

// Request is one chat call. Per-call knobs live here, as they do on http.Request; pointer
// fields are sent only when set.
type Request struct {
	Messages   []Message
	Tools      []ToolDef
	ToolChoice string  // "", "auto", "none", "required", or the name of one tool
	Format     *Format // JSON output; Format{Schema: nil} means any JSON object
	MaxTokens  int     // 0 = DefaultMaxTokens (never the server's silent 256)

	Temperature       *float64
	TopP              *float64
	TopK              *int
	Seed              *int64
	RepetitionPenalty *float64
	FrequencyPenalty  *float64
	PresencePenalty   *float64
	// ReasoningEffort is "low", "medium" or "high" for reasoning models that take it (gpt-oss).
	ReasoningEffort string
	// Extra fields are merged into the request body as given, for model-specific inputs
	// (e.g. "chat_template_kwargs", "lora"). They never override the fields above.
	Extra map[string]any
	// SessionAffinity is sent as the x-session-affinity header. Requests with the same key
	// are routed to the same model instance, which reuses the prefill of the prompt prefix
	// they share; the reused input tokens are reported in Usage.CachedTokens and billed
	// lower (https://developers.cloudflare.com/workers-ai/features/prompt-caching/).
	SessionAffinity string
}

// Message is one turn of a conversation.
type Message struct {
	Role       Role
	Content    string
	Images     []Image    // vision input, on user messages
	ToolCalls  []ToolCall // on assistant messages that called tools
	ToolCallID string     // on tool messages: the call this answers
}

// System returns a system message.
func System(text string) Message { return Message{Role: RoleSystem, Content: text} }

// User returns a user message, optionally carrying images for vision models.
func User(text string, images ...Image) Message {
	return Message{Role: RoleUser, Content: text, Images: images}
}

// Assistant returns an assistant message with plain text.
func Assistant(text string) Message { return Message{Role: RoleAssistant, Content: text} }

// ToolResult returns the tool message that answers the call with the given ID.
func ToolResult(callID, content string) Message {
	return Message{Role: RoleTool, Content: content, ToolCallID: callID}
}

// Image is an image given to or returned by a model. MIME is e.g. "image/png".
type Image struct {
	Data []byte
	MIME string
}

// ToolDef describes a tool the model may call. Parameters is a JSON Schema object.
type ToolDef struct {
	Name        string
	Description string
	Parameters  json.RawMessage
}

// ToolCall is one call the model asked for. Arguments is always the text of a JSON object
// ("{}" when the model sent none), whatever shape the provider used on the wire.
type ToolCall struct {
	ID        string
	Name      string
	Arguments json.RawMessage
}

// Format asks for JSON output. A nil Schema asks for any JSON object.
type Format struct {
	Schema json.RawMessage
}

// Response is a whole reply.
type Response struct {
	// Text is the answer. When the service delivered JSON as an object (JSON mode), Text
	// holds it re-marshalled compactly.
	Text         string
	Reasoning    string // the model's reasoning, when it reports it separately
	FinishReason string // "stop", "length", "tool_calls", ... ("model_length" is reported as "length")
	Model        string // the model id the service echoed, when it did
	ID           string // the reply's own id (e.g. "chatcmpl-..."), when the service sent one
	ToolCalls    []ToolCall
	Usage        Usage
	Gateway      GatewayInfo // when routed through AI Gateway
	RequestID    string      // cf-ai-req-id, when the service sent one
}

// GatewayInfo is what AI Gateway reported about a call.
type GatewayInfo struct {
	LogID       string // cf-aig-log-id: pass it to Client.GatewayFeedback
	CacheStatus string // cf-aig-cache-status: "HIT" or "MISS"
}

// Delta is one piece of a streamed reply. Text and Reasoning carry new text only;
// ToolCalls holds complete, assembled calls (each delivered once); Usage is set once, on
// the last delta, with the stream's total.
type Delta struct {
	Text         string
	Reasoning    string
	FinishReason string
	ToolCalls    []ToolCall
	Usage        *Usage
}

// Usage counts tokens and neurons (Workers AI's billing unit). Dollars prices it.
type Usage struct {
	PromptTokens     int
	CompletionTokens int
	TotalTokens      int
	CachedTokens     int // prompt tokens served from the prompt cache, part of PromptTokens
	// Neurons is what the service reported (in the reply's usage or its cf-ai-neurons
	// header). When it reported none, the Client's calls fill in an estimate from the
	// catalog's prices (EstimateNeurons) and set NeuronsEstimated; a model the catalog does
	// not price keeps zero.
	Neurons float64
	// NeuronsEstimated is set when Neurons, or a part of a sum of usages, is the catalog's
	// estimate rather than what the service reported.
	NeuronsEstimated bool
}

// Add returns the sum of u and v, field by field; the sum is estimated when either is.
func (u Usage) Add(v Usage) Usage {
	return Usage{
		PromptTokens:     u.PromptTokens + v.PromptTokens,
		CompletionTokens: u.CompletionTokens + v.CompletionTokens,
		TotalTokens:      u.TotalTokens + v.TotalTokens,
		CachedTokens:     u.CachedTokens + v.CachedTokens,
		Neurons:          u.Neurons + v.Neurons,
		NeuronsEstimated: u.NeuronsEstimated || v.NeuronsEstimated,
	}
}
