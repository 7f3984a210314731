package speech_test

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// TestMain fails the run if a test leaves a goroutine behind: Transcribe starts them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// newServer starts an emulator (h nil: built-in answers) and a client for it whose
// retries wait milliseconds.
func newServer(t testing.TB, h llmtest.Handler) (*llmtest.Server, *llm.Client) {
	t.Helper()
	srv := llmtest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := srv.Client(llm.WithRetry(llm.RetryPolicy{InitialInterval: time.Millisecond, MaxInterval: 5 * time.Millisecond}))
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// speechWAV is 16-bit mono PCM at rate: a 440 Hz tone, silent for pause in every period
// (the pause ends each period).
func speechWAV(d time.Duration, rate int, period, pause time.Duration) []byte {
	n := int(d.Seconds() * float64(rate))
	data := make([]byte, 2*n)
	for i := range n {
		t := time.Duration(float64(i) / float64(rate) * float64(time.Second))
		if period > 0 && t%period >= period-pause {
			continue
		}
		v := int16(10000 * math.Sin(2*math.Pi*440*float64(i)/float64(rate)))
		binary.LittleEndian.PutUint16(data[2*i:], uint16(v))
	}
	return wav(data, rate)
}

func wav(data []byte, rate int) []byte {
	h := make([]byte, 44)
	copy(h, "RIFF")
	binary.LittleEndian.PutUint32(h[4:], uint32(36+len(data)))
	copy(h[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(h[16:], 16)
	binary.LittleEndian.PutUint16(h[20:], 1)
	binary.LittleEndian.PutUint16(h[22:], 1)
	binary.LittleEndian.PutUint32(h[24:], uint32(rate))
	binary.LittleEndian.PutUint32(h[28:], uint32(2*rate))
	binary.LittleEndian.PutUint16(h[32:], 2)
	binary.LittleEndian.PutUint16(h[34:], 16)
	copy(h[36:], "data")
	binary.LittleEndian.PutUint32(h[40:], uint32(len(data)))
	return append(h, data...)
}
