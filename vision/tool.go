package vision

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/structured"
	"github.com/gowai/gowai/tools"
)

// ToolOption configures a tool made by Tool or ExtractTool.
type ToolOption func(*toolConfig)

type toolConfig struct {
	fetch        []FetchOption
	structured   []structured.Option
	attachedOnly bool
}

// AttachedOnly limits the tool to the images attached to the run: its schema has no "url"
// and requires "image", and a call naming a URL fails the schema, so no model can make the
// program download anything.
func AttachedOnly() ToolOption { return func(c *toolConfig) { c.attachedOnly = true } }

// WithFetchOptions sets the options FetchImage is called with for an image the model names
// by URL: WithMaxBytes, WithFetchTimeout, or AllowPrivate for a local image server during
// development (never for URLs that come from users).
func WithFetchOptions(opts ...FetchOption) ToolOption {
	return func(c *toolConfig) { c.fetch = append(c.fetch, opts...) }
}

// WithExtractOptions sets the structured options ExtractTool passes to Extract.
func WithExtractOptions(opts ...structured.Option) ToolOption {
	return func(c *toolConfig) { c.structured = append(c.structured, opts...) }
}

// imageArgs are the arguments both tools take to find the image.
type imageArgs struct {
	Image    *int   `json:"image"`
	URL      string `json:"url"`
	Question string `json:"question"`
}

// toolParams is the parameters schema of both tools; question is required for Tool.
func toolParams(questionRequired, attachedOnly bool, question string) json.RawMessage {
	p := map[string]any{
		"type": "object",
		"properties": map[string]any{
			"image": map[string]any{
				"type": "integer", "minimum": 0,
				"description": "the index of an image attached to the conversation, 0 for the first; give this or url",
			},
			"url": map[string]any{
				"type":        "string",
				"description": "the http or https address of an image; give this or image",
			},
			"question": map[string]any{"type": "string", "description": question},
		},
		"additionalProperties": false,
	}
	required := []string{}
	if attachedOnly {
		props := p["properties"].(map[string]any)
		delete(props, "url")
		props["image"].(map[string]any)["description"] = "the index of an image attached to the conversation, 0 for the first"
		required = append(required, "image")
	}
	if questionRequired {
		required = append(required, "question")
	}
	if len(required) > 0 {
		p["required"] = required
	}
	b, err := json.Marshal(p)
	if err != nil {
		panic(err) // maps of strings and numbers: cannot fail
	}
	return b
}

// Tool returns a tool that lets a model without vision ask the vision model m about an
// image: one attached to the run's input, by its index (the images tools.Attachments finds
// in the call's context, which an agent sets), or one on the web, by its URL (downloaded
// with FetchImage, which refuses non-public addresses). The model sends
// {"image": 0, "question": "..."} or {"url": "https://...", "question": "..."} and reads
// m's answer (Describe).
//
// Naming both an index and a URL, or neither, an index beyond the attached images, or a
// URL FetchImage refuses is an error the model reads as the call's result, saying what was
// wrong; nothing is sent to m then.
func Tool(m llm.Model, name, description string, opts ...ToolOption) tools.Tool {
	var cfg toolConfig
	for _, o := range opts {
		o(&cfg)
	}
	params := toolParams(true, cfg.attachedOnly, "what to ask about the image, e.g. \"What does the chart show?\"")
	return tools.Func(name, description, params, func(ctx context.Context, raw json.RawMessage) (string, error) {
		args, img, err := cfg.image(ctx, m, raw)
		if err != nil {
			return "", fmt.Errorf("vision: %s: %w", name, err)
		}
		return Describe(ctx, m, img, args.Question)
	})
}

// ExtractTool returns a tool like Tool that answers a T read from the image (Extract) as
// JSON, with the schema of T telling m what to read. The optional "question" says more
// about what to extract; without it DefaultExtractPrompt is asked.
func ExtractTool[T any](m llm.Model, name, description string, opts ...ToolOption) tools.Tool {
	var cfg toolConfig
	for _, o := range opts {
		o(&cfg)
	}
	params := toolParams(false, cfg.attachedOnly, "optional: what to extract, beyond the fields of the answer")
	return tools.Func(name, description, params, func(ctx context.Context, raw json.RawMessage) (string, error) {
		args, img, err := cfg.image(ctx, m, raw)
		if err != nil {
			return "", fmt.Errorf("vision: %s: %w", name, err)
		}
		v, err := Extract[T](ctx, m, img, args.Question, cfg.structured...)
		if err != nil {
			return "", err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return "", fmt.Errorf("vision: %s: marshal the answer: %w", name, err)
		}
		return string(b), nil
	})
}

// image decodes the arguments and finds the image they name.
func (c *toolConfig) image(ctx context.Context, m llm.Model, raw json.RawMessage) (imageArgs, llm.Image, error) {
	var args imageArgs
	if err := json.Unmarshal(raw, &args); err != nil {
		return args, llm.Image{}, err
	}
	if m == nil {
		return args, llm.Image{}, errors.New("the tool has no vision model")
	}
	switch {
	case args.Image != nil && args.URL != "":
		return args, llm.Image{}, errors.New(`give either "image" (the index of an attached image) or "url", not both`)
	case args.Image == nil && args.URL == "":
		return args, llm.Image{}, errors.New(`give "image" (the index of an attached image) or "url" (an image's address)`)
	case args.URL != "":
		img, err := FetchImage(ctx, args.URL, c.fetch...)
		return args, img, err
	}
	imgs := tools.Attachments(ctx)
	switch i := *args.Image; {
	case len(imgs) == 0:
		return args, llm.Image{}, fmt.Errorf("image %d: no images are attached to this conversation; give a url instead", i)
	case i < 0 || i >= len(imgs):
		return args, llm.Image{}, fmt.Errorf("image %d is out of range: %d %s attached, indexes 0 to %d",
			i, len(imgs), plural(len(imgs), "image is", "images are"), len(imgs)-1)
	default:
		return args, imgs[i], nil
	}
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
