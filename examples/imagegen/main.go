// Command imagegen draws an image from a prompt and writes it to a file.
//
//	go run ./examples/imagegen -prompt "a lighthouse at dawn, watercolour"
//	go run ./examples/imagegen -model @cf/black-forest-labs/flux-2-klein-4b -out fox.jpg
//
// Offline by default (the llmtest emulator paints a small test PNG); real Workers AI with
// CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN set. Image models are Workers AI tasks,
// so an OpenAI-compatible backend (OPENAI_BASE_URL) cannot run this example.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/gowai/gowai/examples/internal/backend"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/vision"
)

func main() {
	model := flag.String("model", "@cf/black-forest-labs/flux-1-schnell", "text-to-image model")
	prompt := flag.String("prompt", "a lighthouse on a cliff at dawn, watercolour", "what to draw")
	out := flag.String("out", "", "file to write (default: gowai-image.<ext> in the temporary directory)")
	backend.Main("imagegen", "Imagegen draws an image from a prompt with vision.Generate and writes it to a file.\n"+
		"Image models are Workers AI tasks, so it cannot run on an OpenAI-compatible server\n"+
		"(OPENAI_BASE_URL); offline, the emulator returns a small single-colour test PNG.",
		func(ctx context.Context) error { return run(ctx, *model, *prompt, *out) })
}

func run(ctx context.Context, model, prompt, out string) error {
	b, err := backend.Open(model, os.Stderr)
	if err != nil {
		return fmt.Errorf("choose backend: %w", err)
	}
	defer b.Close()
	if b.Client == nil {
		return fmt.Errorf("choose backend: image generation needs Workers AI: unset OPENAI_BASE_URL and set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN, or set neither to run offline")
	}
	if b.Offline {
		fmt.Fprintln(os.Stderr, "offline: the emulator returns a small single-colour test PNG, not a drawing")
	}
	// vision.Generate returns the image only; the client reports what the call cost to a
	// function in the context.
	var spent llm.Usage
	ctx = llm.WithUsageFunc(ctx, func(u llm.Usage) { spent = spent.Add(u) })
	// Generate applies its own 5-minute timeout: image models can take minutes.
	img, err := vision.Generate(ctx, b.Client, model, prompt)
	if err != nil {
		return fmt.Errorf("generate image: %w", err)
	}
	if out == "" {
		// The temporary directory, so that trying the example leaves nothing in the project.
		ext := strings.TrimPrefix(img.MIME, "image/")
		if ext == "jpeg" {
			ext = "jpg"
		}
		out = filepath.Join(os.TempDir(), "gowai-image."+ext)
	}
	if err := os.WriteFile(out, img.Data, 0o644); err != nil {
		return fmt.Errorf("write image: %w", err)
	}
	fmt.Printf("wrote %s (%s, %d bytes)\n", out, img.MIME, len(img.Data))
	if spent.Neurons == 0 {
		fmt.Fprintln(os.Stderr, "cost: not reported with the image; Workers AI prices image models per tile and step (https://developers.cloudflare.com/workers-ai/platform/pricing/)")
		return nil
	}
	fmt.Fprintln(os.Stderr, backend.Cost(spent, b.Offline))
	return nil
}
