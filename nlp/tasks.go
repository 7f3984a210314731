package nlp

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gowai/gowai/llm"
)

// The summarisation and classification models.
const (
	// BartLargeCNN summarises English text.
	BartLargeCNN = "@cf/facebook/bart-large-cnn"
	// DistilBERTSST2 tells positive from negative English text.
	DistilBERTSST2 = "@cf/huggingface/distilbert-sst-2-int8"
)

// Summary is a summarised text.
type Summary struct {
	Text  string
	Usage llm.Usage
}

// Summarize summarises text with a summarisation model (BartLargeCNN). maxLength caps the
// summary's length in tokens; 0 leaves the model's default (1024 for bart-large-cnn).
func Summarize(ctx context.Context, c *llm.Client, model, text string, maxLength int) (*Summary, error) {
	if err := checkTask(model, llm.TaskSummarization, "summarisation"); err != nil {
		return nil, fmt.Errorf("nlp: summarize: %w", err)
	}
	switch {
	case strings.TrimSpace(text) == "":
		return nil, errors.New("nlp: summarize: empty text")
	case maxLength < 0:
		return nil, fmt.Errorf("nlp: summarize: max length %d is negative", maxLength)
	}
	in := map[string]any{"input_text": text}
	if maxLength > 0 {
		in["max_length"] = maxLength
	}
	reply, err := c.RunTask(ctx, model, in, nil)
	if err != nil {
		return nil, fmt.Errorf("nlp: summarize: %w", err)
	}
	var r struct {
		Summary *string `json:"summary"`
	}
	if err := json.Unmarshal(reply.Data, &r); err != nil || r.Summary == nil {
		return nil, fmt.Errorf("nlp: summarize %s: reply has no summary: %.200s", model, reply.Data)
	}
	return &Summary{Text: strings.TrimSpace(*r.Summary), Usage: reply.Usage}, nil
}

// Label is a class with the model's score for it, 0 to 1.
type Label struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// Classification is a text's labels, the most likely first.
type Classification struct {
	Labels []Label
	Usage  llm.Usage
}

// Top is the most likely label; the zero Label when there are none.
func (c *Classification) Top() Label {
	if len(c.Labels) == 0 {
		return Label{}
	}
	return c.Labels[0]
}

// Classify classifies text with a text-classification model (DistilBERTSST2: POSITIVE or
// NEGATIVE). The labels come sorted by score, highest first, whatever order the service
// sent them in.
func Classify(ctx context.Context, c *llm.Client, model, text string) (*Classification, error) {
	if err := checkTask(model, llm.TaskTextClassification, "text classification"); err != nil {
		return nil, fmt.Errorf("nlp: classify: %w", err)
	}
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("nlp: classify: empty text")
	}
	reply, err := c.RunTask(ctx, model, map[string]string{"text": text}, nil, tokenEstimate(model, text, nil))
	if err != nil {
		return nil, fmt.Errorf("nlp: classify: %w", err)
	}
	var labels []Label
	if err := json.Unmarshal(reply.Data, &labels); err != nil || len(labels) == 0 {
		return nil, fmt.Errorf("nlp: classify %s: reply has no labels: %.200s", model, reply.Data)
	}
	slices.SortStableFunc(labels, func(a, b Label) int { return cmp.Compare(b.Score, a.Score) })
	return &Classification{Labels: labels, Usage: reply.Usage}, nil
}

// tokenEstimate prices a reply of a model billed per token when the service reports no
// neurons and no tokens: the input text, and the output text that output finds in the
// reply (nil for none), counted at llm.EstimateBytesPerToken bytes a token and priced at
// the catalog's rates. A model the catalog does not price gets no estimate.
func tokenEstimate(model, input string, output func(data []byte) string) llm.TaskOption {
	return llm.WithNeuronEstimate(func(r *llm.TaskReply) float64 {
		u := llm.Usage{PromptTokens: estimateTokens(input)}
		if output != nil {
			u.CompletionTokens = estimateTokens(output(r.Data))
		}
		n, _ := llm.EstimateNeurons(model, u)
		return n
	})
}

func estimateTokens(s string) int {
	return (len(s) + llm.EstimateBytesPerToken - 1) / llm.EstimateBytesPerToken
}

// checkTask refuses a model the catalog files under another task; a model it does not
// know is tried.
func checkTask(model string, task llm.Task, name string) error {
	if model == "" {
		return errors.New("empty model id")
	}
	if info, ok := llm.LookupModel(model); ok && info.Task != task {
		return fmt.Errorf("%s is a %s model, not a %s one", model, info.Task, name)
	}
	return nil
}
