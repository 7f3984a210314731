package vision

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// The image analysis models.
const (
	// ResNet50 classifies an image into the 1000 ImageNet classes.
	ResNet50 = "@cf/microsoft/resnet-50"
	// DETRResNet50 finds objects in an image, with a box around each.
	DETRResNet50 = "@cf/facebook/detr-resnet-50"
)

// Label is a class an image was given, with the model's score for it, 0 to 1.
type Label struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Classification is an image's labels, the most likely first.
type Classification struct {
	Labels []Label
	Usage  llm.Usage // the neurons the service reported, else the catalog's price per image (estimated)
}

// Classify labels img with an image classification model (ResNet50), returning the
// labels sorted by score, highest first. The image is checked as everywhere in this package
// (sniffed as PNG, JPEG, GIF or WebP; at most DefaultMaxImageBytes) and sent as the array
// of byte values the model takes, {"image": [...]}.
func Classify(ctx context.Context, c *llm.Client, model string, img llm.Image) (*Classification, error) {
	data, err := analyze(ctx, c, model, img, llm.TaskImageClassification, "image classification")
	if err != nil {
		return nil, fmt.Errorf("vision: classify: %w", err)
	}
	labels, err := byScore(data.Data, func(l Label) float64 { return l.Score })
	if err != nil || len(labels) == 0 {
		return nil, fmt.Errorf("vision: classify %s: reply has no labels: %.200s", model, data.Data)
	}
	return &Classification{Labels: labels, Usage: data.Usage}, nil
}

// byScore decodes the bare list an image analysis model answers and sorts it by score,
// highest first; a list of equal scores keeps the service's order.
func byScore[T any](data []byte, score func(T) float64) ([]T, error) {
	var items []T
	if err := json.Unmarshal(data, &items); err != nil {
		return nil, err
	}
	slices.SortStableFunc(items, func(a, b T) int { return cmp.Compare(score(b), score(a)) })
	return items, nil
}

// analyze checks the model and the image, sends {"image": [bytes]} and returns the reply.
func analyze(ctx context.Context, c *llm.Client, model string, img llm.Image, task llm.Task, name string) (*llm.TaskReply, error) {
	if model == "" {
		return nil, errors.New("empty model id")
	}
	info, ok := llm.LookupModel(model)
	if ok && info.Task != task {
		return nil, fmt.Errorf("%s is a %s model, not an %s one", model, info.Task, name)
	}
	if int64(len(img.Data)) > DefaultMaxImageBytes {
		return nil, fmt.Errorf("%w: %d bytes, over the limit of %d", ErrTooLarge, len(img.Data), DefaultMaxImageBytes)
	}
	checked, err := checkImage(img)
	if err != nil {
		return nil, err
	}
	// The catalog prices image analysis per image (NeuronsPerMInput counts millions of
	// images): the estimate for a reply without a cf-ai-neurons header.
	perImage := llm.WithNeuronEstimate(func(*llm.TaskReply) float64 { return info.NeuronsPerMInput / 1e6 })
	reply, err := c.RunTask(ctx, model, map[string]any{"image": llm.ByteArray(checked.Data)}, nil, perImage)
	if err != nil {
		return nil, err
	}
	if !reply.JSON() {
		return nil, fmt.Errorf("%s: reply is %s, not JSON", model, reply.ContentType)
	}
	return reply, nil
}

// ImageInput is what an agent gives the image tools: nothing but, optionally, which of
// the run's attached images to look at.
type ImageInput struct {
	Index int `json:"image_index,omitempty" jsonschema_description:"Which attached image to look at, from 0" jsonschema:"minimum=0"`
}

// attached returns the run's attached image at index i (see tools.WithAttachments).
func attached(ctx context.Context, i int) (llm.Image, error) {
	imgs := tools.Attachments(ctx)
	if len(imgs) == 0 {
		return llm.Image{}, errors.New("vision: no image is attached to this run")
	}
	if i < 0 || i >= len(imgs) {
		return llm.Image{}, fmt.Errorf("vision: image_index %d: the run has %d attached images", i, len(imgs))
	}
	return imgs[i], nil
}

// ClassifyTool is Classify with model as a tool named "classify_image". It looks at the
// images attached to the agent's run (tools.WithAttachments) and answers with the five
// most likely labels and their scores.
func ClassifyTool(c *llm.Client, model string) tools.Tool {
	return tools.New("classify_image", "Name what an attached image shows, with scores.",
		func(ctx context.Context, in ImageInput) ([]Label, error) {
			img, err := attached(ctx, in.Index)
			if err != nil {
				return nil, err
			}
			r, err := Classify(ctx, c, model, img)
			if err != nil {
				return nil, err
			}
			return r.Labels[:min(5, len(r.Labels))], nil
		})
}
