package mcptools_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/mcptools"
	"github.com/gowai/gowai/mcptools/internal/testserver"
	"github.com/gowai/gowai/tools"
)

// The commands TestMain builds from the repository.
var testServerBin, exampleServerBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "mcptools-test")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	testServerBin = filepath.Join(dir, "testserver")
	exampleServerBin = filepath.Join(dir, "mcpserver")
	for bin, pkg := range map[string]string{testServerBin: "./internal/testserver/cmd", exampleServerBin: "../examples/mcpserver"} {
		out, err := exec.Command("go", "build", "-o", bin, pkg).CombinedOutput()
		if err != nil {
			fmt.Fprintf(os.Stderr, "go build %s: %v\n%s", pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := 0
	func() {
		defer os.RemoveAll(dir)
		// VerifyTestMain exits; run the check by hand to remove the binaries first.
		code = m.Run()
		if code == 0 {
			if err := goleak.Find(); err != nil {
				fmt.Fprintln(os.Stderr, "goleak:", err)
				code = 1
			}
		}
	}()
	os.Exit(code)
}

const model = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"

// stdio starts the test server as a child process named name and connects to it. The
// returned path is the server's event log ("started slow", "cancelled slow").
func stdio(t *testing.T, name string, opts ...mcptools.Option) (*mcptools.Session, string) {
	t.Helper()
	log := filepath.Join(t.TempDir(), "events")
	cmd := exec.Command(testServerBin, "-name", name, "-log", log)
	s, err := mcptools.Connect(context.Background(), &mcp.CommandTransport{Command: cmd}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		if cmd.ProcessState == nil {
			t.Error("Close returned before the server process ended")
		}
	})
	return s, log
}

// events records what the in-process server saw.
type events struct {
	mu    sync.Mutex
	lines []string
	ch    chan string
}

func (e *events) add(line string) {
	e.mu.Lock()
	e.lines = append(e.lines, line)
	e.mu.Unlock()
	select {
	case e.ch <- line:
	default:
	}
}

// overHTTP serves the test server over streamable HTTP on loopback and connects to it.
func overHTTP(t *testing.T, name string) (*mcptools.Session, *events) {
	t.Helper()
	ev := &events{ch: make(chan string, 16)}
	srv := testserver.New(testserver.Config{
		Name:      name,
		Started:   func(tool string) { ev.add("started " + tool) },
		Cancelled: func(tool string) { ev.add("cancelled " + tool) },
	})
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
	t.Cleanup(hs.Close)
	s, err := mcptools.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: hs.Client()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s, ev
}

// transports runs f over stdio and over streamable HTTP.
func transports(t *testing.T, f func(t *testing.T, s *mcptools.Session)) {
	t.Run("stdio", func(t *testing.T) {
		s, _ := stdio(t, "testserver")
		f(t, s)
	})
	t.Run("http", func(t *testing.T) {
		s, _ := overHTTP(t, "testserver")
		f(t, s)
	})
}

func names(ts []tools.Tool) []string {
	var out []string
	for _, t := range ts {
		out = append(out, t.Def().Name)
	}
	return out
}

func find(t *testing.T, ts []tools.Tool, name string) tools.Tool {
	t.Helper()
	for _, tool := range ts {
		if tool.Def().Name == name {
			return tool
		}
	}
	t.Fatalf("no tool %q in %v", name, names(ts))
	return nil
}

// runAgent runs an agent with ts on the emulator, scripted with replies.
func runAgent(t *testing.T, ts []tools.Tool, opts []agent.Option, replies ...llmtest.Reply) *agent.Result {
	t.Helper()
	srv := llmtest.NewServer(llmtest.Script(replies...))
	t.Cleanup(srv.Close)
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	a := agent.New(c.Model(model), append([]agent.Option{agent.WithTools(ts...)}, opts...)...)
	res, err := a.Run(context.Background(), "go")
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return res
}

func call(name, args string) llm.ToolCall {
	return llm.ToolCall{Name: name, Arguments: json.RawMessage(args)}
}

func TestListAndCall(t *testing.T) {
	transports(t, func(t *testing.T, s *mcptools.Session) {
		if s.Name() != "testserver" {
			t.Errorf("Name() = %q", s.Name())
		}
		ts := s.Tools()
		got := names(ts)
		for _, want := range []string{"echo", "add", "fail", "media", "slow", "grow", "notes_read"} {
			if !slices.Contains(got, want) {
				t.Errorf("tools %v lack %q", got, want)
			}
		}
		if _, err := tools.NewSet(ts...); err != nil {
			t.Fatalf("NewSet: %v", err)
		}
		// An 80-character name is cut to 64, ending in a hash of the whole name.
		long := slices.IndexFunc(got, func(n string) bool { return strings.HasPrefix(n, "longlong") })
		if long < 0 || len(got[long]) != 64 || got[long][55] != '_' {
			t.Errorf("the long name became %v", got)
		}
		// The server's schema goes to the model as the server wrote it.
		var params map[string]any
		if err := json.Unmarshal(find(t, ts, "echo").Def().Parameters, &params); err != nil {
			t.Fatal(err)
		}
		if params["additionalProperties"] != false || fmt.Sprint(params["required"]) != "[text]" {
			t.Errorf("echo's parameters = %v", params)
		}

		res := runAgent(t, ts, nil,
			llmtest.Calls(call("echo", `{"text":"hello"}`), call("add", `{"a":1.5,"b":2}`), call("notes_read", `{}`)),
			llmtest.Text("done"))
		outs := []string{}
		for _, r := range res.Steps[0].Results {
			if r.Err != nil {
				t.Errorf("%s: %v", r.Call.Name, r.Err)
			}
			outs = append(outs, r.Output)
		}
		// add's structured content and its JSON text are the same: it is given once.
		if want := []string{"hello", `{"sum":3.5}`, "notes"}; !slices.Equal(outs, want) {
			t.Errorf("outputs = %q, want %q", outs, want)
		}
	})
}

func TestInvalidArgumentsFedBack(t *testing.T) {
	transports(t, func(t *testing.T, s *mcptools.Session) {
		res := runAgent(t, s.Tools(), nil,
			llmtest.Calls(call("echo", `{"text":""}`), call("add", `{"a":"one"}`)),
			llmtest.Text("done"))
		for i, want := range []string{"/text: length must be >= 1", "/a: expected number, but got string"} {
			r := res.Steps[0].Results[i]
			var argErr *tools.ArgumentError
			if !errors.As(r.Err, &argErr) {
				t.Errorf("%s: Err = %v, want a *tools.ArgumentError", r.Call.Name, r.Err)
			}
			if !strings.Contains(r.Output, "invalid arguments for "+r.Call.Name) || !strings.Contains(r.Output, want) {
				t.Errorf("%s: Output = %q, want the problem %q", r.Call.Name, r.Output, want)
			}
		}
		// The model's messages carry the problems back.
		last := res.Messages[len(res.Messages)-2]
		if !strings.Contains(last.Content, "invalid arguments") {
			t.Errorf("the last tool message says %q", last.Content)
		}
	})
}

func TestIsErrorAndContent(t *testing.T) {
	transports(t, func(t *testing.T, s *mcptools.Session) {
		res := runAgent(t, s.Tools(), nil,
			llmtest.Calls(call("fail", `{}`), call("media", `{}`)),
			llmtest.Text("done"))
		fail, media := res.Steps[0].Results[0], res.Steps[0].Results[1]
		var te *mcptools.ToolError
		if !errors.As(fail.Err, &te) || te.Tool != "fail" || te.Server != "testserver" {
			t.Errorf("fail: Err = %#v, want a *mcptools.ToolError", fail.Err)
		}
		if fail.Output != "error: the disk is full" {
			t.Errorf("fail: Output = %q", fail.Output)
		}
		want := strings.Join([]string{
			"here you are",
			"[image image/png, 12 bytes]",
			"[audio audio/wav, 4 bytes]",
			"[resource file:///notes.txt text/plain]",
			"buy milk",
			"[resource file:///a.bin, 3 bytes]",
			`[resource link file:///big.csv text/csv "big.csv"]`,
		}, "\n")
		if media.Err != nil || media.Output != want {
			t.Errorf("media: Output = %q, %v\nwant %q", media.Output, media.Err, want)
		}
	})
}

func TestProtocolErrorIsAResult(t *testing.T) {
	transports(t, func(t *testing.T, s *mcptools.Session) {
		// vanish removes itself: a second call names a tool the server no longer has, and
		// the server answers with a JSON-RPC error.
		res := runAgent(t, s.Tools(), nil,
			llmtest.Calls(call("vanish", `{}`)),
			llmtest.Calls(call("vanish", `{}`)),
			llmtest.Text("done"))
		if r := res.Steps[0].Results[0]; r.Err != nil || r.Output != "gone now" {
			t.Errorf("first call: %q, %v", r.Output, r.Err)
		}
		r := res.Steps[1].Results[0]
		if r.Err == nil || !strings.Contains(r.Output, "mcptools: server testserver: call vanish:") || !strings.Contains(r.Output, "vanish") {
			t.Errorf("second call: %q, %v; want the server's error", r.Output, r.Err)
		}
		if errors.Is(r.Err, mcptools.ErrGone) {
			t.Errorf("a protocol error marked the server gone: %v", r.Err)
		}
	})
}

// httpChild starts the test server as a child process named name that serves streamable
// HTTP on loopback, and connects to it.
func httpChild(t *testing.T, name string) *mcptools.Session {
	t.Helper()
	cmd := exec.Command(testServerBin, "-name", name, "-http")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill() // a server that did not crash
		_ = cmd.Wait()
	})
	url, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("the server's URL: %v", err)
	}
	s, err := mcptools.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: strings.TrimSpace(url)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// A server process that exits during a call: the call is an error result the model reads,
// the run goes on, and every later use fails at once with ErrGone naming the server.
func TestServerCrashMidCall(t *testing.T) {
	for _, tc := range []struct {
		name    string
		connect func(t *testing.T) *mcptools.Session
	}{
		{"stdio", func(t *testing.T) *mcptools.Session { s, _ := stdio(t, "crashy"); return s }},
		{"http", func(t *testing.T) *mcptools.Session { return httpChild(t, "crashy") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.connect(t)
			res := runAgent(t, s.Tools(), nil,
				llmtest.Calls(call("crash", `{}`)),
				llmtest.Calls(call("echo", `{"text":"still there?"}`)),
				llmtest.Text("done"))
			crash, next := res.Steps[0].Results[0], res.Steps[1].Results[0]
			t.Logf("crash: %s; next: %s", crash.Output, next.Output)
			if crash.Err == nil || !strings.HasPrefix(crash.Output, "error: ") {
				t.Errorf("crash: %q, %v; want an error result", crash.Output, crash.Err)
			}
			if !errors.Is(next.Err, mcptools.ErrGone) || !strings.HasPrefix(next.Output, "error: mcptools: server crashy is gone: ") {
				t.Errorf("next call: %q, %v; want ErrGone naming the server", next.Output, next.Err)
			}
			if err := s.Refresh(context.Background()); !errors.Is(err, mcptools.ErrGone) {
				t.Errorf("Refresh after the crash: %v", err)
			}
		})
	}
}

// waitFor waits until the server's log holds line.
func waitFor(t *testing.T, line string, lines func() []string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !slices.Contains(lines(), line) {
		if time.Now().After(deadline) {
			t.Fatalf("the server never logged %q; it logged %q", line, lines())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// withEvents runs f over stdio and over streamable HTTP, with a function returning what the
// server has logged so far ("started slow", "cancelled slow").
func withEvents(t *testing.T, f func(t *testing.T, s *mcptools.Session, logged func() []string)) {
	t.Run("stdio", func(t *testing.T) {
		s, log := stdio(t, "testserver")
		f(t, s, func() []string {
			b, _ := os.ReadFile(log)
			return strings.Split(strings.TrimSpace(string(b)), "\n")
		})
	})
	t.Run("http", func(t *testing.T) {
		s, ev := overHTTP(t, "testserver")
		f(t, s, func() []string {
			ev.mu.Lock()
			defer ev.mu.Unlock()
			return slices.Clone(ev.lines)
		})
	})
}

func TestToolTimeoutCancelsTheServerCall(t *testing.T) {
	withEvents(t, func(t *testing.T, s *mcptools.Session, logged func() []string) {
		// The timeout must leave the call time to reach the server: a cancellation that
		// overtakes its call (over HTTP they travel in separate requests) finds nothing to
		// cancel. One second is long enough on a loaded machine; nothing here measures it.
		res := runAgent(t, s.Tools(), []agent.Option{agent.WithToolTimeout(time.Second)},
			llmtest.Calls(call("slow", `{}`)),
			llmtest.Text("done"))
		r := res.Steps[0].Results[0]
		if !errors.Is(r.Err, context.DeadlineExceeded) || !strings.Contains(r.Output, "timed out") {
			t.Errorf("slow: %q, %v; want a timeout", r.Output, r.Err)
		}
		waitFor(t, "started slow", logged)
		waitFor(t, "cancelled slow", logged)
		// The session still works.
		if out, err := find(t, s.Tools(), "echo").Call(context.Background(), json.RawMessage(`{"text":"ok"}`)); err != nil || out != "ok" {
			t.Errorf("echo after the timeout: %q, %v", out, err)
		}
	})
}

func TestRunCancellationReachesTheServer(t *testing.T) {
	withEvents(t, func(t *testing.T, s *mcptools.Session, logged func() []string) {
		srv := llmtest.NewServer(llmtest.Script(llmtest.Calls(call("slow", `{}`)), llmtest.Text("done")))
		defer srv.Close()
		c, err := srv.Client()
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		a := agent.New(c.Model(model), agent.WithTools(s.Tools()...), agent.WithToolTimeout(0))
		done := make(chan error, 1)
		go func() {
			_, err := a.Run(ctx, "go")
			done <- err
		}()
		waitFor(t, "started slow", logged)
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Errorf("Run after cancel: %v, want context.Canceled", err)
		}
		waitFor(t, "cancelled slow", logged)
	})
}

func TestListChanged(t *testing.T) {
	changes := make(chan []tools.Tool, 4)
	// The callback runs on the session's goroutine: it must not block, or Close would wait.
	notify := func(ts []tools.Tool) {
		select {
		case changes <- ts:
		default:
		}
	}
	for _, tc := range []struct {
		name    string
		connect func(t *testing.T) *mcptools.Session
	}{
		{"stdio", func(t *testing.T) *mcptools.Session {
			s, _ := stdio(t, "testserver", mcptools.WithToolsChanged(notify))
			return s
		}},
		{"http", func(t *testing.T) *mcptools.Session {
			srv := testserver.New(testserver.Config{})
			hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
			t.Cleanup(hs.Close)
			s, err := mcptools.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: hs.Client()},
				mcptools.WithToolsChanged(notify))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			return s
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.connect(t)
			if slices.Contains(names(s.Tools()), "extra") {
				t.Fatal("extra is there before grow")
			}
			if _, err := find(t, s.Tools(), "grow").Call(context.Background(), nil); err != nil {
				t.Fatal(err)
			}
			select {
			case ts := <-changes:
				if !slices.Contains(names(ts), "extra") {
					t.Errorf("the changed set %v lacks extra", names(ts))
				}
			case <-time.After(20 * time.Second):
				t.Fatal("no list_changed refresh")
			}
			// The next agent built from Tools offers the new tool.
			res := runAgent(t, s.Tools(), nil, llmtest.Calls(call("extra", `{}`)), llmtest.Text("done"))
			if r := res.Steps[0].Results[0]; r.Err != nil || r.Output != "extra ran" {
				t.Errorf("extra: %q, %v", r.Output, r.Err)
			}
		})
	}
}

// A running agent whose tools come from the session (agent.WithToolSource) offers a tool the
// server added on its next step.
func TestListChangedReachesARunningAgent(t *testing.T) {
	changed := make(chan struct{}, 1)
	s, _ := stdio(t, "testserver", mcptools.WithToolsChanged(func([]tools.Tool) {
		select {
		case changed <- struct{}{}:
		default:
		}
	}))
	var steps int
	source := func(context.Context) []tools.Tool {
		if steps++; steps == 2 {
			// The refresh runs in the background; step 2 waits for it, as a slower model would.
			select {
			case <-changed:
			case <-time.After(20 * time.Second):
				t.Error("no list_changed refresh")
			}
		}
		return s.Tools()
	}
	res := runAgent(t, nil, []agent.Option{agent.WithToolSource(source)},
		llmtest.Calls(call("grow", `{}`)), llmtest.Calls(call("extra", `{}`)), llmtest.Text("done"))
	if r := res.Steps[1].Results[0]; r.Err != nil || r.Output != "extra ran" {
		t.Errorf("extra in step 2: %q, %v", r.Output, r.Err)
	}
}

func TestClashingNames(t *testing.T) {
	a, _ := stdio(t, "alpha")
	b, _ := overHTTP(t, "beta")
	// WithPrefix applies to every tool of gamma: its crash does not clash with alpha's.
	c, _ := stdio(t, "gamma", mcptools.WithPrefix("g."))
	all := mcptools.Tools(a, b, c)
	got := names(all)
	for _, want := range []string{"alpha_echo", "beta_echo", "g_echo", "alpha_notes_read", "beta_notes_read", "crash", "g_crash"} {
		if !slices.Contains(got, want) {
			t.Errorf("tools %v lack %q", got, want)
		}
	}
	if slices.Contains(got, "echo") {
		t.Errorf("tools %v keep the clashing name echo", got)
	}
	if _, err := tools.NewSet(all...); err != nil {
		t.Fatalf("NewSet: %v", err)
	}
	res := runAgent(t, all, nil,
		llmtest.Calls(call("alpha_echo", `{"text":"a"}`), call("beta_echo", `{"text":"b"}`), call("g_echo", `{"text":"g"}`)),
		llmtest.Text("done"))
	for i, want := range []string{"a", "b", "g"} {
		if r := res.Steps[0].Results[i]; r.Err != nil || r.Output != want {
			t.Errorf("%s: %q, %v", r.Call.Name, r.Output, r.Err)
		}
	}
	// Two instances of the same server: the prefix clashes too, and a number separates them.
	d, _ := stdio(t, "alpha")
	got = names(mcptools.Tools(a, d))
	if !slices.Contains(got, "alpha_echo") || !slices.Contains(got, "alpha_echo_2") {
		t.Errorf("two servers named alpha: %v", got)
	}
}

func TestSessionEndsWithContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.Command(testServerBin)
	s, err := mcptools.Connect(ctx, &mcp.CommandTransport{Command: cmd})
	if err != nil {
		t.Fatal(err)
	}
	echo := find(t, s.Tools(), "echo")
	if out, err := echo.Call(ctx, json.RawMessage(`{"text":"x"}`)); err != nil || out != "x" {
		t.Fatalf("echo: %q, %v", out, err)
	}
	cancel()
	if err := s.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if cmd.ProcessState == nil {
		t.Error("the server process was not waited for")
	}
	if _, err := echo.Call(context.Background(), json.RawMessage(`{"text":"x"}`)); !errors.Is(err, mcptools.ErrClosed) {
		t.Errorf("echo after the context ended: %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestOutput(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  *mcp.CallToolResult
		want string
	}{
		{"structured only", &mcp.CallToolResult{StructuredContent: map[string]any{"b": 1, "a": []int{2}}}, `{"a":[2],"b":1}`},
		{"structured, not HTML-escaped", &mcp.CallToolResult{StructuredContent: map[string]string{"rule": "a < b && b > c"}}, `{"rule":"a < b && b > c"}`},
		{"structured next to other text", &mcp.CallToolResult{
			Content:           []mcp.Content{&mcp.TextContent{Text: "two results"}},
			StructuredContent: []int{1, 2},
		}, "two results\n[1,2]"},
		{"structured and its JSON text", &mcp.CallToolResult{
			Content:           []mcp.Content{&mcp.TextContent{Text: `{ "n": 1 }`}},
			StructuredContent: map[string]int{"n": 1},
		}, `{ "n": 1 }`},
		{"image without type", &mcp.CallToolResult{Content: []mcp.Content{&mcp.ImageContent{Data: []byte("abc")}}}, "[image of unknown type, 3 bytes]"},
		{"nothing", &mcp.CallToolResult{}, ""},
		{"no result", nil, ""},
	} {
		if got := mcptools.Output(tc.res); got != tc.want {
			t.Errorf("%s: Output = %q, want %q", tc.name, got, tc.want)
		}
	}
}

// The schema the model reads is canonical: the same bytes over every transport, in every
// session and after a refresh, with keys sorted and nothing HTML-escaped.
func TestSchemaIsCanonical(t *testing.T) {
	const want = `{"additionalProperties":false,"properties":{"alpha":{"maximum":1500,"type":"number"},` +
		`"zeta":{"description":"at most 10 < 11 & \"quoted\"","type":"string"}},"required":["zeta","alpha"],"type":"object"}`
	transports(t, func(t *testing.T, s *mcptools.Session) {
		for i := range 2 {
			if got := string(find(t, s.Tools(), "ordered").Def().Parameters); got != want {
				t.Errorf("listing %d: parameters = %s\nwant %s", i+1, got, want)
			}
			if err := s.Refresh(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		// Still a schema that validates the arguments.
		var argErr *tools.ArgumentError
		if _, err := find(t, s.Tools(), "ordered").Call(context.Background(), json.RawMessage(`{"zeta":"z","alpha":2000}`)); !errors.As(err, &argErr) {
			t.Errorf("alpha above the maximum: %v, want a *tools.ArgumentError", err)
		}
		if out, err := find(t, s.Tools(), "ordered").Call(context.Background(), json.RawMessage(`{"zeta":"z","alpha":2}`)); err != nil || out != "ordered" {
			t.Errorf("ordered: %q, %v", out, err)
		}
	})
	if testserver.OrderedSchema == want {
		t.Fatal("the test server's schema is already canonical; the test proves nothing")
	}
}

// resetting is an http.Handler in front of h that, once dead is set, resets every
// connection it is given, as a host whose server process died does.
type resetting struct {
	h    http.Handler
	mu   sync.Mutex
	dead bool
}

func (r *resetting) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	r.mu.Lock()
	dead := r.dead
	r.mu.Unlock()
	if !dead {
		r.h.ServeHTTP(w, req)
		return
	}
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	if tcp, ok := conn.(*net.TCPConn); ok {
		_ = tcp.SetLinger(0) // close with a RST: the client reads "connection reset by peer"
	}
	conn.Close()
}

// A streamable HTTP server that stops answering, with its connections reset or refused, is
// gone: the call fails with ErrGone, and so does the next use, at once.
func TestHTTPServerGone(t *testing.T) {
	for _, how := range []string{"reset", "refused"} {
		t.Run(how, func(t *testing.T) {
			srv := testserver.New(testserver.Config{Name: "flaky"})
			h := &resetting{h: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)}
			hs := httptest.NewServer(h)
			defer hs.Close()
			defer func() {
				// The client never said goodbye; end the server's side of the session.
				for ss := range srv.Sessions() {
					ss.Close()
				}
			}()
			s, err := mcptools.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: hs.Client()})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			echo := find(t, s.Tools(), "echo")
			if how == "reset" {
				h.mu.Lock()
				h.dead = true
				h.mu.Unlock()
			} else {
				hs.CloseClientConnections()
				hs.Close()
			}
			for i := range 2 {
				_, err := echo.Call(context.Background(), json.RawMessage(`{"text":"x"}`))
				if !errors.Is(err, mcptools.ErrGone) || !strings.Contains(err.Error(), "server flaky is gone") {
					t.Errorf("call %d: %v, want ErrGone naming the server", i+1, err)
				}
			}
		})
	}
}

// A server without the tools capability (one offering only prompts, say) has no tools; it
// is not asked for them, since servers may refuse tools/list.
func TestServerWithoutTools(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "prompts-only", Version: "v1"}, nil)
	srv.AddPrompt(&mcp.Prompt{Name: "greet"}, func(context.Context, *mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		return &mcp.GetPromptResult{}, nil
	})
	srv.AddReceivingMiddleware(func(next mcp.MethodHandler) mcp.MethodHandler {
		return func(ctx context.Context, method string, req mcp.Request) (mcp.Result, error) {
			if method == "tools/list" {
				return nil, errors.New("method not found")
			}
			return next(ctx, method, req)
		}
	})
	s := inMemory(t, srv)
	if ts := s.Tools(); len(ts) != 0 {
		t.Errorf("tools = %v, want none", names(ts))
	}
	if err := s.Refresh(context.Background()); err != nil {
		t.Errorf("Refresh: %v", err)
	}
}

// A tool without a description is described to the model by its title.
func TestTitleStandsInForDescription(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "titles", Version: "v1"}, nil)
	noop := func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
		return nil, nil, nil
	}
	mcp.AddTool(srv, &mcp.Tool{Name: "a", Title: "Look up a word", Description: "Looks up a word in the dictionary."}, noop)
	mcp.AddTool(srv, &mcp.Tool{Name: "b", Title: "Look up a word"}, noop)
	mcp.AddTool(srv, &mcp.Tool{Name: "c", Annotations: &mcp.ToolAnnotations{Title: "Spell a word"}}, noop)
	mcp.AddTool(srv, &mcp.Tool{Name: "d"}, noop)
	s := inMemory(t, srv)
	want := map[string]string{"a": "Looks up a word in the dictionary.", "b": "Look up a word", "c": "Spell a word", "d": ""}
	for _, tool := range s.Tools() {
		if d := tool.Def(); d.Description != want[d.Name] {
			t.Errorf("%s: description %q, want %q", d.Name, d.Description, want[d.Name])
		}
	}
}

// inMemory runs srv in the test process and connects to it over an in-memory pair.
func inMemory(t *testing.T, srv *mcp.Server, opts ...mcptools.Option) *mcptools.Session {
	t.Helper()
	st, ct := mcp.NewInMemoryTransports()
	ss, err := srv.Connect(context.Background(), st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	s, err := mcptools.Connect(context.Background(), ct, opts...)
	if err != nil {
		t.Fatalf("Connect: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// Two names that differ only in characters providers reject stay two tools, each calling
// its own; a schema the validator cannot compile still reaches the model, and the server
// checks the arguments itself.
func TestNamesThatFitTheSameAndSchemasThatDoNotCompile(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "odd", Version: "v1"}, nil)
	says := func(text string) mcp.ToolHandler {
		return func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: text}}}, nil
		}
	}
	srv.AddTool(&mcp.Tool{Name: "a.b", InputSchema: json.RawMessage(`{"type":"object"}`)}, says("dot"))
	srv.AddTool(&mcp.Tool{Name: "a_b", InputSchema: json.RawMessage(`{"type":"object"}`)}, says("underscore"))
	const broken = `{"properties":{"x":{"$ref":"#/$defs/missing"}},"type":"object"}`
	srv.AddTool(&mcp.Tool{Name: "broken", InputSchema: json.RawMessage(broken)}, says("reached the server"))
	s := inMemory(t, srv)
	if got := names(s.Tools()); !slices.Equal(got, []string{"a_b", "a_b_2", "broken"}) {
		t.Fatalf("tools = %v", got)
	}
	for name, want := range map[string]string{"a_b": "dot", "a_b_2": "underscore"} {
		if out, err := find(t, s.Tools(), name).Call(context.Background(), nil); err != nil || out != want {
			t.Errorf("%s: %q, %v; want %q", name, out, err, want)
		}
	}
	b := find(t, s.Tools(), "broken")
	if got := string(b.Def().Parameters); got != broken {
		t.Errorf("broken's parameters = %s", got)
	}
	if out, err := b.Call(context.Background(), json.RawMessage(`{"x":1}`)); err != nil || out != "reached the server" {
		t.Errorf("broken: %q, %v", out, err)
	}
}

func TestClientName(t *testing.T) {
	srv := mcp.NewServer(&mcp.Implementation{Name: "", Version: "v1"}, nil)
	s := inMemory(t, srv, mcptools.WithClientName("my-agent", "v7"))
	sessions := slices.Collect(srv.Sessions())
	if len(sessions) != 1 {
		t.Fatalf("the server has %d sessions", len(sessions))
	}
	if ci := sessions[0].InitializeParams().ClientInfo; ci.Name != "my-agent" || ci.Version != "v7" {
		t.Errorf("the client announced %+v", ci)
	}
	// A server that gives no name is called "mcp" in errors and prefixes.
	if s.Name() != "mcp" {
		t.Errorf("Name() = %q", s.Name())
	}
}
