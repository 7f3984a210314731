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
	"os"

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
	desc, err := vision.Describe(ctx, b.Model, img, "Describe this image in two sentences.")
	if err != nil {
		return fmt.Errorf("describe: %w", err)
	}
	fmt.Println("Description:", desc)

	r, err := vision.Extract[Receipt](ctx, b.Model, img,
		"Read this till receipt: the merchant, every item with its price, and the total.")
	if err != nil {
		return fmt.Errorf("read receipt: %w", err)
	}
	out, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	fmt.Println(string(out))
	return nil
}
