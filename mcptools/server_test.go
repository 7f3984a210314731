package mcptools_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gowai/gowai/mcptools"
	"github.com/gowai/gowai/tools"
)

// sdkClient connects the SDK's own client over t.
func sdkClient(t *testing.T, tr mcp.Transport) *mcp.ClientSession {
	t.Helper()
	c := mcp.NewClient(&mcp.Implementation{Name: "sdk-test-client", Version: "v1"}, nil)
	cs, err := c.Connect(context.Background(), tr, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// text returns the text of a result's only content.
func text(t *testing.T, res *mcp.CallToolResult) string {
	t.Helper()
	if len(res.Content) != 1 {
		t.Fatalf("content = %v, want one text", res.Content)
	}
	tc, ok := res.Content[0].(*mcp.TextContent)
	if !ok {
		t.Fatalf("content = %T, want text", res.Content[0])
	}
	return tc.Text
}

func callSDK(t *testing.T, cs *mcp.ClientSession, name, args string) *mcp.CallToolResult {
	t.Helper()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: name, Arguments: json.RawMessage(args)})
	if err != nil {
		t.Fatalf("CallTool(%s): %v", name, err)
	}
	return res
}

// TestServeOverStdio drives examples/mcpserver, a tools.Set served by Serve over stdio, with
// the SDK's own client.
func TestServeOverStdio(t *testing.T) {
	cs := sdkClient(t, &mcp.CommandTransport{Command: exec.Command(exampleServerBin)})
	if info := cs.InitializeResult().ServerInfo; info.Name != "gowai-examples" {
		t.Errorf("server name %q", info.Name)
	}
	list, err := cs.ListTools(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tool := range list.Tools {
		got = append(got, tool.Name)
		if tool.Name == "convert_units" {
			b, _ := json.Marshal(tool.InputSchema)
			if !strings.Contains(string(b), `"enum":["km","mi",`) || !strings.Contains(string(b), `"required":["value","from","to"]`) {
				t.Errorf("convert_units's schema = %s", b)
			}
		}
	}
	if !slices.Equal(got, []string{"calculator", "convert_units"}) {
		t.Errorf("tools = %v", got)
	}

	res := callSDK(t, cs, "calculator", `{"expression":"(42.195 * 5.5) / 60"}`)
	if res.IsError || text(t, res) != "3.867875" {
		t.Errorf("calculator: %q, isError %v", text(t, res), res.IsError)
	}
	res = callSDK(t, cs, "convert_units", `{"value":100,"from":"C","to":"F"}`)
	if res.IsError || text(t, res) != `{"value":212,"unit":"F"}` {
		t.Errorf("convert_units: %q, isError %v", text(t, res), res.IsError)
	}
	// Arguments are validated before the tool runs, and the problems come back as isError.
	res = callSDK(t, cs, "convert_units", `{"value":"ten","from":"C","to":"parsec"}`)
	if out := text(t, res); !res.IsError || !strings.HasPrefix(out, "error: invalid arguments for convert_units; nothing was run.") ||
		!strings.Contains(out, "/to: value must be one of") || !strings.Contains(out, "/value: expected number, but got string") {
		t.Errorf("invalid arguments: %q, isError %v", out, res.IsError)
	}
	// The tool's own error.
	res = callSDK(t, cs, "calculator", `{"expression":"1 / 0"}`)
	if out := text(t, res); !res.IsError || !strings.Contains(out, "division by zero") {
		t.Errorf("1 / 0: %q, isError %v", out, res.IsError)
	}
	// A tool the server does not have is a protocol error.
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "nope"}); err == nil {
		t.Error("calling an unknown tool succeeded")
	}
	// Closing the client closes the server's stdin: Serve returns nil and the process
	// exits with status 0 (Close reports any other exit).
	if err := cs.Close(); err != nil {
		t.Errorf("the server did not exit cleanly when the client closed: %v", err)
	}
}

// TestRoundTrip connects mcptools to a served tools.Set: the tools keep their schemas, and
// the arguments are checked on this side before they travel.
func TestRoundTrip(t *testing.T) {
	s, err := mcptools.Connect(context.Background(), &mcp.CommandTransport{Command: exec.Command(exampleServerBin)})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	}()
	if got := names(s.Tools()); !slices.Equal(got, []string{"calculator", "convert_units"}) {
		t.Fatalf("tools = %v", got)
	}
	calc := find(t, s.Tools(), "calculator")
	var params struct {
		Properties map[string]struct {
			MinLength int `json:"minLength"`
		} `json:"properties"`
		AdditionalProperties *bool `json:"additionalProperties"`
	}
	if err := json.Unmarshal(calc.Def().Parameters, &params); err != nil {
		t.Fatal(err)
	}
	if params.Properties["expression"].MinLength != 1 || params.AdditionalProperties == nil || *params.AdditionalProperties {
		t.Errorf("calculator's parameters = %s", calc.Def().Parameters)
	}
	if out, err := calc.Call(context.Background(), json.RawMessage(`{"expression":"(42.195 * 5.5) / 60"}`)); err != nil || out != "3.867875" {
		t.Errorf("calculator: %q, %v", out, err)
	}
	var argErr *tools.ArgumentError
	if _, err := calc.Call(context.Background(), json.RawMessage(`{"expression":""}`)); !errors.As(err, &argErr) {
		t.Errorf("empty expression: %v, want a *tools.ArgumentError", err)
	}
	var te *mcptools.ToolError
	if _, err := calc.Call(context.Background(), json.RawMessage(`{"expression":"1 / 0"}`)); !errors.As(err, &te) || !strings.Contains(te.Output, "division by zero") {
		t.Errorf("1 / 0: %v, want a *mcptools.ToolError", err)
	}
}

// serveInMemory serves set in the test process and connects the SDK's client to it.
func serveInMemory(t *testing.T, set *tools.Set, opts ...mcptools.ServeOption) *mcp.ClientSession {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, ct := mcp.NewInMemoryTransports()
	served := make(chan error, 1)
	opts = append([]mcptools.ServeOption{mcptools.WithServerName("inmem", "v2")}, opts...)
	go func() { served <- mcptools.Serve(ctx, set, st, opts...) }()
	cs := sdkClient(t, ct)
	t.Cleanup(func() {
		cs.Close()
		cancel()
		if err := <-served; err != nil {
			t.Errorf("Serve: %v", err)
		}
	})
	return cs
}

func TestServePanicsTimeoutsAndCancellation(t *testing.T) {
	set, err := tools.NewSet(
		tools.New("boom", "Panics.", func(context.Context, struct{}) (string, error) { panic("kaboom") }),
		tools.New("sleepy", "Takes longer than the timeout.", func(ctx context.Context, _ struct{}) (string, error) {
			<-ctx.Done()
			return "", ctx.Err()
		}),
	)
	if err != nil {
		t.Fatal(err)
	}
	set = set.WithTimeout(50 * time.Millisecond).WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))
	cs := serveInMemory(t, set)

	res := callSDK(t, cs, "boom", `{}`)
	if out := text(t, res); !res.IsError || out != "error: tool boom failed with an internal error" {
		t.Errorf("boom: %q, isError %v", out, res.IsError)
	}
	if strings.Contains(text(t, res), "kaboom") {
		t.Error("the panic value reached the client")
	}
	res = callSDK(t, cs, "sleepy", `{}`)
	if out := text(t, res); !res.IsError || out != "error: tool sleepy timed out after 50ms" {
		t.Errorf("sleepy: %q, isError %v", out, res.IsError)
	}

	// A client's cancellation reaches the tool's context (a set without a time limit).
	started, cancelled := make(chan struct{}), make(chan error, 1)
	plain, _ := tools.NewSet(tools.New("wait", "Waits for the client to cancel.", func(ctx context.Context, _ struct{}) (string, error) {
		close(started)
		<-ctx.Done()
		cancelled <- context.Cause(ctx)
		return "", ctx.Err()
	}))
	cs2 := serveInMemory(t, plain)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := cs2.CallTool(ctx, &mcp.CallToolParams{Name: "wait", Arguments: map[string]any{}})
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("CallTool after cancel: %v", err)
	}
	select {
	case err := <-cancelled:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("the tool's context ended with %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("the tool never saw the cancellation")
	}
}

func TestHandler(t *testing.T) {
	type in struct {
		N int `json:"n" jsonschema:"minimum=0"`
	}
	set, err := tools.NewSet(tools.New("double", "Doubles n.", func(_ context.Context, in in) (int, error) { return 2 * in.N, nil }))
	if err != nil {
		t.Fatal(err)
	}
	h := mcptools.Handler(set, mcptools.WithServerName("web", "v3"))
	hs := httptest.NewServer(h)
	defer hs.Close()
	cs := sdkClient(t, &mcp.StreamableClientTransport{Endpoint: hs.URL, HTTPClient: hs.Client()})
	defer cs.Close()
	if name := cs.InitializeResult().ServerInfo.Name; name != "web" {
		t.Errorf("server name %q", name)
	}
	res := callSDK(t, cs, "double", `{"n":7}`)
	if res.IsError || text(t, res) != "14" {
		t.Errorf("double: %q, isError %v", text(t, res), res.IsError)
	}
	res = callSDK(t, cs, "double", `{"n":-1}`)
	if out := text(t, res); !res.IsError || !strings.Contains(out, "/n: must be >= 0") {
		t.Errorf("double -1: %q, isError %v", out, res.IsError)
	}

	// Close ends the sessions a client left open (goleak in TestMain checks their
	// goroutines are gone); the client's next call finds its session unknown.
	if err := h.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "double", Arguments: map[string]any{"n": 1}}); err == nil {
		t.Error("a call after Close succeeded")
	}
	if err := h.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Bad input is an error or an empty server, not a panic.
func TestNilInputs(t *testing.T) {
	if s, err := mcptools.Connect(context.Background(), nil); err == nil || s != nil {
		t.Errorf("Connect with no transport: %v, %v", s, err)
	}
	if ts := mcptools.Tools(nil, nil); len(ts) != 0 {
		t.Errorf("Tools of nil sessions = %v", ts)
	}
	cs := serveInMemory(t, nil)
	list, err := cs.ListTools(context.Background(), nil)
	if err != nil || len(list.Tools) != 0 {
		t.Errorf("a nil set serves %v, %v; want no tools", list, err)
	}
}

func TestServerNameAndInstructions(t *testing.T) {
	cs := serveInMemory(t, nil, mcptools.WithServerName("named", "v9"), mcptools.WithInstructions("Call double for any doubling."))
	info := cs.InitializeResult()
	if info.ServerInfo.Name != "named" || info.ServerInfo.Version != "v9" || info.Instructions != "Call double for any doubling." {
		t.Errorf("the server announced %+v, instructions %q", info.ServerInfo, info.Instructions)
	}
}
