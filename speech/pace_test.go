package speech_test

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/speech"
)

// levelsWAV is 16-bit mono PCM at rate: one stretch of each length, every sample of
// stretch i the value 1000*(i+1), so that a piece's first sample tells which it is.
func levelsWAV(rate int, stretches ...time.Duration) []byte {
	var data []byte
	for i, d := range stretches {
		for range int(d.Seconds() * float64(rate)) {
			data = binary.LittleEndian.AppendUint16(data, uint16(1000*(i+1)))
		}
	}
	return wav(data, rate)
}

// bubbleClient is a client of an emulator answering with h, for use inside a synctest
// bubble.
func bubbleClient(t *testing.T, h llmtest.Handler) *llm.Client {
	t.Helper()
	c, err := llm.NewClient(llm.WithBaseURL("http://emulator.invalid"), llm.WithAccount("acc", "token"),
		llm.WithHTTPClient(&http.Client{Transport: llmtest.InProcess(llmtest.NewHandler(h))}))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTranscribePacesPieces starts the pieces of a split audio 1/rpm of a minute apart,
// whatever the concurrency allows.
func TestTranscribePacesPieces(t *testing.T) {
	audio := speechWAV(90*time.Second, 4000, 0, 0) // three pieces of 30 s
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var starts []time.Duration
		start := time.Now()
		c := bubbleClient(t, func(string, []byte) llmtest.Reply {
			mu.Lock()
			defer mu.Unlock()
			starts = append(starts, time.Since(start))
			return llmtest.Model()
		})
		tr, err := speech.Transcribe(t.Context(), c, speech.Whisper, audio,
			speech.WithPieceDuration(30*time.Second), speech.WithConcurrency(4), speech.WithRequestsPerMinute(60))
		if err != nil {
			t.Fatal(err)
		}
		want := []time.Duration{0, time.Second, 2 * time.Second}
		if tr.Pieces != 3 || fmt.Sprint(starts) != fmt.Sprint(want) {
			t.Errorf("%d pieces started at %v, want 3 at %v: one a second at 60 a minute", tr.Pieces, starts, want)
		}
	})
}

// TestTranscribePiecesRunConcurrentlyInOrder transcribes three pieces at once and joins them
// in the audio's order although the last answers first; with a concurrency of 1 they take
// the sum of their latencies.
func TestTranscribePiecesRunConcurrentlyInOrder(t *testing.T) {
	audio := levelsWAV(4000, 30*time.Second, 30*time.Second, 30*time.Second)
	for _, tc := range []struct {
		concurrency int
		took        time.Duration
	}{{4, 3 * time.Second}, {1, 6 * time.Second}} {
		synctest.Test(t, func(t *testing.T) {
			c := bubbleClient(t, func(_ string, body []byte) llmtest.Reply {
				piece := int(binary.LittleEndian.Uint16(body[44:])) / 1000
				// Piece 1 answers after 3 s, piece 2 after 2 s, piece 3 after 1 s.
				return llmtest.JSON(map[string]string{"text": fmt.Sprintf("piece %d", piece)}).WithLatency(time.Duration(4-piece) * time.Second)
			})
			start := time.Now()
			tr, err := speech.Transcribe(t.Context(), c, speech.Whisper, audio, speech.WithPieceDuration(30*time.Second),
				speech.WithConcurrency(tc.concurrency), speech.WithRequestsPerMinute(60_000_000))
			if err != nil {
				t.Fatal(err)
			}
			// The pacer spaces starts a microsecond apart at this rate.
			if took := time.Since(start); took < tc.took || took > tc.took+time.Millisecond {
				t.Errorf("concurrency %d: took %v of fake time, want %v", tc.concurrency, took, tc.took)
			}
			if tr.Text != "piece 1 piece 2 piece 3" || tr.Pieces != 3 {
				t.Errorf("concurrency %d: %d pieces, text %q, want the three pieces in the audio's order", tc.concurrency, tr.Pieces, tr.Text)
			}
		})
	}
}

// TestTranscribeStopsWhenCancelled returns the context's error promptly and leaves no
// goroutine behind (synctest fails the test otherwise) when the caller gives up while
// pieces are being transcribed or wait for their turn.
func TestTranscribeStopsWhenCancelled(t *testing.T) {
	audio := speechWAV(5*time.Minute, 4000, 0, 0) // ten pieces of 30 s
	synctest.Test(t, func(t *testing.T) {
		c := bubbleClient(t, func(string, []byte) llmtest.Reply {
			return llmtest.Model().WithLatency(10 * time.Second)
		})
		ctx, cancel := context.WithTimeout(t.Context(), 1500*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := speech.Transcribe(ctx, c, speech.Whisper, audio, speech.WithPieceDuration(30*time.Second), speech.WithRequestsPerMinute(60))
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("err = %v, want the context's deadline", err)
		}
		if took := time.Since(start); took != 1500*time.Millisecond {
			t.Errorf("returned after %v of fake time, want 1.5s: at the deadline", took)
		}
	})
}
