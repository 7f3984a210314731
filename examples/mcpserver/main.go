// Command mcpserver serves the example tools (calculator and convert_units, from the agent
// example) to any Model Context Protocol client, over stdio by default or over streamable
// HTTP with -http.
//
//	go build -o /tmp/mcpserver ./examples/mcpserver
//	/tmp/mcpserver                   # stdio: configure your MCP client to run this command
//	/tmp/mcpserver -http :8080       # streamable HTTP at http://localhost:8080/mcp
//
// Every call's arguments are checked against the tool's schema before it runs, and errors,
// panics and timeouts (-timeout) are answered as results with isError set.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gowai/gowai/examples/internal/exampletools"
	"github.com/gowai/gowai/mcptools"
	"github.com/gowai/gowai/tools"
)

const usage = `mcpserver serves the example tools (calculator, convert_units) over the Model Context
Protocol: on stdin and stdout by default, for an MCP client that starts it as a command, or
over streamable HTTP at the path /mcp with -http. A call's arguments are checked against the
tool's schema before it runs; invalid arguments, errors, panics and timeouts are results
with isError set.

Usage: mcpserver [-http ADDR] [-timeout DURATION]

An MCP client that starts servers as commands runs it as it is, for example with a
configuration such as
  {"mcpServers": {"gowai-examples": {"command": "/path/to/mcpserver"}}}
and the mcp example uses it as a child process: go run ./examples/mcp

Flags:
`

func main() {
	os.Exit(mainWith(os.Args[1:], os.Stdout, os.Stderr))
}

// mainWith is main over explicit arguments and outputs; it returns the exit status. -h
// prints the usage on stdout and exits 0; a bad flag is one line on stderr and status 2.
func mainWith(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("mcpserver", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	addr := fs.String("http", "", "serve streamable HTTP at `ADDR` (host:port; path /mcp) instead of stdio")
	timeout := fs.Duration("timeout", 10*time.Second, "the most a tool call may take")
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q (every option is a flag)", fs.Arg(0))
	}
	if err == nil && *timeout <= 0 {
		err = fmt.Errorf("-timeout %s: want a positive duration", *timeout)
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		fmt.Fprint(stdout, usage)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
		return 0
	case err != nil:
		fmt.Fprintf(stderr, "mcpserver: %v (-h for help)\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *addr, *timeout, stderr); err != nil {
		fmt.Fprintln(stderr, "mcpserver:", err)
		return 1
	}
	return 0
}

// toolSet is the example tools, each call limited to timeout.
func toolSet(timeout time.Duration) (*tools.Set, error) {
	set, err := tools.NewSet(exampletools.All()...)
	if err != nil {
		return nil, err
	}
	return set.WithTimeout(timeout), nil
}

// The name and version the server announces to its clients.
const serverName, serverVersion = "gowai-examples", "v1"

// run serves the example tools over stdio when addr is "", else over streamable HTTP at
// addr, until ctx ends (or, on stdio, the client closes the connection).
func run(ctx context.Context, addr string, timeout time.Duration, stderr io.Writer) error {
	set, err := toolSet(timeout)
	if err != nil {
		return err
	}
	if addr == "" {
		// stdout carries the protocol: nothing else may be written there.
		return mcptools.Serve(ctx, set, &mcp.StdioTransport{}, mcptools.WithServerName(serverName, serverVersion))
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "mcpserver: serving streamable HTTP at http://%s/mcp\n", ln.Addr())
	return serveHTTP(ctx, ln, set)
}

// serveHTTP serves set over streamable HTTP at the path /mcp on ln until ctx ends, then
// shuts down: the requests in flight, open event streams included, see their contexts
// end, the sessions clients left open are closed, and serveHTTP returns once all that is
// done.
func serveHTTP(ctx context.Context, ln net.Listener, set *tools.Set) error {
	h := mcptools.Handler(set, mcptools.WithServerName(serverName, serverVersion))
	mux := http.NewServeMux()
	mux.Handle("/mcp", h)
	srv := &http.Server{
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return ctx },
	}
	shut := make(chan error, 1)
	go func() {
		<-ctx.Done()
		grace, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		err := srv.Shutdown(grace)
		if err != nil {
			err = errors.Join(err, srv.Close())
		}
		shut <- errors.Join(err, h.Close())
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return <-shut
}
