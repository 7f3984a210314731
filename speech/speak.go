package speech

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gowai/gowai/llm"
)

// The text-to-speech models Speak knows.
const (
	Aura1   = "@cf/deepgram/aura-1"
	Aura2EN = "@cf/deepgram/aura-2-en"
	Aura2ES = "@cf/deepgram/aura-2-es"
	MeloTTS = "@cf/myshell-ai/melotts"
)

// DefaultMaxChars is the most text Speak sends in one request: 2000 characters, Deepgram's
// limit for its Aura voices.
const DefaultMaxChars = 2000

// Audio is spoken text.
type Audio struct {
	Data   []byte
	MIME   string    // sniffed from the bytes (AudioType); the reply's Content-Type when it sniffs as nothing
	Usage  llm.Usage // neurons billed, as for Transcript.Usage
	Pieces int       // requests made: more than 1 when the text was split
}

// SpeakOption configures Speak.
type SpeakOption func(*speakConfig)

type speakConfig struct {
	speaker    string
	encoding   string
	container  string
	sampleRate int
	bitRate    int
	lang       string
	maxChars   int
	modelOptions
}

const (
	optSpeaker    = "WithSpeaker"
	optEncoding   = "WithEncoding"
	optSampleRate = "WithSampleRate"
	optBitRate    = "WithBitRate"
	optLang       = "WithSpeechLanguage"
)

// WithSpeaker picks the voice ("luna", "asteria", ... for aura-1; see
// https://developers.cloudflare.com/workers-ai/models/). Aura models take it.
func WithSpeaker(name string) SpeakOption {
	return func(c *speakConfig) { c.use(optSpeaker); c.speaker = name }
}

// WithEncoding picks the audio encoding ("mp3", the default, "linear16", "flac",
// "mulaw", "alaw", "opus", "aac") and container ("wav", "ogg", "none"; "" for the
// encoding's own: WAV for linear16). Aura models take it. Only MP3 and linear16 in a WAV
// container can be joined when the text is split.
func WithEncoding(encoding, container string) SpeakOption {
	return func(c *speakConfig) { c.use(optEncoding); c.encoding, c.container = encoding, container }
}

// WithSampleRate sets the sample rate in hertz. Aura models take it.
func WithSampleRate(hz int) SpeakOption {
	return func(c *speakConfig) { c.use(optSampleRate); c.sampleRate = hz }
}

// WithBitRate sets the bit rate of compressed encodings, in bits per second. Aura models
// take it.
func WithBitRate(bps int) SpeakOption {
	return func(c *speakConfig) { c.use(optBitRate); c.bitRate = bps }
}

// WithSpeechLanguage sets the language to speak ("en", "es", "fr", "zh", "jp", "kr").
// melotts takes it.
func WithSpeechLanguage(lang string) SpeakOption {
	return func(c *speakConfig) { c.use(optLang); c.lang = lang }
}

// WithMaxChars sets the most characters sent in one request (default DefaultMaxChars).
func WithMaxChars(n int) SpeakOption { return func(c *speakConfig) { c.maxChars = n } }

var ttsOptions = map[string][]string{
	Aura1:   {optSpeaker, optEncoding, optSampleRate, optBitRate},
	Aura2EN: {optSpeaker, optEncoding, optSampleRate, optBitRate},
	Aura2ES: {optSpeaker, optEncoding, optSampleRate, optBitRate},
	MeloTTS: {optLang},
}

// SpeakModels returns the text-to-speech models Speak takes, sorted.
func SpeakModels() []string { return []string{Aura1, Aura2EN, Aura2ES, MeloTTS} }

var auraEncodings = []string{"mp3", "linear16", "flac", "mulaw", "alaw", "opus", "aac"}

// Speak reads text aloud with a text-to-speech model (Aura1, Aura2EN, Aura2ES, MeloTTS) and
// returns the audio with its MIME type sniffed from the bytes. Aura models answer raw
// audio; melotts answers {"audio": "<base64>"} or raw bytes, both read.
//
// Text longer than WithMaxChars is split at sentence ends (at spaces for a sentence longer
// than the limit) and the pieces are spoken one after the other, then joined: MP3 by
// concatenating the frames (MP3 frames stand alone; ID3 tags of later pieces are dropped),
// WAV by concatenating the samples under one rewritten header, since a WAV header states
// the length of the data that follows. Other encodings cannot be joined, so Speak refuses
// them for split text before sending anything, as it refuses options the model does not
// take and an empty text.
func Speak(ctx context.Context, c *llm.Client, model, text string, opts ...SpeakOption) (*Audio, error) {
	takes, ok := ttsOptions[model]
	if !ok {
		return nil, fmt.Errorf("speech: speak: %s is not a text-to-speech model this package knows; use one of %s", model, strings.Join(SpeakModels(), ", "))
	}
	cfg := speakConfig{maxChars: DefaultMaxChars}
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.refuse("speak", model, takes); err != nil {
		return nil, err
	}
	if cfg.encoding != "" && !slices.Contains(auraEncodings, cfg.encoding) {
		return nil, fmt.Errorf("speech: speak: encoding %q is not one of %s", cfg.encoding, strings.Join(auraEncodings, ", "))
	}
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("speech: speak: empty text")
	}
	if cfg.maxChars < 1 {
		return nil, fmt.Errorf("speech: speak: character limit %d is not positive", cfg.maxChars)
	}
	parts := splitSentences(text, cfg.maxChars)
	// linear16 comes in a WAV container unless "none" is asked for.
	joinable := cfg.encoding == "" || cfg.encoding == "mp3" || cfg.encoding == "linear16" && (cfg.container == "wav" || cfg.container == "")
	if len(parts) > 1 && !joinable {
		return nil, fmt.Errorf("speech: speak: the text needs %d requests of at most %d characters, and %s audio cannot be joined; use mp3 or linear16 in a wav container, or shorter text",
			len(parts), cfg.maxChars, strings.TrimSpace(cfg.encoding+" "+cfg.container))
	}
	info, _ := llm.LookupModel(model)
	out := &Audio{Pieces: len(parts)}
	var pieces [][]byte
	for i, p := range parts {
		data, mime, usage, err := speakOne(ctx, c, model, p, cfg, info)
		if err != nil {
			if len(parts) > 1 {
				return nil, fmt.Errorf("speech: speak %s: piece %d of %d: %w", model, i+1, len(parts), err)
			}
			return nil, fmt.Errorf("speech: speak %s: %w", model, err)
		}
		if i == 0 {
			out.MIME = mime
		} else if mime != out.MIME {
			return nil, fmt.Errorf("speech: speak %s: piece %d is %s, piece 1 %s: they cannot be joined", model, i+1, mime, out.MIME)
		}
		pieces = append(pieces, data)
		out.Usage = out.Usage.Add(usage)
	}
	joined, err := joinAudio(pieces, out.MIME)
	if err != nil {
		return nil, fmt.Errorf("speech: speak %s: %w", model, err)
	}
	out.Data = joined
	return out, nil
}

// speakOne speaks one piece of text.
func speakOne(ctx context.Context, c *llm.Client, model, text string, cfg speakConfig, info llm.ModelInfo) ([]byte, string, llm.Usage, error) {
	in := map[string]any{}
	if model == MeloTTS {
		in["prompt"] = text
		if cfg.lang != "" {
			in["lang"] = cfg.lang
		}
	} else {
		in["text"] = text
		if cfg.speaker != "" {
			in["speaker"] = cfg.speaker
		}
		if cfg.encoding != "" {
			in["encoding"] = cfg.encoding
		}
		if cfg.container != "" {
			in["container"] = cfg.container
		}
		if cfg.sampleRate > 0 {
			in["sample_rate"] = cfg.sampleRate
		}
		if cfg.bitRate > 0 {
			in["bit_rate"] = cfg.bitRate
		}
	}
	// Without a cf-ai-neurons header the piece is priced from the catalog: per thousand
	// characters of text (aura-1), or per minute of the audio spoken (melotts).
	var data []byte
	var audioErr error
	estimate := llm.WithNeuronEstimate(func(r *llm.TaskReply) float64 {
		if info.NeuronsPerKCharacters > 0 {
			return float64(utf8.RuneCountInString(text)) / 1000 * info.NeuronsPerKCharacters
		}
		if info.NeuronsPerAudioMinute == 0 {
			return 0
		}
		data, audioErr = replyAudio(r)
		return audioLength(data).Minutes() * info.NeuronsPerAudioMinute
	})
	reply, err := c.RunTask(ctx, model, in, nil, estimate)
	if err != nil {
		return nil, "", llm.Usage{}, err
	}
	if data == nil && audioErr == nil {
		data, audioErr = replyAudio(reply)
	}
	if audioErr != nil {
		return nil, "", llm.Usage{}, audioErr
	}
	mime := AudioType(data)
	if mime == "" {
		mime = reply.ContentType
	}
	return data, mime, reply.Usage, nil
}

// replyAudio is the audio of a text-to-speech reply: the body itself, or the base64
// "audio" of a JSON reply.
func replyAudio(reply *llm.TaskReply) ([]byte, error) {
	data := reply.Data
	if reply.JSON() {
		var r struct {
			Audio string `json:"audio"`
		}
		if err := json.Unmarshal(data, &r); err != nil || r.Audio == "" {
			return nil, fmt.Errorf("reply has no audio: %.200s", data)
		}
		b, err := base64.StdEncoding.DecodeString(r.Audio)
		if err != nil {
			return nil, fmt.Errorf("reply audio is not base64: %w", err)
		}
		data = b
	}
	if len(data) == 0 {
		return nil, errors.New("reply has no audio")
	}
	return data, nil
}

// audioLength is how long PCM WAV or MP3 audio lasts; 0 for other formats.
func audioLength(data []byte) time.Duration {
	switch AudioType(data) {
	case MIMEWAV:
		if w, ok := parseWAV(data); ok {
			return w.duration()
		}
	case MIMEMP3:
		if frames, ok := mp3Frames(data); ok {
			return mp3Duration(frames)
		}
	}
	return 0
}

// joinAudio makes one file of the pieces: MP3 frames concatenated (ID3v2 tags of later
// pieces dropped), WAV samples under one header.
func joinAudio(pieces [][]byte, mime string) ([]byte, error) {
	if len(pieces) == 1 {
		return pieces[0], nil
	}
	switch mime {
	case MIMEMP3:
		out := slices.Clone(pieces[0])
		for _, p := range pieces[1:] {
			out = append(out, stripID3(p)...)
		}
		return out, nil
	case MIMEWAV:
		first, ok := parseWAV(pieces[0])
		if !ok {
			return nil, errors.New("piece 1 is not PCM WAV")
		}
		var data []byte
		for i, p := range pieces {
			w, ok := parseWAV(p)
			if !ok || w.format != first.format || w.channels != first.channels || w.sampleRate != first.sampleRate || w.bitsPerSample != first.bitsPerSample {
				return nil, fmt.Errorf("piece %d is not WAV in the format of piece 1", i+1)
			}
			data = append(data, w.data...)
		}
		return first.encode(data), nil
	}
	return nil, fmt.Errorf("%s audio cannot be joined", mime)
}

// stripID3 drops a leading ID3v2 tag.
func stripID3(b []byte) []byte {
	if len(b) < 10 || !bytes.HasPrefix(b, []byte("ID3")) {
		return b
	}
	// The size is four 7-bit bytes; a footer adds 10 more.
	size := int(b[6]&0x7F)<<21 | int(b[7]&0x7F)<<14 | int(b[8]&0x7F)<<7 | int(b[9]&0x7F)
	end := 10 + size
	if b[5]&0x10 != 0 {
		end += 10
	}
	if end > len(b) {
		return b
	}
	return b[end:]
}

// splitSentences cuts text into pieces of at most limit characters, at sentence ends
// where it can, at spaces where a sentence is longer than limit, and inside a word only
// when a word is.
func splitSentences(text string, limit int) []string {
	text = strings.TrimSpace(text)
	if utf8.RuneCountInString(text) <= limit {
		return []string{text}
	}
	var sentences []string
	start := 0
	runes := []rune(text)
	for i, r := range runes {
		end := r == '.' || r == '!' || r == '?' || r == '\n' || r == '。'
		if end && (i+1 == len(runes) || unicode.IsSpace(runes[i+1]) || r == '。') {
			sentences = append(sentences, strings.TrimSpace(string(runes[start:i+1])))
			start = i + 1
		}
	}
	if s := strings.TrimSpace(string(runes[start:])); s != "" {
		sentences = append(sentences, s)
	}
	var out []string
	cur := ""
	add := func(s string) {
		switch {
		case s == "":
		case cur == "":
			cur = s
		case utf8.RuneCountInString(cur)+1+utf8.RuneCountInString(s) <= limit:
			cur += " " + s
		default:
			out = append(out, cur)
			cur = s
		}
	}
	for _, s := range sentences {
		if utf8.RuneCountInString(s) <= limit {
			add(s)
			continue
		}
		for _, w := range strings.Fields(s) {
			for utf8.RuneCountInString(w) > limit {
				r := []rune(w)
				add(string(r[:limit]))
				w = string(r[limit:])
			}
			add(w)
		}
	}
	if cur != "" {
		out = append(out, cur)
	}
	return out
}
