package vision

import (
	"context"
	"encoding/json"
	"errors"
	"image"
	"math"
	"strings"
	"testing"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// TestClassifyRequestAndReply checks the wire form ({"image": [bytes]}) and the sorted
// labels of the emulated resnet-50.
func TestClassifyRequestAndReply(t *testing.T) {
	srv, c := newServer(t, nil)
	img := testPNG(t)
	r, err := Classify(context.Background(), c, ResNet50, img)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(srv.Requests()[0].Body), `{"image":`+byteList(img.Data)+`}`; got != want {
		t.Errorf("request %.80s..., want %.80s...", got, want)
	}
	if len(r.Labels) != 5 || r.Labels[0].Score < r.Labels[1].Score || r.Labels[0].Label == "" {
		t.Errorf("Labels = %+v", r.Labels)
	}
}

// TestClassifySortsDocumentedReply sorts a bare [{label, score}] array that came unsorted.
func TestClassifySortsDocumentedReply(t *testing.T) {
	_, c := newServer(t, llmtest.Script(
		llmtest.JSON(json.RawMessage(`[{"label":"TEAPOT","score":0.1},{"label":"EGYPTIAN CAT","score":0.8}]`)),
		llmtest.JSON(json.RawMessage(`[]`)),
	))
	r, err := Classify(context.Background(), c, ResNet50, testPNG(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Labels[0] != (Label{"EGYPTIAN CAT", 0.8}) {
		t.Errorf("Labels = %+v", r.Labels)
	}
	if _, err := Classify(context.Background(), c, ResNet50, testPNG(t)); err == nil || !strings.Contains(err.Error(), "no labels") {
		t.Errorf("empty reply: err = %v", err)
	}
}

// TestImageAnalysisRefusesBeforeSending covers the checks made before any request.
func TestImageAnalysisRefusesBeforeSending(t *testing.T) {
	srv, c := newServer(t, nil)
	ctx := context.Background()
	notImage := llm.Image{Data: []byte("%PDF-1.4 not an image"), MIME: "image/png"}
	huge := llm.Image{Data: make([]byte, DefaultMaxImageBytes+1), MIME: "image/png"}
	cases := []struct {
		name string
		err  func() error
		want string
		is   error
	}{
		{"not an image", func() error { _, err := Classify(ctx, c, ResNet50, notImage); return err }, "not a PNG", ErrNotImage},
		{"too large", func() error { _, err := Detect(ctx, c, DETRResNet50, huge); return err }, "over the limit", ErrTooLarge},
		{"wrong task", func() error { _, err := Detect(ctx, c, ResNet50, testPNG(t)); return err }, "image-classification model, not an object detection one", nil},
		{"no model", func() error { _, err := Classify(ctx, c, "", testPNG(t)); return err }, "empty model id", nil},
	}
	for _, tc := range cases {
		err := tc.err()
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "vision: ") {
			t.Errorf("%s: err = %v, want one containing %q", tc.name, err, tc.want)
		}
		if tc.is != nil && !errors.Is(err, tc.is) {
			t.Errorf("%s: err = %v, want it to match %v", tc.name, err, tc.is)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

// TestDetectBoxesInsideImage checks the emulated detr-resnet-50: objects sorted, boxes
// inside the picture.
func TestDetectBoxesInsideImage(t *testing.T) {
	_, c := newServer(t, nil)
	img := testPNG(t)
	cfg, _, err := image.DecodeConfig(strings.NewReader(string(img.Data)))
	if err != nil {
		t.Fatal(err)
	}
	d, err := Detect(context.Background(), c, DETRResNet50, img)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.Objects) == 0 || d.Objects[0].Score < d.Objects[len(d.Objects)-1].Score {
		t.Fatalf("Objects = %+v", d.Objects)
	}
	for _, o := range d.Objects {
		b := o.Box
		if b.XMin < 0 || b.YMin < 0 || b.XMax > float64(cfg.Width) || b.YMax > float64(cfg.Height) || b.XMin >= b.XMax || b.YMin >= b.YMax {
			t.Errorf("%s: box %+v is not inside the %d×%d image", o.Label, b, cfg.Width, cfg.Height)
		}
	}
}

// TestImageToolsInAgentRun gives an agent the detect and classify tools; they look at the
// image attached to the run.
func TestImageToolsInAgentRun(t *testing.T) {
	script := llmtest.Script(
		llmtest.Calls(
			llm.ToolCall{ID: "a", Name: "detect_objects", Arguments: json.RawMessage(`{"min_score":0.9}`)},
			llm.ToolCall{ID: "b", Name: "classify_image", Arguments: json.RawMessage(`{}`)},
			llm.ToolCall{ID: "c", Name: "classify_image", Arguments: json.RawMessage(`{"image_index":3}`)},
		),
		llmtest.Text("One object."),
	)
	_, c := newServer(t, func(model string, b []byte) llmtest.Reply {
		if model == scout {
			return script(model, b)
		}
		return llmtest.Model()
	})
	a := agent.New(c.Model(scout), agent.WithTools(DetectTool(c, DETRResNet50), ClassifyTool(c, ResNet50)))
	res, err := a.RunMessages(context.Background(), []llm.Message{llm.User("What is in this picture?", testPNG(t))})
	if err != nil {
		t.Fatal(err)
	}
	results := res.Steps[0].Results
	var objs []Object
	if err := json.Unmarshal([]byte(results[0].Output), &objs); err != nil || len(objs) != 1 || objs[0].Score < 0.9 {
		t.Errorf("detect_objects -> %s (%v), want the one object scored over 0.9", results[0].Output, err)
	}
	var labels []Label
	if err := json.Unmarshal([]byte(results[1].Output), &labels); err != nil || len(labels) != 5 {
		t.Errorf("classify_image -> %s (%v)", results[1].Output, err)
	}
	if !strings.Contains(results[2].Output, "image_index 3: the run has 1 attached images") {
		t.Errorf("classify_image of a missing image -> %s", results[2].Output)
	}
}

// TestClassifyToolCountsTowardAgentUsage checks that the classify tool's call reaches the
// agent's usage when the service sends no cf-ai-neurons header: the catalog's price of one
// image, marked estimated.
func TestClassifyToolCountsTowardAgentUsage(t *testing.T) {
	one := llm.Usage{PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2, Neurons: 1}
	script := llmtest.Script(
		llmtest.Calls(llm.ToolCall{ID: "a", Name: "classify_image", Arguments: json.RawMessage(`{}`)}).WithUsage(one),
		llmtest.Text("A cat.").WithUsage(one),
	)
	_, c := newServer(t, func(model string, b []byte) llmtest.Reply {
		if model == scout {
			return script(model, b)
		}
		return llmtest.Model().WithHeader("cf-ai-neurons", "") // the service sent none
	})
	a := agent.New(c.Model(scout), agent.WithTools(ClassifyTool(c, ResNet50)))
	res, err := a.RunMessages(context.Background(), []llm.Message{llm.User("What is in this picture?", testPNG(t))})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := llm.LookupModel(ResNet50)
	if got, want := res.Spent.Neurons, 2+info.NeuronsPerMInput/1e6; info.NeuronsPerMInput == 0 || math.Abs(got-want) > 1e-9 || !res.Spent.NeuronsEstimated {
		t.Errorf("Spent = %+v, want %v neurons (2 of chat and one image's price), estimated", res.Spent, want)
	}
}
