package vision_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"

	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/vision"
)

// These examples run against llmtest, the offline Workers AI emulator. With a real
// account, create the client with llm.NewClient() instead.

func ExampleDescribe() {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Text("A red square on a white background.")))
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}

	img, err := vision.Load("testdata/square.png")
	if err != nil {
		log.Fatal(err)
	}
	model := client.Model("@cf/meta/llama-4-scout-17b-16e-instruct")
	desc, err := vision.Describe(context.Background(), model, img, "")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.MIME)
	fmt.Println(desc)
	// Output:
	// image/png
	// A red square on a white background.
}

func ExampleExtract() {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Text(
		`{"merchant":"Corner Cafe","total":7.75,"items":[{"name":"Latte","price":4.5},{"name":"Croissant","price":3.25}]}`)))
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}

	type Item struct {
		Name  string  `json:"name"`
		Price float64 `json:"price"`
	}
	type Receipt struct {
		Merchant string  `json:"merchant"`
		Total    float64 `json:"total"`
		Items    []Item  `json:"items"`
	}
	img, err := vision.Load("testdata/square.jpg")
	if err != nil {
		log.Fatal(err)
	}
	model := client.Model("@cf/meta/llama-4-scout-17b-16e-instruct")
	r, err := vision.Extract[Receipt](context.Background(), model, img, "Read this receipt.")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s: %d items, total %.2f\n", r.Merchant, len(r.Items), r.Total)
	// Output: Corner Cafe: 2 items, total 7.75
}

func ExampleGenerate() {
	srv := llmtest.NewServer(nil) // the emulator paints a small PNG
	defer srv.Close()
	client, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}

	img, err := vision.Generate(context.Background(), client, "@cf/black-forest-labs/flux-1-schnell",
		"a lighthouse at dawn, watercolour", vision.WithSteps(4))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.MIME)

	// flux-1-schnell takes only a prompt and steps: other options fail before any request.
	_, err = vision.Generate(context.Background(), client, "@cf/black-forest-labs/flux-1-schnell",
		"a lighthouse", vision.WithSeed(7))
	fmt.Println(err)
	// Output:
	// image/png
	// vision: generate @cf/black-forest-labs/flux-1-schnell: WithSeed is not accepted by this model, which takes only a prompt and WithSteps
}

func ExampleFetchImage() {
	png, err := os.ReadFile("testdata/square.png")
	if err != nil {
		log.Fatal(err)
	}
	local := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(png) }))
	defer local.Close()

	// A loopback server is refused by default: URLs from users must not reach internal hosts.
	_, err = vision.FetchImage(context.Background(), local.URL+"/square.png")
	fmt.Println(errors.Is(err, vision.ErrPrivateAddress))

	img, err := vision.FetchImage(context.Background(), local.URL+"/square.png", vision.AllowPrivate())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(img.MIME, len(img.Data), "bytes")
	// Output:
	// true
	// image/png 105 bytes
}
