package agent_test

import (
	"context"
	"strings"
	"testing"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

// A model without vision is told about the run's images instead of being sent them, and its
// tools still reach them by index; a vision model gets them.
func TestImagesGoOnlyToVisionModels(t *testing.T) {
	img := llm.Image{Data: []byte("\x89PNG\r\n\x1a\nfake"), MIME: "image/png"}
	seen := make(chan int, 1)
	count := tools.New("count_images", "Count the attached images", func(ctx context.Context, _ struct{}) (int, error) {
		seen <- len(tools.Attachments(ctx))
		return len(tools.Attachments(ctx)), nil
	})
	call := llm.ToolCall{ID: "c1", Name: "count_images", Arguments: []byte(`{}`)}

	srv, m := emulator(t, llama, llmtest.Calls(call), llmtest.Text("one image"))
	res, err := agent.New(m, agent.WithTools(count)).RunMessages(t.Context(), []llm.Message{llm.User("What is this?", img)})
	if err != nil || res.Text != "one image" {
		t.Fatalf("RunMessages = %q, %v", res.Text, err)
	}
	if n := <-seen; n != 1 {
		t.Errorf("the tool saw %d attachments, want 1", n)
	}
	for i, r := range srv.Requests() {
		body := string(r.Body)
		if strings.Contains(body, "data:image/png") || strings.Contains(body, `"image"`) {
			t.Errorf("request %d to a model without vision carries the image: %.200s", i, body)
		}
		if !strings.Contains(body, "[attached image 0: image/png, 12 bytes.") {
			t.Errorf("request %d does not mention the attached image: %.300s", i, body)
		}
	}
	if got := res.Messages[len(res.Messages)-4]; len(got.Images) != 1 {
		t.Errorf("Result.Messages lost the image: %+v", got)
	}

	const scout = "@cf/meta/llama-4-scout-17b-16e-instruct"
	srv, m = emulator(t, scout, llmtest.Text("a picture"))
	if _, err := agent.New(m).RunMessages(t.Context(), []llm.Message{llm.User("What is this?", img)}); err != nil {
		t.Fatal(err)
	}
	if body := string(srv.Requests()[0].Body); !strings.Contains(body, "data:image/png;base64,") || strings.Contains(body, "[attached image") {
		t.Errorf("the vision model did not get the image: %.300s", body)
	}
}
