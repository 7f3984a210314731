package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run if a test leaves a goroutine behind: run serves in one.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// lockedBuffer is an io.Writer that tests can read while the server writes to it.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

var listening = regexp.MustCompile(`listening on (http://\S+)`)

// readRoot reads the banner's first line and returns the server's root URL; the rest of
// stdout is collected in rest until stdout ends, when copied is closed.
func readRoot(t *testing.T, stdout io.Reader, rest *lockedBuffer) (root string, copied <-chan struct{}) {
	t.Helper()
	br := bufio.NewReader(stdout)
	line, err := br.ReadString('\n')
	if err != nil {
		t.Fatalf("read banner: %v (got %q)", err, line)
	}
	m := listening.FindStringSubmatch(line)
	if m == nil {
		t.Fatalf("banner %q names no URL", line)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.Copy(rest, br)
	}()
	return m[1], done
}

func do(t *testing.T, method, url, token, body string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header, string(b)
}

// exercise sends a chat, a streamed chat and an embedding to the OpenAI-compatible base URL
// under root, as curl or any OpenAI SDK would, and checks the answers.
func exercise(t *testing.T, root, token string) {
	t.Helper()
	base := root + "/client/v4/accounts/local/ai/v1"
	status, _, body := do(t, "POST", base+"/chat/completions", token,
		`{"model":"@cf/meta/llama-3.1-8b-instruct","messages":[{"role":"user","content":"Say hello"}]}`)
	var chat struct {
		Object  string `json:"object"`
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := json.Unmarshal([]byte(body), &chat); err != nil || status != 200 || chat.Object != "chat.completion" ||
		len(chat.Choices) != 1 || !strings.HasPrefix(chat.Choices[0].Message.Content, "test model:") {
		t.Fatalf("chat: %d %s (%v)", status, body, err)
	}

	status, h, body := do(t, "POST", base+"/chat/completions", token,
		`{"model":"@cf/meta/llama-3.1-8b-instruct","stream":true,"messages":[{"role":"user","content":"Say hello"}]}`)
	if status != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/event-stream") ||
		!strings.Contains(body, `"object":"chat.completion.chunk"`) || !strings.HasSuffix(body, "data: [DONE]\n\n") {
		t.Fatalf("stream: %d %s %s", status, h.Get("Content-Type"), body)
	}

	status, _, body = do(t, "POST", base+"/embeddings", token, `{"model":"@cf/baai/bge-small-en-v1.5","input":["hello"]}`)
	var emb struct {
		Data []struct {
			Embedding []float32 `json:"embedding"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &emb); err != nil || status != 200 || len(emb.Data) != 1 || len(emb.Data[0].Embedding) != 384 {
		t.Fatalf("embeddings: %d %.300s (%v)", status, body, err)
	}
}

// emulator is the command run in-process by start.
type emulator struct {
	root   string // the URL the banner names
	stop   func() // cancels the command and waits until run has returned and stdout is read
	stdout *lockedBuffer
	stderr *lockedBuffer
}

// start runs the command with args in-process and returns once it listens. stop cancels it
// and fails the test unless run returns nil; stdout then holds the banner after its first
// line, and stderr the request log.
func start(t *testing.T, args ...string) emulator {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	pr, pw := io.Pipe()
	e := emulator{stdout: &lockedBuffer{}, stderr: &lockedBuffer{}}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, args, pw, e.stderr)
		pw.Close()
	}()
	root, copied := readRoot(t, pr, e.stdout)
	e.root = root
	e.stop = func() {
		t.Helper()
		cancel()
		if err := <-done; err != nil {
			t.Fatalf("run: %v", err)
		}
		<-copied
	}
	return e
}

// TestRun serves with the default flags but a free port: chat, stream and embeddings work
// with any token, every request is logged, and cancelling the context stops the server.
func TestRun(t *testing.T) {
	e := start(t, "-addr", "127.0.0.1:0")
	root := e.root
	exercise(t, root, "")
	exercise(t, root, "any-token")
	e.stop()
	banner := e.stdout.String()
	for _, want := range []string{
		"account:  local (any account id is accepted)",
		"token:    any token, or none",
		"native (Workers AI REST)   " + root + "/client/v4/accounts/local/ai/run/{model}",
		"OpenAI-compatible          " + root + "/client/v4/accounts/local/ai/v1\n",
		"AI Gateway                 " + root + "/v1/local/{gateway}/workers-ai",
		"batch                      " + root + "/client/v4/accounts/local/ai/run/{model}?queueRequest=true",
		"model catalog              " + root + "/client/v4/accounts/local/ai/models/search",
		"Vectorize                  " + root + "/client/v4/accounts/local/vectorize/v2/indexes",
		"workers-ai-emulator: stopped\n",
	} {
		if !strings.Contains(banner, want) {
			t.Errorf("the output lacks %q:\n%s", want, banner)
		}
	}
	log := e.stderr.String()
	if n := strings.Count(log, "\n"); n != 6 {
		t.Errorf("%d log lines for 6 requests:\n%s", n, log)
	}
	for _, want := range []*regexp.Regexp{
		regexp.MustCompile(`(?m) POST /client/v4/accounts/local/ai/v1/chat/completions model=@cf/meta/llama-3\.1-8b-instruct status=200 in [0-9.]+[µm]?s$`),
		regexp.MustCompile(`(?m) POST /client/v4/accounts/local/ai/v1/embeddings model=@cf/baai/bge-small-en-v1\.5 status=200 in [0-9.]+[µm]?s$`),
	} {
		if !want.MatchString(log) {
			t.Errorf("log has no line matching %s:\n%s", want, log)
		}
	}
	if strings.Contains(log, "any-token") {
		t.Error("the log shows the token")
	}
}

// TestRunBatchAndVectorize checks that the command serves the async batch API, the model
// catalog and Vectorize at the base URLs it prints, keeping their state between requests.
func TestRunBatchAndVectorize(t *testing.T) {
	e := start(t, "-addr", "127.0.0.1:0")
	base := e.root + "/client/v4/accounts/local"
	type envelope struct {
		Success bool            `json:"success"`
		Result  json.RawMessage `json:"result"`
	}
	call := func(method, path, body string) json.RawMessage {
		t.Helper()
		status, _, b := do(t, method, base+path, "", body)
		var env envelope
		if err := json.Unmarshal([]byte(b), &env); err != nil || status != 200 || !env.Success {
			t.Fatalf("%s %s: %d %.300s", method, path, status, b)
		}
		return env.Result
	}

	const queue = "/ai/run/@cf/baai/bge-small-en-v1.5?queueRequest=true"
	var queued struct {
		Status    string `json:"status"`
		RequestID string `json:"request_id"`
	}
	if err := json.Unmarshal(call("POST", queue, `{"requests":[{"text":["a"]},{"text":["b"]}]}`), &queued); err != nil || queued.Status != "queued" || queued.RequestID == "" {
		t.Fatalf("batch submit: %+v %v", queued, err)
	}
	var result struct {
		Status    string `json:"status"`
		Responses []struct {
			Success bool `json:"success"`
		} `json:"responses"`
	}
	for poll := 0; result.Responses == nil; poll++ { // "running" until polled enough
		if err := json.Unmarshal(call("POST", queue, `{"request_id":"`+queued.RequestID+`"}`), &result); err != nil || poll == 5 ||
			(result.Responses == nil && result.Status != "running") {
			t.Fatalf("batch poll %d: %+v %v", poll, result, err)
		}
	}
	if len(result.Responses) != 2 || !result.Responses[1].Success {
		t.Fatalf("batch result: %+v", result)
	}

	var models []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(call("GET", "/ai/models/search?search=bge-small", ""), &models); err != nil || len(models) != 1 || models[0].Name != "@cf/baai/bge-small-en-v1.5" {
		t.Fatalf("model catalog: %+v %v", models, err)
	}

	call("POST", "/vectorize/v2/indexes", `{"name":"docs","config":{"dimensions":3,"metric":"cosine"}}`)
	var listed []struct {
		Name string `json:"name"`
	}
	if err := json.Unmarshal(call("GET", "/vectorize/v2/indexes", ""), &listed); err != nil || len(listed) != 1 || listed[0].Name != "docs" {
		t.Fatalf("indexes: %+v %v", listed, err)
	}

	e.stop()
	for _, want := range []string{
		"POST /client/v4/accounts/local/ai/run/@cf/baai/bge-small-en-v1.5 model=@cf/baai/bge-small-en-v1.5 status=200",
		"POST /client/v4/accounts/local/vectorize/v2/indexes model=- status=200",
		"GET /client/v4/accounts/local/vectorize/v2/indexes model=- status=200",
	} {
		if !strings.Contains(e.stderr.String(), want) {
			t.Errorf("log lacks %q:\n%s", want, e.stderr.String())
		}
	}
}

// TestRootURL checks the URL printed for each kind of listening address: an address on
// every interface is named localhost, so the printed URLs work as they are.
func TestRootURL(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8787}, "http://127.0.0.1:8787"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 8787}, "http://localhost:8787"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 9000}, "http://localhost:9000"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 8787}, "http://[::1]:8787"},
	} {
		if got := rootURL(c.addr); got != c.want {
			t.Errorf("rootURL(%v) = %s, want %s", c.addr, got, c.want)
		}
	}
}

// TestRunFlags checks -token, -account and -script, and that bad flags or a bad script
// stop the command before it listens.
func TestRunFlags(t *testing.T) {
	dir := t.TempDir()
	script := filepath.Join(dir, "script.jsonl")
	if err := os.WriteFile(script, []byte(`{"text":"scripted"}`+"\n"+`{"error":{"status":429,"code":3040,"message":"Capacity temporarily exceeded"},"retry_after":"3"}`+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	e := start(t, "-addr", "127.0.0.1:0", "-token", "s3cret", "-account", "acc1", "-script", script)
	root := e.root
	chat := `{"model":"@cf/meta/llama-3.1-8b-instruct","messages":[{"role":"user","content":"hi"}]}`
	if status, _, body := do(t, "POST", root+"/client/v4/accounts/acc1/ai/v1/chat/completions", "wrong", chat); status != 401 {
		t.Errorf("wrong token: %d %s", status, body)
	}
	if status, _, body := do(t, "POST", root+"/client/v4/accounts/other/ai/v1/chat/completions", "s3cret", chat); status != 404 || !strings.Contains(body, "7003") {
		t.Errorf("wrong account: %d %s", status, body)
	}
	if status, _, body := do(t, "POST", root+"/client/v4/accounts/acc1/ai/v1/chat/completions", "s3cret", chat); status != 200 || !strings.Contains(body, `"content":"scripted"`) {
		t.Errorf("scripted reply 1: %d %s", status, body)
	}
	if status, h, body := do(t, "POST", root+"/client/v4/accounts/acc1/ai/run/@cf/meta/llama-3.1-8b-instruct", "s3cret", `{"prompt":"hi"}`); status != 429 || h.Get("Retry-After") != "3" {
		t.Errorf("scripted reply 2: %d %s", status, body)
	}
	if status, _, body := do(t, "POST", root+"/client/v4/accounts/acc1/ai/v1/chat/completions", "s3cret", chat); status != 400 || !strings.Contains(body, "script ran out") {
		t.Errorf("after the script: %d %s", status, body)
	}
	e.stop()
	if log := e.stderr.String(); strings.Count(log, "(the script has no reply left)") != 1 ||
		!strings.Contains(log, "status=400 in ") {
		t.Errorf("the log does not mark the one request past the script:\n%s", log)
	}
	if !strings.Contains(e.stdout.String(), "account:  acc1 (only this account id is answered)") ||
		!strings.Contains(e.stdout.String(), "answers:  the replies in "+script+", in order") {
		t.Errorf("the banner does not name the account and the script:\n%s", e.stdout.String())
	}
	if strings.Contains(e.stderr.String()+e.stdout.String(), "s3cret") {
		t.Error("the output shows the token")
	}

	for _, args := range [][]string{
		{"-addr", "127.0.0.1:0", "-script", filepath.Join(dir, "missing.json")},
		{"-addr", "127.0.0.1:0", "-script", writeFile(t, dir, "bad.json", `{"txt":"x"}`)},
		{"-nope"},
		{"extra-arg"},
	} {
		if err := run(t.Context(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("run %q: no error", args)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCommand builds the command, serves on a free port, answers a chat, a stream and an
// embedding, and exits with status 0 on SIGINT and on SIGTERM.
func TestCommand(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the command")
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go tool on PATH")
	}
	bin := filepath.Join(t.TempDir(), "workers-ai-emulator")
	if out, err := exec.Command(goTool, "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Run("usage", func(t *testing.T) {
		for _, c := range []struct {
			args   []string
			code   int
			stderr string
		}{
			{[]string{"-h"}, 0, "-addr string"},
			{[]string{"-nope"}, 2, "flag provided but not defined: -nope"},
			{[]string{"extra"}, 2, `unexpected arguments ["extra"]`},
			{[]string{"-addr", "127.0.0.1:0", "-script", filepath.Join(t.TempDir(), "missing.jsonl")}, 1, "workers-ai-emulator: script: open "},
		} {
			var stderr strings.Builder
			cmd := exec.Command(bin, c.args...)
			cmd.Stderr = &stderr
			_ = cmd.Run()
			if code := cmd.ProcessState.ExitCode(); code != c.code || strings.Count(stderr.String(), c.stderr) != 1 {
				t.Errorf("%q: exit code %d, stderr:\n%s\nwant code %d and %q once", c.args, code, stderr.String(), c.code, c.stderr)
			}
		}
	})
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			cmd := exec.Command(bin, "-addr", "127.0.0.1:0")
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				t.Fatal(err)
			}
			var stderr lockedBuffer
			cmd.Stderr = &stderr
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			defer cmd.Process.Kill()
			var rest lockedBuffer
			root, copied := readRoot(t, stdout, &rest)
			exercise(t, root, "")
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			<-copied // Wait closes the pipe, so read it to the end first
			if err := cmd.Wait(); err != nil {
				t.Fatalf("exit after %v: %v\nstderr: %s", sig, err, stderr.String())
			}
			if cmd.ProcessState.ExitCode() != 0 {
				t.Fatalf("exit code %d", cmd.ProcessState.ExitCode())
			}
			if !strings.HasSuffix(rest.String(), "workers-ai-emulator: stopped\n") {
				t.Errorf("no clean stop reported:\n%s", rest.String())
			}
			if n := strings.Count(stderr.String(), " status=200"); n != 3 {
				t.Errorf("%d requests logged with status 200, want 3:\n%s", n, stderr.String())
			}
		})
	}
}
