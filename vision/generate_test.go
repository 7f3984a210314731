package vision

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

const (
	flux1  = "@cf/black-forest-labs/flux-1-schnell"
	flux2  = "@cf/black-forest-labs/flux-2-klein-4b"
	sdxl   = "@cf/stabilityai/stable-diffusion-xl-base-1.0"
	sdxlLi = "@cf/bytedance/stable-diffusion-xl-lightning"
)

func TestImageModelsMatchTheCatalog(t *testing.T) {
	if !slices.IsSortedFunc(imageModels, func(a, b imageModel) int { return strings.Compare(a.id, b.id) }) {
		t.Error("imageModels is not sorted by id")
	}
	var catalogued []string
	for _, m := range llm.Models() {
		if m.Task == llm.TaskTextToImage {
			catalogued = append(catalogued, m.ID)
			if m.ImageOutput == "" {
				t.Errorf("%s: catalog has no ImageOutput", m.ID)
			}
		}
	}
	var ours []string
	for _, m := range imageModels {
		ours = append(ours, m.id)
	}
	if !slices.Equal(ours, catalogued) {
		t.Errorf("imageModels %v\ncatalog text-to-image models %v", ours, catalogued)
	}
}

func TestGenerateRequestBodies(t *testing.T) {
	initImg := testPNG(t)
	cases := []struct {
		name, model string
		opts        []GenOption
		body        string
	}{
		{"flux-1-schnell takes prompt and steps", flux1, []GenOption{WithSteps(4)},
			`{"prompt":"a red fox <in snow> & pines","steps":4}`},
		{"flux-1-schnell without options sends the prompt only", flux1, nil,
			`{"prompt":"a red fox <in snow> & pines"}`},
		{"SDXL with every option", sdxl, []GenOption{
			WithSize(1024, 768), WithSteps(20), WithSeed(42), WithGuidance(7.5),
			WithNegativePrompt("blurry"), WithInitImage(initImg, 0.6),
		}, `{"prompt":"a red fox <in snow> & pines","negative_prompt":"blurry","height":768,"width":1024,"image":` +
			byteList(initImg.Data) + `,"strength":0.6,"num_steps":20,"guidance":7.5,"seed":42}`},
		{"SDXL seed 0 and guidance 0 are sent", sdxl, []GenOption{WithSeed(0), WithGuidance(0)},
			`{"prompt":"a red fox <in snow> & pines","guidance":0,"seed":0}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, cl := newServer(t, nil)
			img, err := Generate(t.Context(), cl, c.model, "a red fox <in snow> & pines", c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			if img.MIME != "image/png" || imageType(img.Data) != "image/png" {
				t.Errorf("got a %q image", img.MIME)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if got := string(reqs[0].Body); got != c.body {
				t.Errorf("body\n got %.300s\nwant %.300s", got, c.body)
			}
			if ct := reqs[0].Header.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type %q", ct)
			}
		})
	}
}

func TestGenerateFlux2SendsMultipart(t *testing.T) {
	refs := []llm.Image{testPNG(t), {Data: readTestdata(t, "square.jpg")}} // the MIME is sniffed when missing
	srv, cl := newServer(t, nil)
	img, err := Generate(t.Context(), cl, flux2, "the character from image 0, waving",
		WithSize(1920, 1080), WithSeed(1), WithSteps(25), WithReferenceImages(refs...))
	if err != nil {
		t.Fatal(err)
	}
	if img.MIME != "image/png" {
		t.Errorf("got a %q image", img.MIME)
	}
	req := srv.Requests()[0]
	mt, params, err := mime.ParseMediaType(req.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		t.Fatalf("Content-Type %q: %v", req.Header.Get("Content-Type"), err)
	}
	type part struct{ name, file, contentType, value string }
	var got []part
	mr := multipart.NewReader(bytes.NewReader(req.Body), params["boundary"])
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(p)
		got = append(got, part{p.FormName(), p.FileName(), p.Header.Get("Content-Type"), string(b)})
	}
	want := []part{
		{"prompt", "", "", "the character from image 0, waving"},
		{"width", "", "", "1920"},
		{"height", "", "", "1080"},
		{"seed", "", "", "1"},
		{"steps", "", "", "25"},
		{"input_image_0", "input_image_0.png", "image/png", string(refs[0].Data)},
		{"input_image_1", "input_image_1.jpeg", "image/jpeg", string(refs[1].Data)},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parts\n got %q\nwant %q", got, want)
	}
}

func TestGenerateFlux2Defaults(t *testing.T) {
	srv, cl := newServer(t, nil)
	// An empty prompt is accepted by flux-2 (llm/testdata/recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__ai-run-flux-2-klein-4b-empty-prompt-200.json), so it is sent.
	if _, err := Generate(t.Context(), cl, flux2, ""); err != nil {
		t.Fatal(err)
	}
	body := string(srv.Requests()[0].Body)
	for _, s := range []string{`name="width"` + "\r\n\r\n1024\r\n", `name="height"` + "\r\n\r\n1024\r\n", `name="prompt"` + "\r\n\r\n\r\n"} {
		if !strings.Contains(body, s) {
			t.Errorf("body lacks %q:\n%s", s, body)
		}
	}
	if strings.Contains(body, `name="seed"`) || strings.Contains(body, `name="steps"`) {
		t.Errorf("unset seed or steps sent:\n%s", body)
	}
}

func TestGenerateRejectsBeforeSending(t *testing.T) {
	img := testPNG(t)
	five := []llm.Image{img, img, img, img, img}
	cases := []struct {
		name, model, prompt string
		opts                []GenOption
		want                []string
	}{
		{"flux-1-schnell refuses a seed", flux1, "fox", []GenOption{WithSeed(1)}, []string{"WithSeed", flux1, "WithSteps"}},
		{"flux-1-schnell refuses a size", flux1, "fox", []GenOption{WithSize(512, 512)}, []string{"WithSize", flux1}},
		{"flux-1-schnell refuses guidance", flux1, "fox", []GenOption{WithGuidance(3)}, []string{"WithGuidance", flux1}},
		{"flux-1-schnell refuses a negative prompt", flux1, "fox", []GenOption{WithNegativePrompt("x")}, []string{"WithNegativePrompt", flux1}},
		{"flux-1-schnell refuses an init image", flux1, "fox", []GenOption{WithInitImage(img, 0.5)}, []string{"WithInitImage", flux1}},
		{"flux-1-schnell refuses reference images", flux1, "fox", []GenOption{WithReferenceImages(img)}, []string{"WithReferenceImages", flux1}},
		{"flux-1-schnell takes at most 8 steps", flux1, "fox", []GenOption{WithSteps(9)}, []string{"WithSteps(9)", "at most 8"}},
		{"flux-1-schnell needs a prompt", flux1, "", nil, []string{"prompt is empty"}},
		{"flux-1-schnell prompt over 2048 characters", flux1, strings.Repeat("é", 2049), nil, []string{"2049 characters", "at most 2048"}},
		{"flux-2 takes at most 4 reference images", flux2, "fox", []GenOption{WithReferenceImages(five...)}, []string{"WithReferenceImages", "5 images", "at most 4"}},
		{"flux-2 width over 2048", flux2, "fox", []GenOption{WithSize(5000, 1080)}, []string{"WithSize(5000, 1080)", "256 to 2048"}},
		{"flux-2 refuses a negative prompt", flux2, "fox", []GenOption{WithNegativePrompt("x")}, []string{"WithNegativePrompt", flux2}},
		{"flux-2 reference that is not an image", flux2, "fox", []GenOption{WithReferenceImages(llm.Image{Data: []byte("GIF")})}, []string{"reference 0", "not a PNG"}},
		{"SDXL size under 256", sdxl, "fox", []GenOption{WithSize(128, 512)}, []string{"WithSize(128, 512)"}},
		{"SDXL takes at most 20 steps", sdxl, "fox", []GenOption{WithSteps(30)}, []string{"WithSteps(30)", "at most 20"}},
		{"SDXL zero steps", sdxl, "fox", []GenOption{WithSteps(0)}, []string{"WithSteps(0)", "at least 1"}},
		{"SDXL strength over 1", sdxl, "fox", []GenOption{WithInitImage(img, 1.5)}, []string{"WithInitImage", "0 to 1"}},
		{"SDXL negative seed", sdxl, "fox", []GenOption{WithSeed(-1)}, []string{"WithSeed(-1)"}},
		{"SDXL refuses reference images", sdxl, "fox", []GenOption{WithReferenceImages(img)}, []string{"WithReferenceImages", sdxl}},
		{"SDXL needs a prompt", sdxl, "", nil, []string{"prompt is empty"}},
		{"zero timeout", sdxl, "fox", []GenOption{WithTimeout(0)}, []string{"WithTimeout(0s)"}},
		{"unknown model lists the supported ones", "@cf/acme/paint-9", "fox", nil, []string{"@cf/acme/paint-9", flux1, flux2, sdxl}},
		{"a chat model is not an image model", scout, "fox", nil, []string{"text-generation model", flux1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, cl := newServer(t, nil)
			_, err := Generate(t.Context(), cl, c.model, c.prompt, c.opts...)
			if err == nil {
				t.Fatal("want an error")
			}
			for _, s := range c.want {
				if !strings.Contains(err.Error(), s) {
					t.Errorf("error %q lacks %q", err, s)
				}
			}
			if n := len(srv.Requests()); n != 0 {
				t.Errorf("%d requests sent, want none", n)
			}
		})
	}
}

func TestGenerateDecodesReplies(t *testing.T) {
	pngBytes, jpgBytes := readTestdata(t, "square.png"), readTestdata(t, "square.jpg")
	b64 := base64.StdEncoding.EncodeToString
	cases := []struct {
		name, model string
		reply       llmtest.Reply
		mime        string
		data        []byte
	}{
		{"flux-1 base64 PNG", flux1, llmtest.JSON(map[string]string{"image": b64(pngBytes)}), "image/png", pngBytes},
		{"flux-1 base64 JPEG", flux1, llmtest.JSON(map[string]string{"image": b64(jpgBytes)}), "image/jpeg", jpgBytes},
		{"flux-2 base64 JPEG", flux2, llmtest.JSON(map[string]string{"image": b64(jpgBytes)}), "image/jpeg", jpgBytes},
		{"SDXL binary PNG", sdxl, llmtest.Raw("image/png", pngBytes), "image/png", pngBytes},
		// Lightning answers JPEG; the MIME comes from the bytes even when the header says PNG.
		{"SDXL lightning binary JPEG under a PNG header", sdxlLi, llmtest.Raw("image/png", jpgBytes), "image/jpeg", jpgBytes},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, cl := newServer(t, llmtest.Script(c.reply))
			img, err := Generate(t.Context(), cl, c.model, "fox")
			if err != nil {
				t.Fatal(err)
			}
			if img.MIME != c.mime || !bytes.Equal(img.Data, c.data) {
				t.Errorf("got %q, %d bytes; want %q, %d bytes", img.MIME, len(img.Data), c.mime, len(c.data))
			}
		})
	}
}

func TestGenerateBadReplies(t *testing.T) {
	noRetry := llm.WithRetry(llm.RetryPolicy{MaxAttempts: 1})
	cases := []struct {
		name, model string
		reply       llmtest.Reply
		want        string
		is          error
	}{
		{"JSON without an image", flux1, llmtest.JSON(map[string]string{}), "no image", nil},
		{"image that is not base64", flux1, llmtest.JSON(map[string]string{"image": "%%%"}), "not base64", nil},
		{"base64 of something else", flux1, llmtest.JSON(map[string]string{"image": base64.StdEncoding.EncodeToString([]byte("<html>"))}), "text/html", ErrNotImage},
		{"bytes that are not an image", sdxl, llmtest.Raw("image/png", []byte("oops")), "not a PNG", ErrNotImage},
		{"408/3046 service timeout", "@cf/black-forest-labs/flux-2-dev",
			llmtest.Fail(408, 3046, "Request timeout"), "3046", llm.ErrTimeout},
		{"400/3030 bad value", flux2,
			llmtest.Fail(400, 3030, "5000 is too large, max width is 2048"), "max width is 2048", llm.ErrBadInput},
		{"400/5006 extra field", flux1,
			llmtest.Fail(400, 5006, "Bad input: Error: Additional or unevaluated properties '/seed' at '/' not allowed"), "5006", llm.ErrBadInput},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, cl := newServer(t, llmtest.Script(c.reply), noRetry)
			_, err := Generate(t.Context(), cl, c.model, "fox")
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), c.model) {
				t.Fatalf("err = %v, want one naming %s and containing %q", err, c.model, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("err = %v, want errors.Is %v", err, c.is)
			}
		})
	}
}

// deadlineRecorder notes the deadline of every request's context.
type deadlineRecorder struct {
	mu        sync.Mutex
	deadlines []time.Time
}

func (d *deadlineRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	dl, _ := r.Context().Deadline()
	d.mu.Lock()
	d.deadlines = append(d.deadlines, dl)
	d.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func TestGenerateTimeout(t *testing.T) {
	rec := &deadlineRecorder{}
	_, cl := newServer(t, nil, llm.WithHTTPClient(&http.Client{Transport: rec}))

	start := time.Now()
	if _, err := Generate(t.Context(), cl, flux1, "fox"); err != nil {
		t.Fatal(err)
	}
	end := time.Now()
	// Above the ~237 s after which the service itself answers 408/3046 (see the flux-2-dev
	// 408-3046 file in llm/testdata/recorded).
	if dl := rec.deadlines[0]; dl.Before(start.Add(DefaultGenerateTimeout)) || dl.After(end.Add(DefaultGenerateTimeout)) {
		t.Errorf("default deadline %v after the call started, want %v", dl.Sub(start), DefaultGenerateTimeout)
	}
	if DefaultGenerateTimeout <= 240*time.Second {
		t.Errorf("DefaultGenerateTimeout %v would cut off the service's own 237 s timeout", DefaultGenerateTimeout)
	}

	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	if _, err := Generate(ctx, cl, flux1, "fox", WithTimeout(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, want := rec.deadlines[1], start.Add(time.Minute); got.After(want.Add(time.Second)) {
		t.Errorf("deadline %v is later than the caller's %v", got, want)
	}

	_, slow := newServer(t, llmtest.Script(llmtest.Text("").WithLatency(10*time.Second)))
	_, err := Generate(t.Context(), slow, sdxl, "fox", WithTimeout(50*time.Millisecond))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want context.DeadlineExceeded", err)
	}
}

func TestGenerateNilClient(t *testing.T) {
	if _, err := Generate(t.Context(), nil, flux1, "fox"); err == nil {
		t.Fatal("want an error")
	}
}
