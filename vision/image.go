package vision

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"

	"github.com/gowai/gowai/llm"
)

// DefaultMaxImageBytes is the size limit of Load, FromBytes and FetchImage: 10 MiB, well
// above what vision models read (they downscale) and small enough to keep a stray video or
// disk image out of memory and off the wire.
const DefaultMaxImageBytes = 10 << 20

// The sentinels below carry no "vision:" prefix: they always arrive wrapped in a message
// that has one.
var (
	// ErrNotImage is matched (errors.Is) when bytes are not a PNG, JPEG, GIF or WebP image.
	ErrNotImage = errors.New("not a PNG, JPEG, GIF or WebP image")
	// ErrTooLarge is matched (errors.Is) when an image is over its size limit.
	ErrTooLarge = errors.New("image too large")
)

// Load reads the image file at path. The type is sniffed from the bytes, never taken from
// the file name; files over DefaultMaxImageBytes are refused without being read whole.
func Load(path string) (llm.Image, error) { return LoadLimit(path, DefaultMaxImageBytes) }

// LoadLimit is Load with a size limit of maxBytes instead of DefaultMaxImageBytes.
func LoadLimit(path string, maxBytes int64) (llm.Image, error) {
	if maxBytes <= 0 {
		return llm.Image{}, fmt.Errorf("vision: load %s: size limit %d is not positive", path, maxBytes)
	}
	f, err := os.Open(path)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: load: %w", err)
	}
	defer f.Close()
	b, err := readLimited(f, maxBytes)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: load %s: %w", path, err)
	}
	img, err := sniff(b)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: load %s: %w", path, err)
	}
	return img, nil
}

// FromBytes returns b as an image with its type sniffed from its magic number. b must be at
// most DefaultMaxImageBytes long. The image shares b's memory.
func FromBytes(b []byte) (llm.Image, error) { return FromBytesLimit(b, DefaultMaxImageBytes) }

// FromBytesLimit is FromBytes with a size limit of maxBytes instead of DefaultMaxImageBytes.
func FromBytesLimit(b []byte, maxBytes int64) (llm.Image, error) {
	if maxBytes <= 0 {
		return llm.Image{}, fmt.Errorf("vision: size limit %d is not positive", maxBytes)
	}
	if int64(len(b)) > maxBytes {
		return llm.Image{}, fmt.Errorf("vision: %w: %d bytes, over the limit of %d", ErrTooLarge, len(b), maxBytes)
	}
	img, err := sniff(b)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: %w", err)
	}
	return img, nil
}

// readLimited reads all of r, failing as soon as more than maxBytes arrive: one byte past
// the limit is enough to know, so an endless source costs at most maxBytes+1 of memory.
func readLimited(r io.Reader, maxBytes int64) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > maxBytes {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, maxBytes)
	}
	return b, nil
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// imageType returns the MIME type of b from its magic number, or "" when b is not one of
// the four formats Workers AI vision models take.
func imageType(b []byte) string {
	switch {
	case bytes.HasPrefix(b, pngMagic):
		return "image/png"
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		return "image/jpeg"
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return "image/gif"
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		return "image/webp"
	}
	return ""
}

// sniff returns b as an image of its sniffed type.
func sniff(b []byte) (llm.Image, error) {
	if len(b) == 0 {
		return llm.Image{}, fmt.Errorf("%w: no bytes", ErrNotImage)
	}
	mime := imageType(b)
	if mime == "" {
		// Naming what the bytes look like turns "not an image" into something actionable
		// ("application/pdf", "text/html": an error page instead of the picture).
		return llm.Image{}, fmt.Errorf("%w: the bytes look like %s", ErrNotImage, http.DetectContentType(b))
	}
	return llm.Image{Data: b, MIME: mime}, nil
}

// checkImage validates an image the caller built and returns it with the MIME type its
// bytes carry, so a missing or wrong MIME never reaches the service.
func checkImage(img llm.Image) (llm.Image, error) {
	out, err := sniff(img.Data)
	if err != nil {
		return llm.Image{}, fmt.Errorf("image: %w", err)
	}
	return out, nil
}
