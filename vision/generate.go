package vision

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gowai/gowai/llm"
)

// DefaultGenerateTimeout bounds one Generate call. It is long because image models are
// slow: a flux-2-dev call was recorded failing on the service side after about 237 s with
// 408/3046 (llm/testdata/recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__ai-run-flux-2-dev-408-3046.json), and a
// shorter client timeout would hide that answer.
const DefaultGenerateTimeout = 5 * time.Minute

// Image size bounds shared by the SDXL and flux-2 schemas; flux-2 answers a larger width
// with 400/3030 "5000 is too large, max width is 2048"
// (llm/testdata/recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__ai-run-flux-2-klein-4b-3030-width.json).
const (
	minSide = 256
	maxSide = 2048
)

// flux2DefaultSide is the width and height sent to flux-2 models when WithSize is not
// given: the size of every documented example, so the request never depends on a
// server-side default nobody has recorded.
const flux2DefaultSide = 1024

// maxReferenceImages is how many input_image_N parts flux-2 takes; a fifth is refused with
// 400/3030 "provided too many input images. max=4"
// (llm/testdata/recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__ai-run-flux-2-klein-4b-3030-too-many-images.json).
const maxReferenceImages = 4

// GenOption configures one Generate call.
type GenOption func(*genConfig)

// Names of the options, as errors show them.
const (
	optSize      = "WithSize"
	optSteps     = "WithSteps"
	optSeed      = "WithSeed"
	optGuidance  = "WithGuidance"
	optNegative  = "WithNegativePrompt"
	optInitImage = "WithInitImage"
	optRefImages = "WithReferenceImages"
)

type genConfig struct {
	used     []string // options given, in order, to check them against the model
	width    int
	height   int
	steps    int
	seed     *int
	guidance *float64
	negative string
	init     *llm.Image
	strength float64
	refs     []llm.Image
	timeout  time.Duration
}

func (c *genConfig) use(name string) {
	if !slices.Contains(c.used, name) {
		c.used = append(c.used, name)
	}
}

// WithSize sets the image size in pixels; each side must be 256 to 2048. flux-2 rounds
// both down to a multiple of 16.
func WithSize(width, height int) GenOption {
	return func(c *genConfig) { c.use(optSize); c.width, c.height = width, height }
}

// WithSteps sets the number of diffusion steps: 1 to 8 for flux-1-schnell, at most 20 for
// the Stable Diffusion family.
func WithSteps(n int) GenOption { return func(c *genConfig) { c.use(optSteps); c.steps = n } }

// WithSeed sets the random seed (not negative). flux-2 models take the field, but did not
// honour it when probed.
func WithSeed(n int) GenOption { return func(c *genConfig) { c.use(optSeed); c.seed = &n } }

// WithGuidance sets how closely the image follows the prompt (Stable Diffusion default 7.5).
func WithGuidance(f float64) GenOption {
	return func(c *genConfig) { c.use(optGuidance); c.guidance = &f }
}

// WithNegativePrompt describes what the image should not show.
func WithNegativePrompt(s string) GenOption {
	return func(c *genConfig) { c.use(optNegative); c.negative = s }
}

// WithInitImage starts from img instead of noise (image-to-image). strength, 0 to 1, is how
// far the result may move away from img.
func WithInitImage(img llm.Image, strength float64) GenOption {
	return func(c *genConfig) { c.use(optInitImage); c.init, c.strength = &img, strength }
}

// WithReferenceImages gives flux-2 up to 4 images to draw from (characters, styles),
// sent as input_image_0 to input_image_3. Repeated options add up.
func WithReferenceImages(imgs ...llm.Image) GenOption {
	return func(c *genConfig) { c.use(optRefImages); c.refs = append(c.refs, imgs...) }
}

// WithTimeout replaces DefaultGenerateTimeout for this call. A deadline already on the
// caller's context still applies when it is earlier.
func WithTimeout(d time.Duration) GenOption { return func(c *genConfig) { c.timeout = d } }

// imageModel is what Generate knows of a text-to-image model's input, from each model's
// input schema in the Workers AI catalog (https://developers.cloudflare.com/workers-ai/models/).
type imageModel struct {
	id        string
	takes     []string // options besides WithTimeout
	stepsKey  string   // JSON name of the step count
	maxSteps  int      // 0: no documented maximum
	maxPrompt int      // characters; 0: no documented maximum
}

// imageModels lists every text-to-image model of the llm catalog, sorted by id (a test
// checks both). The Stable Diffusion family and the Leonardo models take JSON with the
// AiTextToImageInput field names; flux-2 takes multipart fields.
var imageModels = []imageModel{
	// additionalProperties:false: any field besides prompt and steps is a 400/5006 since
	// August 2026.
	{id: "@cf/black-forest-labs/flux-1-schnell", takes: []string{optSteps}, stepsKey: "steps", maxSteps: 8, maxPrompt: 2048},
	{id: "@cf/black-forest-labs/flux-2-dev", takes: []string{optSize, optSteps, optSeed, optRefImages}},
	{id: "@cf/black-forest-labs/flux-2-klein-4b", takes: []string{optSize, optSteps, optSeed, optRefImages}},
	{id: "@cf/black-forest-labs/flux-2-klein-9b", takes: []string{optSize, optSteps, optSeed, optRefImages}},
	{id: "@cf/bytedance/stable-diffusion-xl-lightning", takes: []string{optSize, optSteps, optSeed, optGuidance, optNegative, optInitImage}, stepsKey: "num_steps", maxSteps: 20},
	{id: "@cf/leonardo/lucid-origin", takes: []string{optSize, optSteps, optSeed, optGuidance}, stepsKey: "num_steps"},
	{id: "@cf/leonardo/phoenix-1.0", takes: []string{optSize, optSteps, optSeed, optGuidance, optNegative}, stepsKey: "num_steps"},
	{id: "@cf/lykon/dreamshaper-8-lcm", takes: []string{optSize, optSteps, optSeed, optGuidance, optNegative, optInitImage}, stepsKey: "num_steps", maxSteps: 20},
	{id: "@cf/runwayml/stable-diffusion-v1-5-img2img", takes: []string{optSize, optSteps, optSeed, optGuidance, optNegative, optInitImage}, stepsKey: "num_steps", maxSteps: 20},
	{id: "@cf/runwayml/stable-diffusion-v1-5-inpainting", takes: []string{optSize, optSteps, optSeed, optGuidance, optNegative, optInitImage}, stepsKey: "num_steps", maxSteps: 20},
	{id: "@cf/stabilityai/stable-diffusion-xl-base-1.0", takes: []string{optSize, optSteps, optSeed, optGuidance, optNegative, optInitImage}, stepsKey: "num_steps", maxSteps: 20},
}

// Generate draws an image from prompt with a Workers AI text-to-image model and returns
// it with the MIME type sniffed from its bytes (the service's Content-Type is not trusted:
// SDXL Lightning answers JPEG).
//
// Each model family takes its own input (see each model's page under
// https://developers.cloudflare.com/workers-ai/models/), and Generate builds it:
//   - flux-1-schnell: JSON {prompt, steps}. Its schema refuses any other field, so every
//     other option is an error here, before a request is sent.
//   - Stable Diffusion (SDXL base and lightning, dreamshaper, v1.5) and Leonardo: JSON
//     {prompt, negative_prompt, height, width, image, strength, num_steps, guidance, seed}
//     with the fields the model takes; the reply is raw image bytes or base64 in JSON.
//   - flux-2-dev, flux-2-klein-4b, flux-2-klein-9b: multipart/form-data with prompt,
//     width, height (1024×1024 unless WithSize), seed, steps and up to 4 reference images;
//     the reply is base64 in JSON. flux-2 accepts an empty prompt (the service answers 200).
//
// Options a model does not take, and out-of-range values, are errors that name the option
// and the model. A model outside this list is an error listing the supported ones rather
// than a guessed request: each model's schema differs, and a guess fails later with a less
// clear message; (*llm.Client).RunBytes calls any model with an input you build.
//
// The call is bounded by DefaultGenerateTimeout (or WithTimeout). Service errors are
// *llm.Error: llm.ErrBadInput for 5006 and 3030, llm.ErrTimeout for 408/3046.
func Generate(ctx context.Context, c *llm.Client, model, prompt string, opts ...GenOption) (llm.Image, error) {
	if c == nil {
		return llm.Image{}, errors.New("vision: generate: client is nil")
	}
	spec, ok := lookupImageModel(model)
	if !ok {
		return llm.Image{}, unsupportedModel(model)
	}
	cfg := genConfig{timeout: DefaultGenerateTimeout}
	for _, o := range opts {
		if o != nil {
			o(&cfg)
		}
	}
	info, _ := llm.LookupModel(model)
	multipartInput := info.ImageOutput == llm.ImageOutputMultipartJSON
	if err := cfg.check(spec, prompt, !multipartInput); err != nil {
		return llm.Image{}, fmt.Errorf("vision: generate %s: %w", model, err)
	}
	var input any
	var err error
	if multipartInput {
		input, err = formInput(prompt, cfg)
	} else {
		input, err = jsonInput(prompt, spec, cfg)
	}
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: generate %s: %w", model, err)
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	data, contentType, err := c.RunBytes(ctx, model, input)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: generate %s: %w", model, err)
	}
	img, err := decodeGenerated(data, contentType)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: generate %s: %w", model, err)
	}
	return img, nil
}

func lookupImageModel(id string) (imageModel, bool) {
	i, ok := slices.BinarySearchFunc(imageModels, id, func(m imageModel, id string) int { return strings.Compare(m.id, id) })
	if !ok {
		return imageModel{}, false
	}
	return imageModels[i], true
}

func unsupportedModel(model string) error {
	what := "not a model the catalog knows"
	if model == "" {
		what = "empty"
	} else if info, ok := llm.LookupModel(model); ok {
		what = "a " + string(info.Task) + " model"
	}
	ids := make([]string, len(imageModels))
	for i, m := range imageModels {
		ids[i] = m.id
	}
	return fmt.Errorf("vision: generate: model %q is %s; supported text-to-image models: %s", model, what, strings.Join(ids, ", "))
}

// check validates the options against what the model takes, so that a request the
// service would refuse is never sent.
func (c *genConfig) check(spec imageModel, prompt string, promptRequired bool) error {
	for _, name := range c.used {
		if !slices.Contains(spec.takes, name) {
			return fmt.Errorf("%s is not accepted by this model, which takes only a prompt%s", name, listTakes(spec.takes))
		}
	}
	if promptRequired && prompt == "" {
		return errors.New("prompt is empty")
	}
	if n := utf8.RuneCountInString(prompt); spec.maxPrompt > 0 && n > spec.maxPrompt {
		return fmt.Errorf("prompt has %d characters; this model takes at most %d", n, spec.maxPrompt)
	}
	if c.timeout <= 0 {
		return fmt.Errorf("WithTimeout(%v): must be positive", c.timeout)
	}
	for _, name := range c.used {
		var err error
		switch name {
		case optSize:
			if c.width < minSide || c.width > maxSide || c.height < minSide || c.height > maxSide {
				err = fmt.Errorf("width and height must be %d to %d", minSide, maxSide)
			}
		case optSteps:
			switch {
			case c.steps < 1:
				err = errors.New("must be at least 1")
			case spec.maxSteps > 0 && c.steps > spec.maxSteps:
				err = fmt.Errorf("this model takes at most %d", spec.maxSteps)
			}
		case optSeed:
			if *c.seed < 0 {
				err = errors.New("must not be negative")
			}
		case optGuidance:
			if g := *c.guidance; math.IsNaN(g) || math.IsInf(g, 0) || g < 0 {
				err = errors.New("must be a finite number, not negative")
			}
		case optInitImage:
			if s := c.strength; math.IsNaN(s) || s < 0 || s > 1 {
				err = errors.New("strength must be 0 to 1")
			} else {
				var img llm.Image
				img, err = checkImage(*c.init)
				c.init = &img
			}
		case optRefImages:
			if len(c.refs) > maxReferenceImages {
				err = fmt.Errorf("%d images given; this model takes at most %d", len(c.refs), maxReferenceImages)
				break
			}
			for i, img := range c.refs {
				if c.refs[i], err = checkImage(img); err != nil {
					err = fmt.Errorf("reference %d: %w", i, err)
					break
				}
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", c.describe(name), err)
		}
	}
	return nil
}

// describe shows an option with its values, as the caller wrote it.
func (c *genConfig) describe(name string) string {
	switch name {
	case optSize:
		return fmt.Sprintf("%s(%d, %d)", name, c.width, c.height)
	case optSteps:
		return fmt.Sprintf("%s(%d)", name, c.steps)
	case optSeed:
		return fmt.Sprintf("%s(%d)", name, *c.seed)
	case optGuidance:
		return fmt.Sprintf("%s(%v)", name, *c.guidance)
	case optInitImage:
		return fmt.Sprintf("%s(image, %v)", name, c.strength)
	}
	return name
}

func listTakes(takes []string) string {
	if len(takes) == 0 {
		return ""
	}
	return " and " + strings.Join(takes, ", ")
}

// jsonImageInput is the JSON input of flux-1-schnell and of the AiTextToImageInput family
// (the field names of the catalog's input schemas). Unset fields stay off the wire so the
// model's defaults apply.
type jsonImageInput struct {
	Prompt         string        `json:"prompt"`
	NegativePrompt string        `json:"negative_prompt,omitempty"`
	Height         int           `json:"height,omitempty"`
	Width          int           `json:"width,omitempty"`
	Image          llm.ByteArray `json:"image,omitempty"`
	Strength       *float64      `json:"strength,omitempty"`
	Steps          int           `json:"steps,omitempty"`
	NumSteps       int           `json:"num_steps,omitempty"`
	Guidance       *float64      `json:"guidance,omitempty"`
	Seed           *int          `json:"seed,omitempty"`
}

func jsonInput(prompt string, spec imageModel, c genConfig) ([]byte, error) {
	in := jsonImageInput{
		Prompt: prompt, NegativePrompt: c.negative,
		Width: c.width, Height: c.height,
		Guidance: c.guidance, Seed: c.seed,
	}
	if spec.stepsKey == "steps" {
		in.Steps = c.steps
	} else {
		in.NumSteps = c.steps
	}
	if c.init != nil {
		in.Image, in.Strength = llm.ByteArray(c.init.Data), &c.strength
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // prompts full of "<" and "&" stay readable in logs and recordings
	if err := enc.Encode(in); err != nil {
		return nil, fmt.Errorf("encode input: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// formInput is the multipart/form-data input of flux-2, in the field order of the recorded
// requests in llm/testdata/recorded (the flux-2-klein-4b files): prompt, width, height,
// seed, steps, then input_image_N files.
func formInput(prompt string, c genConfig) (llm.Body, error) {
	width, height := c.width, c.height
	if width == 0 {
		width, height = flux2DefaultSide, flux2DefaultSide
	}
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	fields := [][2]string{{"prompt", prompt}, {"width", strconv.Itoa(width)}, {"height", strconv.Itoa(height)}}
	if c.seed != nil {
		fields = append(fields, [2]string{"seed", strconv.Itoa(*c.seed)})
	}
	if c.steps > 0 {
		fields = append(fields, [2]string{"steps", strconv.Itoa(c.steps)})
	}
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return llm.Body{}, fmt.Errorf("encode field %s: %w", f[0], err)
		}
	}
	for i, img := range c.refs {
		name := "input_image_" + strconv.Itoa(i)
		h := textproto.MIMEHeader{}
		h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="%s"; filename="%s.%s"`, name, name, strings.TrimPrefix(img.MIME, "image/")))
		h.Set("Content-Type", img.MIME)
		part, err := w.CreatePart(h)
		if err == nil {
			_, err = part.Write(img.Data)
		}
		if err != nil {
			return llm.Body{}, fmt.Errorf("encode %s: %w", name, err)
		}
	}
	if err := w.Close(); err != nil {
		return llm.Body{}, fmt.Errorf("encode form: %w", err)
	}
	return llm.Body{ContentType: w.FormDataContentType(), Data: buf.Bytes()}, nil
}

// decodeGenerated turns a reply into an image: raw bytes as they are, JSON {image: base64}
// decoded. Either way the bytes must sniff as an image.
func decodeGenerated(data []byte, contentType string) (llm.Image, error) {
	if contentType == "application/json" || strings.HasSuffix(contentType, "+json") {
		var r struct {
			Image string `json:"image"`
		}
		if err := json.Unmarshal(data, &r); err != nil {
			return llm.Image{}, fmt.Errorf("decode reply: %w", err)
		}
		if r.Image == "" {
			return llm.Image{}, fmt.Errorf("reply has no image: %.200s", data)
		}
		b, err := base64.StdEncoding.DecodeString(r.Image)
		if err != nil {
			return llm.Image{}, fmt.Errorf("reply image is not base64: %w", err)
		}
		data = b
	}
	img, err := sniff(data)
	if err != nil {
		return llm.Image{}, fmt.Errorf("reply (%s): %w", contentType, err)
	}
	return img, nil
}
