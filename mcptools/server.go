package mcptools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// ServeOption configures Server, Serve and Handler.
type ServeOption func(*serveOptions)

type serveOptions struct {
	name, version string
	instructions  string
}

// WithServerName sets the name and version the server announces to its clients (default
// "gowai" and "v0").
func WithServerName(name, version string) ServeOption {
	return func(o *serveOptions) { o.name, o.version = name, version }
}

// WithInstructions sets the instructions the server gives its clients when they connect.
func WithInstructions(text string) ServeOption {
	return func(o *serveOptions) { o.instructions = text }
}

// Server returns an MCP server offering the tools of set, for callers that run it
// themselves (with mcp.Server.Run, or next to other features they add to it). Each tool is
// listed with its name, description and parameters schema, and every call goes through
// set.Run: the arguments are validated against the schema before the tool runs, and
// invalid arguments, the tool's error, a panic and the set's timeout (tools.Set.WithTimeout)
// each become a result with isError set whose text is what a gowai agent's model would
// read ("error: invalid arguments for ..."). A call the client cancels
// (notifications/cancelled) cancels the tool's context. A nil set is a server with no
// tools.
func Server(set *tools.Set, opts ...ServeOption) *mcp.Server {
	o := serveOptions{name: "gowai", version: "v0"}
	for _, opt := range opts {
		opt(&o)
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: o.name, Version: o.version}, &mcp.ServerOptions{
		Instructions: o.instructions,
		Capabilities: &mcp.ServerCapabilities{Tools: &mcp.ToolCapabilities{}},
	})
	if set == nil {
		return srv // a server with no tools
	}
	for _, def := range set.Defs() {
		srv.AddTool(&mcp.Tool{
			Name:        def.Name,
			Description: def.Description,
			InputSchema: json.RawMessage(def.Parameters),
		}, handler(set, def.Name))
	}
	return srv
}

// handler runs one call of the tool name through set.
func handler(set *tools.Set, name string) mcp.ToolHandler {
	return func(ctx context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		args := req.Params.Arguments
		if len(args) == 0 || string(args) == "null" {
			args = json.RawMessage("{}")
		}
		r := set.Run(ctx, []llm.ToolCall{{ID: "mcp", Name: name, Arguments: args}}, 1)[0]
		return &mcp.CallToolResult{
			Content: []mcp.Content{&mcp.TextContent{Text: r.Output}},
			IsError: r.Err != nil,
		}, nil
	}
}

// Serve serves the tools of set (see Server) over t until ctx ends or the client
// disconnects. For a program that is an MCP server on its standard input and output:
//
//	err := mcptools.Serve(ctx, set, &mcp.StdioTransport{})
//
// It returns nil when the client closed the connection or ctx ended.
func Serve(ctx context.Context, set *tools.Set, t mcp.Transport, opts ...ServeOption) error {
	err := Server(set, opts...).Run(ctx, t)
	// A client that closes its end while the server reads or writes (a pipe, a closed
	// stdin) has ended the session; it is not a failure of the server.
	if err == nil || ctx.Err() != nil || errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) {
		return nil
	}
	return fmt.Errorf("mcptools: serve: %w", err)
}

// Handler returns an http.Handler serving the tools of set (see Server) over MCP's
// streamable HTTP transport, one session per client:
//
//	h := mcptools.Handler(set)
//	defer h.Close()
//	http.Handle("/mcp", h)
//
// As the SDK's handler does by default, it refuses requests that reach a loopback address
// with a Host header naming another host (DNS rebinding protection).
func Handler(set *tools.Set, opts ...ServeOption) *HTTPHandler {
	srv := Server(set, opts...)
	return &HTTPHandler{srv: srv, h: mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv }, nil)}
}

// HTTPHandler serves a tools.Set over streamable HTTP; Handler makes one.
//
// A session lasts until its client ends it (with an HTTP DELETE, as the SDK's client does
// on Close). One whose client went away without a word stays open, with its goroutines,
// until Close.
type HTTPHandler struct {
	srv *mcp.Server
	h   http.Handler
}

// ServeHTTP serves one request of the streamable HTTP transport.
func (h *HTTPHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.h.ServeHTTP(w, r) }

// Close ends every session open now, and waits for their calls in flight to return; a
// client that calls again is told its session is unknown and must connect again. Call it
// after the http.Server that serves h has shut down.
func (h *HTTPHandler) Close() error {
	var errs []error
	for ss := range h.srv.Sessions() {
		if err := ss.Close(); err != nil && !errors.Is(err, mcp.ErrConnectionClosed) {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mcptools: close sessions: %w", err)
	}
	return nil
}
