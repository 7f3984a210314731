package tools_test

import (
	"context"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// A tool that changes the list it is given changes neither the run's images nor what
// another call of the step finds.
func TestAttachmentsAreEachCallersOwnList(t *testing.T) {
	if got := tools.Attachments(context.Background()); got != nil {
		t.Fatalf("no attachments: %v, want nil", got)
	}
	run := []llm.Image{{Data: []byte("a"), MIME: "image/png"}, {Data: []byte("b"), MIME: "image/jpeg"}}
	ctx := tools.WithAttachments(context.Background(), run)
	first := tools.Attachments(ctx)
	first[0] = llm.Image{MIME: "image/gif"}
	_ = append(first[:1], llm.Image{MIME: "image/webp"})
	second := tools.Attachments(ctx)
	if len(second) != 2 || second[0].MIME != "image/png" || second[1].MIME != "image/jpeg" {
		t.Fatalf("another call finds %+v after the first changed its list", second)
	}
	run[1] = llm.Image{}
	if got := tools.Attachments(ctx); got[1].MIME != "image/jpeg" {
		t.Fatalf("changing the run's slice changed the attachments: %+v", got)
	}
}
