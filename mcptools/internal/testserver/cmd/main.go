// Command testserver runs the test MCP server of package testserver over stdio, or with
// -http over streamable HTTP on a loopback port, whose URL it prints as the first line of
// its standard output. With -log FILE, it appends "started TOOL" and "cancelled TOOL"
// lines to FILE.
package main

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gowai/gowai/mcptools/internal/testserver"
)

func main() {
	name := flag.String("name", "testserver", "the server's name")
	logPath := flag.String("log", "", "a file to append the calls' events to")
	overHTTP := flag.Bool("http", false, "serve streamable HTTP on a loopback port instead of stdio")
	flag.Parse()
	note := func(string) {}
	if *logPath != "" {
		note = func(line string) {
			f, err := os.OpenFile(*logPath, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return
			}
			fmt.Fprintln(f, line)
			f.Close()
		}
	}
	srv := testserver.New(testserver.Config{
		Name:      *name,
		Exit:      os.Exit,
		Started:   func(tool string) { note("started " + tool) },
		Cancelled: func(tool string) { note("cancelled " + tool) },
	})
	var err error
	if *overHTTP {
		err = serveHTTP(srv)
	} else {
		err = srv.Run(context.Background(), &mcp.StdioTransport{})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}

// serveHTTP serves srv over streamable HTTP on a loopback port until the process ends.
func serveHTTP(srv *mcp.Server) error {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("http://%s/\n", ln.Addr())
	return http.Serve(ln, mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil))
}
