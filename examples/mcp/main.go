// Command mcp runs an agent whose tools come from an MCP server, next to one local Go tool.
// It starts examples/mcpserver (the calculator and unit converter) as a child process over
// stdio, lists its tools, and lets the agent use them together with hours_minutes, a
// function of this program. It prints where each tool comes from, each step's calls and
// results, the answer and what the run cost.
//
//	go run ./examples/mcp
//	go run ./examples/mcp -q "How many feet is 8848 m, and how long is 1000 / 7 minutes?"
//	go run ./examples/mcp -server /path/to/other-mcp-server
//
// By default the server is built once with go build into a temporary directory and the
// binary is run: the session then talks to, and stops, the server process itself, not a go
// run wrapper around it, and no compile happens while the agent waits. -server runs
// another MCP server command instead (its tools replace the example ones).
//
// The backend comes from the environment (-h says how); offline, the llmtest emulator's
// test model calls each tool once with arguments taken from the question and then answers
// with a summary of what it received.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/examples/internal/backend"
	"github.com/gowai/gowai/mcptools"
	"github.com/gowai/gowai/tools"
)

// defaultQuestion needs both of the server's tools and the local one.
const defaultQuestion = "A marathon is 42.195 km. How many mi is that? At 5.5 minutes per km, how many hours does " +
	"it take ((42.195 * 5.5) / 60)? Say the time in hours and minutes."

func main() {
	q := flag.String("q", defaultQuestion, "the question")
	server := flag.String("server", "", "the path of an MCP server `program` to run over stdio instead of building examples/mcpserver")
	backend.Main("mcp", "Mcp runs an agent whose tools come from an MCP server (examples/mcpserver, started as a\n"+
		"child process over stdio; package mcptools) next to one local Go tool. It prints each\n"+
		"step, the answer and the cost.",
		func(ctx context.Context) error { return run(ctx, os.Stdout, *q, *server) })
}

// run answers q with the tools of the MCP server program server (examples/mcpserver, built
// here, when it is "") and the local tool, and writes what happens to w.
func run(ctx context.Context, w io.Writer, q, server string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	if server == "" {
		dir, err := os.MkdirTemp("", "gowai-mcp-example")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		server = filepath.Join(dir, "mcpserver")
		start := time.Now()
		build := exec.CommandContext(ctx, "go", "build", "-o", server, "github.com/gowai/gowai/examples/mcpserver")
		build.Stderr = os.Stderr
		if err := build.Run(); err != nil {
			return fmt.Errorf("build examples/mcpserver (run this from inside the gowai module, or pass -server): %w", err)
		}
		fmt.Fprintf(os.Stderr, "built examples/mcpserver in %s\n", time.Since(start).Round(time.Millisecond))
	}

	cmd := exec.Command(server)
	cmd.Stderr = os.Stderr
	sess, err := mcptools.Connect(ctx, &mcp.CommandTransport{Command: cmd}, mcptools.WithClientName("gowai-mcp-example", "v1"))
	if err != nil {
		return fmt.Errorf("start the MCP server %s: %w", server, err)
	}
	defer sess.Close()
	remote := sess.Tools()
	for _, t := range remote {
		fmt.Fprintf(w, "tool %s: from MCP server %s\n", t.Def().Name, sess.Name())
	}
	local := hoursMinutesTool()
	fmt.Fprintf(w, "tool %s: local Go function\n", local.Def().Name)

	b, err := backend.Open("@cf/meta/llama-3.3-70b-instruct-fp8-fast", os.Stderr)
	if err != nil {
		return fmt.Errorf("choose backend: %w", err)
	}
	defer b.Close()
	a := agent.New(b.Model,
		agent.WithSystem("You are a precise assistant. Use the calculator for every computation, convert_units for "+
			"every unit conversion and hours_minutes to write a duration; never guess a number. Answer briefly."),
		agent.WithTools(append(remote, local)...),
		agent.WithToolTimeout(20*time.Second),
		agent.WithHooks(agent.Hooks{AfterStep: func(_ context.Context, s agent.Step) { printStep(w, s) }}),
	)
	res, err := a.Run(ctx, q)
	if err != nil {
		return fmt.Errorf("answer the question (after %d steps): %w", len(res.Steps), err)
	}
	fmt.Fprintf(w, "\nanswer: %s\n", res.Text)
	fmt.Fprintf(w, "usage: %d tokens over %d steps\n", res.Usage.TotalTokens, len(res.Steps))
	fmt.Fprintln(w, backend.Cost(res.Usage, b.Offline))
	return nil
}

type hoursIn struct {
	Hours float64 `json:"hours" jsonschema:"minimum=0,example=3.867875" jsonschema_description:"A duration in decimal hours"`
}

// hoursMinutesTool is the local tool: it writes decimal hours as hours and minutes.
func hoursMinutesTool() tools.Tool {
	return tools.New("hours_minutes", "Write a duration given in decimal hours as hours and minutes, e.g. 3.5 -> 3 h 30 min.",
		func(_ context.Context, in hoursIn) (string, error) {
			total := int(math.Round(in.Hours * 60))
			return fmt.Sprintf("%d h %02d min", total/60, total%60), nil
		})
}

// printStep writes one step to w as it completes.
func printStep(w io.Writer, s agent.Step) {
	fmt.Fprintf(w, "step: model %s, %d tokens\n", s.ModelTime.Round(time.Millisecond), s.Usage.TotalTokens)
	for _, r := range s.Results {
		out := strings.TrimRight(r.Output, "\n")
		if len(out) > 300 {
			out = out[:300] + fmt.Sprintf("... (%d bytes in all)", len(r.Output))
		}
		fmt.Fprintf(w, "  %s(%s)\n    -> %s\n", r.Call.Name, r.Call.Arguments, strings.ReplaceAll(out, "\n", "\n       "))
	}
}
