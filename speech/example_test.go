package speech_test

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/speech"
)

func ExampleTranscribe() {
	// The offline emulator; a real program would use llm.NewClient().
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	audio := speechWAV(90*time.Second, 8000, 7*time.Second, 600*time.Millisecond) // a WAV file's bytes

	t, err := speech.Transcribe(context.Background(), c, speech.WhisperLargeV3Turbo, audio,
		speech.WithPieceDuration(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Pieces, "pieces,", t.Duration)
	for _, s := range t.Segments {
		fmt.Printf("%v-%v %s\n", s.Start.Round(time.Second), s.End.Round(time.Second), s.Text)
	}
	// Output:
	// 4 pieces, 1m30s
	// 0s-28s test model heard 28.0 seconds of audio
	// 28s-56s test model heard 28.0 seconds of audio
	// 56s-1m24s test model heard 28.0 seconds of audio
	// 1m24s-1m30s test model heard 6.0 seconds of audio
}

func ExampleSpeak() {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	a, err := speech.Speak(context.Background(), c, speech.Aura1, "Hello there. How are you?", speech.WithSpeaker("luna"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.MIME, speech.Extension(a.MIME))
	// Output: audio/mpeg .mp3
}
