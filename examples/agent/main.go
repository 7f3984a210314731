// Command agent answers a question with a tool-using agent: a calculator, a unit converter
// and a file reader confined to one directory. It prints each step (the tool calls with
// their arguments, results and durations) and the final answer.
//
//	go run ./examples/agent -q "What is (12.5 + 7.5) * 3, and how many miles is that in km?"
//	go run ./examples/agent -dir ./docs -q "Summarise the README in two sentences."
//
// The backend comes from the environment (-h says how): real Workers AI, an
// OpenAI-compatible server, or by default the offline llmtest emulator, whose test model
// calls each tool once with arguments taken from the question (the calculator gets the
// question's arithmetic) and then answers with a summary of what it received.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/examples/internal/backend"
	"github.com/gowai/gowai/examples/internal/exampletools"
	"github.com/gowai/gowai/tools"
)

func main() {
	q := flag.String("q", "A marathon is 42.195 km: how many miles is that, and how long would it take at 5.5 minutes per km, in hours ((42.195 * 5.5) / 60)? Also, which files are in the directory?", "the question")
	dir := flag.String("dir", ".", "the directory the file tool may list and read")
	steps := flag.Int("steps", 8, "the most tool-using steps")
	backend.Main("agent", "Agent answers a question with a tool-using agent (package agent): a calculator, a unit\n"+
		"converter and a file reader confined to -dir. It prints each step (tool calls, arguments,\n"+
		"results, durations) and the final answer.",
		func(ctx context.Context) error { return run(ctx, *q, *dir, *steps) })
}

func run(ctx context.Context, q, dir string, steps int) error {
	if steps < 1 {
		return backend.BadFlag("-steps %d: want at least 1", steps)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("open -dir: %w", err)
	}
	defer root.Close()

	b, err := backend.Open("@cf/meta/llama-3.3-70b-instruct-fp8-fast", os.Stderr)
	if err != nil {
		return fmt.Errorf("choose backend: %w", err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()

	a := agent.New(b.Model,
		agent.WithSystem("You are a precise assistant. Use the calculator for every computation, the converter for "+
			"every unit conversion and the files tool to look at files; never guess a number. Answer briefly."),
		agent.WithTools(exampletools.Calculator(), exampletools.ConvertUnits(), filesTool(root)),
		agent.WithMaxSteps(steps),
		agent.WithHooks(agent.Hooks{AfterStep: printStep}),
	)
	res, err := a.Run(ctx, q)
	if err != nil {
		// The steps printed above say what happened before the failure.
		return fmt.Errorf("answer the question (after %d steps): %w", len(res.Steps), err)
	}
	fmt.Printf("\nanswer: %s\n", res.Text)
	fmt.Fprintf(os.Stderr, "usage: %d tokens over %d steps\n", res.Usage.TotalTokens, len(res.Steps))
	fmt.Fprintln(os.Stderr, backend.Cost(res.Usage, b.Offline))
	return nil
}

// printStep prints one step as it completes.
func printStep(_ context.Context, s agent.Step) {
	fmt.Printf("step: model %s, %d tokens\n", s.ModelTime.Round(time.Millisecond), s.Usage.TotalTokens)
	for _, r := range s.Results {
		out := strings.TrimRight(r.Output, "\n")
		if len(out) > 300 {
			out = out[:300] + fmt.Sprintf("... (%d bytes in all)", len(r.Output))
		}
		fmt.Printf("  %s(%s) in %s\n    -> %s\n", r.Call.Name, r.Call.Arguments, r.Duration.Round(time.Microsecond),
			strings.ReplaceAll(out, "\n", "\n       "))
	}
}

// ---- files ----

const maxFileSize = 64 << 10

type filesIn struct {
	Action string `json:"action" jsonschema:"enum=list,enum=read" jsonschema_description:"list a directory or read a text file"`
	Path   string `json:"path,omitempty" jsonschema:"example=." jsonschema_description:"Relative path inside the working directory; default ."`
}

// filesTool lists and reads text files under root. os.Root refuses any path that escapes
// it, through ".." or a symbolic link; the explicit check first gives a clearer message.
func filesTool(root *os.Root) tools.Tool {
	return tools.New("files", "List a directory or read a text file (at most 64 KiB) inside the working directory.",
		func(_ context.Context, in filesIn) (string, error) {
			path := in.Path
			if path == "" {
				path = "."
			}
			if !filepath.IsLocal(path) && filepath.Clean(path) != "." {
				return "", fmt.Errorf("path %q is outside the working directory; use a relative path inside it", in.Path)
			}
			if in.Action == "list" {
				return listDir(root, path)
			}
			return readText(root, path)
		})
}

func listDir(root *os.Root, path string) (string, error) {
	entries, err := fs.ReadDir(root.FS(), filepath.ToSlash(filepath.Clean(path)))
	if err != nil {
		return "", err
	}
	const maxEntries = 200
	var b strings.Builder
	for i, e := range entries {
		if i == maxEntries {
			fmt.Fprintf(&b, "... and %d more entries not shown\n", len(entries)-maxEntries)
			break
		}
		info, err := e.Info()
		switch {
		case err != nil:
			fmt.Fprintf(&b, "%s (unreadable: %v)\n", e.Name(), err)
		case e.IsDir():
			fmt.Fprintf(&b, "%s/\n", e.Name())
		default:
			fmt.Fprintf(&b, "%s (%d bytes)\n", e.Name(), info.Size())
		}
	}
	if b.Len() == 0 {
		return "(empty directory)", nil
	}
	return b.String(), nil
}

func readText(root *os.Root, path string) (string, error) {
	f, err := root.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return "", err
	}
	if info.IsDir() {
		return "", fmt.Errorf("%s is a directory; use action list", path)
	}
	// Read one byte past the limit, so that a file that grows after Stat is still caught.
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return "", err
	}
	if len(data) > maxFileSize {
		return "", fmt.Errorf("%s is %d bytes; this tool reads files of at most %d bytes (64 KiB)", path, max(info.Size(), int64(len(data))), maxFileSize)
	}
	if !utf8.Valid(data) || strings.ContainsRune(string(data), 0) {
		return "", errors.New(path + " is not a text file")
	}
	return string(data), nil
}
