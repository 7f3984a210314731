package speech

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"net/http"
	"time"
)

// The sentinels below carry no "speech:" prefix: they always arrive wrapped in a message
// that has one.
var (
	// ErrNotAudio is matched (errors.Is) when bytes are not WAV, MP3, OGG, FLAC, WebM or
	// M4A audio.
	ErrNotAudio = errors.New("not WAV, MP3, OGG, FLAC, WebM or M4A audio")
	// ErrTooLarge is matched (errors.Is) when audio is over a model's size limit and cannot
	// be split into pieces that fit.
	ErrTooLarge = errors.New("audio too large")
)

// The MIME types AudioType returns.
const (
	MIMEWAV  = "audio/wav"
	MIMEMP3  = "audio/mpeg"
	MIMEOGG  = "audio/ogg"
	MIMEFLAC = "audio/flac"
	MIMEWebM = "audio/webm"
	MIMEM4A  = "audio/mp4"
)

// AudioType returns the MIME type of b from its magic number: WAV, MP3 (with or without an
// ID3 tag), OGG (Opus or Vorbis), FLAC, WebM or M4A (an MPEG-4 file that is not a HEIF or
// AVIF image); "" for anything else.
func AudioType(b []byte) string {
	switch {
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WAVE":
		return MIMEWAV
	case bytes.HasPrefix(b, []byte("ID3")):
		return MIMEMP3
	case len(b) >= 2 && b[0] == 0xFF && b[1]&0xE0 == 0xE0 && (b[1]>>1)&3 != 0:
		// An MPEG audio frame header; layer bits 00 would be ADTS AAC, not taken here.
		return MIMEMP3
	case bytes.HasPrefix(b, []byte("OggS")):
		return MIMEOGG
	case bytes.HasPrefix(b, []byte("fLaC")):
		return MIMEFLAC
	case bytes.HasPrefix(b, []byte{0x1A, 0x45, 0xDF, 0xA3}):
		return MIMEWebM
	case len(b) >= 12 && string(b[4:8]) == "ftyp" && !imageBrands[string(b[8:12])]:
		return MIMEM4A
	}
	return ""
}

// imageBrands are the ISO base media brands of still images (HEIF, AVIF), which share
// M4A's "ftyp" box but hold no audio.
var imageBrands = map[string]bool{"heic": true, "heix": true, "hevc": true, "heim": true, "heis": true,
	"hevm": true, "hevs": true, "mif1": true, "msf1": true, "avif": true, "avis": true}

// sniff returns the MIME type of audio or an error naming what the bytes look like.
func sniff(audio []byte) (string, error) {
	if len(audio) == 0 {
		return "", fmt.Errorf("%w: no bytes", ErrNotAudio)
	}
	mime := AudioType(audio)
	if mime == "" {
		return "", fmt.Errorf("%w: the bytes look like %s", ErrNotAudio, http.DetectContentType(audio))
	}
	return mime, nil
}

// wavPCM is a parsed WAV file of linear PCM (or IEEE float) samples.
type wavPCM struct {
	format        uint16 // 1 PCM, 3 IEEE float
	channels      int
	sampleRate    int
	bitsPerSample int
	data          []byte // the samples, whole frames only
}

func (w *wavPCM) frameSize() int { return w.channels * w.bitsPerSample / 8 }

// duration is the length of the samples.
func (w *wavPCM) duration() time.Duration {
	return w.framesDuration(len(w.data) / w.frameSize())
}

func (w *wavPCM) framesDuration(frames int) time.Duration {
	return time.Duration(float64(frames) / float64(w.sampleRate) * float64(time.Second))
}

// parseWAV reads a RIFF/WAVE file with a fmt chunk of PCM or float samples. ok is false
// for anything else (compressed WAV, a truncated header).
func parseWAV(b []byte) (w wavPCM, ok bool) {
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return w, false
	}
	haveFmt := false
	for p := 12; p+8 <= len(b); {
		id, size := string(b[p:p+4]), int(binary.LittleEndian.Uint32(b[p+4:p+8]))
		body := b[p+8:]
		// A WAV written as a stream announces a data chunk of 0 or 0xFFFFFFFF bytes: the
		// samples run to the end of the file.
		if size > len(body) || id == "data" && size == 0 {
			size = len(body)
		}
		switch id {
		case "fmt ":
			if size < 16 {
				return w, false
			}
			w.format = binary.LittleEndian.Uint16(body[0:2])
			w.channels = int(binary.LittleEndian.Uint16(body[2:4]))
			w.sampleRate = int(binary.LittleEndian.Uint32(body[4:8]))
			w.bitsPerSample = int(binary.LittleEndian.Uint16(body[14:16]))
			if w.format == 0xFFFE && size >= 26 {
				w.format = binary.LittleEndian.Uint16(body[24:26]) // WAVE_FORMAT_EXTENSIBLE sub-format
			}
			haveFmt = true
		case "data":
			if !haveFmt || (w.format != 1 && w.format != 3) || w.channels < 1 || w.sampleRate < 1 {
				return w, false
			}
			switch w.bitsPerSample {
			case 8, 16, 24, 32:
			default:
				return w, false
			}
			d := body[:size]
			w.data = d[:len(d)/w.frameSize()*w.frameSize()]
			return w, true
		}
		p += 8 + size + size%2
	}
	return w, false
}

// encodeWAV writes samples as a WAV file with w's format.
func (w *wavPCM) encode(data []byte) []byte {
	out := make([]byte, 44, 44+len(data))
	copy(out[0:], "RIFF")
	binary.LittleEndian.PutUint32(out[4:], uint32(36+len(data)))
	copy(out[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(out[16:], 16)
	binary.LittleEndian.PutUint16(out[20:], w.format)
	binary.LittleEndian.PutUint16(out[22:], uint16(w.channels))
	binary.LittleEndian.PutUint32(out[24:], uint32(w.sampleRate))
	binary.LittleEndian.PutUint32(out[28:], uint32(w.sampleRate*w.frameSize()))
	binary.LittleEndian.PutUint16(out[32:], uint16(w.frameSize()))
	binary.LittleEndian.PutUint16(out[34:], uint16(w.bitsPerSample))
	copy(out[36:], "data")
	binary.LittleEndian.PutUint32(out[40:], uint32(len(data)))
	return append(out, data...)
}

// level is the magnitude, 0 to 1, of the first channel of frame i.
func (w *wavPCM) level(i int) float64 {
	p := w.data[i*w.frameSize():]
	switch {
	case w.format == 3 && w.bitsPerSample == 32:
		return math.Abs(float64(math.Float32frombits(binary.LittleEndian.Uint32(p))))
	case w.bitsPerSample == 8:
		return math.Abs(float64(int(p[0])-128)) / 128
	case w.bitsPerSample == 16:
		return math.Abs(float64(int16(binary.LittleEndian.Uint16(p)))) / 32768
	case w.bitsPerSample == 24:
		v := int32(uint32(p[0])<<8|uint32(p[1])<<16|uint32(p[2])<<24) >> 8
		return math.Abs(float64(v)) / (1 << 23)
	default:
		return math.Abs(float64(int32(binary.LittleEndian.Uint32(p)))) / (1 << 31)
	}
}

// piece is a part of a longer audio, with where it starts in the whole.
type piece struct {
	audio  []byte
	mime   string
	offset time.Duration
	length time.Duration // 0 when not known
}

// splitWAV cuts w into pieces of at most maxLen, each ending at the quietest 20 ms of the
// last tenth of its span (at most 5 s before the limit), so that a cut falls between words
// where there is a pause. Each piece is a WAV file of its own.
func splitWAV(w wavPCM, maxLen time.Duration) []piece {
	fs := w.frameSize()
	total := len(w.data) / fs
	maxFrames := int(float64(maxLen) / float64(time.Second) * float64(w.sampleRate))
	maxFrames = max(maxFrames, 1)
	win := max(w.sampleRate/50, 1) // 20 ms
	var out []piece
	for start := 0; start < total; {
		end := start + maxFrames
		if end >= total {
			end = total
		} else {
			end = w.quietCut(start, end, win)
		}
		out = append(out, piece{
			audio:  w.encode(w.data[start*fs : end*fs]),
			mime:   MIMEWAV,
			offset: w.framesDuration(start),
			length: w.framesDuration(end - start),
		})
		start = end
	}
	return out
}

// quietCut returns the frame in (start, end] at which to end a piece: the middle of the
// quietest window of win frames in the search span before end, or end itself when the span
// has no window clearly quieter than the rest (no pause to cut at).
func (w *wavPCM) quietCut(start, end, win int) int {
	span := min((end-start)/10, 5*w.sampleRate)
	if span < win {
		return end
	}
	best, bestLevel, loudest := end, math.Inf(1), 0.0
	for at := end - win; at >= end-span; at -= win {
		var sum float64
		step := max(win/32, 1) // sample the window: enough to tell a pause from speech
		n := 0
		for i := at; i < at+win; i += step {
			sum += w.level(i)
			n++
		}
		l := sum / float64(n)
		if l < bestLevel {
			best, bestLevel = at+win/2, l
		}
		loudest = max(loudest, l)
	}
	if bestLevel > loudest/2 {
		return end
	}
	return best
}
