// Command speech transcribes a short recording, translates the transcript, checks it with
// a safety classifier, and reads the translation aloud into an audio file.
//
//	go run ./examples/speech
//	go run ./examples/speech -audio talk.mp3 -lang french -out talk-fr.mp3
//
// Offline by default (the llmtest emulator, whose transcript only says how long the audio
// was); real Workers AI with CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN set. Speech
// models are Workers AI tasks, so an OpenAI-compatible backend (OPENAI_BASE_URL) cannot
// run this example.
//
// Without -audio the example speaks to itself: the recording it transcribes is a WAV file
// of tones and pauses synthesised at run time by clip below, so the repository holds no
// binary file and the bytes are code anyone can read. A real model hears no words in it
// and may answer with an empty transcript, which the example reports; give it a recording
// of speech with -audio.
package main

import (
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"github.com/gowai/gowai/examples/internal/backend"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/nlp"
	"github.com/gowai/gowai/speech"
)

// meloLanguages are the languages melotts speaks, by the m2m100 names the -lang flag takes.
var meloLanguages = map[string]string{"english": "en", "spanish": "es", "french": "fr", "chinese": "zh", "japanese": "jp"}

func main() {
	audio := flag.String("audio", "", "audio file to transcribe: WAV, MP3, OGG, FLAC, WebM or M4A (default: a synthesised 6-second WAV)")
	asr := flag.String("asr", speech.WhisperLargeV3Turbo, "speech recognition model")
	lang := flag.String("lang", "spanish", "language to translate into: english, spanish, french, chinese or japanese (those melotts speaks)")
	out := flag.String("out", "", "file to write the spoken translation to (default: gowai-speech.<ext> in the temporary directory)")
	backend.Main("speech", "Speech transcribes a recording with speech.Transcribe, translates it with nlp.Translate,\n"+
		"checks it with nlp.Moderate and reads the translation aloud with speech.Speak.\n"+
		"Speech models are Workers AI tasks, so it cannot run on an OpenAI-compatible server\n"+
		"(OPENAI_BASE_URL); offline, the emulator's transcript says how long the audio was.",
		func(ctx context.Context) error { return run(ctx, *audio, *asr, *lang, *out) })
}

func run(ctx context.Context, audioPath, asr, lang, out string) error {
	melo, ok := meloLanguages[strings.ToLower(lang)]
	if !ok {
		return backend.BadFlag("-lang %q: want english, spanish, french, chinese or japanese", lang)
	}
	audio := clip()
	if audioPath != "" {
		b, err := os.ReadFile(audioPath)
		if err != nil {
			return fmt.Errorf("read audio: %w", err)
		}
		audio = b
	}
	b, err := backend.Open(asr, os.Stderr)
	if err != nil {
		return fmt.Errorf("choose backend: %w", err)
	}
	defer b.Close()
	if b.Client == nil {
		return fmt.Errorf("choose backend: speech needs Workers AI: unset OPENAI_BASE_URL and set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN, or set neither to run offline")
	}
	c := b.Client
	var spent llm.Usage

	t, err := speech.Transcribe(ctx, c, asr, audio)
	if err != nil {
		return fmt.Errorf("transcribe: %w", err)
	}
	spent = spent.Add(t.Usage)
	fmt.Printf("transcript (%v, %s, %d words): %s\n", t.Duration, speech.AudioType(audio), len(t.Words), t.Text)
	if strings.TrimSpace(t.Text) == "" {
		fmt.Println("no speech heard: give a recording of speech with -audio")
		fmt.Println(backend.Cost(spent, b.Offline))
		return nil
	}

	tr, err := nlp.Translate(ctx, c, nlp.M2M100, t.Text, lang)
	if err != nil {
		return fmt.Errorf("translate: %w", err)
	}
	spent = spent.Add(tr.Usage)
	fmt.Printf("translation (%s): %s\n", lang, tr.Text)

	v, err := nlp.Moderate(ctx, c, nlp.LlamaGuard3, t.Text)
	if err != nil {
		return fmt.Errorf("moderate: %w", err)
	}
	spent = spent.Add(v.Usage)
	if v.Safe {
		fmt.Println("moderation: safe")
	} else {
		fmt.Printf("moderation: unsafe: %v; not reading it aloud\n", v.Categories)
		fmt.Println(backend.Cost(spent, b.Offline))
		return nil
	}

	a, err := speech.Speak(ctx, c, speech.MeloTTS, tr.Text, speech.WithSpeechLanguage(melo))
	if err != nil {
		return fmt.Errorf("speak: %w", err)
	}
	spent = spent.Add(a.Usage)
	if out == "" {
		// The temporary directory, so that trying the example leaves nothing in the project.
		out = filepath.Join(os.TempDir(), "gowai-speech"+speech.Extension(a.MIME))
	}
	if err := os.WriteFile(out, a.Data, 0o644); err != nil {
		return fmt.Errorf("write audio: %w", err)
	}
	fmt.Printf("wrote %s (%s, %d bytes)\n", out, a.MIME, len(a.Data))
	fmt.Println(backend.Cost(spent, b.Offline))
	return nil
}

// clip is 6 seconds of 16 kHz mono 16-bit WAV: three 1.5-second rising tones, each
// followed by half a second of silence, like three short phrases.
func clip() []byte {
	const rate = 16000
	var data []byte
	for i := range 3 {
		for n := range rate * 3 / 2 {
			x := float64(n) / rate
			f := 220 * float64(i+1) * (1 + x/3)
			env := math.Sin(math.Pi * x / 1.5) // fade in and out
			v := int16(9000 * env * math.Sin(2*math.Pi*f*x))
			data = binary.LittleEndian.AppendUint16(data, uint16(v))
		}
		data = append(data, make([]byte, rate)...) // 0.5 s of silence: rate samples of 2 bytes
	}
	h := make([]byte, 0, 44)
	h = append(h, "RIFF"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(36+len(data)))
	h = append(h, "WAVEfmt "...)
	h = binary.LittleEndian.AppendUint32(h, 16)
	h = binary.LittleEndian.AppendUint16(h, 1) // PCM
	h = binary.LittleEndian.AppendUint16(h, 1) // mono
	h = binary.LittleEndian.AppendUint32(h, rate)
	h = binary.LittleEndian.AppendUint32(h, 2*rate) // bytes per second
	h = binary.LittleEndian.AppendUint16(h, 2)      // bytes per frame
	h = binary.LittleEndian.AppendUint16(h, 16)     // bits per sample
	h = append(h, "data"...)
	h = binary.LittleEndian.AppendUint32(h, uint32(len(data)))
	return append(h, data...)
}
