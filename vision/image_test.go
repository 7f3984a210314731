package vision

import (
	"bytes"
	"errors"
	"flag"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

var update = flag.Bool("update", false, "rewrite the generated images in testdata")

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// testImages are the files in testdata, drawn here: go test -run TestTestdataImages -update.
var testImages = []struct {
	file, mime string
	encode     func(*bytes.Buffer, image.Image) error
}{
	{"square.png", "image/png", func(b *bytes.Buffer, m image.Image) error { return png.Encode(b, m) }},
	{"square.jpg", "image/jpeg", func(b *bytes.Buffer, m image.Image) error { return jpeg.Encode(b, m, &jpeg.Options{Quality: 80}) }},
	{"square.gif", "image/gif", func(b *bytes.Buffer, m image.Image) error { return gif.Encode(b, m, nil) }},
}

// square is a 16×12 picture: a red square on white.
func square() image.Image {
	m := image.NewRGBA(image.Rect(0, 0, 16, 12))
	for y := range 12 {
		for x := range 16 {
			c := color.RGBA{255, 255, 255, 255}
			if x >= 4 && x < 12 && y >= 2 && y < 10 {
				c = color.RGBA{220, 30, 30, 255}
			}
			m.Set(x, y, c)
		}
	}
	return m
}

func TestTestdataImages(t *testing.T) {
	for _, ti := range testImages {
		path := filepath.Join("testdata", ti.file)
		if *update {
			var b bytes.Buffer
			if err := ti.encode(&b, square()); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatalf("%v (regenerate with -update)", err)
		}
		cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
		if err != nil || cfg.Width != 16 || cfg.Height != 12 {
			t.Errorf("%s: decodes as %dx%d, %v; want a 16x12 image", ti.file, cfg.Width, cfg.Height, err)
		}
	}
}

func readTestdata(t *testing.T, file string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// webpHeader is the start of a WebP file. The standard library has no WebP encoder, and
// sniffing reads only the RIFF/WEBP header, so a header with a VP8L chunk tag is enough.
func webpHeader() []byte {
	return []byte("RIFF\x1a\x00\x00\x00WEBPVP8L\x0d\x00\x00\x00\x2f\x00\x00\x00\x10\x07\x10\x11\x11\x88\x88\xfe\x07\x00")
}

func TestFromBytesSniffsTheFourFormats(t *testing.T) {
	cases := []struct {
		name string
		data []byte
		mime string
	}{
		{"png", readTestdata(t, "square.png"), "image/png"},
		{"jpeg", readTestdata(t, "square.jpg"), "image/jpeg"},
		{"gif", readTestdata(t, "square.gif"), "image/gif"},
		{"webp", webpHeader(), "image/webp"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			img, err := FromBytes(c.data)
			if err != nil {
				t.Fatal(err)
			}
			if img.MIME != c.mime || !bytes.Equal(img.Data, c.data) {
				t.Errorf("got MIME %q and %d bytes, want %q and %d bytes", img.MIME, len(img.Data), c.mime, len(c.data))
			}
		})
	}
}

func TestFromBytesRejectsWhatIsNotAnImage(t *testing.T) {
	cases := []struct {
		name, data, looksLike string
	}{
		{"pdf", "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "application/pdf"},
		{"plain text", "Total: 12.50 EUR", "text/plain"},
		{"html error page", "<!DOCTYPE html><html><body>404</body></html>", "text/html"},
		{"bmp", "BM\x3a\x00\x00\x00\x00\x00\x00\x00\x36\x00\x00\x00", "image/bmp"},
		{"riff that is not webp", "RIFF\x24\x00\x00\x00WAVEfmt ", "audio/wave"},
		{"empty", "", "no bytes"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FromBytes([]byte(c.data))
			if !errors.Is(err, ErrNotImage) {
				t.Fatalf("err = %v, want ErrNotImage", err)
			}
			if !strings.Contains(err.Error(), c.looksLike) || !strings.Contains(err.Error(), "PNG, JPEG, GIF or WebP") {
				t.Errorf("error %q should say it is not a PNG, JPEG, GIF or WebP image and name %q", err, c.looksLike)
			}
		})
	}
}

func TestSizeLimit(t *testing.T) {
	pngBytes := readTestdata(t, "square.png")
	n := int64(len(pngBytes))
	t.Run("at the limit is accepted", func(t *testing.T) {
		if _, err := FromBytesLimit(pngBytes, n); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("one byte over is rejected", func(t *testing.T) {
		_, err := FromBytesLimit(pngBytes, n-1)
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("default limit is 10 MiB", func(t *testing.T) {
		big := make([]byte, DefaultMaxImageBytes+1)
		copy(big, pngBytes)
		if _, err := FromBytes(big); !errors.Is(err, ErrTooLarge) {
			t.Fatalf("%d bytes: err = %v, want ErrTooLarge", len(big), err)
		}
		if _, err := FromBytes(big[:DefaultMaxImageBytes]); err != nil {
			t.Fatalf("%d bytes: %v", DefaultMaxImageBytes, err)
		}
	})
	t.Run("non-positive limit is an error", func(t *testing.T) {
		if _, err := FromBytesLimit(pngBytes, 0); err == nil {
			t.Fatal("want an error")
		}
	})
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	pngBytes := readTestdata(t, "square.png")
	write := func(name string, b []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}

	t.Run("type comes from the bytes, not the file name", func(t *testing.T) {
		img, err := Load(write("photo.jpg", pngBytes))
		if err != nil {
			t.Fatal(err)
		}
		if img.MIME != "image/png" {
			t.Errorf("MIME = %q, want image/png", img.MIME)
		}
		_, err = Load(write("invoice.png", []byte("%PDF-1.4\n")))
		if !errors.Is(err, ErrNotImage) || !strings.Contains(err.Error(), "invoice.png") {
			t.Errorf("err = %v, want ErrNotImage naming the file", err)
		}
	})
	t.Run("size limit", func(t *testing.T) {
		p := write("square.png", pngBytes)
		if _, err := LoadLimit(p, int64(len(pngBytes))); err != nil {
			t.Errorf("at the limit: %v", err)
		}
		_, err := LoadLimit(p, int64(len(pngBytes))-1)
		if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), p) {
			t.Errorf("over the limit: err = %v, want ErrTooLarge naming the file", err)
		}
	})
	t.Run("missing file", func(t *testing.T) {
		if _, err := Load(filepath.Join(dir, "nope.png")); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("err = %v, want fs.ErrNotExist", err)
		}
	})
}
