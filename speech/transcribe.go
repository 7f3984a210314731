package speech

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/gowai/gowai/internal/pace"
	"github.com/gowai/gowai/llm"
)

// The speech recognition models Transcribe knows.
const (
	Whisper             = "@cf/openai/whisper"
	WhisperTinyEN       = "@cf/openai/whisper-tiny-en"
	WhisperLargeV3Turbo = "@cf/openai/whisper-large-v3-turbo"
	Nova3               = "@cf/deepgram/nova-3"
)

// DefaultMaxPieceBytes is the most audio Transcribe sends in one request: 25 MiB, the
// upload limit of OpenAI's Whisper service (Workers AI publishes none). Longer WAV and MP3
// audio is split into pieces; other formats over it are refused before anything is sent.
const DefaultMaxPieceBytes = 25 << 20

// defaultConcurrency is how many pieces of one audio are transcribed at once.
const defaultConcurrency = 4

// Transcript is what a speech recognition model heard, in one shape for every model.
// Times are from the start of the audio, also when it was sent in pieces.
type Transcript struct {
	Text     string
	Language string        // as detected or asked for, when the model says (whisper-large-v3-turbo, nova-3)
	Duration time.Duration // of the audio, as the model or the WAV header says; 0 when unknown
	Segments []Segment     // whisper-large-v3-turbo; nil for models that return none
	Words    []Word        // every word with its times, when the model returns them
	VTT      string        // WebVTT subtitles, when the model returns them
	Usage    llm.Usage     // neurons billed (see Transcribe)
	Pieces   int           // requests made: more than 1 when the audio was split
}

// Segment is a stretch of speech with its text and words.
type Segment struct {
	Start, End time.Duration
	Text       string
	Words      []Word
}

// Word is one recognised word with its times. Confidence is 0 when the model gives none.
type Word struct {
	Word       string
	Start, End time.Duration
	Confidence float64
}

// Option configures Transcribe.
type Option func(*config)

type config struct {
	language      string
	translate     bool
	vad           *bool
	initialPrompt string
	smartFormat   *bool
	byteArray     bool
	maxPieceBytes int64
	pieceLen      time.Duration
	concurrency   int
	rpm           int
	modelOptions
}

// The names of the options some models refuse.
const (
	optLanguage      = "WithLanguage"
	optTranslate     = "WithTranslate"
	optVAD           = "WithVAD"
	optInitialPrompt = "WithInitialPrompt"
	optSmartFormat   = "WithSmartFormat"
	optByteArray     = "WithByteArray"
)

// WithLanguage says what language the audio is in, as an ISO 639-1 code ("en", "fr"),
// instead of letting the model detect it. whisper-large-v3-turbo and nova-3 take it.
func WithLanguage(code string) Option {
	return func(c *config) { c.use(optLanguage); c.language = code }
}

// WithTranslate asks for an English translation of what is said instead of a transcript
// in the spoken language (task "translate"). whisper-large-v3-turbo takes it.
func WithTranslate() Option { return func(c *config) { c.use(optTranslate); c.translate = true } }

// WithVAD turns voice-activity detection on or off, which drops silence before
// recognition (vad_filter). whisper-large-v3-turbo takes it.
func WithVAD(on bool) Option { return func(c *config) { c.use(optVAD); c.vad = &on } }

// WithInitialPrompt gives the model text to condition on: names, spellings, the
// previous sentence. whisper-large-v3-turbo takes it.
func WithInitialPrompt(s string) Option {
	return func(c *config) { c.use(optInitialPrompt); c.initialPrompt = s }
}

// WithSmartFormat asks for numbers, dates and punctuation formatted for reading
// (smart_format). nova-3 takes it.
func WithSmartFormat(on bool) Option {
	return func(c *config) { c.use(optSmartFormat); c.smartFormat = &on }
}

// WithByteArray sends the audio as JSON, {"audio": [byte values]}, instead of a raw body:
// for a relay that forwards only JSON bodies. The request is about four times the audio's
// size. whisper and whisper-tiny-en take it.
func WithByteArray() Option { return func(c *config) { c.use(optByteArray); c.byteArray = true } }

// WithMaxPieceBytes sets the most audio bytes sent in one request (default
// DefaultMaxPieceBytes).
func WithMaxPieceBytes(n int64) Option { return func(c *config) { c.maxPieceBytes = n } }

// WithPieceDuration splits audio longer than d into pieces of at most d: WAV at a pause
// near the limit, MP3 at a frame boundary (default: only as needed to stay under the byte
// limit). It has no effect on other formats.
func WithPieceDuration(d time.Duration) Option { return func(c *config) { c.pieceLen = d } }

// WithConcurrency sets how many pieces of a split audio are transcribed at once (default
// 4; at least 1).
func WithConcurrency(n int) Option { return func(c *config) { c.concurrency = n } }

// WithRequestsPerMinute spaces the requests of one Transcribe call so that no minute sees
// more than rpm of them (default: the model's limit in the catalog, 720 for speech
// recognition; https://developers.cloudflare.com/workers-ai/platform/limits/).
func WithRequestsPerMinute(rpm int) Option { return func(c *config) { c.rpm = rpm } }

// form is how a model takes audio on the wire.
type form int

const (
	formRaw       form = iota // the body is the audio, Content-Type its type
	formByteArray             // {"audio": [bytes as numbers]}
	formBase64                // {"audio": "<base64>", options...}
)

// asrModel is what Transcribe knows about a model.
type asrModel struct {
	form    form
	options []string // the options of the optional ones it takes
	query   bool     // options go in the URL query (nova-3)
}

// Both whisper models take the audio as a raw body or as {"audio": [bytes]}
// (https://developers.cloudflare.com/workers-ai/models/whisper/); they get the raw body, a
// quarter of the array's size, unless WithByteArray asks for the array.
var asrModels = map[string]asrModel{
	Whisper:             {form: formRaw, options: []string{optByteArray}},
	WhisperTinyEN:       {form: formRaw, options: []string{optByteArray}},
	WhisperLargeV3Turbo: {form: formBase64, options: []string{optLanguage, optTranslate, optVAD, optInitialPrompt}},
	Nova3:               {form: formRaw, options: []string{optLanguage, optSmartFormat}, query: true},
}

// TranscribeModels returns the speech recognition models Transcribe takes, sorted.
func TranscribeModels() []string { return slices.Sorted(maps.Keys(asrModels)) }

// Transcribe turns audio into text with a Workers AI speech recognition model (Whisper,
// WhisperTinyEN, WhisperLargeV3Turbo, Nova3), sending it in the form the model takes: a
// raw body with the audio's Content-Type (whisper, whisper-tiny-en, and nova-3, whose
// options go in the URL query), a JSON array of byte values (whisper models with
// WithByteArray), or base64 in JSON beside the options (whisper-large-v3-turbo).
//
// The audio type is sniffed from its bytes (WAV, MP3, OGG, FLAC, WebM, M4A); anything else
// is refused, as are an option the model does not take and audio over the byte limit that
// cannot be split, all before any request. Audio over the limit, or longer than
// WithPieceDuration, is split into pieces (PCM WAV at pauses near the limit, MP3 at frame
// boundaries; other formats are refused) that are transcribed concurrently
// (WithConcurrency, paced to the model's requests-per-minute limit) and joined in order:
// segment, word and subtitle times are shifted by each piece's start, so the Transcript
// reads as one.
//
// Usage.Neurons is what the service reported in the cf-ai-neurons header; for a piece
// without it, the catalog's price per audio minute is applied to the piece's length (or
// the duration the reply gives) when both are known, and Usage.NeuronsEstimated is set.
// Each request's usage is also reported to the function of llm.WithUsageFunc, so an agent
// running TranscribeTool counts it toward its usage and budget.
func Transcribe(ctx context.Context, c *llm.Client, model string, audio []byte, opts ...Option) (*Transcript, error) {
	spec, ok := asrModels[model]
	if !ok {
		return nil, fmt.Errorf("speech: transcribe: %s is not a speech recognition model this package knows; use one of %s", model, strings.Join(TranscribeModels(), ", "))
	}
	cfg := config{maxPieceBytes: DefaultMaxPieceBytes, concurrency: defaultConcurrency}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.refuse("transcribe", model, spec.options); err != nil {
		return nil, err
	}
	if cfg.maxPieceBytes <= 0 {
		return nil, fmt.Errorf("speech: transcribe: byte limit %d is not positive", cfg.maxPieceBytes)
	}
	if cfg.pieceLen < 0 {
		return nil, fmt.Errorf("speech: transcribe: piece duration %v is negative", cfg.pieceLen)
	}
	cfg.concurrency = max(cfg.concurrency, 1)
	mime, err := sniff(audio)
	if err != nil {
		return nil, fmt.Errorf("speech: transcribe: %w", err)
	}
	pieces, total, err := cfg.split(audio, mime)
	if err != nil {
		return nil, fmt.Errorf("speech: transcribe: %w", err)
	}
	info, _ := llm.LookupModel(model)
	rpm := cfg.rpm
	if rpm <= 0 {
		rpm = max(info.RequestsPerMinute, 1)
	}
	pacer := pace.New(rpm)
	parts := make([]*Transcript, len(pieces))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(cfg.concurrency)
	for i, p := range pieces {
		g.Go(func() error {
			if err := pacer.Wait(gctx); err != nil {
				return fmt.Errorf("speech: transcribe %s: %w", model, err)
			}
			t, err := transcribeOne(gctx, c, model, spec, cfg, p, info)
			if err != nil {
				if len(pieces) > 1 {
					return fmt.Errorf("speech: transcribe %s: piece %d of %d (from %v): %w", model, i+1, len(pieces), p.offset, err)
				}
				return fmt.Errorf("speech: transcribe %s: %w", model, err)
			}
			parts[i] = t
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	out := join(parts, pieces)
	if total > 0 {
		out.Duration = total
	}
	return out, nil
}

// split cuts audio into pieces the model can take.
func (cfg *config) split(audio []byte, mime string) (ps []piece, total time.Duration, err error) {
	if mime == MIMEWAV {
		if w, ok := parseWAV(audio); ok {
			total = w.duration()
			limit := cfg.pieceLen
			bytesPerSec := float64(w.sampleRate * w.frameSize())
			byLimit := time.Duration(float64(cfg.maxPieceBytes-44) / bytesPerSec * float64(time.Second))
			if byLimit <= 0 {
				return nil, 0, fmt.Errorf("%w: the byte limit %d holds no audio", ErrTooLarge, cfg.maxPieceBytes)
			}
			if limit == 0 || limit > byLimit {
				limit = byLimit
			}
			if int64(len(audio)) <= cfg.maxPieceBytes && total <= limit {
				return []piece{{audio: audio, mime: mime, length: total}}, total, nil
			}
			if len(w.data) == 0 {
				return nil, 0, fmt.Errorf("%w: %d bytes of WAV with no samples to split", ErrTooLarge, len(audio))
			}
			return splitWAV(w, limit), total, nil
		}
	}
	if mime == MIMEMP3 {
		if frames, ok := mp3Frames(audio); ok {
			total = mp3Duration(frames)
			if int64(len(audio)) <= cfg.maxPieceBytes && (cfg.pieceLen == 0 || total <= cfg.pieceLen) {
				return []piece{{audio: audio, mime: mime, length: total}}, total, nil
			}
			for _, f := range frames {
				if int64(f.end-f.start) > cfg.maxPieceBytes {
					return nil, 0, fmt.Errorf("%w: the byte limit %d is smaller than an MP3 frame", ErrTooLarge, cfg.maxPieceBytes)
				}
			}
			return splitMP3(frames, audio, cfg.maxPieceBytes, cfg.pieceLen), total, nil
		}
	}
	if int64(len(audio)) > cfg.maxPieceBytes {
		return nil, 0, fmt.Errorf("%w: %d bytes of %s, over the limit of %d; only PCM WAV and MP3 are split into pieces, so convert it or cut it first",
			ErrTooLarge, len(audio), mime, cfg.maxPieceBytes)
	}
	return []piece{{audio: audio, mime: mime}}, 0, nil
}

// transcribeOne sends one piece and decodes the reply.
func transcribeOne(ctx context.Context, c *llm.Client, model string, spec asrModel, cfg config, p piece, info llm.ModelInfo) (*Transcript, error) {
	var input any
	var query url.Values
	f := spec.form
	if cfg.byteArray {
		f = formByteArray
	}
	switch f {
	case formRaw:
		input = llm.Body{ContentType: p.mime, Data: p.audio}
		if spec.query {
			query = cfg.query()
		}
	case formByteArray:
		input = map[string]any{"audio": llm.ByteArray(p.audio)}
	case formBase64:
		in := map[string]any{"audio": base64.StdEncoding.EncodeToString(p.audio)}
		if cfg.translate {
			in["task"] = "translate"
		}
		if cfg.language != "" {
			in["language"] = cfg.language
		}
		if cfg.vad != nil {
			in["vad_filter"] = *cfg.vad
		}
		if cfg.initialPrompt != "" {
			in["initial_prompt"] = cfg.initialPrompt
		}
		input = in
	}
	// Without a cf-ai-neurons header the piece is priced per audio minute: its length as
	// the WAV or MP3 frames say, else the duration the reply gives.
	var t *Transcript
	var decodeErr error
	estimate := llm.WithNeuronEstimate(func(r *llm.TaskReply) float64 {
		length := p.length
		if length == 0 && r.JSON() {
			t, decodeErr = decodeTranscript(r.Data)
			if t != nil {
				length = t.Duration
			}
		}
		return length.Minutes() * info.NeuronsPerAudioMinute
	})
	reply, err := c.RunTask(ctx, model, input, query, estimate)
	if err != nil {
		return nil, err
	}
	if !reply.JSON() {
		return nil, fmt.Errorf("reply is %s, not JSON", reply.ContentType)
	}
	if t == nil && decodeErr == nil {
		t, decodeErr = decodeTranscript(reply.Data)
	}
	if decodeErr != nil {
		return nil, decodeErr
	}
	t.Usage = reply.Usage
	if cfg.language != "" && t.Language == "" {
		t.Language = cfg.language
	}
	return t, nil
}

// query is nova-3's options as URL parameters.
func (cfg config) query() url.Values {
	q := url.Values{}
	if cfg.language != "" {
		q.Set("language", cfg.language)
	}
	if cfg.smartFormat != nil {
		q.Set("smart_format", strconv.FormatBool(*cfg.smartFormat))
	}
	return q
}

// wireWord is a word in any model's reply; nova-3 adds confidence and punctuated_word.
type wireWord struct {
	Word           string   `json:"word"`
	PunctuatedWord string   `json:"punctuated_word"`
	Start          float64  `json:"start"`
	End            float64  `json:"end"`
	Confidence     *float64 `json:"confidence"`
}

// wireTranscript is every documented reply shape at once: whisper's {text, word_count,
// words, vtt}, whisper-large-v3-turbo's added {segments, transcription_info}, and nova-3's
// {results: {channels: [{alternatives: [{transcript, confidence, words}]}]}, metadata}.
type wireTranscript struct {
	Text     *string    `json:"text"`
	Words    []wireWord `json:"words"`
	VTT      string     `json:"vtt"`
	Segments []struct {
		Start float64    `json:"start"`
		End   float64    `json:"end"`
		Text  string     `json:"text"`
		Words []wireWord `json:"words"`
	} `json:"segments"`
	Info *struct {
		Language string  `json:"language"`
		Duration float64 `json:"duration"`
	} `json:"transcription_info"`
	Results *struct {
		Channels []struct {
			DetectedLanguage string `json:"detected_language"`
			Alternatives     []struct {
				Transcript string     `json:"transcript"`
				Words      []wireWord `json:"words"`
			} `json:"alternatives"`
		} `json:"channels"`
	} `json:"results"`
	Metadata *struct {
		Duration float64 `json:"duration"`
	} `json:"metadata"`
}

// decodeTranscript reads any model's reply into a Transcript. A reply without a
// transcript is an error, not an empty text passed on.
func decodeTranscript(data []byte) (*Transcript, error) {
	var w wireTranscript
	if err := json.Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("decode reply: %w (reply %.200s)", err, data)
	}
	t := &Transcript{Pieces: 1}
	switch {
	case w.Text != nil:
		t.Text = strings.TrimSpace(*w.Text)
		t.VTT = w.VTT
		t.Words = words(w.Words)
		for _, s := range w.Segments {
			seg := Segment{Start: seconds(s.Start), End: seconds(s.End), Text: strings.TrimSpace(s.Text), Words: words(s.Words)}
			t.Segments = append(t.Segments, seg)
			if len(w.Words) == 0 {
				t.Words = append(t.Words, seg.Words...)
			}
		}
		if w.Info != nil {
			t.Language = w.Info.Language
			t.Duration = seconds(w.Info.Duration)
		}
	case w.Results != nil && len(w.Results.Channels) > 0 && len(w.Results.Channels[0].Alternatives) > 0:
		ch := w.Results.Channels[0]
		alt := ch.Alternatives[0]
		t.Text = strings.TrimSpace(alt.Transcript)
		t.Words = words(alt.Words)
		t.Language = ch.DetectedLanguage
		if w.Metadata != nil {
			t.Duration = seconds(w.Metadata.Duration)
		}
	default:
		return nil, fmt.Errorf("reply has no transcript: %.200s", data)
	}
	return t, nil
}

func words(ws []wireWord) []Word {
	if len(ws) == 0 {
		return nil
	}
	out := make([]Word, len(ws))
	for i, w := range ws {
		text := w.Word
		if w.PunctuatedWord != "" {
			text = w.PunctuatedWord
		}
		out[i] = Word{Word: strings.TrimSpace(text), Start: seconds(w.Start), End: seconds(w.End)}
		if w.Confidence != nil {
			out[i].Confidence = *w.Confidence
		}
	}
	return out
}

// seconds converts the wire's seconds to a Duration, rounded to the microsecond.
func seconds(s float64) time.Duration {
	return time.Duration(math.Round(s*1e6)) * time.Microsecond
}

// join makes one Transcript of the pieces' transcripts, shifting their times by each
// piece's offset.
func join(parts []*Transcript, pieces []piece) *Transcript {
	if len(parts) == 1 {
		return parts[0]
	}
	out := &Transcript{Pieces: len(parts)}
	var texts, vtts []string
	for i, t := range parts {
		off := pieces[i].offset
		if t.Text != "" {
			texts = append(texts, t.Text)
		}
		if out.Language == "" {
			out.Language = t.Language
		}
		for _, s := range t.Segments {
			s.Start += off
			s.End += off
			s.Words = shiftWords(s.Words, off)
			out.Segments = append(out.Segments, s)
		}
		out.Words = append(out.Words, shiftWords(t.Words, off)...)
		if t.VTT != "" {
			vtts = append(vtts, shiftVTT(t.VTT, off, i > 0))
		}
		out.Usage = out.Usage.Add(t.Usage)
		end := off + pieces[i].length
		if pieces[i].length == 0 {
			end = off + t.Duration
		}
		out.Duration = max(out.Duration, end)
	}
	out.Text = strings.Join(texts, " ")
	out.VTT = strings.Join(vtts, "\n")
	return out
}

func shiftWords(ws []Word, off time.Duration) []Word {
	if len(ws) == 0 {
		return nil
	}
	out := slices.Clone(ws)
	for i := range out {
		out[i].Start += off
		out[i].End += off
	}
	return out
}

// shiftVTT moves every cue of a WebVTT text by off; dropHeader removes the WEBVTT line so
// that joined pieces have one header.
func shiftVTT(vtt string, off time.Duration, dropHeader bool) string {
	lines := strings.Split(strings.ReplaceAll(vtt, "\r\n", "\n"), "\n")
	out := lines[:0]
	for i, l := range lines {
		if dropHeader && i == 0 && strings.HasPrefix(l, "WEBVTT") {
			continue
		}
		if from, rest, ok := strings.Cut(l, " --> "); ok {
			to, settings, _ := strings.Cut(rest, " ")
			a, errA := parseVTTTime(strings.TrimSpace(from))
			b, errB := parseVTTTime(strings.TrimSpace(to))
			if errA == nil && errB == nil {
				l = formatVTTTime(a+off) + " --> " + formatVTTTime(b+off)
				if settings != "" {
					l += " " + settings
				}
			}
		}
		out = append(out, l)
	}
	return strings.TrimLeft(strings.Join(out, "\n"), "\n")
}

// parseVTTTime reads hh:mm:ss.ttt or mm:ss.ttt.
func parseVTTTime(s string) (time.Duration, error) {
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, errors.New("not a WebVTT time")
	}
	var d time.Duration
	for _, p := range parts[:len(parts)-1] {
		n, err := strconv.Atoi(p)
		if err != nil {
			return 0, err
		}
		d = d*60 + time.Duration(n)
	}
	sec, err := strconv.ParseFloat(parts[len(parts)-1], 64)
	if err != nil {
		return 0, err
	}
	return d*60*time.Second + seconds(sec), nil
}

func formatVTTTime(d time.Duration) string {
	ms := d.Milliseconds()
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}
