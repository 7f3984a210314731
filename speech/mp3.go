package speech

import (
	"bytes"
	"time"
)

// mp3Frame is one MPEG audio frame: where it is and how many samples it holds.
type mp3Frame struct {
	start, end int
	samples    int
	rate       int
}

var (
	// Bit rates in kbit/s by index 1..14: MPEG-1 layers I, II, III; MPEG-2 and 2.5 layer I,
	// then layers II and III.
	mpeg1Rates = [3][14]int{
		{32, 64, 96, 128, 160, 192, 224, 256, 288, 320, 352, 384, 416, 448},
		{32, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384},
		{32, 40, 48, 56, 64, 80, 96, 112, 128, 160, 192, 224, 256, 320},
	}
	mpeg2Rates = [2][14]int{
		{32, 48, 56, 64, 80, 96, 112, 128, 144, 160, 176, 192, 224, 256},
		{8, 16, 24, 32, 40, 48, 56, 64, 80, 96, 112, 128, 144, 160},
	}
	sampleRates = map[int][3]int{3: {44100, 48000, 32000}, 2: {22050, 24000, 16000}, 0: {11025, 12000, 8000}}
)

// mp3Header reads the frame header at b[0:4]: the frame's length in bytes, its samples
// and sample rate. ok is false when b does not start a valid frame.
func mp3Header(b []byte) (length, samples, rate int, ok bool) {
	if len(b) < 4 || b[0] != 0xFF || b[1]&0xE0 != 0xE0 {
		return 0, 0, 0, false
	}
	version := int(b[1]>>3) & 3 // 3 MPEG-1, 2 MPEG-2, 0 MPEG-2.5
	layer := 4 - int(b[1]>>1)&3 // 1, 2 or 3; 4 is reserved
	bi := int(b[2] >> 4)
	si := int(b[2]>>2) & 3
	pad := int(b[2]>>1) & 1
	if version == 1 || layer == 4 || bi == 0 || bi == 15 || si == 3 {
		return 0, 0, 0, false
	}
	rate = sampleRates[version][si]
	var kbps int
	if version == 3 {
		kbps = mpeg1Rates[layer-1][bi-1]
	} else {
		kbps = mpeg2Rates[min(layer-1, 1)][bi-1]
	}
	bps := kbps * 1000
	switch {
	case layer == 1:
		return (12*bps/rate + pad) * 4, 384, rate, true
	case layer == 3 && version != 3:
		return 72*bps/rate + pad, 576, rate, true
	default:
		return 144*bps/rate + pad, 1152, rate, true
	}
}

// mp3Frames walks the frames of an MP3 file, skipping a leading ID3v2 tag and any junk
// between frames. ok is false when it finds no frames or the sample rate changes.
func mp3Frames(b []byte) ([]mp3Frame, bool) {
	p := len(b) - len(stripID3(b))
	var frames []mp3Frame
	for p+4 <= len(b) {
		if bytes.HasPrefix(b[p:], []byte("TAG")) && len(b)-p == 128 {
			break // an ID3v1 tag ends the file
		}
		n, samples, rate, ok := mp3Header(b[p:])
		if !ok || n <= 4 || p+n > len(b) {
			if ok && p+n > len(b) && len(frames) > 0 {
				break // a truncated last frame
			}
			p++
			continue
		}
		if len(frames) > 0 && frames[0].rate != rate {
			return nil, false
		}
		frames = append(frames, mp3Frame{start: p, end: p + n, samples: samples, rate: rate})
		p += n
	}
	return frames, len(frames) > 0
}

// splitMP3 cuts MP3 audio at frame boundaries into pieces of at most maxBytes and, when
// maxLen is positive, at most maxLen long. An MP3 frame decodes on its own (a decoder may
// lose a few milliseconds at the start of a piece to the bit reservoir), so the pieces
// need no overlap and their offsets are exact.
func splitMP3(frames []mp3Frame, audio []byte, maxBytes int64, maxLen time.Duration) []piece {
	rate := frames[0].rate
	dur := func(samples int) time.Duration {
		return time.Duration(float64(samples) / float64(rate) * float64(time.Second))
	}
	var out []piece
	first, samples, before := 0, 0, 0
	flush := func(last int) {
		out = append(out, piece{
			audio:  audio[frames[first].start:frames[last].end],
			mime:   MIMEMP3,
			offset: dur(before),
			length: dur(samples),
		})
		before += samples
		first, samples = last+1, 0
	}
	for i, f := range frames {
		size := int64(f.end - frames[first].start)
		long := maxLen > 0 && dur(samples+f.samples) > maxLen
		if i > first && (size > maxBytes || long) {
			flush(i - 1)
		}
		samples += f.samples
	}
	flush(len(frames) - 1)
	return out
}

// mp3Duration is the length of the frames.
func mp3Duration(frames []mp3Frame) time.Duration {
	n := 0
	for _, f := range frames {
		n += f.samples
	}
	return time.Duration(float64(n) / float64(frames[0].rate) * float64(time.Second))
}
