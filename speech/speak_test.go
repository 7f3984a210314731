package speech_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/speech"
)

func TestSpeakRequestsAndAudio(t *testing.T) {
	srv, c := newServer(t, nil)
	ctx := context.Background()
	a, err := speech.Speak(ctx, c, speech.Aura1, "Hello there.", speech.WithSpeaker("luna"))
	if err != nil {
		t.Fatal(err)
	}
	if a.MIME != speech.MIMEMP3 || a.Pieces != 1 || a.Usage.Neurons <= 0 {
		t.Errorf("aura-1: %s, %d pieces, usage %+v", a.MIME, a.Pieces, a.Usage)
	}
	if got := string(srv.Requests()[0].Body); got != `{"speaker":"luna","text":"Hello there."}` {
		t.Errorf("aura-1 request %s", got)
	}

	a, err = speech.Speak(ctx, c, speech.Aura2EN, "Hi.", speech.WithEncoding("linear16", "wav"), speech.WithSampleRate(8000))
	if err != nil {
		t.Fatal(err)
	}
	if a.MIME != speech.MIMEWAV || binary.LittleEndian.Uint32(a.Data[24:]) != 8000 {
		t.Errorf("aura-2-en wav: %s", a.MIME)
	}
	if got := string(srv.Requests()[1].Body); got != `{"container":"wav","encoding":"linear16","sample_rate":8000,"text":"Hi."}` {
		t.Errorf("aura-2-en request %s", got)
	}

	a, err = speech.Speak(ctx, c, speech.MeloTTS, "Bonjour.", speech.WithSpeechLanguage("fr"))
	if err != nil {
		t.Fatal(err)
	}
	if a.MIME != speech.MIMEMP3 {
		t.Errorf("melotts: %s", a.MIME)
	}
	if got := string(srv.Requests()[2].Body); got != `{"lang":"fr","prompt":"Bonjour."}` {
		t.Errorf("melotts request %s", got)
	}
}

// TestSpeakRawMeloTTS reads melotts answering raw bytes instead of base64 JSON.
func TestSpeakRawMeloTTS(t *testing.T) {
	wavBytes := speechWAV(time.Second, 8000, 0, 0)
	_, c := newServer(t, llmtest.Script(llmtest.Raw("audio/wav", wavBytes)))
	a, err := speech.Speak(context.Background(), c, speech.MeloTTS, "Hi.")
	if err != nil {
		t.Fatal(err)
	}
	if a.MIME != speech.MIMEWAV || !bytes.Equal(a.Data, wavBytes) || a.Usage.Neurons <= 0 {
		t.Errorf("raw melotts: %s, %d bytes, usage %+v", a.MIME, len(a.Data), a.Usage)
	}
}

// TestSpeakSplitsLongText splits at sentence ends and joins MP3 by frames, WAV under one
// header.
func TestSpeakSplitsLongText(t *testing.T) {
	srv, c := newServer(t, nil)
	ctx := context.Background()
	text := "The first sentence is here. The second one follows it! Is this the third? Yes, and a fourth."
	a, err := speech.Speak(ctx, c, speech.Aura1, text, speech.WithMaxChars(40))
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	for _, r := range srv.Requests() {
		var in struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(r.Body, &in)
		sent = append(sent, in.Text)
	}
	want := []string{"The first sentence is here.", "The second one follows it!", "Is this the third? Yes, and a fourth."}
	if strings.Join(sent, "|") != strings.Join(want, "|") || a.Pieces != 3 {
		t.Errorf("sent %q, want %q", sent, want)
	}
	if a.MIME != speech.MIMEMP3 || bytes.Count(a.Data, []byte{0xFF, 0xFB, 0x90, 0x64}) < 3 {
		t.Errorf("joined MP3: %s, %d bytes", a.MIME, len(a.Data))
	}

	n := len(srv.Requests())
	a, err = speech.Speak(ctx, c, speech.Aura2EN, text, speech.WithMaxChars(40), speech.WithEncoding("linear16", "wav"), speech.WithSampleRate(8000))
	if err != nil {
		t.Fatal(err)
	}
	var total int
	for _, r := range srv.Requests()[n:] {
		var in struct {
			Text string `json:"text"`
		}
		_ = json.Unmarshal(r.Body, &in)
		total += int(0.06 * float64(len([]rune(in.Text))) * 8000) // the emulator speaks 60 ms a character
	}
	if string(a.Data[:4]) != "RIFF" || strings.Count(string(a.Data), "RIFF") != 1 {
		t.Fatalf("joined WAV has %d RIFF headers", strings.Count(string(a.Data), "RIFF"))
	}
	if got := binary.LittleEndian.Uint32(a.Data[40:]); int(got) != 2*total || len(a.Data) != 44+2*total {
		t.Errorf("data chunk %d bytes (file %d), want %d: the header must state the joined length", got, len(a.Data), 2*total)
	}

	// linear16 without a container comes as WAV, so split text is joined too.
	a, err = speech.Speak(ctx, c, speech.Aura2EN, text, speech.WithMaxChars(40), speech.WithEncoding("linear16", ""))
	if err != nil {
		t.Fatalf("linear16 in its default container: %v", err)
	}
	if a.MIME != speech.MIMEWAV || a.Pieces != 3 || strings.Count(string(a.Data), "RIFF") != 1 {
		t.Errorf("linear16 in its default container: %s, %d pieces, %d RIFF headers", a.MIME, a.Pieces, strings.Count(string(a.Data), "RIFF"))
	}
}

// TestSpeakToolKeepsExistingFiles checks that the speak tool never overwrites a file: a
// speech-1.mp3 left in the directory by an earlier run stays as it was.
func TestSpeakToolKeepsExistingFiles(t *testing.T) {
	_, c := newServer(t, nil)
	dir := t.TempDir()
	old := filepath.Join(dir, "speech-1.mp3")
	if err := os.WriteFile(old, []byte("an earlier run's audio"), 0o644); err != nil {
		t.Fatal(err)
	}
	tool := speech.SpeakTool(c, speech.Aura1, dir)
	out, err := tool.Call(context.Background(), json.RawMessage(`{"text":"Hello."}`))
	if err != nil {
		t.Fatal(err)
	}
	if out != filepath.Join(dir, "speech-2.mp3") {
		t.Errorf("speak -> %s, want speech-2.mp3", out)
	}
	if b, err := os.ReadFile(old); err != nil || string(b) != "an earlier run's audio" {
		t.Errorf("speech-1.mp3 now holds %q (%v): overwritten", b, err)
	}
	if b, err := os.ReadFile(out); err != nil || speech.AudioType(b) != speech.MIMEMP3 {
		t.Errorf("%s: %d bytes of %q (%v)", out, len(b), speech.AudioType(b), err)
	}
	// A directory that cannot be written is the tool's error, not a panic.
	bad := speech.SpeakTool(c, speech.Aura1, filepath.Join(dir, "missing"))
	if _, err := bad.Call(context.Background(), json.RawMessage(`{"text":"Hello."}`)); err == nil || !strings.HasPrefix(err.Error(), "speech: speak: ") {
		t.Errorf("missing directory: err = %v", err)
	}
}

func TestSpeakRefusesBeforeSending(t *testing.T) {
	srv, c := newServer(t, nil)
	ctx := context.Background()
	long := strings.Repeat("A sentence. ", 300)
	cases := map[string]struct {
		model, text string
		opts        []speech.SpeakOption
		want        string
	}{
		"unknown model":    {"@cf/x/tts", "Hi", nil, "not a text-to-speech model"},
		"empty":            {speech.Aura1, "  ", nil, "empty text"},
		"speaker for melo": {speech.MeloTTS, "Hi", []speech.SpeakOption{speech.WithSpeaker("luna")}, "does not take WithSpeaker"},
		"lang for aura":    {speech.Aura1, "Hi", []speech.SpeakOption{speech.WithSpeechLanguage("fr")}, "does not take WithSpeechLanguage"},
		"bad encoding":     {speech.Aura1, "Hi", []speech.SpeakOption{speech.WithEncoding("ogg-vorbis", "")}, "not one of mp3"},
		"unjoinable split": {speech.Aura1, long, []speech.SpeakOption{speech.WithEncoding("opus", "ogg")}, "cannot be joined"},
		"zero limit":       {speech.Aura1, "Hi", []speech.SpeakOption{speech.WithMaxChars(0)}, "not positive"},
	}
	for name, tc := range cases {
		_, err := speech.Speak(ctx, c, tc.model, tc.text, tc.opts...)
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "speech: ") {
			t.Errorf("%s: err = %v, want one containing %q", name, err, tc.want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent, want none", n)
	}
}

// TestSpeechToolsInAgentRun gives an agent the transcribe and speak tools.
func TestSpeechToolsInAgentRun(t *testing.T) {
	const chat = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	script := llmtest.Script(
		llmtest.Calls(
			llm.ToolCall{ID: "a", Name: "transcribe", Arguments: json.RawMessage(`{"clip":"greeting"}`)},
			llm.ToolCall{ID: "b", Name: "speak", Arguments: json.RawMessage(`{"text":"Hello back."}`)},
			llm.ToolCall{ID: "c", Name: "transcribe", Arguments: json.RawMessage(`{"clip":"nope"}`)},
		),
		llmtest.Text("Done."),
	)
	_, c := newServer(t, func(model string, b []byte) llmtest.Reply {
		if model == chat {
			return script(model, b)
		}
		return llmtest.Model()
	})
	dir := t.TempDir()
	clips := map[string][]byte{"greeting": speechWAV(3*time.Second, 8000, 0, 0)}
	a := agent.New(c.Model(chat), agent.WithTools(
		speech.TranscribeTool(c, speech.Whisper, clips), speech.SpeakTool(c, speech.Aura1, dir)))
	res, err := a.Run(context.Background(), "Transcribe the greeting and answer it aloud.")
	if err != nil {
		t.Fatal(err)
	}
	r := res.Steps[0].Results
	if r[0].Output != "test model heard 3.0 seconds of audio" {
		t.Errorf("transcribe -> %s", r[0].Output)
	}
	if r[1].Output != filepath.Join(dir, "speech-1.mp3") {
		t.Errorf("speak -> %s", r[1].Output)
	} else if b, err := os.ReadFile(r[1].Output); err != nil || speech.AudioType(b) != speech.MIMEMP3 {
		t.Errorf("speak wrote %d bytes: %v", len(b), err)
	}
	if !strings.Contains(r[2].Output, `no clip named "nope"; the clips are greeting`) {
		t.Errorf("transcribe of a missing clip -> %s", r[2].Output)
	}
}

// TestTranscribeToolSaysWhenNothingWasHeard answers in words, not with an empty string,
// when the model hears no speech.
func TestTranscribeToolSaysWhenNothingWasHeard(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.JSON(map[string]string{"text": " "})))
	tool := speech.TranscribeTool(c, speech.Whisper, map[string][]byte{"hum": speechWAV(time.Second, 8000, 0, 0)})
	out, err := tool.Call(context.Background(), json.RawMessage(`{"clip":"hum"}`))
	if err != nil || out != "No speech was heard in hum." {
		t.Errorf("transcribe of silence -> %q, %v", out, err)
	}
}

func TestAudioType(t *testing.T) {
	cases := map[string][]byte{
		speech.MIMEWAV:  speechWAV(time.Millisecond, 8000, 0, 0),
		speech.MIMEMP3:  {0xFF, 0xFB, 0x90, 0x64},
		speech.MIMEOGG:  []byte("OggS\x00\x02"),
		speech.MIMEFLAC: []byte("fLaC\x00\x00"),
		speech.MIMEWebM: {0x1A, 0x45, 0xDF, 0xA3, 0x01},
		speech.MIMEM4A:  []byte("\x00\x00\x00\x20ftypM4A \x00\x00"),
		"":              []byte("RIFF\x00\x00\x00\x00AVI "),
	}
	// HEIF and AVIF images share M4A's ftyp box; they are not audio.
	for _, img := range [][]byte{[]byte("\x00\x00\x00\x18ftypheic\x00\x00"), []byte("\x00\x00\x00\x1cftypavif\x00\x00")} {
		if got := speech.AudioType(img); got != "" {
			t.Errorf("AudioType(%.12q) = %q, want none: an image", img, got)
		}
	}
	for want, b := range cases {
		if got := speech.AudioType(b); got != want {
			t.Errorf("AudioType(%.12q) = %q, want %q", b, got, want)
		}
	}
	if got := speech.AudioType([]byte("ID3\x04")); got != speech.MIMEMP3 {
		t.Errorf("ID3-tagged MP3: %q", got)
	}
}

// TestModelsAreCatalogued keeps the package's models and the catalog's tasks and prices
// in step.
func TestModelsAreCatalogued(t *testing.T) {
	for _, id := range speech.TranscribeModels() {
		info, ok := llm.LookupModel(id)
		if !ok || info.Task != llm.TaskSpeechRecognition || info.RequestsPerMinute != 720 {
			t.Errorf("%s: catalog has %+v", id, info)
		}
	}
	for _, id := range speech.SpeakModels() {
		if info, ok := llm.LookupModel(id); !ok || info.Task != llm.TaskTextToSpeech {
			t.Errorf("%s: catalog has %+v", id, info)
		}
	}
	for id, want := range map[string]float64{speech.Whisper: 41.14, speech.WhisperLargeV3Turbo: 46.63, speech.Nova3: 472.73, speech.MeloTTS: 18.63} {
		if info, _ := llm.LookupModel(id); info.NeuronsPerAudioMinute != want {
			t.Errorf("%s: %v neurons per audio minute, want %v", id, info.NeuronsPerAudioMinute, want)
		}
	}
}

// TestSpeechToolsCountTowardAgentBudget checks that what the transcribe and speak tools
// spend reaches the agent's usage and budget when the service sends no cf-ai-neurons
// header: the catalog's prices per audio minute (whisper) and per thousand characters
// (aura-1), marked estimated.
func TestSpeechToolsCountTowardAgentBudget(t *testing.T) {
	const chat = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	one := llm.Usage{PromptTokens: 1, CompletionTokens: 1, TotalTokens: 2, Neurons: 1}
	newAgent := func(b agent.Budget) (*agent.Agent, *llmtest.Server) {
		script := llmtest.Script(
			llmtest.Calls(
				llm.ToolCall{ID: "a", Name: "transcribe", Arguments: json.RawMessage(`{"clip":"greeting"}`)},
				llm.ToolCall{ID: "b", Name: "speak", Arguments: json.RawMessage(`{"text":"Hello back."}`)},
			).WithUsage(one),
			llmtest.Text("Done.").WithUsage(one),
		)
		srv, c := newServer(t, func(model string, body []byte) llmtest.Reply {
			if model == chat {
				return script(model, body)
			}
			return llmtest.Model().WithHeader("cf-ai-neurons", "") // the service sent none
		})
		clips := map[string][]byte{"greeting": speechWAV(3*time.Second, 8000, 0, 0)}
		return agent.New(c.Model(chat), agent.WithBudget(b), agent.WithTools(
			speech.TranscribeTool(c, speech.Whisper, clips), speech.SpeakTool(c, speech.Aura1, t.TempDir()))), srv
	}
	info, _ := llm.LookupModel(speech.Whisper)
	aura, _ := llm.LookupModel(speech.Aura1)
	tools := 3.0/60*info.NeuronsPerAudioMinute + float64(len("Hello back."))/1000*aura.NeuronsPerKCharacters

	a, _ := newAgent(agent.Budget{})
	res, err := a.Run(context.Background(), "Transcribe the greeting and answer it aloud.")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := res.Spent.Neurons, 2+tools; math.Abs(got-want) > 1e-9 || !res.Spent.NeuronsEstimated {
		t.Errorf("Spent = %+v, want %.4f neurons (2 of chat, %.4f of the tools), estimated", res.Spent, want, tools)
	}

	// A budget the tools' spending exceeds stops the run before the second model call.
	a, srv := newAgent(agent.Budget{MaxNeurons: 1 + tools/2})
	_, err = a.Run(context.Background(), "Transcribe the greeting and answer it aloud.")
	if !errors.Is(err, agent.ErrBudgetExceeded) {
		t.Fatalf("err = %v, want ErrBudgetExceeded", err)
	}
	chats := 0
	for _, r := range srv.Requests() {
		if strings.HasSuffix(r.Path, chat) {
			chats++
		}
	}
	if chats != 1 {
		t.Errorf("%d chat requests, want 1: the budget should stop the run after the tools", chats)
	}
}

// TestSpeakEveryEncoding asks Aura for each encoding it documents and gets audio whose
// MIME type is sniffed, or taken from the reply where the bytes do not tell.
func TestSpeakEveryEncoding(t *testing.T) {
	_, c := newServer(t, nil)
	for _, tc := range []struct{ encoding, container, mime string }{
		{"mp3", "", speech.MIMEMP3},
		{"linear16", "", speech.MIMEWAV},
		{"mulaw", "wav", speech.MIMEWAV},
		{"alaw", "none", "audio/x-alaw-basic"},
		{"flac", "", speech.MIMEFLAC},
		{"opus", "ogg", speech.MIMEOGG},
		{"aac", "", "audio/aac"},
	} {
		a, err := speech.Speak(context.Background(), c, speech.Aura2EN, "Hello.", speech.WithEncoding(tc.encoding, tc.container))
		if err != nil {
			t.Errorf("%s in %q: %v", tc.encoding, tc.container, err)
		} else if a.MIME != tc.mime || len(a.Data) == 0 {
			t.Errorf("%s in %q: %s, %d bytes; want %s", tc.encoding, tc.container, a.MIME, len(a.Data), tc.mime)
		}
	}
}
