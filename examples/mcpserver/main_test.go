package main

import (
	"context"
	"encoding/json"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"go.uber.org/goleak"

	"github.com/gowai/gowai/mcptools"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCommandLine(t *testing.T) {
	for _, tc := range []struct {
		args         []string
		code         int
		stdout, errs string
	}{
		{[]string{"-h"}, 0, "Usage: mcpserver [-http ADDR] [-timeout DURATION]", ""},
		{[]string{"-nope"}, 2, "", "mcpserver: flag provided but not defined: -nope (-h for help)\n"},
		{[]string{"serve"}, 2, "", "mcpserver: unexpected argument \"serve\" (every option is a flag) (-h for help)\n"},
		{[]string{"-timeout", "0s"}, 2, "", "mcpserver: -timeout 0s: want a positive duration (-h for help)\n"},
	} {
		var stdout, stderr strings.Builder
		if code := mainWith(tc.args, &stdout, &stderr); code != tc.code {
			t.Errorf("%v: exit status %d, want %d", tc.args, code, tc.code)
		}
		if !strings.Contains(stdout.String(), tc.stdout) || tc.stdout == "" && stdout.Len() > 0 {
			t.Errorf("%v: stdout %q, want %q", tc.args, stdout.String(), tc.stdout)
		}
		if stderr.String() != tc.errs {
			t.Errorf("%v: stderr %q, want %q", tc.args, stderr.String(), tc.errs)
		}
	}
	var help strings.Builder
	mainWith([]string{"-h"}, &help, &strings.Builder{})
	for _, want := range []string{"-http ADDR", "-timeout duration", "(default 10s)", `"command": "/path/to/mcpserver"`} {
		if !strings.Contains(help.String(), want) {
			t.Errorf("-h lacks %q:\n%s", want, help.String())
		}
	}
}

// TestServeHTTP serves the tools over streamable HTTP on loopback and uses them through
// mcptools and through the SDK's own client; ending the context shuts the server down with
// a client still connected.
func TestServeHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	set, err := toolSet(time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- serveHTTP(ctx, ln, set) }()
	url := "http://" + ln.Addr().String() + "/mcp"

	sess, err := mcptools.Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close()
	if sess.Name() != serverName {
		t.Errorf("server name %q", sess.Name())
	}
	var got []string
	for _, tool := range sess.Tools() {
		got = append(got, tool.Def().Name)
	}
	if !slices.Equal(got, []string{"calculator", "convert_units"}) {
		t.Fatalf("tools = %v", got)
	}
	out, err := sess.Tools()[1].Call(context.Background(), json.RawMessage(`{"value":42.195,"from":"km","to":"mi"}`))
	if err != nil || out != `{"value":26.21875746,"unit":"mi"}` {
		t.Errorf("convert_units: %q, %v", out, err)
	}

	// The server checks the arguments itself, for clients that do not.
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "sdk", Version: "v1"}, nil).
		Connect(context.Background(), &mcp.StreamableClientTransport{Endpoint: url}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer cs.Close()
	res, err := cs.CallTool(context.Background(), &mcp.CallToolParams{Name: "calculator", Arguments: map[string]any{"expression": ""}})
	if err != nil {
		t.Fatal(err)
	}
	if text := mcptools.Output(res); !res.IsError || !strings.Contains(text, "invalid arguments for calculator") {
		t.Errorf("empty expression: isError %v, %q", res.IsError, text)
	}

	// Both clients are still connected, with their event streams open.
	cancel()
	if err := <-served; err != nil {
		t.Errorf("serveHTTP after the context ended: %v", err)
	}
}
