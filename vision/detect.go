package vision

import (
	"context"
	"fmt"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// Box is a rectangle in an image, in pixels from its top-left corner.
type Box struct {
	XMin float64 `json:"xmin"`
	YMin float64 `json:"ymin"`
	XMax float64 `json:"xmax"`
	YMax float64 `json:"ymax"`
}

// Object is something an object detection model found, with its score, 0 to 1, and where.
type Object struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
	Box   Box     `json:"box"`
}

// Detection is what an object detection model found in an image, the most certain first.
type Detection struct {
	Objects []Object
	Usage   llm.Usage // the neurons the service reported, else the catalog's price per image (estimated)
}

// Detect finds objects in img with an object detection model (DETRResNet50): label, score
// and box of each, sorted by score, highest first. The image is checked and encoded as for
// Classify. An image with nothing found gives an empty Objects, not an error.
func Detect(ctx context.Context, c *llm.Client, model string, img llm.Image) (*Detection, error) {
	reply, err := analyze(ctx, c, model, img, llm.TaskObjectDetection, "object detection")
	if err != nil {
		return nil, fmt.Errorf("vision: detect: %w", err)
	}
	objs, err := byScore(reply.Data, func(o Object) float64 { return o.Score })
	if err != nil {
		return nil, fmt.Errorf("vision: detect %s: reply is not a list of objects: %.200s", model, reply.Data)
	}
	if objs == nil {
		objs = []Object{}
	}
	return &Detection{Objects: objs, Usage: reply.Usage}, nil
}

// DetectInput is what an agent gives the detect tool.
type DetectInput struct {
	ImageInput
	MinScore float64 `json:"min_score,omitempty" jsonschema_description:"Leave out objects scored below this, 0 to 1" jsonschema:"minimum=0,maximum=1"`
}

// DetectTool is Detect with model as a tool named "detect_objects". It looks at the images
// attached to the agent's run (tools.WithAttachments) and answers with the objects found,
// each with its label, score and box in pixels.
func DetectTool(c *llm.Client, model string) tools.Tool {
	return tools.New("detect_objects", "Find the objects in an attached image, with a box in pixels around each.",
		func(ctx context.Context, in DetectInput) ([]Object, error) {
			img, err := attached(ctx, in.Index)
			if err != nil {
				return nil, err
			}
			d, err := Detect(ctx, c, model, img)
			if err != nil {
				return nil, err
			}
			out := []Object{}
			for _, o := range d.Objects {
				if o.Score >= in.MinScore {
					out = append(out, o)
				}
			}
			return out, nil
		})
}
