// Command testserver runs the test MCP server of package testserver over stdio. With
// -log FILE, it appends "started TOOL" and "cancelled TOOL" lines to FILE.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gowai/gowai/mcptools/internal/testserver"
)

func main() {
	name := flag.String("name", "testserver", "the server's name")
	logPath := flag.String("log", "", "a file to append the calls' events to")
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
	if err := srv.Run(context.Background(), &mcp.StdioTransport{}); err != nil {
		fmt.Fprintln(os.Stderr, "testserver:", err)
		os.Exit(1)
	}
}
