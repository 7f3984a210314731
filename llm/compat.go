package llm

import (
	"net/http"
	"strings"
)

// NewOpenAICompatible returns model on any OpenAI-compatible server (Ollama, llama.cpp,
// vLLM): requests go to {baseURL}/chat/completions with apiKey as the Bearer token (none if
// empty). Options such as WithHTTPClient, WithRetry and WithLogger apply; account options
// are ignored.
func NewOpenAICompatible(baseURL, apiKey, model string, opts ...Option) *ChatModel {
	var cfg config
	for _, o := range opts {
		o(&cfg)
	}
	base := strings.TrimRight(baseURL, "/")
	c := &Client{
		account:    "local",
		token:      newSecret(apiKey),
		baseURL:    base,
		baseSet:    true,
		compatBase: base,
		http:       cfg.http,
		log:        cfg.log,
		maxBody:    cfg.maxBody,
		retry:      DefaultRetryPolicy(),
	}
	if c.http == nil {
		c.http = http.DefaultClient
	}
	if c.maxBody <= 0 {
		c.maxBody = DefaultMaxResponseBytes
	}
	if cfg.retry != nil {
		c.retry = cfg.retry.withDefaults()
	}
	return c.OpenAIModel(model)
}
