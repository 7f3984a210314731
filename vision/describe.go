package vision

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/structured"
)

// DefaultDescribePrompt is what Describe asks when the prompt is empty.
const DefaultDescribePrompt = "Describe this image."

// DefaultExtractPrompt is what Extract asks when the prompt is empty; the schema of T
// says what to extract.
const DefaultExtractPrompt = "Extract the data from this image."

// Describe asks m about img and returns its answer, trimmed. An empty prompt asks
// DefaultDescribePrompt. An empty answer is an error: some models report success with
// nothing in it (moondream answers {"result":{},"success":true}, as recorded in
// llm/testdata/recorded/marmarko__brainz__ai-run-moondream-empty-result.json).
//
// img's type is checked from its bytes and its MIME set from them. How the image goes on
// the wire (content parts, a byte array, or the image-to-text form) depends on the model
// and is handled by m.
//
// A model behind a licence (llama-3.2-11b-vision) answers llm.ErrLicenseRequired until the
// account has agreed to it; Describe never agrees on the caller's behalf, since agreeing
// accepts terms for the whole account: call AgreeLicense once, knowingly.
func Describe(ctx context.Context, m llm.Model, img llm.Image, prompt string) (string, error) {
	if m == nil {
		return "", errors.New("vision: describe: model is nil")
	}
	img, err := checkImage(img)
	if err != nil {
		return "", fmt.Errorf("vision: describe: %w", err)
	}
	if prompt == "" {
		prompt = DefaultDescribePrompt
	}
	resp, err := m.Generate(ctx, llm.Request{Messages: []llm.Message{llm.User(prompt, img)}})
	if err != nil {
		return "", fmt.Errorf("vision: describe: %w", err)
	}
	// llava starts its description with a space (llm/testdata/recorded/marmarko__brainz__ai-run-llava-description.json).
	text := strings.TrimSpace(resp.Text)
	if text == "" {
		return "", fmt.Errorf("vision: describe: %s returned an empty answer (finish reason %q)", modelName(m, resp), resp.FinishReason)
	}
	return text, nil
}

// Extract asks m for a T read from img, with the same schema, validation and
// retry-with-feedback as structured.GenerateFrom; opts are its options. An empty prompt
// asks DefaultExtractPrompt. Like Describe, it never agrees to a model's licence.
func Extract[T any](ctx context.Context, m llm.Model, img llm.Image, prompt string, opts ...structured.Option) (T, error) {
	var zero T
	if m == nil {
		return zero, errors.New("vision: extract: model is nil")
	}
	img, err := checkImage(img)
	if err != nil {
		return zero, fmt.Errorf("vision: extract: %w", err)
	}
	if prompt == "" {
		prompt = DefaultExtractPrompt
	}
	r, err := structured.GenerateFrom[T](ctx, m, []llm.Message{llm.User(prompt, img)}, opts...)
	if err != nil {
		return zero, fmt.Errorf("vision: extract: %w", err)
	}
	return r.Value, nil
}

// AgreeLicense accepts the licence of model for the whole account by sending it
// {"prompt":"agree"}, as Workers AI requires once before the first use of a gated model
// (llama-3.2-11b-vision; without it every call fails with 403, code 5016; see
// https://developers.cloudflare.com/workers-ai/guides/tutorials/llama-vision-tutorial/).
// Any successful reply means the licence is accepted; the reply itself is not needed.
// Call it only when the account owner has read and accepted the model's terms.
func AgreeLicense(ctx context.Context, c *llm.Client, model string) error {
	if c == nil {
		return errors.New("vision: agree to licence: client is nil")
	}
	if model == "" {
		return errors.New("vision: agree to licence: empty model id")
	}
	if _, _, err := c.RunBytes(ctx, model, []byte(`{"prompt":"agree"}`)); err != nil {
		if errors.Is(err, llm.ErrLicenseRequired) {
			return fmt.Errorf("vision: agree to licence of %s: the service still asks for agreement: %w", model, err)
		}
		return fmt.Errorf("vision: agree to licence of %s: %w", model, err)
	}
	return nil
}

// modelName names the model in an error: the id the service echoed, else the one the
// model reports.
func modelName(m llm.Model, resp *llm.Response) string {
	if resp.Model != "" {
		return resp.Model
	}
	if id, ok := m.(interface{ ID() string }); ok {
		return id.ID()
	}
	return "the model"
}
