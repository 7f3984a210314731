package vision_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
	"github.com/gowai/gowai/vision"
)

func ExampleTool() {
	// The emulator stands in for Workers AI: the agent's model (llama-3.3-70b, no vision)
	// is scripted to ask about the attached image, then to answer; the vision model's
	// reply is scripted too.
	const chat = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	replies := map[string][]llmtest.Reply{
		chat: {
			llmtest.Calls(llm.ToolCall{ID: "c1", Name: "look_at_image",
				Arguments: json.RawMessage(`{"image":0,"question":"What shape and colour is it?"}`)}),
			llmtest.Text("It is a red square."),
		},
		"@cf/meta/llama-4-scout-17b-16e-instruct": {llmtest.Text("A red square on a white background.")},
	}
	srv := llmtest.NewServer(func(model string, _ []byte) llmtest.Reply {
		r := replies[model][0] // the requests of this example come one at a time
		replies[model] = replies[model][1:]
		return r
	})
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}

	look := vision.Tool(client.Model("@cf/meta/llama-4-scout-17b-16e-instruct"), "look_at_image",
		"Ask a vision model about an image attached to the conversation (by index) or on the web (by url).")
	a := agent.New(client.Model(chat), agent.WithTools(look),
		// llama-3.3-70b takes no images: the run keeps them for the tool only.
		agent.WithRequest(func(req *llm.Request) {
			msgs := make([]llm.Message, len(req.Messages))
			for i, m := range req.Messages {
				m.Images = nil
				msgs[i] = m
			}
			req.Messages = msgs
		}))

	img, err := vision.Load("testdata/square.png")
	if err != nil {
		log.Fatal(err)
	}
	res, err := a.RunMessages(context.Background(), []llm.Message{llm.User("Image 0 is our logo. Describe it.", img)})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Steps[0].Results[0].Output)
	fmt.Println(res.Text)

	// Outside an agent, tools.WithAttachments gives a call its images.
	ctx := tools.WithAttachments(context.Background(), []llm.Image{img})
	_, err = look.Call(ctx, json.RawMessage(`{"image":3,"question":"What is it?"}`))
	fmt.Println(err)
	// Output:
	// A red square on a white background.
	// It is a red square.
	// vision: look_at_image: image 3 is out of range: 1 image is attached, indexes 0 to 0
}
