package speech_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/speech"
)

// TestTranscribeRequestForms checks the exact request each model gets: a raw body with
// the audio's Content-Type (whisper; nova-3 with its options in the query), a JSON byte
// array (whisper-tiny-en) and base64 beside the options (whisper-large-v3-turbo).
func TestTranscribeRequestForms(t *testing.T) {
	audio := speechWAV(2*time.Second, 8000, 0, 0)
	ctx := context.Background()

	t.Run("whisper raw body", func(t *testing.T) {
		srv, c := newServer(t, nil)
		if _, err := speech.Transcribe(ctx, c, speech.Whisper, audio); err != nil {
			t.Fatal(err)
		}
		r := srv.Requests()[0]
		if !strings.HasSuffix(r.Path, "/ai/run/@cf/openai/whisper") || r.Header.Get("Content-Type") != "audio/wav" || !bytes.Equal(r.Body, audio) {
			t.Errorf("request %s %q, %d bytes; want the WAV as the body with Content-Type audio/wav", r.Path, r.Header.Get("Content-Type"), len(r.Body))
		}
	})
	t.Run("whisper-tiny-en raw body", func(t *testing.T) {
		srv, c := newServer(t, nil)
		if _, err := speech.Transcribe(ctx, c, speech.WhisperTinyEN, audio); err != nil {
			t.Fatal(err)
		}
		if r := srv.Requests()[0]; r.Header.Get("Content-Type") != "audio/wav" || !bytes.Equal(r.Body, audio) {
			t.Errorf("Content-Type %q, %d bytes; want the WAV as the body", r.Header.Get("Content-Type"), len(r.Body))
		}
	})
	t.Run("whisper-tiny-en byte array", func(t *testing.T) {
		srv, c := newServer(t, nil)
		if _, err := speech.Transcribe(ctx, c, speech.WhisperTinyEN, audio, speech.WithByteArray()); err != nil {
			t.Fatal(err)
		}
		r := srv.Requests()[0]
		var in struct {
			Audio []int `json:"audio"`
		}
		if err := json.Unmarshal(r.Body, &in); err != nil || r.Header.Get("Content-Type") != "application/json" {
			t.Fatalf("body %.60s (%s): %v", r.Body, r.Header.Get("Content-Type"), err)
		}
		got := make([]byte, len(in.Audio))
		for i, v := range in.Audio {
			got[i] = byte(v)
		}
		if !bytes.Equal(got, audio) || !bytes.HasPrefix(r.Body, []byte(`{"audio":[82,73,70,70,`)) {
			t.Errorf("audio array does not hold the WAV: %.60s", r.Body)
		}
	})
	t.Run("whisper-large-v3-turbo base64 and options", func(t *testing.T) {
		srv, c := newServer(t, nil)
		_, err := speech.Transcribe(ctx, c, speech.WhisperLargeV3Turbo, audio,
			speech.WithLanguage("fr"), speech.WithTranslate(), speech.WithVAD(true), speech.WithInitialPrompt("Gowai"))
		if err != nil {
			t.Fatal(err)
		}
		var in map[string]any
		if err := json.Unmarshal(srv.Requests()[0].Body, &in); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"audio": base64.StdEncoding.EncodeToString(audio), "language": "fr", "task": "translate", "vad_filter": true, "initial_prompt": "Gowai"}
		if len(in) != len(want) {
			t.Errorf("body has %d fields, want %d: %v", len(in), len(want), keys(in))
		}
		for k, v := range want {
			if in[k] != v {
				t.Errorf("%s = %.40v, want %.40v", k, in[k], v)
			}
		}
	})
	t.Run("nova-3 raw body and query", func(t *testing.T) {
		srv, c := newServer(t, nil)
		mp3 := append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0xFF, 0xFB, 0x90, 0x64}, 4000)...)
		if _, err := speech.Transcribe(ctx, c, speech.Nova3, mp3, speech.WithLanguage("en"), speech.WithSmartFormat(true)); err != nil {
			t.Fatal(err)
		}
		r := srv.Requests()[0]
		if r.Header.Get("Content-Type") != "audio/mpeg" || !bytes.Equal(r.Body, mp3) {
			t.Errorf("Content-Type %q, %d bytes; want the MP3 as the body", r.Header.Get("Content-Type"), len(r.Body))
		}
		// Requests records the path; the query is checked through a Handler.
	})
	t.Run("nova-3 query", func(t *testing.T) {
		var query string
		srv := llmtest.NewServer(nil)
		defer srv.Close()
		c, err := llm.NewClient(llm.WithBaseURL(srv.URL()), llm.WithAccount("acct", "tok"),
			llm.WithHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
				query = r.URL.RawQuery
				return http.DefaultTransport.RoundTrip(r)
			})}))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := speech.Transcribe(ctx, c, speech.Nova3, audio, speech.WithLanguage("en"), speech.WithSmartFormat(true)); err != nil {
			t.Fatal(err)
		}
		if query != "language=en&smart_format=true" {
			t.Errorf("query %q, want language=en&smart_format=true", query)
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func keys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// TestTranscribeDecodesEveryShape reads each model's reply into the one Transcript.
func TestTranscribeDecodesEveryShape(t *testing.T) {
	audio := speechWAV(4*time.Second, 8000, 0, 0)
	ctx := context.Background()
	_, c := newServer(t, nil)
	for _, model := range speech.TranscribeModels() {
		t.Run(model, func(t *testing.T) {
			tr, err := speech.Transcribe(ctx, c, model, audio)
			if err != nil {
				t.Fatal(err)
			}
			if tr.Text != "test model heard 4.0 seconds of audio" {
				t.Errorf("Text = %q", tr.Text)
			}
			if tr.Duration != 4*time.Second {
				t.Errorf("Duration = %v, want 4s", tr.Duration)
			}
			if len(tr.Words) != 7 || tr.Words[0].Word != "test" || tr.Words[6].End != 4*time.Second {
				t.Errorf("Words = %+v", tr.Words)
			}
			switch model {
			case speech.WhisperLargeV3Turbo:
				if len(tr.Segments) != 1 || tr.Segments[0].End != 4*time.Second || len(tr.Segments[0].Words) != 7 || tr.Language != "en" {
					t.Errorf("Segments = %+v, Language %q", tr.Segments, tr.Language)
				}
			case speech.Nova3:
				if tr.Words[0].Confidence != 0.99 || tr.Language != "en" || tr.VTT != "" {
					t.Errorf("nova-3: confidence %v, language %q, vtt %q", tr.Words[0].Confidence, tr.Language, tr.VTT)
				}
			}
			if model != speech.Nova3 && !strings.HasPrefix(tr.VTT, "WEBVTT") {
				t.Errorf("VTT = %q", tr.VTT)
			}
			if info, _ := llm.LookupModel(model); info.NeuronsPerAudioMinute > 0 && tr.Usage.Neurons <= 0 {
				t.Errorf("Usage = %+v, want the neurons of 4 s of audio", tr.Usage)
			}
		})
	}
}

// TestTranscribeDecodesDocumentedReplies decodes replies as the service documents them,
// given by a Handler: whisper's fixture and nova-3's nested channels.
func TestTranscribeDecodesDocumentedReplies(t *testing.T) {
	audio := speechWAV(time.Second, 8000, 0, 0)
	ctx := context.Background()
	_, c := newServer(t, llmtest.Script(
		llmtest.JSON(json.RawMessage(`{"text":"Hello world","word_count":2,"words":[{"word":"Hello","start":0.0,"end":0.5},{"word":"world","start":0.6,"end":1.0}],"vtt":"WEBVTT\n\n00:00.000 --> 00:01.000\nHello world\n"}`)),
		llmtest.JSON(json.RawMessage(`{"results":{"channels":[{"alternatives":[{"transcript":"hello there","confidence":0.9,"words":[{"word":"hello","punctuated_word":"Hello","start":0.1,"end":0.4,"confidence":0.8}]}]}]},"metadata":{"duration":1.5}}`)),
		llmtest.JSON(json.RawMessage(`{}`)),
	))
	tr, err := speech.Transcribe(ctx, c, speech.Whisper, audio)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Text != "Hello world" || len(tr.Words) != 2 || tr.Words[1].Start != 600*time.Millisecond || tr.Duration != time.Second {
		t.Errorf("whisper: %+v", tr)
	}
	tr, err = speech.Transcribe(ctx, c, speech.Nova3, audio)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Text != "hello there" || tr.Words[0].Word != "Hello" || tr.Words[0].Confidence != 0.8 || tr.Words[0].Start != 100*time.Millisecond {
		t.Errorf("nova-3: %+v", tr)
	}
	if _, err := speech.Transcribe(ctx, c, speech.Whisper, audio); err == nil || !strings.Contains(err.Error(), "no transcript") {
		t.Errorf("empty result: err = %v, want one saying there is no transcript", err)
	}
}

// TestTranscribeRefusesBeforeSending covers every check made before a request: nothing
// reaches the service.
func TestTranscribeRefusesBeforeSending(t *testing.T) {
	srv, c := newServer(t, nil)
	ctx := context.Background()
	wavAudio := speechWAV(time.Second, 8000, 0, 0)
	ogg := append([]byte("OggS"), make([]byte, 2000)...)
	cases := []struct {
		name   string
		model  string
		audio  []byte
		opts   []speech.Option
		want   string
		target error
	}{
		{"unknown model", "@cf/openai/whisper-9", wavAudio, nil, "not a speech recognition model", nil},
		{"empty audio", speech.Whisper, nil, nil, "no bytes", speech.ErrNotAudio},
		{"not audio", speech.Whisper, []byte("<html><body>Not found</body></html>"), nil, "text/html", speech.ErrNotAudio},
		{"AAC is not taken", speech.Whisper, []byte{0xFF, 0xF1, 0x50, 0x80, 0, 0, 0}, nil, "not WAV", speech.ErrNotAudio},
		{"option the model does not take", speech.Whisper, wavAudio, []speech.Option{speech.WithLanguage("fr")}, "does not take WithLanguage (it takes WithByteArray)", nil},
		{"nova-3 has no translate", speech.Nova3, wavAudio, []speech.Option{speech.WithTranslate()}, "does not take WithTranslate (it takes WithLanguage, WithSmartFormat)", nil},
		{"turbo has no smart format", speech.WhisperLargeV3Turbo, wavAudio, []speech.Option{speech.WithSmartFormat(true)}, "does not take WithSmartFormat", nil},
		{"nova-3 takes no byte array", speech.Nova3, wavAudio, []speech.Option{speech.WithByteArray()}, "does not take WithByteArray", nil},
		{"too large and not splittable", speech.Whisper, ogg, []speech.Option{speech.WithMaxPieceBytes(1000)}, "only PCM WAV and MP3 are split", speech.ErrTooLarge},
		{"byte limit holds no audio", speech.Whisper, wavAudio, []speech.Option{speech.WithMaxPieceBytes(40)}, "holds no audio", speech.ErrTooLarge},
		{"zero byte limit", speech.Whisper, wavAudio, []speech.Option{speech.WithMaxPieceBytes(0)}, "not positive", nil},
		{"negative piece", speech.Whisper, wavAudio, []speech.Option{speech.WithPieceDuration(-time.Second)}, "negative", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := speech.Transcribe(ctx, c, tc.model, tc.audio, tc.opts...)
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "speech: ") {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
			if tc.target != nil && !errors.Is(err, tc.target) {
				t.Errorf("err = %v, want it to match %v", err, tc.target)
			}
		})
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

// TestTranscribeSplitsLongAudio transcribes ten minutes of WAV in pieces of at most 30
// seconds cut at pauses, and checks that the joined transcript is re-timed to read as one.
func TestTranscribeSplitsLongAudio(t *testing.T) {
	const rate = 4000
	// A 0.6 s pause ends every 7 s of "speech".
	audio := speechWAV(10*time.Minute, rate, 7*time.Second, 600*time.Millisecond)
	srv, c := newServer(t, nil)
	tr, err := speech.Transcribe(context.Background(), c, speech.WhisperLargeV3Turbo, audio,
		speech.WithPieceDuration(30*time.Second), speech.WithRequestsPerMinute(60000))
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if tr.Pieces != len(reqs) || tr.Pieces < 20 || tr.Pieces > 25 {
		t.Fatalf("Pieces = %d, %d requests; want about 22 pieces of at most 30 s", tr.Pieces, len(reqs))
	}
	if tr.Duration != 10*time.Minute {
		t.Errorf("Duration = %v, want 10m", tr.Duration)
	}
	// Every piece was a WAV of at most 30 s (requests arrive in any order).
	var sum time.Duration
	for i, r := range reqs {
		var in struct {
			Audio string `json:"audio"`
		}
		if err := json.Unmarshal(r.Body, &in); err != nil {
			t.Fatal(err)
		}
		b, _ := base64.StdEncoding.DecodeString(in.Audio)
		if speech.AudioType(b) != speech.MIMEWAV {
			t.Fatalf("request %d is not a WAV", i)
		}
		d := time.Duration(float64(len(b)-44) / (2 * rate) * float64(time.Second))
		if d > 30*time.Second {
			t.Errorf("request %d holds %v of audio", i, d)
		}
		sum += d
	}
	if sum != 10*time.Minute {
		t.Errorf("pieces add up to %v, want 10m", sum)
	}
	// Each piece ended inside a pause: the segments, one a piece, are in the audio's order.
	for i, s := range tr.Segments[:len(tr.Segments)-1] {
		if inPause := s.End % (7 * time.Second); inPause != 0 && inPause < 6400*time.Millisecond {
			t.Errorf("piece %d ends at %v, %v into a 7 s period: not in the pause", i, s.End, inPause)
		}
		if next := tr.Segments[i+1].Start; next != s.End {
			t.Errorf("piece %d ends at %v, piece %d starts at %v", i, s.End, i+1, next)
		}
	}
	// One transcript: segments and words in order, spanning the whole audio.
	if len(tr.Segments) != tr.Pieces || tr.Segments[0].Start != 0 || tr.Segments[len(tr.Segments)-1].End != 10*time.Minute {
		t.Errorf("segments %d, first start %v, last end %v", len(tr.Segments), tr.Segments[0].Start, tr.Segments[len(tr.Segments)-1].End)
	}
	for i := 1; i < len(tr.Words); i++ {
		if tr.Words[i].Start < tr.Words[i-1].End-time.Millisecond {
			t.Fatalf("word %d starts at %v before word %d ends at %v", i, tr.Words[i].Start, i-1, tr.Words[i-1].End)
		}
	}
	if strings.Count(tr.Text, "test model heard") != tr.Pieces || strings.Count(tr.VTT, "WEBVTT") != 1 {
		t.Errorf("Text %q\nVTT has %d headers", tr.Text, strings.Count(tr.VTT, "WEBVTT"))
	}
	if !strings.Contains(tr.VTT, "--> 00:10:00.000") {
		t.Errorf("the last cue does not end at 10:00: %s", tr.VTT[len(tr.VTT)-200:])
	}
	want := 10 * 46.63 // neurons per audio minute
	if d := tr.Usage.Neurons - want; d < -0.5 || d > 0.5 {
		t.Errorf("Usage.Neurons = %v, want about %v", tr.Usage.Neurons, want)
	}
}

// TestTranscribeNamesFailingPiece reports which piece the service refused.
func TestTranscribeNamesFailingPiece(t *testing.T) {
	audio := speechWAV(90*time.Second, 4000, 0, 0)
	_, c := newServer(t, func(model string, body []byte) llmtest.Reply {
		return llmtest.Fail(http.StatusBadRequest, 5006, "Bad input: broken audio")
	})
	_, err := speech.Transcribe(context.Background(), c, speech.Whisper, audio, speech.WithPieceDuration(30*time.Second), speech.WithConcurrency(1))
	var e *llm.Error
	if !errors.As(err, &e) || !strings.Contains(err.Error(), "piece 1 of 3") {
		t.Fatalf("err = %v, want an *llm.Error naming piece 1 of 3", err)
	}
}

// BenchmarkTranscribe transcribes ten minutes of WAV in 30-second pieces against the
// emulator answering each request after 100 ms, one piece at a time and four at once.
func BenchmarkTranscribe(b *testing.B) {
	audio := speechWAV(10*time.Minute, 8000, 7*time.Second, 600*time.Millisecond)
	for _, n := range []int{1, 4} {
		b.Run("concurrency="+string(rune('0'+n)), func(b *testing.B) {
			_, c := newServer(b, func(string, []byte) llmtest.Reply {
				return llmtest.Model().WithLatency(100 * time.Millisecond)
			})
			for b.Loop() {
				tr, err := speech.Transcribe(context.Background(), c, speech.Whisper, audio,
					speech.WithPieceDuration(30*time.Second), speech.WithConcurrency(n), speech.WithRequestsPerMinute(60000))
				if err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(float64(tr.Pieces), "pieces")
			}
		})
	}
}

// mp3Of is n MPEG-1 layer III frames (128 kbit/s, 44.1 kHz, 417 bytes, 1152 samples each)
// after an ID3v2 tag, each frame's payload filled with its index.
func mp3Of(n int) []byte {
	out := []byte("ID3\x04\x00\x00\x00\x00\x00\x05tag!!")
	for i := range n {
		f := bytes.Repeat([]byte{byte(i)}, 417)
		f[0], f[1], f[2], f[3] = 0xFF, 0xFB, 0x90, 0x64
		out = append(out, f...)
	}
	return out
}

// TestTranscribeSplitsLongMP3 cuts MP3 at frame boundaries, by duration and by bytes, with
// exact offsets.
func TestTranscribeSplitsLongMP3(t *testing.T) {
	frames := func(n int) time.Duration { return time.Duration(float64(n*1152) / 44100 * float64(time.Second)) }
	audio := mp3Of(3 * 765) // 765 frames last just under 20 s
	srv, c := newServer(t, nil)
	tr, err := speech.Transcribe(context.Background(), c, speech.WhisperLargeV3Turbo, audio,
		speech.WithPieceDuration(20*time.Second), speech.WithConcurrency(1), speech.WithRequestsPerMinute(60000))
	if err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if tr.Pieces != 3 || len(reqs) != 3 {
		t.Fatalf("Pieces = %d, requests %d; want 3", tr.Pieces, len(reqs))
	}
	for i, r := range reqs {
		var in struct {
			Audio string `json:"audio"`
		}
		_ = json.Unmarshal(r.Body, &in)
		b, _ := base64.StdEncoding.DecodeString(in.Audio)
		// Whole frames, in order, without the tag: piece i starts with frame 765*i.
		if len(b) != 765*417 || b[0] != 0xFF || b[4] != byte(765*i) {
			t.Errorf("piece %d: %d bytes starting % x", i, len(b), b[:5])
		}
	}
	if want := frames(3 * 765); tr.Duration != want {
		t.Errorf("Duration = %v, want %v", tr.Duration, want)
	}
	if got, want := tr.Segments[2].Start, frames(2*765); got != want {
		t.Errorf("third piece starts at %v, want %v", got, want)
	}

	n := len(srv.Requests())
	tr, err = speech.Transcribe(context.Background(), c, speech.Whisper, mp3Of(250), speech.WithMaxPieceBytes(100*417))
	if err != nil {
		t.Fatal(err)
	}
	if tr.Pieces != 3 || len(srv.Requests())-n != 3 {
		t.Errorf("by bytes: %d pieces, want 3 (100, 100 and 50 frames)", tr.Pieces)
	}
	for _, r := range srv.Requests()[n:] {
		if len(r.Body) > 100*417 || len(r.Body)%417 != 0 {
			t.Errorf("piece of %d bytes: not whole frames under the limit", len(r.Body))
		}
	}
	if _, err := speech.Transcribe(context.Background(), c, speech.Whisper, mp3Of(3), speech.WithMaxPieceBytes(400)); !errors.Is(err, speech.ErrTooLarge) {
		t.Errorf("limit under a frame: err = %v", err)
	}
}

// TestTranscribeSplitsWAVByBytes keeps every piece under the byte limit, header included.
func TestTranscribeSplitsWAVByBytes(t *testing.T) {
	srv, c := newServer(t, nil)
	audio := speechWAV(3*time.Second, 8000, 0, 0) // 48044 bytes
	tr, err := speech.Transcribe(context.Background(), c, speech.Whisper, audio, speech.WithMaxPieceBytes(10001))
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, r := range srv.Requests() {
		if len(r.Body) > 10001 {
			t.Errorf("piece of %d bytes, over the limit of 10001", len(r.Body))
		}
		total += len(r.Body) - 44
	}
	if total != 48000 || tr.Pieces != 5 || tr.Duration != 3*time.Second {
		t.Errorf("%d pieces carrying %d bytes of samples, duration %v; want 5 pieces, 48000 bytes, 3s", tr.Pieces, total, tr.Duration)
	}
}

// TestTranscribeSplitsStreamedWAV splits a WAV written as a stream, whose header announces
// a data chunk of 0 bytes: the samples run to the end of the file, and none are dropped.
func TestTranscribeSplitsStreamedWAV(t *testing.T) {
	for _, announced := range []uint32{0, 0xFFFFFFFF} {
		srv, c := newServer(t, nil)
		audio := speechWAV(3*time.Second, 8000, 0, 0)
		binary.LittleEndian.PutUint32(audio[40:], announced)
		tr, err := speech.Transcribe(context.Background(), c, speech.Whisper, audio, speech.WithMaxPieceBytes(10001))
		if err != nil {
			t.Fatalf("data size %#x: %v", announced, err)
		}
		total := 0
		for _, r := range srv.Requests() {
			total += len(r.Body) - 44
		}
		if tr.Pieces != 5 || total != 48000 || tr.Duration != 3*time.Second || tr.Text == "" {
			t.Errorf("data size %#x: %d pieces carrying %d bytes, duration %v, text %q; want 5 pieces, 48000 bytes, 3s",
				announced, tr.Pieces, total, tr.Duration, tr.Text)
		}
	}
}
