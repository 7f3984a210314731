package llm_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// A chat call. NewClient reads CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN; here the
// offline emulator stands in for the service.
func ExampleChatModel_Generate() {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Text("Workers AI runs models on Cloudflare's network.")))
	defer srv.Close()
	c, _ := llm.NewClient(llm.WithBaseURL(srv.URL()), llm.WithAccount("my-account", "my-token"))

	resp, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(context.Background(), llm.Request{
		Messages: []llm.Message{llm.System("Answer in one sentence."), llm.User("What is Workers AI?")},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.Text)
	// Output: Workers AI runs models on Cloudflare's network.
}

// Streams are iterators: breaking out of the loop closes the connection.
func ExampleChatModel_Stream() {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Text("one two three")))
	defer srv.Close()
	c, _ := srv.Client()

	var text string
	for d, err := range c.Model("@cf/meta/llama-3.1-8b-instruct").Stream(context.Background(), llm.Request{
		Messages: []llm.Message{llm.User("count to three")},
	}) {
		if err != nil {
			fmt.Println(err)
			return
		}
		text += d.Text
		if d.Usage != nil {
			fmt.Println("finished:", d.FinishReason)
		}
	}
	fmt.Println(text)
	// Output:
	// finished: stop
	// one two three
}

// Errors carry Cloudflare's code; capacity errors are retried, the daily allocation is not.
func ExampleError() {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Fail(429, 3040, "Capacity temporarily exceeded, please try again."),
		llmtest.Fail(429, 4006, "you have used up your daily free allocation of 10,000 neurons"),
	))
	defer srv.Close()
	c, _ := srv.Client(llm.WithRetry(llm.RetryPolicy{InitialInterval: time.Millisecond}))

	_, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(context.Background(), llm.Request{
		Messages: []llm.Message{llm.User("hi")},
	})
	var e *llm.Error
	if errors.As(err, &e) {
		fmt.Println(e.Code, errors.Is(err, llm.ErrDailyLimit), e.Retryable())
	}
	fmt.Println(len(srv.Requests()), "requests")
	// Output:
	// 4006 true false
	// 2 requests
}
