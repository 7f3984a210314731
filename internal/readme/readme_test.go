package readme

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// block is one ```go block of README.md.
type block struct {
	line int // line of the opening fence, 1-based
	code string
}

// goBlocks returns the ```go blocks of a Markdown text, in order.
func goBlocks(md string) []block {
	var (
		out  []block
		cur  *block
		body strings.Builder
	)
	for i, l := range strings.Split(md, "\n") {
		t := strings.TrimSpace(l)
		switch {
		case cur == nil && t == "```go":
			cur = &block{line: i + 1}
			body.Reset()
		case cur != nil && t == "```":
			cur.code = body.String()
			out = append(out, *cur)
			cur = nil
		case cur != nil:
			body.WriteString(l)
			body.WriteByte('\n')
		}
	}
	return out
}

var (
	packageClause = regexp.MustCompile(`(?m)^package\s+(\w+)`)
	testFunc      = regexp.MustCompile(`(?m)^func Test\w*\(`)
)

func TestGoBlocksParse(t *testing.T) {
	md := "text\n```go\npackage main\n```\n\n```sh\nls\n```\n  ```go\n  package x_test\n  ```\n"
	got := goBlocks(md)
	if len(got) != 2 || got[0].line != 2 || got[0].code != "package main\n" || got[1].line != 9 {
		t.Fatalf("goBlocks = %+v", got)
	}
}

func TestREADMEGoBlocks(t *testing.T) {
	if testing.Short() {
		t.Skip("builds every Go block of README.md in a temporary module")
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	sum, err := os.ReadFile(filepath.Join(root, "go.sum"))
	if err != nil {
		t.Fatal(err)
	}
	blocks := goBlocks(string(md))
	if len(blocks) == 0 {
		t.Fatal("README.md has no ```go blocks")
	}
	ranFirst := false
	for i, b := range blocks {
		t.Run(fmt.Sprintf("block%d_line%d", i+1, b.line), func(t *testing.T) {
			m := packageClause.FindStringSubmatch(b.code)
			if m == nil || !strings.HasPrefix(strings.TrimSpace(b.code), "package ") {
				t.Fatalf("README.md:%d: the Go block is not a whole file; start it with a package clause so that it can be pasted and run", b.line)
			}
			isTest := strings.HasSuffix(m[1], "_test") || testFunc.MatchString(b.code)
			dir := t.TempDir()
			write(t, filepath.Join(dir, "go.mod"), fmt.Sprintf(
				"module example.com/readme\n\ngo 1.26.0\n\nrequire github.com/gowai/gowai v0.0.0\n\nreplace github.com/gowai/gowai => %s\n", root))
			write(t, filepath.Join(dir, "go.sum"), string(sum))
			name := "main.go"
			if isTest {
				name = "readme_test.go"
			}
			write(t, filepath.Join(dir, name), b.code)

			goCmd(t, dir, "vet", ".")
			if isTest {
				goCmd(t, dir, "test", "-count=1", ".")
				return
			}
			bin := filepath.Join(dir, "snippet")
			goCmd(t, dir, "build", "-o", bin, ".")
			if ranFirst {
				return
			}
			ranFirst = true
			runWithoutCredentials(t, bin, b.line)
		})
	}
}

// runWithoutCredentials runs the README's first program as a newcomer would before setting
// anything up: it must fail cleanly, saying which variable to set.
func runWithoutCredentials(t *testing.T, bin string, line int) {
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = environ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN", "OPENAI_BASE_URL")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	text := out.String()
	if err == nil {
		t.Fatalf("README.md:%d run with no credentials exited 0; want a non-zero exit naming CLOUDFLARE_ACCOUNT_ID. Output:\n%s", line, text)
	}
	if strings.Contains(text, "panic:") || strings.Contains(text, "goroutine ") {
		t.Fatalf("README.md:%d run with no credentials panicked:\n%s", line, text)
	}
	if !strings.Contains(text, "CLOUDFLARE_ACCOUNT_ID") {
		t.Fatalf("README.md:%d run with no credentials: the error does not name CLOUDFLARE_ACCOUNT_ID:\n%s", line, text)
	}
}

// goCmd runs the go command in dir with only the module cache to draw on.
func goCmd(t *testing.T, dir string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(environ("GOFLAGS", "GOPROXY", "GOWORK"),
		"GOFLAGS=-mod=mod -buildvcs=false", "GOPROXY=off", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

// environ returns the process environment without the named variables.
func environ(drop ...string) []string {
	var env []string
next:
	for _, kv := range os.Environ() {
		for _, d := range drop {
			if strings.HasPrefix(kv, d+"=") {
				continue next
			}
		}
		env = append(env, kv)
	}
	return env
}

func write(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
}
