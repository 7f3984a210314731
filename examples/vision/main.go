// Command vision describes a receipt photo and reads a typed record from it.
//
//	go run ./examples/vision                  # the bundled receipt.png
//	go run ./examples/vision -image shop.jpg  # any PNG, JPEG, GIF or WebP file
//
// The backend comes from the environment (-h says how): real Workers AI, an
// OpenAI-compatible server, or by default the offline llmtest emulator, whose test model
// does not look at the image and fills the record from the schema's examples. receipt.png is a small till receipt drawn with image/draw
// in a 5×7 dot font.
package main

import (
	"context"
	_ "embed"
	"encoding/json"
	"flag"
	"fmt"
	"iter"
	"os"
	"sync"

	"github.com/gowai/gowai/examples/internal/backend"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/vision"
)

const model = "@cf/meta/llama-4-scout-17b-16e-instruct"

//go:embed receipt.png
var receiptPNG []byte

// Receipt is the record to read. The example tags guide the model and give the offline
// test model sensible values to answer with.
type Receipt struct {
	Merchant string  `json:"merchant" jsonschema:"example=Corner Cafe" jsonschema_description:"shop name as printed at the top"`
	Items    []Item  `json:"items" jsonschema:"minItems=1"`
	Total    float64 `json:"total" jsonschema:"example=9.5" jsonschema_description:"amount on the TOTAL line"`
}

// Item is one line of the receipt.
type Item struct {
	Name  string  `json:"name" jsonschema:"example=Latte"`
	Price float64 `json:"price" jsonschema:"example=4.5"`
}

func main() {
	imagePath := flag.String("image", "", "image file to read (default: the bundled receipt.png)")
	backend.Main("vision", "Vision describes an image with vision.Describe and reads a typed Receipt from it with\n"+
		"vision.Extract[Receipt]. Offline, the emulator does not look at the image: the description\n"+
		"and record are test data.",
		func(ctx context.Context) error { return run(ctx, *imagePath) })
}

func run(ctx context.Context, imagePath string) error {
	var img llm.Image
	var err error
	if imagePath == "" {
		img, err = vision.FromBytes(receiptPNG)
	} else {
		img, err = vision.Load(imagePath)
	}
	if err != nil {
		return fmt.Errorf("load image: %w", err)
	}

	b, err := backend.Open(model, os.Stderr)
	if err != nil {
		return fmt.Errorf("choose backend: %w", err)
	}
	defer b.Close()
	if b.Offline {
		fmt.Fprintln(os.Stderr, "offline: the emulator does not look at the image; the description and record below are test data")
	}
	m := &metered{Model: b.Model}
	desc, err := vision.Describe(ctx, m, img, "Describe this image in two sentences.")
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	fmt.Println("Description:", desc)

	r, err := vision.Extract[Receipt](ctx, m, img,
		"Read this till receipt: the merchant, every item with its price, and the total.")
	if err != nil {
		return fmt.Errorf("read receipt: %w", err)
	}
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	fmt.Fprintln(os.Stderr, backend.Cost(m.total(), b.Offline))
	return nil
}

// metered is a model that adds up the usage of its replies: Describe and Extract return
// none, and the example prints what they cost.
type metered struct {
	llm.Model
	mu    sync.Mutex
	usage llm.Usage
}

func (m *metered) add(u llm.Usage) {
	m.mu.Lock()
	m.usage = m.usage.Add(u)
	m.mu.Unlock()
}

func (m *metered) total() llm.Usage {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.usage
}

// Generate calls the model and counts its reply's usage.
func (m *metered) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	r, err := m.Model.Generate(ctx, req)
	if r != nil {
		m.add(r.Usage)
	}
	return r, err
}

// Stream streams from the model and counts the usage its last delta carries.
func (m *metered) Stream(ctx context.Context, req llm.Request) iter.Seq2[llm.Delta, error] {
	return func(yield func(llm.Delta, error) bool) {
		for d, err := range m.Model.Stream(ctx, req) {
			if d.Usage != nil {
				m.add(*d.Usage)
			}
			if !yield(d, err) {
				return
			}
		}
	}
}
