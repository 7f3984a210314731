package tools

import (
	"context"
	"slices"

	"github.com/gowai/gowai/llm"
)

type attachmentsKey struct{}

// WithAttachments returns a context carrying the images given to a run, so that tools can
// refer to them by index (the agent sets it on the contexts of the tool calls it runs). The
// list is copied; the images' bytes are shared, not copied.
func WithAttachments(ctx context.Context, imgs []llm.Image) context.Context {
	return context.WithValue(ctx, attachmentsKey{}, slices.Clone(imgs))
}

// Attachments returns the images WithAttachments put in ctx, in the order they were given
// to the run, or nil. The list is the caller's own, so concurrent tool calls cannot change
// each other's; the images' Data is shared and must not be modified.
func Attachments(ctx context.Context) []llm.Image {
	imgs, _ := ctx.Value(attachmentsKey{}).([]llm.Image)
	return slices.Clone(imgs)
}
