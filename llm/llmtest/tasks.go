package llmtest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"image"
	_ "image/gif"  // image sizes for object detection
	_ "image/jpeg" // image sizes for object detection
	"math"
	"mime"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gowai/gowai/llm"
)

// task answers the Workers AI tasks beyond chat, embeddings, reranking and images:
// speech recognition, text-to-speech, translation, summarisation, text classification,
// image classification and object detection, each in the service's wire form. The answers
// are deterministic and say they come from the test model: a transcript derived from the
// audio's length, a translation that names its target language, boxes inside the image.
// ok is false for a task the emulator does not answer.
func (s *Server) task(ex *exchange, info llm.ModelInfo) (out output, ok bool) {
	switch info.Task {
	case llm.TaskSpeechRecognition:
		return s.transcribe(ex, info), true
	case llm.TaskTextToSpeech:
		return s.speak(ex, info), true
	case llm.TaskTranslation:
		return s.translate(ex, info), true
	case llm.TaskSummarization:
		return s.summarize(ex, info), true
	case llm.TaskTextClassification:
		return s.classifyText(ex, info), true
	case llm.TaskImageClassification, llm.TaskObjectDetection:
		return s.analyzeImage(ex, info), true
	}
	if ex.model == llamaGuard {
		return s.moderate(ex), true
	}
	return output{}, false
}

// llamaGuard is the safety classifier; the catalog files it under text generation.
const llamaGuard = "@cf/meta/llama-guard-3-8b"

func badInput(ex *exchange, msg string) output {
	return aiError(ex, http.StatusBadRequest, 5006, "Bad input: "+msg)
}

// withNeurons sets the cf-ai-neurons header the service sends on every inference reply.
func withNeurons(out output, n float64) output {
	out.header.Set("cf-ai-neurons", formatNeurons(n))
	return out
}

// requestMediaType is the request's Content-Type without parameters.
func requestMediaType(ex *exchange) string {
	mt, _, err := mime.ParseMediaType(ex.r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// transcribe answers speech recognition. whisper and whisper-tiny-en take a raw audio body
// or {"audio": [bytes]}; whisper-large-v3-turbo takes {"audio": "<base64>", task?,
// language?, vad_filter?, initial_prompt?}; nova-3 takes a raw body with an audio
// Content-Type and its options in the query. The transcript names the audio's length and
// its words are spread evenly over it.
func (s *Server) transcribe(ex *exchange, info llm.ModelInfo) output {
	isJSON := requestMediaType(ex) == "application/json"
	var audio []byte
	var opts struct {
		Audio         json.RawMessage `json:"audio"`
		Task          string          `json:"task"`
		Language      string          `json:"language"`
		VADFilter     *bool           `json:"vad_filter"`
		InitialPrompt string          `json:"initial_prompt"`
	}
	switch ex.model {
	case "@cf/openai/whisper-large-v3-turbo":
		if !isJSON {
			return badInput(ex, "required properties at '/' are 'audio'")
		}
		if err := json.Unmarshal(ex.body, &opts); err != nil {
			return badInput(ex, err.Error())
		}
		var b64 string
		if err := json.Unmarshal(opts.Audio, &b64); err != nil {
			return badInput(ex, "Type mismatch of '/audio', 'array' not in 'string'")
		}
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			return badInput(ex, "audio is not base64")
		}
		audio = b
		if opts.Task != "" && opts.Task != "transcribe" && opts.Task != "translate" {
			return badInput(ex, "task must be 'transcribe' or 'translate'")
		}
	case "@cf/deepgram/nova-3":
		if isJSON || !strings.HasPrefix(requestMediaType(ex), "audio/") {
			return badInput(ex, "nova-3 takes the audio as the request body with an audio/* Content-Type")
		}
		audio = ex.body
		opts.Language = ex.r.URL.Query().Get("language")
	default: // whisper, whisper-tiny-en
		if isJSON {
			var in struct {
				Audio json.RawMessage `json:"audio"`
			}
			if err := json.Unmarshal(ex.body, &in); err != nil || len(in.Audio) == 0 {
				return badInput(ex, "required properties at '/' are 'audio'")
			}
			var vals []int
			if err := json.Unmarshal(in.Audio, &vals); err != nil {
				return badInput(ex, "Type mismatch of '/audio', 'string' not in 'array'")
			}
			b, err := imageBytes(in.Audio)
			if err != nil {
				return badInput(ex, "audio "+err.Error())
			}
			audio = b
		} else {
			audio = ex.body
		}
	}
	secs, ok := audioSeconds(audio)
	if !ok {
		return aiError(ex, http.StatusBadRequest, 5006, "Bad input: the audio could not be decoded")
	}
	lang := cmpOr(opts.Language, "en")
	text := fmt.Sprintf("test model heard %.1f seconds of audio", secs)
	if opts.Task == "translate" {
		text = "(translated to English) " + text
		lang = "en"
	}
	fields := strings.Fields(text)
	type word struct {
		Word       string   `json:"word"`
		Start      float64  `json:"start"`
		End        float64  `json:"end"`
		Confidence *float64 `json:"confidence,omitempty"`
	}
	ws := make([]word, len(fields))
	step := secs / float64(len(fields))
	conf := 0.99
	for i, f := range fields {
		ws[i] = word{Word: f, Start: round3(float64(i) * step), End: round3(float64(i+1) * step)}
		if ex.model == "@cf/deepgram/nova-3" {
			ws[i].Confidence = &conf
		}
	}
	vtt := fmt.Sprintf("WEBVTT\n\n%s --> %s\n%s\n", vttTime(0), vttTime(secs), text)
	var result any
	switch ex.model {
	case "@cf/deepgram/nova-3":
		result = map[string]any{
			"results": map[string]any{"channels": []any{map[string]any{
				"detected_language": lang,
				"alternatives":      []any{map[string]any{"transcript": text, "confidence": conf, "words": ws}},
			}}},
			"metadata": map[string]any{"duration": round3(secs), "channels": 1, "request_id": ex.reqID},
		}
	case "@cf/openai/whisper-large-v3-turbo":
		result = map[string]any{
			"text": text, "word_count": len(ws), "vtt": vtt,
			"segments": []any{map[string]any{
				"start": 0, "end": round3(secs), "text": text, "temperature": 0, "avg_logprob": -0.1,
				"compression_ratio": 1.2, "no_speech_prob": 0.01, "words": ws,
			}},
			"transcription_info": map[string]any{
				"language": lang, "language_probability": 0.99, "duration": round3(secs), "duration_after_vad": round3(secs),
			},
		}
	default:
		result = map[string]any{"text": text, "word_count": len(ws), "words": ws, "vtt": vtt}
	}
	return withNeurons(envelope(http.StatusOK, result), secs/60*info.NeuronsPerAudioMinute)
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

func vttTime(secs float64) string {
	ms := int64(math.Round(secs * 1000))
	return fmt.Sprintf("%02d:%02d:%02d.%03d", ms/3600000, ms/60000%60, ms/1000%60, ms%1000)
}

// audioSeconds is the length of audio: exact for PCM WAV, else estimated at 128 kbit/s.
// ok is false when the bytes are no audio format the service decodes.
func audioSeconds(b []byte) (float64, bool) {
	if len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE" {
		var byteRate int
		for p := 12; p+8 <= len(b); {
			id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
			body := b[p+8:]
			if size > len(body) || size < 0 {
				size = len(body)
			}
			switch id {
			case "fmt ":
				if size >= 16 {
					byteRate = int(binary.LittleEndian.Uint32(body[8:12]))
				}
			case "data":
				if byteRate <= 0 {
					return 0, false
				}
				return float64(size) / float64(byteRate), true
			}
			p += 8 + size + size%2
		}
		return 0, false
	}
	switch {
	case bytes.HasPrefix(b, []byte("ID3")), len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0,
		bytes.HasPrefix(b, []byte("OggS")), bytes.HasPrefix(b, []byte("fLaC")),
		bytes.HasPrefix(b, []byte{0x1A, 0x45, 0xDF, 0xA3}), len(b) >= 12 && string(b[4:8]) == "ftyp":
		return float64(len(b)) / 16000, true
	}
	return 0, false
}

// speak answers text-to-speech. aura models take {text, speaker?, encoding?, container?,
// sample_rate?, bit_rate?} and answer raw audio in the encoding asked for: MP3 frames by
// default; for linear16, mulaw and alaw a WAV file, or the bare samples with container
// "none"; for flac, opus (in OGG) and aac, bytes that start as those formats do but hold
// silence no player decodes. melotts takes {prompt, lang?} and answers
// {"audio": "<base64 MP3>"}. The audio lasts 60 ms per character of text, so a longer
// text gives longer audio.
func (s *Server) speak(ex *exchange, info llm.ModelInfo) output {
	var in struct {
		Text       *string `json:"text"`
		Prompt     *string `json:"prompt"`
		Speaker    string  `json:"speaker"`
		Encoding   string  `json:"encoding"`
		Container  string  `json:"container"`
		SampleRate int     `json:"sample_rate"`
	}
	if err := json.Unmarshal(ex.body, &in); err != nil {
		return badInput(ex, err.Error())
	}
	melo := ex.model == "@cf/myshell-ai/melotts"
	text := in.Text
	field := "text"
	if melo {
		text, field = in.Prompt, "prompt"
	}
	if text == nil || strings.TrimSpace(*text) == "" {
		return badInput(ex, "required properties at '/' are '"+field+"'")
	}
	secs := 0.06 * float64(utf8.RuneCountInString(*text))
	neurons := float64(utf8.RuneCountInString(*text)) / 1000 * info.NeuronsPerKCharacters
	if info.NeuronsPerAudioMinute > 0 {
		neurons = secs / 60 * info.NeuronsPerAudioMinute
	}
	if melo {
		out := envelope(http.StatusOK, map[string]string{"audio": base64.StdEncoding.EncodeToString(mp3Silence(secs))})
		return withNeurons(out, neurons)
	}
	var body []byte
	ct := "audio/mpeg"
	rate := in.SampleRate
	switch in.Encoding {
	case "", "mp3":
		body = mp3Silence(secs)
	case "linear16":
		if rate <= 0 {
			rate = 24000
		}
		body = wavTone(secs, rate, *text)
		ct = "audio/wav"
		if in.Container == "none" {
			body, ct = body[44:], "audio/l16"
		}
	case "mulaw", "alaw":
		if rate <= 0 {
			rate = 8000
		}
		// WAVE_FORMAT_MULAW is 7, WAVE_FORMAT_ALAW 6; one byte a sample. 0xFF and 0xD5 are
		// their silence.
		format, quiet, mt := uint16(7), byte(0xFF), "audio/basic"
		if in.Encoding == "alaw" {
			format, quiet, mt = 6, 0xD5, "audio/x-alaw-basic"
		}
		samples := bytes.Repeat([]byte{quiet}, int(secs*float64(rate)))
		body, ct = append(wavHeader(format, rate, 8, len(samples)), samples...), "audio/wav"
		if in.Container == "none" {
			body, ct = samples, mt
		}
	case "flac":
		body, ct = append([]byte("fLaC"), make([]byte, int(secs*1000))...), "audio/flac"
	case "opus":
		body, ct = append([]byte("OggS\x00\x02"), make([]byte, int(secs*1000))...), "audio/ogg"
	case "aac":
		body, ct = append([]byte{0xFF, 0xF1, 0x50, 0x80}, make([]byte, int(secs*1000))...), "audio/aac"
	default:
		return badInput(ex, "encoding must be one of mp3, linear16, mulaw, alaw, flac, opus, aac")
	}
	out := output{status: http.StatusOK, header: http.Header{"Content-Type": {ct}, "cf-ai-req-id": {ex.reqID}}, body: body}
	return withNeurons(out, neurons)
}

// mp3Silence is secs of MPEG-1 layer III frames (128 kbit/s, 44.1 kHz) with empty payloads:
// enough for a player or a sniffer to take it as MP3.
func mp3Silence(secs float64) []byte {
	const frameLen = 417                              // 144 * 128000 / 44100
	frames := max(int(math.Ceil(secs*44100/1152)), 1) // 1152 samples a frame
	out := make([]byte, 0, frames*frameLen)
	for range frames {
		f := make([]byte, frameLen)
		f[0], f[1], f[2], f[3] = 0xFF, 0xFB, 0x90, 0x64
		out = append(out, f...)
	}
	return out
}

// wavTone is a 16-bit mono WAV of secs at rate whose samples depend on seed.
func wavTone(secs float64, rate int, seed string) []byte {
	n := int(secs * float64(rate))
	h := fnv.New32a()
	h.Write([]byte(seed))
	freq := 200 + float64(h.Sum32()%400)
	data := make([]byte, 2*n)
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	return append(wavHeader(1, rate, 16, len(data)), data...)
}

// wavHeader is the 44-byte header of a mono WAV file of n bytes of samples in format (1
// PCM, 6 A-law, 7 µ-law).
func wavHeader(format uint16, rate, bits, n int) []byte {
	frame := bits / 8
	hdr := make([]byte, 44)
	copy(hdr, "RIFF")
	binary.LittleEndian.PutUint32(hdr[4:], uint32(36+n))
	copy(hdr[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(hdr[16:], 16)
	binary.LittleEndian.PutUint16(hdr[20:], format)
	binary.LittleEndian.PutUint16(hdr[22:], 1)
	binary.LittleEndian.PutUint32(hdr[24:], uint32(rate))
	binary.LittleEndian.PutUint32(hdr[28:], uint32(frame*rate))
	binary.LittleEndian.PutUint16(hdr[32:], uint16(frame))
	binary.LittleEndian.PutUint16(hdr[34:], uint16(bits))
	copy(hdr[36:], "data")
	binary.LittleEndian.PutUint32(hdr[40:], uint32(n))
	return hdr
}

// m2m100Languages are the languages m2m100-1.2b's model page lists, by name, with their
// ISO 639-1 codes, which it also takes.
var m2m100Languages = map[string]string{
	"english": "en", "chinese": "zh", "french": "fr", "spanish": "es", "arabic": "ar",
	"russian": "ru", "german": "de", "japanese": "ja", "portuguese": "pt", "hindi": "hi",
}

// m2m100Code returns the code of a language given by name or code.
func m2m100Code(lang string) (string, bool) {
	l := strings.ToLower(strings.TrimSpace(lang))
	if c, ok := m2m100Languages[l]; ok {
		return c, true
	}
	for _, c := range m2m100Languages {
		if c == l {
			return c, true
		}
	}
	return "", false
}

// translate answers m2m100 ({text, target_lang, source_lang?} in, {translated_text} out)
// and indictrans2 ({text: string or [string], target_language} in, {translations} out).
// The translation is the text behind its target language in brackets: "[fr] Hello".
func (s *Server) translate(ex *exchange, info llm.ModelInfo) output {
	if ex.model == "@cf/ai4bharat/indictrans2-en-indic-1B" {
		var in struct {
			Text   json.RawMessage `json:"text"`
			Target string          `json:"target_language"`
		}
		if err := json.Unmarshal(ex.body, &in); err != nil {
			return badInput(ex, err.Error())
		}
		var texts []string
		var one string
		if json.Unmarshal(in.Text, &one) == nil {
			texts = []string{one}
		} else if json.Unmarshal(in.Text, &texts) != nil || len(texts) == 0 {
			return badInput(ex, "required properties at '/' are 'text' (a string or an array of strings)")
		}
		if !slices.Contains(indicLanguages, in.Target) {
			return badInput(ex, "target_language must be one of "+strings.Join(indicLanguages, ", "))
		}
		out := make([]string, len(texts))
		tokens := 0
		for i, t := range texts {
			out[i] = "[" + in.Target + "] " + t
			tokens += estimateTokens(len(t))
		}
		return withNeurons(envelope(http.StatusOK, map[string][]string{"translations": out}),
			float64(2*tokens)*info.NeuronsPerMInput/1e6)
	}
	var in struct {
		Text   *string `json:"text"`
		Target string  `json:"target_lang"`
		Source string  `json:"source_lang"`
	}
	if err := json.Unmarshal(ex.body, &in); err != nil {
		return badInput(ex, err.Error())
	}
	if in.Text == nil {
		return badInput(ex, "required properties at '/' are 'text'")
	}
	if in.Target == "" {
		return badInput(ex, "required properties at '/' are 'target_lang'")
	}
	code, ok := m2m100Code(in.Target)
	if !ok {
		return badInput(ex, fmt.Sprintf("target_lang %q is not a language the model translates", in.Target))
	}
	if in.Source != "" {
		if _, ok := m2m100Code(in.Source); !ok {
			return badInput(ex, fmt.Sprintf("source_lang %q is not a language the model translates", in.Source))
		}
	}
	text := "[" + code + "] " + *in.Text
	tokens := estimateTokens(len(*in.Text))
	return withNeurons(envelope(http.StatusOK, map[string]string{"translated_text": text}),
		float64(2*tokens)*info.NeuronsPerMInput/1e6)
}

// indicLanguages are the target languages of indictrans2-en-indic-1B.
var indicLanguages = []string{
	"asm_Beng", "awa_Deva", "ben_Beng", "bho_Deva", "brx_Deva", "doi_Deva", "eng_Latn", "gom_Deva", "gon_Deva",
	"guj_Gujr", "hin_Deva", "hne_Deva", "kan_Knda", "kas_Arab", "kas_Deva", "kha_Latn", "lus_Latn", "mag_Deva",
	"mai_Deva", "mal_Mlym", "mar_Deva", "mni_Beng", "mni_Mtei", "npi_Deva", "ory_Orya", "pan_Guru", "san_Deva",
	"sat_Olck", "snd_Arab", "snd_Deva", "tam_Taml", "tel_Telu", "urd_Arab", "unr_Deva",
}

// summarize answers bart-large-cnn: {input_text, max_length?} in, {summary} out. The
// summary is the first sentence, cut to max_length words.
func (s *Server) summarize(ex *exchange, info llm.ModelInfo) output {
	var in struct {
		Text      *string `json:"input_text"`
		MaxLength *int    `json:"max_length"`
	}
	if err := json.Unmarshal(ex.body, &in); err != nil {
		return badInput(ex, err.Error())
	}
	if in.Text == nil || *in.Text == "" {
		return badInput(ex, "required properties at '/' are 'input_text'")
	}
	limit := 1024
	if in.MaxLength != nil {
		if *in.MaxLength < 1 {
			return badInput(ex, "minimum at '/max_length' not met")
		}
		limit = *in.MaxLength
	}
	first := *in.Text
	if i := strings.IndexAny(first, ".!?"); i >= 0 {
		first = first[:i+1]
	}
	ws := strings.Fields(first)
	if len(ws) > limit {
		ws = ws[:limit]
	}
	return withNeurons(envelope(http.StatusOK, map[string]string{"summary": "test model summary: " + strings.Join(ws, " ")}), 0)
}

// sentimentWords score a text for the emulated distilbert.
var positiveWords, negativeWords = wordSet("good great love excellent happy nice wonderful best like enjoy fine"),
	wordSet("bad terrible hate awful sad poor worst horrible dislike broken wrong")

// classifyText answers distilbert-sst-2: {text} in, a bare array [{label, score}] of both
// labels out, NEGATIVE first as the service sends them. The score follows the count of
// positive and negative words.
func (s *Server) classifyText(ex *exchange, info llm.ModelInfo) output {
	var in struct {
		Text *string `json:"text"`
	}
	if err := json.Unmarshal(ex.body, &in); err != nil {
		return badInput(ex, err.Error())
	}
	if in.Text == nil {
		return badInput(ex, "required properties at '/' are 'text'")
	}
	diff := 0
	for w := range wordSet(*in.Text) {
		if positiveWords[w] {
			diff++
		}
		if negativeWords[w] {
			diff--
		}
	}
	pos := round3(1 / (1 + math.Exp(-2*float64(diff)-0.1)))
	type label struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
	}
	out := []label{{"NEGATIVE", round3(1 - pos)}, {"POSITIVE", pos}}
	return withNeurons(envelope(http.StatusOK, out), float64(estimateTokens(len(*in.Text)))*info.NeuronsPerMInput/1e6)
}

// imageLabels are what the emulated image models see.
var imageLabels = []string{"tabby cat", "golden retriever", "teapot", "bicycle", "pizza", "laptop", "sailboat", "banana"}

// analyzeImage answers resnet-50 ({image: [bytes]} in, the top five [{label, score}] out)
// and detr-resnet-50 ({image: [bytes]} in, [{label, score, box: {xmin, ymin, xmax, ymax}}]
// out, boxes in pixels inside the image). Labels and boxes follow the image's bytes.
func (s *Server) analyzeImage(ex *exchange, info llm.ModelInfo) output {
	var in struct {
		Image json.RawMessage `json:"image"`
	}
	if err := json.Unmarshal(ex.body, &in); err != nil || len(in.Image) == 0 || string(in.Image) == "null" {
		return badInput(ex, "required properties at '/' are 'image'")
	}
	img, err := imageBytes(in.Image)
	if err != nil {
		return badInput(ex, "image "+err.Error())
	}
	w, ht, ok := imageSize(img)
	if !ok {
		return aiError(ex, http.StatusBadRequest, 5006, "Bad input: the image could not be decoded")
	}
	h := fnv.New32a()
	h.Write(img)
	seed := int(h.Sum32() % uint32(len(imageLabels)))
	type label struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
	}
	if info.Task == llm.TaskImageClassification {
		out := make([]label, 5)
		rest := 1.0
		for i := range out {
			sc := round3(rest * 0.6)
			out[i] = label{imageLabels[(seed+i)%len(imageLabels)], sc}
			rest -= sc
		}
		return withNeurons(envelope(http.StatusOK, out), info.NeuronsPerMInput/1e6)
	}
	type box struct {
		XMin int `json:"xmin"`
		YMin int `json:"ymin"`
		XMax int `json:"xmax"`
		YMax int `json:"ymax"`
	}
	type object struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
		Box   box     `json:"box"`
	}
	out := []object{
		{imageLabels[seed], 0.98, box{0, 0, max(w/2, 1), max(ht/2, 1)}},
		{imageLabels[(seed+1)%len(imageLabels)], 0.87, box{w / 4, ht / 4, w, ht}},
	}
	return withNeurons(envelope(http.StatusOK, out), 0)
}

// imageSize is the width and height of a PNG, JPEG, GIF or WebP image. ok is false for
// other bytes.
func imageSize(b []byte) (w, h int, ok bool) {
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(b)); err == nil {
		return cfg.Width, cfg.Height, true
	}
	return webpSize(b)
}

// webpSize reads the size of a WebP image from its first chunk: VP8X (extended), VP8
// (lossy) or VP8L (lossless).
func webpSize(b []byte) (w, h int, ok bool) {
	if len(b) < 30 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WEBP" {
		return 0, 0, false
	}
	le24 := func(p []byte) int { return int(p[0]) | int(p[1])<<8 | int(p[2])<<16 }
	switch string(b[12:16]) {
	case "VP8X":
		return le24(b[24:]) + 1, le24(b[27:]) + 1, true
	case "VP8 ":
		if b[23] != 0x9D || b[24] != 0x01 || b[25] != 0x2A {
			return 0, 0, false
		}
		return int(binary.LittleEndian.Uint16(b[26:])) & 0x3FFF, int(binary.LittleEndian.Uint16(b[28:])) & 0x3FFF, true
	case "VP8L":
		if b[20] != 0x2F {
			return 0, 0, false
		}
		bits := binary.LittleEndian.Uint32(b[21:])
		return int(bits&0x3FFF) + 1, int(bits>>14&0x3FFF) + 1, true
	}
	return 0, 0, false
}

// guardCategories map trigger words to Llama Guard 3's hazard categories.
var guardCategories = []struct{ word, category string }{
	{"kill", "S1"}, {"bomb", "S9"}, {"steal", "S2"}, {"hack", "S14"}, {"hate", "S10"}, {"suicide", "S11"},
}

// moderate answers llama-guard-3-8b: {messages, response_format?} in; {response: "safe"} or
// {response: "unsafe\nS1,S9"} out, or with response_format {type: "json_object"},
// {response: {safe, categories}}. A message is unsafe when it has one of a few trigger
// words (kill, bomb, steal, hack, hate, suicide).
func (s *Server) moderate(ex *exchange) output {
	var in struct {
		Messages []struct {
			Role    string `json:"role"`
			Content string `json:"content"`
		} `json:"messages"`
		ResponseFormat *struct {
			Type string `json:"type"`
		} `json:"response_format"`
	}
	if err := json.Unmarshal(ex.body, &in); err != nil {
		return badInput(ex, err.Error())
	}
	if len(in.Messages) == 0 {
		return badInput(ex, "required properties at '/' are 'messages'")
	}
	var cats []string
	tokens := 0
	for _, m := range in.Messages {
		if m.Role != "user" && m.Role != "assistant" {
			return badInput(ex, "messages[].role must be 'user' or 'assistant'")
		}
		tokens += estimateTokens(len(m.Content))
		ws := wordSet(m.Content)
		for _, g := range guardCategories {
			if ws[g.word] && !slices.Contains(cats, g.category) {
				cats = append(cats, g.category)
			}
		}
	}
	usage := map[string]int{"prompt_tokens": tokens, "completion_tokens": 4, "total_tokens": tokens + 4}
	neurons := neuronsFor(ex.model, llm.Usage{PromptTokens: tokens, CompletionTokens: 4})
	if in.ResponseFormat != nil && in.ResponseFormat.Type == "json_object" {
		return withNeurons(envelope(http.StatusOK, map[string]any{
			"response": map[string]any{"safe": len(cats) == 0, "categories": append([]string{}, cats...)},
			"usage":    usage,
		}), neurons)
	}
	verdict := "safe"
	if len(cats) > 0 {
		verdict = "unsafe\n" + strings.Join(cats, ",")
	}
	return withNeurons(envelope(http.StatusOK, map[string]any{"response": verdict, "usage": usage}), neurons)
}
