package tools

import (
	"context"

	"github.com/gowai/gowai/llm"
)

type attachmentsKey struct{}

// WithAttachments returns a context carrying the images given to a run, so that tools can
// refer to them by index (the agent sets it on the contexts of the tool calls it runs).
func WithAttachments(ctx context.Context, imgs []llm.Image) context.Context {
	return context.WithValue(ctx, attachmentsKey{}, imgs)
}

// Attachments returns the images WithAttachments put in ctx, in the order they were given
// to the run, or nil.
func Attachments(ctx context.Context) []llm.Image {
	imgs, _ := ctx.Value(attachmentsKey{}).([]llm.Image)
	return imgs
}
