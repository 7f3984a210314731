// Package llm is the Workers AI client every other gowai package builds on.
//
// A Client holds the account, token, retry policy and (optionally) an AI Gateway. From it,
// Model returns a chat model on the native endpoint /ai/run/{model} and OpenAIModel one on
// /ai/v1/chat/completions; NewOpenAICompatible reaches any OpenAI-compatible server. All
// three implement Model, the two-method interface the rest of gowai uses:
//
//	c, err := llm.NewClient() // CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN
//	m := c.Model("@cf/meta/llama-3.1-8b-instruct")
//	resp, err := m.Generate(ctx, llm.Request{Messages: []llm.Message{llm.User("Hi")}})
//
// The package handles the service's quirks so callers do not have to: the three reply
// families on /ai/run (legacy {response}, chat.completion and Responses objects) are decoded
// by their keys; tool calls in any shape become ToolCall values with JSON-object arguments
// and unique ids; max_tokens is always sent (most models silently stop at 256 otherwise);
// streams are parsed tolerantly (padding, CRLF, usage reported as increments or running
// totals, the native usage tail) and a stream cut before [DONE] is ErrTruncatedStream;
// errors are *Error values classified by Cloudflare's internal code, so the daily-allocation
// 429 (3036/4006) is not retried while capacity (3040) and rate limits (3021) are, with
// exponential backoff that honours Retry-After and gives up as soon as the next attempt
// could not start before the context's deadline. A call that still fails is a *RetryError
// naming the request once, with the attempts made; a network failure matches
// ErrUnreachable. Each attempt is bounded by WithTimeout and each stream by
// WithStreamIdleTimeout, so a server that never answers cannot hang a call.
//
// Run and RunBytes reach every other task (embeddings, images, speech, translation) with
// the envelope removed, choosing JSON or bytes by the reply's Content-Type. LookupModel and
// Models describe the catalog of known models; unknown ids still work.
//
// The API token never appears in an error, a log line or the formatted Client.
package llm
