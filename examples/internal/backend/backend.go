// Package backend picks what the examples talk to: real Workers AI when
// CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN are set, an OpenAI-compatible server when
// OPENAI_BASE_URL is set (e.g. a local Ollama), and otherwise the offline llmtest emulator.
// It says on stderr which one it uses, so offline output is never mistaken for a real model's.
package backend

import (
	"fmt"
	"io"
	"os"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// Backend is an opened backend. Close it when done.
type Backend struct {
	Client  *llm.Client // nil for an OpenAI-compatible server (it has no Workers AI tasks)
	Model   llm.Model
	Offline bool
	srv     *llmtest.Server
}

// Open returns the backend for workersAIModel (the model id used on Workers AI and on the
// emulator). OPENAI_MODEL names the model on an OpenAI-compatible server (default
// "llama3.2"), OPENAI_API_KEY its key.
func Open(workersAIModel string, log io.Writer) (*Backend, error) {
	switch {
	case os.Getenv("CLOUDFLARE_ACCOUNT_ID") != "" && os.Getenv("CLOUDFLARE_API_TOKEN") != "":
		c, err := llm.NewClient()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "backend: real Workers AI, model %s\n", workersAIModel)
		return &Backend{Client: c, Model: c.Model(workersAIModel)}, nil
	case os.Getenv("OPENAI_BASE_URL") != "":
		model := os.Getenv("OPENAI_MODEL")
		if model == "" {
			model = "llama3.2"
		}
		base := os.Getenv("OPENAI_BASE_URL")
		fmt.Fprintf(log, "backend: OpenAI-compatible server %s, model %s\n", base, model)
		return &Backend{Model: llm.NewOpenAICompatible(base, os.Getenv("OPENAI_API_KEY"), model)}, nil
	}
	srv := llmtest.NewServer(nil)
	c, err := srv.Client()
	if err != nil {
		srv.Close()
		return nil, err
	}
	fmt.Fprintf(log, "backend: OFFLINE emulator (llmtest test model, not a real model: answers are generated from the schema); set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN for real Workers AI\n")
	return &Backend{Client: c, Model: c.Model(workersAIModel), Offline: true, srv: srv}, nil
}

// Close stops the emulator, if one was started.
func (b *Backend) Close() {
	if b.srv != nil {
		b.srv.Close()
	}
}
