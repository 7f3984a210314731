package nlp

import (
	"context"
	"strings"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// TranslateInput is what an agent gives the translate tool.
type TranslateInput struct {
	Text   string `json:"text" jsonschema_description:"The text to translate" jsonschema:"minLength=1"`
	Target string `json:"target_language" jsonschema_description:"The language to translate into"`
	Source string `json:"source_language,omitempty" jsonschema_description:"The language of the text, when not English"`
}

// TranslateTool is Translate with model as a tool named "translate"; the description
// lists the languages the model takes. It answers with the translated text.
func TranslateTool(c *llm.Client, model string) tools.Tool {
	langs := Languages()
	if model == IndicTrans2 {
		langs = IndicLanguages()
	}
	return tools.New("translate", "Translate text into another language. Languages: "+strings.Join(langs, ", ")+".",
		func(ctx context.Context, in TranslateInput) (string, error) {
			var opts []TranslateOption
			if in.Source != "" {
				opts = append(opts, WithSource(in.Source))
			}
			t, err := Translate(ctx, c, model, in.Text, in.Target, opts...)
			if err != nil {
				return "", err
			}
			return t.Text, nil
		})
}

// TextInput is what an agent gives the summarize, classify and moderate tools.
type TextInput struct {
	Text string `json:"text" jsonschema_description:"The text" jsonschema:"minLength=1"`
}

// SummarizeTool is Summarize with model as a tool named "summarize", answering with the
// summary.
func SummarizeTool(c *llm.Client, model string) tools.Tool {
	return tools.New("summarize", "Summarise a long English text in a few sentences.",
		func(ctx context.Context, in TextInput) (string, error) {
			s, err := Summarize(ctx, c, model, in.Text, 0)
			if err != nil {
				return "", err
			}
			return s.Text, nil
		})
}

// ClassifyTool is Classify with model as a tool named "classify_sentiment", answering
// with the labels and scores, highest first.
func ClassifyTool(c *llm.Client, model string) tools.Tool {
	return tools.New("classify_sentiment", "Tell whether an English text is positive or negative, with scores.",
		func(ctx context.Context, in TextInput) ([]Label, error) {
			r, err := Classify(ctx, c, model, in.Text)
			if err != nil {
				return nil, err
			}
			return r.Labels, nil
		})
}

// ModerateResult is the moderate tool's answer.
type ModerateResult struct {
	Safe       bool     `json:"safe"`
	Categories []string `json:"violated_categories,omitempty"` // "S1 (Violent Crimes)", ...
}

// ModerateTool is Moderate with model as a tool named "moderate", answering whether the
// text is safe and which hazard categories it violates, by code and name.
func ModerateTool(c *llm.Client, model string) tools.Tool {
	return tools.New("moderate", "Check whether a text is safe, naming the hazard categories it violates.",
		func(ctx context.Context, in TextInput) (ModerateResult, error) {
			v, err := Moderate(ctx, c, model, in.Text)
			if err != nil {
				return ModerateResult{}, err
			}
			out := ModerateResult{Safe: v.Safe}
			for _, cat := range v.Categories {
				out.Categories = append(out.Categories, cat.String())
			}
			return out, nil
		})
}
