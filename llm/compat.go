package llm

import (
	"errors"
	"strings"
)

// NewOpenAICompatible returns model on any OpenAI-compatible server (Ollama, llama.cpp,
// vLLM): requests go to {baseURL}/chat/completions with apiKey as the Bearer token (none if
// empty). WithHTTPClient, WithRetry, WithLogger, WithMaxResponseBytes, WithTimeout and
// WithStreamIdleTimeout apply. WithBaseURL, WithAccount and WithGateway do not make sense
// here (the server is baseURL, the key is apiKey, AI Gateway is a Cloudflare route) and
// are refused, as is a baseURL that is not an absolute http or https URL: since this
// function returns no error, a refused option makes every Generate and Stream of the model
// fail with an error saying why, before anything is sent.
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
	}
	cfg.apply(c)
	switch {
	case cfg.err != nil:
		c.err = cfg.err
	case cfg.baseSet:
		c.err = errors.New("llm: NewOpenAICompatible: WithBaseURL is not taken; the server is the baseURL argument")
	case cfg.accountSet:
		c.err = errors.New("llm: NewOpenAICompatible: WithAccount is not taken; pass the key as the apiKey argument")
	case cfg.gatewayID != "":
		c.err = errors.New("llm: NewOpenAICompatible: WithGateway is not taken; use Client.OpenAIModel for Workers AI through AI Gateway")
	default:
		if err := checkBaseURL(base); err != nil {
			c.err = errors.New("llm: NewOpenAICompatible: " + strings.TrimPrefix(err.Error(), "llm: "))
		}
	}
	return c.OpenAIModel(model)
}
