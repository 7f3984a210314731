// Package testserver is an MCP server with one tool for each case the tests of mcptools
// cover. The tests run it in a child process over stdio (the command in cmd) and in the
// test process over streamable HTTP.
package testserver

import (
	"context"
	"encoding/json"
	"errors"
	"strings"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Config says how the server reports what a test needs to see.
type Config struct {
	// Name is the server's name (default "testserver").
	Name string
	// Exit, when set, offers the tool "crash", which calls it with 2 (os.Exit in a child
	// process).
	Exit func(code int)
	// Cancelled is called with the tool's name when a call is cancelled by the client.
	Cancelled func(tool string)
	// Started is called with the tool's name when a slow call starts.
	Started func(tool string)
}

// OrderedSchema is the input schema of the tool "ordered": its keys are not in sorted
// order, and it holds characters that HTML escaping would change, and a number with a
// fraction and an exponent.
const OrderedSchema = `{"type":"object","required":["zeta","alpha"],"properties":{"zeta":{"type":"string","description":"at most 10 < 11 & \"quoted\""},"alpha":{"type":"number","maximum":1.5e3}},"additionalProperties":false}`

type echoIn struct {
	Text string `json:"text" jsonschema:"the text to echo"`
}

type addIn struct {
	A float64 `json:"a"`
	B float64 `json:"b"`
}

type addOut struct {
	Sum float64 `json:"sum"`
}

// New returns the server.
func New(c Config) *mcp.Server {
	if c.Name == "" {
		c.Name = "testserver"
	}
	srv := mcp.NewServer(&mcp.Implementation{Name: c.Name, Version: "v1"}, nil)
	srv.AddTool(&mcp.Tool{
		Name:        "echo",
		Description: "Echo the text.",
		InputSchema: json.RawMessage(`{"type":"object","properties":{"text":{"type":"string","minLength":1}},"required":["text"],"additionalProperties":false}`),
	}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var in echoIn
		if err := json.Unmarshal(req.Params.Arguments, &in); err != nil {
			return nil, err
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: in.Text}}}, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "add", Description: "Add two numbers."},
		func(_ context.Context, _ *mcp.CallToolRequest, in addIn) (*mcp.CallToolResult, addOut, error) {
			return nil, addOut{Sum: in.A + in.B}, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "fail", Description: "Always fails."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return nil, nil, errors.New("the disk is full")
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "media", Description: "Returns one of each kind of content."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{
				&mcp.TextContent{Text: "here you are"},
				&mcp.ImageContent{MIMEType: "image/png", Data: []byte("\x89PNG\r\n\x1a\n1234")},
				&mcp.AudioContent{MIMEType: "audio/wav", Data: []byte("RIFF")},
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///notes.txt", MIMEType: "text/plain", Text: "buy milk"}},
				&mcp.EmbeddedResource{Resource: &mcp.ResourceContents{URI: "file:///a.bin", Blob: []byte{1, 2, 3}}},
				&mcp.ResourceLink{URI: "file:///big.csv", Name: "big.csv", MIMEType: "text/csv"},
			}}, nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "slow", Description: "Waits until it is cancelled."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ struct{}) (*mcp.CallToolResult, any, error) {
			if c.Started != nil {
				c.Started("slow")
			}
			<-ctx.Done()
			if c.Cancelled != nil {
				c.Cancelled("slow")
			}
			return nil, nil, ctx.Err()
		})
	mcp.AddTool(srv, &mcp.Tool{Name: "grow", Description: "Adds the tool extra."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			mcp.AddTool(srv, &mcp.Tool{Name: "extra", Description: "Added by grow."},
				func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
					return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "extra ran"}}}, nil, nil
				})
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "added extra"}}}, nil, nil
		})
	srv.AddTool(&mcp.Tool{
		Name:        "notes.read",
		Description: "A name with a dot, which providers reject.",
		InputSchema: json.RawMessage(`{"type":"object"}`),
	}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "notes"}}}, nil
	})
	srv.AddTool(&mcp.Tool{
		Name:        "ordered",
		Description: "A schema whose keys are not sorted, with characters HTML escaping would change.",
		InputSchema: json.RawMessage(OrderedSchema),
	}, func(context.Context, *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "ordered"}}}, nil
	})
	mcp.AddTool(srv, &mcp.Tool{Name: "vanish", Description: "Removes itself."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			srv.RemoveTools("vanish")
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "gone now"}}}, nil, nil
		})
	mcp.AddTool(srv, &mcp.Tool{Name: strings.Repeat("long", 20), Description: "A name longer than providers accept."},
		func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "long"}}}, nil, nil
		})
	if c.Exit != nil {
		mcp.AddTool(srv, &mcp.Tool{Name: "crash", Description: "Exits the server process."},
			func(context.Context, *mcp.CallToolRequest, struct{}) (*mcp.CallToolResult, any, error) {
				c.Exit(2)
				return nil, nil, nil
			})
	}
	return srv
}
