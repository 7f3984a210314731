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

func main() {
	addr := flag.String("http", "", "serve streamable HTTP at `ADDR` (path /mcp) instead of stdio")
	timeout := flag.Duration("timeout", 10*time.Second, "the most a tool call may take")
	flag.Usage = func() {
		fmt.Fprintf(flag.CommandLine.Output(), "mcpserver serves the example tools (calculator, convert_units) over MCP:\n"+
			"on stdin and stdout by default, or over streamable HTTP with -http.\n\n")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "mcpserver: unexpected argument %q (every option is a flag)\n", flag.Arg(0))
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, *addr, *timeout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcpserver:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, addr string, timeout time.Duration) error {
	set, err := tools.NewSet(exampletools.All()...)
	if err != nil {
		return err
	}
	set = set.WithTimeout(timeout)
	opts := []mcptools.ServeOption{mcptools.WithServerName("gowai-examples", "v1")}
	if addr == "" {
		// stdout carries the protocol: nothing else may be written there.
		return mcptools.Serve(ctx, set, &mcp.StdioTransport{}, opts...)
	}
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcptools.Handler(set, opts...))
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(os.Stderr, "mcpserver: serving streamable HTTP at http://%s/mcp\n", ln.Addr())
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
