package nlp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/gowai/gowai/llm"
)

// The translation models.
const (
	// M2M100 translates between the ten languages of Languages.
	M2M100 = "@cf/meta/m2m100-1.2b"
	// IndicTrans2 translates English into the Indian languages of IndicLanguages.
	IndicTrans2 = "@cf/ai4bharat/indictrans2-en-indic-1B"
)

// m2m100Languages are the languages m2m100-1.2b's model page lists, by name, with their
// ISO 639-1 codes.
var m2m100Languages = map[string]string{
	"arabic": "ar", "chinese": "zh", "english": "en", "french": "fr", "german": "de",
	"hindi": "hi", "japanese": "ja", "portuguese": "pt", "russian": "ru", "spanish": "es",
}

// indicLanguages are the target languages of indictrans2-en-indic-1B, as FLORES-200 codes
// (language_Script).
var indicLanguages = []string{
	"asm_Beng", "awa_Deva", "ben_Beng", "bho_Deva", "brx_Deva", "doi_Deva", "eng_Latn", "gom_Deva", "gon_Deva",
	"guj_Gujr", "hin_Deva", "hne_Deva", "kan_Knda", "kas_Arab", "kas_Deva", "kha_Latn", "lus_Latn", "mag_Deva",
	"mai_Deva", "mal_Mlym", "mar_Deva", "mni_Beng", "mni_Mtei", "npi_Deva", "ory_Orya", "pan_Guru", "san_Deva",
	"sat_Olck", "snd_Arab", "snd_Deva", "tam_Taml", "tel_Telu", "unr_Deva", "urd_Arab",
}

// Languages returns the languages m2m100-1.2b translates between, by name, sorted. Translate
// also takes their ISO 639-1 codes ("fr" for "french").
func Languages() []string { return slices.Sorted(maps.Keys(m2m100Languages)) }

// IndicLanguages returns the target languages of indictrans2-en-indic-1B ("hin_Deva" for
// Hindi in Devanagari, ...), sorted.
func IndicLanguages() []string { return slices.Clone(indicLanguages) }

// Translation is a translated text.
type Translation struct {
	Text   string
	Target string // the target language as sent
	Usage  llm.Usage
}

// TranslateOption configures Translate and TranslateAll.
type TranslateOption func(*translateConfig)

type translateConfig struct {
	source string
	queue  []llm.QueueOption
}

// WithSource names the language of the text, as for the target (m2m100-1.2b; default
// English). indictrans2-en-indic-1B translates only from English ("english", "en" or
// "eng_Latn").
func WithSource(lang string) TranslateOption { return func(c *translateConfig) { c.source = lang } }

// WithQueueOptions passes options to the batch API that TranslateAll uses for m2m100-1.2b.
func WithQueueOptions(opts ...llm.QueueOption) TranslateOption {
	return func(c *translateConfig) { c.queue = append(c.queue, opts...) }
}

// m2m100Code returns the ISO 639-1 code of a language given by name or code,
// case-insensitively.
func m2m100Code(lang string) (string, bool) {
	l := strings.ToLower(strings.TrimSpace(lang))
	if code, ok := m2m100Languages[l]; ok {
		return code, true
	}
	for _, code := range m2m100Languages {
		if code == l {
			return code, true
		}
	}
	return "", false
}

// translateRequest checks the language options and returns them as m2m100's input
// fields, or indictrans2's target. m2m100 is sent ISO 639-1 codes, the form its input
// schema describes ("es" for Spanish; source_lang defaults to "en").
func translateRequest(model, target string, cfg translateConfig) (map[string]any, error) {
	switch model {
	case M2M100:
		t, ok := m2m100Code(target)
		if !ok {
			return nil, fmt.Errorf("nlp: translate: %s does not translate into %q; it takes %s (or their two-letter codes)", model, target, strings.Join(Languages(), ", "))
		}
		in := map[string]any{"target_lang": t}
		if cfg.source != "" {
			s, ok := m2m100Code(cfg.source)
			if !ok {
				return nil, fmt.Errorf("nlp: translate: %s does not translate from %q; it takes %s (or their two-letter codes)", model, cfg.source, strings.Join(Languages(), ", "))
			}
			in["source_lang"] = s
		}
		return in, nil
	case IndicTrans2:
		if !slices.Contains(indicLanguages, target) {
			return nil, fmt.Errorf("nlp: translate: %s does not translate into %q; it takes %s", model, target, strings.Join(indicLanguages, ", "))
		}
		if cfg.source != "" {
			if s, _ := m2m100Code(cfg.source); s != "en" && cfg.source != "eng_Latn" {
				return nil, fmt.Errorf("nlp: translate: %s translates only from English, not %q", model, cfg.source)
			}
		}
		return map[string]any{"target_language": target}, nil
	}
	return nil, fmt.Errorf("nlp: translate: %s is not a translation model this package knows; use %s or %s", model, M2M100, IndicTrans2)
}

// Translate translates text into target with M2M100 (target a language name or code from
// Languages) or IndicTrans2 (target a code from IndicLanguages). The languages, the model
// and a non-empty text are checked before anything is sent.
func Translate(ctx context.Context, c *llm.Client, model, text, target string, opts ...TranslateOption) (*Translation, error) {
	var cfg translateConfig
	for _, o := range opts {
		o(&cfg)
	}
	in, err := translateRequest(model, target, cfg)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("nlp: translate: empty text")
	}
	in["text"] = text
	reply, err := c.RunTask(ctx, model, in, nil, tokenEstimate(model, text, translated(1)))
	if err != nil {
		return nil, fmt.Errorf("nlp: translate: %w", err)
	}
	texts, err := decodeTranslations(reply.Data, 1)
	if err != nil {
		return nil, fmt.Errorf("nlp: translate %s: %w", model, err)
	}
	return &Translation{Text: texts[0], Target: target, Usage: reply.Usage}, nil
}

// TranslateAll translates many texts into one target language, returning them in order.
// IndicTrans2 takes them all in one request; M2M100 gets them through the async batch API
// (llm.Client.Queue, https://developers.cloudflare.com/workers-ai/features/batch-api/):
// one submission, polled until done, instead of a request per text. Usage is the batch's:
// the tokens it reports, with their neurons estimated from the catalog's prices.
func TranslateAll(ctx context.Context, c *llm.Client, model string, texts []string, target string, opts ...TranslateOption) ([]string, llm.Usage, error) {
	var cfg translateConfig
	for _, o := range opts {
		o(&cfg)
	}
	in, err := translateRequest(model, target, cfg)
	if err != nil {
		return nil, llm.Usage{}, err
	}
	if len(texts) == 0 {
		return []string{}, llm.Usage{}, nil
	}
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			return nil, llm.Usage{}, fmt.Errorf("nlp: translate: text %d is empty", i)
		}
	}
	if model == IndicTrans2 {
		in["text"] = texts
		reply, err := c.RunTask(ctx, model, in, nil, tokenEstimate(model, strings.Join(texts, " "), translated(len(texts))))
		if err != nil {
			return nil, llm.Usage{}, fmt.Errorf("nlp: translate: %w", err)
		}
		out, err := decodeTranslations(reply.Data, len(texts))
		if err != nil {
			return nil, llm.Usage{}, fmt.Errorf("nlp: translate %s: %w", model, err)
		}
		return out, reply.Usage, nil
	}
	reqs := make([]any, len(texts))
	for i, t := range texts {
		one := map[string]any{"text": t}
		for k, v := range in {
			one[k] = v
		}
		reqs[i] = one
	}
	b, err := c.Queue(ctx, model, reqs, cfg.queue...)
	if err != nil {
		return nil, llm.Usage{}, fmt.Errorf("nlp: translate: %w", err)
	}
	res, err := b.Wait(ctx)
	if err != nil {
		return nil, llm.Usage{}, fmt.Errorf("nlp: translate: %w", err)
	}
	out := make([]string, len(texts))
	for _, r := range res.Responses {
		if r.Err != nil {
			return nil, llm.Usage{}, fmt.Errorf("nlp: translate: text %d: %w", r.Index, r.Err)
		}
		got, err := decodeTranslations(r.Result, 1)
		if err != nil {
			return nil, llm.Usage{}, fmt.Errorf("nlp: translate %s: text %d: %w", model, r.Index, err)
		}
		out[r.Index] = got[0]
	}
	u := res.Usage
	if u.Neurons == 0 {
		// The batch reports tokens only: price them as a single call's would be.
		if n, ok := llm.EstimateNeurons(model, u); ok && n > 0 {
			u.Neurons, u.NeuronsEstimated = n, true
		}
	}
	return out, u, nil
}

// translated returns the text of a reply with n translations, for tokenEstimate.
func translated(n int) func([]byte) string {
	return func(data []byte) string {
		texts, _ := decodeTranslations(data, n)
		return strings.Join(texts, " ")
	}
}

// decodeTranslations reads {translated_text} (m2m100) or {translations: [...]}
// (indictrans2), expecting n texts.
func decodeTranslations(data []byte, n int) ([]string, error) {
	var r struct {
		TranslatedText *string  `json:"translated_text"`
		Translations   []string `json:"translations"`
	}
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode reply: %w (reply %.200s)", err, data)
	}
	var out []string
	switch {
	case r.TranslatedText != nil:
		out = []string{*r.TranslatedText}
	case r.Translations != nil:
		out = r.Translations
	default:
		return nil, fmt.Errorf("reply has no translation: %.200s", data)
	}
	if len(out) != n {
		return nil, fmt.Errorf("reply has %d translations for %d texts", len(out), n)
	}
	return out, nil
}
