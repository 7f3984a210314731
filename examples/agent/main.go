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
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/examples/internal/backend"
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
		agent.WithTools(calculatorTool(), converterTool(), filesTool(root)),
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

// ---- calculator ----

type calcIn struct {
	Expression string `json:"expression" jsonschema:"minLength=1,maxLength=500,example=(42.195 * 5.5) / 60" jsonschema_description:"Arithmetic with + - * / and parentheses, e.g. (2 + 3) * 4.5"`
}

func calculatorTool() tools.Tool {
	return tools.New("calculator", "Evaluate an arithmetic expression on decimal numbers: + - * / and parentheses.",
		func(_ context.Context, in calcIn) (string, error) {
			v, err := evaluate(in.Expression)
			if err != nil {
				return "", err
			}
			return strconv.FormatFloat(v, 'g', 12, 64), nil
		})
}

// evaluate computes expr by recursive descent over
//
//	expr   = term { ("+" | "-") term }
//	term   = factor { ("*" | "/") factor }
//	factor = ("+" | "-") factor | number | "(" expr ")"
func evaluate(expr string) (float64, error) {
	p := &calc{s: expr}
	v, err := p.expr()
	if err != nil {
		return 0, err
	}
	if p.skip(); p.i < len(p.s) {
		return 0, p.errorf("unexpected %q", p.s[p.i])
	}
	return v, nil
}

type calc struct {
	s string
	i int
}

func (p *calc) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// next returns the next non-blank byte, or 0 at the end.
func (p *calc) next() byte {
	if p.skip(); p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *calc) errorf(format string, args ...any) error {
	return fmt.Errorf("calculator: %s at position %d of %q", fmt.Sprintf(format, args...), p.i+1, p.s)
}

func (p *calc) expr() (float64, error) {
	v, err := p.term()
	for err == nil {
		op := p.next()
		if op != '+' && op != '-' {
			break
		}
		p.i++
		var w float64
		if w, err = p.term(); op == '+' {
			v += w
		} else {
			v -= w
		}
	}
	return v, err
}

func (p *calc) term() (float64, error) {
	v, err := p.factor()
	for err == nil {
		op := p.next()
		if op != '*' && op != '/' {
			break
		}
		p.i++
		at := p.i
		var w float64
		if w, err = p.factor(); err != nil {
			break
		}
		if op == '*' {
			v *= w
		} else if w == 0 {
			p.i = at
			return 0, p.errorf("division by zero")
		} else {
			v /= w
		}
	}
	return v, err
}

func (p *calc) factor() (float64, error) {
	switch c := p.next(); {
	case c == '-' || c == '+':
		p.i++
		v, err := p.factor()
		if c == '-' {
			v = -v
		}
		return v, err
	case c == '(':
		p.i++
		v, err := p.expr()
		if err != nil {
			return 0, err
		}
		if p.next() != ')' {
			return 0, p.errorf("missing ')'")
		}
		p.i++
		return v, nil
	case c >= '0' && c <= '9' || c == '.':
		start := p.i
		for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.') {
			p.i++
		}
		text := p.s[start:p.i]
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			p.i = start
			return 0, p.errorf("bad number %q", text)
		}
		return v, nil
	case c == 0:
		return 0, p.errorf("expression ends early")
	default:
		return 0, p.errorf("unexpected %q", c)
	}
}

// ---- unit converter ----

type convertIn struct {
	Value float64 `json:"value" jsonschema:"example=42.195"`
	From  string  `json:"from" jsonschema:"enum=km,enum=mi,enum=m,enum=ft,enum=in,enum=cm,enum=kg,enum=lb,enum=g,enum=oz,enum=C,enum=F,enum=K,enum=l,enum=gal,enum=ml"`
	To    string  `json:"to" jsonschema:"enum=mi,enum=km,enum=m,enum=ft,enum=in,enum=cm,enum=kg,enum=lb,enum=g,enum=oz,enum=C,enum=F,enum=K,enum=l,enum=gal,enum=ml"`
}

type convertOut struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// unit converts to and from its dimension's base unit (m, kg, K, l).
type unit struct {
	dim    string
	factor float64 // base units per unit
	offset float64 // added after scaling, for temperatures
}

var units = map[string]unit{
	"km": {"length", 1000, 0}, "mi": {"length", 1609.344, 0}, "m": {"length", 1, 0},
	"ft": {"length", 0.3048, 0}, "in": {"length", 0.0254, 0}, "cm": {"length", 0.01, 0},
	"kg": {"mass", 1, 0}, "lb": {"mass", 0.45359237, 0}, "g": {"mass", 0.001, 0}, "oz": {"mass", 0.028349523125, 0},
	"K": {"temperature", 1, 0}, "C": {"temperature", 1, 273.15}, "F": {"temperature", 5.0 / 9, 273.15 - 32*5.0/9},
	"l": {"volume", 1, 0}, "gal": {"volume", 3.785411784, 0}, "ml": {"volume", 0.001, 0},
}

func converterTool() tools.Tool {
	return tools.New("convert_units", "Convert a value between units of length (km mi m ft in cm), mass (kg lb g oz), temperature (C F K) or volume (l gal ml; gal is the US gallon).",
		func(_ context.Context, in convertIn) (convertOut, error) {
			from, to := units[in.From], units[in.To] // the schema's enums guarantee both exist
			if from.dim != to.dim {
				return convertOut{}, fmt.Errorf("cannot convert %s (%s) to %s (%s)", in.From, from.dim, in.To, to.dim)
			}
			base := in.Value*from.factor + from.offset
			// Ten significant digits: more would show float noise (100 C = 211.99999999999991 F).
			v, _ := strconv.ParseFloat(strconv.FormatFloat((base-to.offset)/to.factor, 'g', 10, 64), 64)
			return convertOut{Value: v, Unit: in.To}, nil
		})
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
