package speech

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// TranscribeInput is what an agent gives the transcribe tool.
type TranscribeInput struct {
	Clip string `json:"clip" jsonschema_description:"The name of the audio clip to transcribe"`
}

// TranscribeTool is Transcribe with model as a tool named "transcribe". A model cannot
// hand audio to a tool, so the program gives the tool its clips by name; the description
// lists the names and the agent picks one. It answers with the transcript's text, or says
// that no speech was heard when the text is empty, so that the agent is not left with an
// empty answer.
func TranscribeTool(c *llm.Client, model string, clips map[string][]byte, opts ...Option) tools.Tool {
	names := slices.Sorted(maps.Keys(clips))
	return tools.New("transcribe", "Transcribe an audio clip to text. Clips: "+strings.Join(names, ", ")+".",
		func(ctx context.Context, in TranscribeInput) (string, error) {
			audio, ok := clips[in.Clip]
			if !ok {
				return "", fmt.Errorf("speech: transcribe: no clip named %q; the clips are %s", in.Clip, strings.Join(names, ", "))
			}
			t, err := Transcribe(ctx, c, model, audio, opts...)
			if err != nil {
				return "", err
			}
			if strings.TrimSpace(t.Text) == "" {
				return fmt.Sprintf("No speech was heard in %s.", in.Clip), nil
			}
			return t.Text, nil
		})
}

// SpeakInput is what an agent gives the speak tool.
type SpeakInput struct {
	Text string `json:"text" jsonschema_description:"The text to read aloud" jsonschema:"minLength=1"`
}

// SpeakTool is Speak with model as a tool named "speak". The audio is written to a new
// file in dir, speech-N with the audio's extension (speech-1.mp3, speech-2.mp3, ...), and
// the tool answers with its path. A file already in dir is never overwritten: N skips
// the names taken, also by an earlier run.
func SpeakTool(c *llm.Client, model, dir string, opts ...SpeakOption) tools.Tool {
	var n atomic.Int64
	return tools.New("speak", "Read a text aloud, saving the audio to a file; answers with the file's path.",
		func(ctx context.Context, in SpeakInput) (string, error) {
			a, err := Speak(ctx, c, model, in.Text, opts...)
			if err != nil {
				return "", err
			}
			path, err := writeNew(dir, Extension(a.MIME), &n, a.Data)
			if err != nil {
				return "", fmt.Errorf("speech: speak: %w", err)
			}
			return path, nil
		})
}

// writeNew writes data to the first speech-N file of dir, N counted by n, that does not
// exist yet, and returns its path.
func writeNew(dir, ext string, n *atomic.Int64, data []byte) (string, error) {
	for {
		path := filepath.Join(dir, fmt.Sprintf("speech-%d%s", n.Add(1), ext))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return "", err
		}
		_, err = f.Write(data)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return "", err
		}
		return path, nil
	}
}

// Extension is the usual file extension of an audio MIME type, ".bin" for one it does not
// know.
func Extension(mime string) string {
	switch mime {
	case MIMEWAV:
		return ".wav"
	case MIMEMP3:
		return ".mp3"
	case MIMEOGG:
		return ".ogg"
	case MIMEFLAC:
		return ".flac"
	case MIMEWebM:
		return ".webm"
	case MIMEM4A:
		return ".m4a"
	}
	return ".bin"
}
