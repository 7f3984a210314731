package mcptools_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/mcptools"
	"github.com/gowai/gowai/tools"
)

type forecastIn struct {
	City string `json:"city"`
}

// An agent uses the tools of an MCP server. Here the server runs in the same process, over
// an in-memory pair of transports, and the model is the llmtest emulator; a real program
// passes an &mcp.CommandTransport{Command: exec.Command("some-mcp-server")} or an
// &mcp.StreamableClientTransport{Endpoint: "https://..."} and a Workers AI model.
func Example() {
	ctx := context.Background()
	server := mcp.NewServer(&mcp.Implementation{Name: "weather", Version: "v1"}, nil)
	mcp.AddTool(server, &mcp.Tool{Name: "forecast", Description: "Tomorrow's weather in a city."},
		func(_ context.Context, _ *mcp.CallToolRequest, in forecastIn) (*mcp.CallToolResult, any, error) {
			return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: "sunny, 24 °C in " + in.City}}}, nil, nil
		})
	serverEnd, clientEnd := mcp.NewInMemoryTransports()
	ss, err := server.Connect(ctx, serverEnd, nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ss.Close()

	sess, err := mcptools.Connect(ctx, clientEnd)
	if err != nil {
		log.Fatal(err)
	}
	defer sess.Close()

	emulator := llmtest.NewServer(llmtest.Script(
		llmtest.Calls(llm.ToolCall{Name: "forecast", Arguments: json.RawMessage(`{"city":"Lisbon"}`)}),
		llmtest.Text("Tomorrow will be sunny in Lisbon, 24 °C."),
	))
	defer emulator.Close()
	client, err := emulator.Client()
	if err != nil {
		log.Fatal(err)
	}
	a := agent.New(client.Model("@cf/meta/llama-3.3-70b-instruct-fp8-fast"), agent.WithTools(sess.Tools()...))
	res, err := a.Run(ctx, "What's the weather in Lisbon tomorrow?")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Steps[0].Results[0].Output)
	fmt.Println(res.Text)
	// Output:
	// sunny, 24 °C in Lisbon
	// Tomorrow will be sunny in Lisbon, 24 °C.
}

type doubleIn struct {
	N int `json:"n" jsonschema:"minimum=0"`
}

// Serve offers a tools.Set to MCP clients. A server program passes &mcp.StdioTransport{};
// here the SDK's client calls it over an in-memory pair.
func ExampleServe() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	set, err := tools.NewSet(tools.New("double", "Double n.", func(_ context.Context, in doubleIn) (int, error) {
		return 2 * in.N, nil
	}))
	if err != nil {
		log.Fatal(err)
	}
	serverEnd, clientEnd := mcp.NewInMemoryTransports()
	served := make(chan error, 1)
	go func() { served <- mcptools.Serve(ctx, set, serverEnd) }()

	client := mcp.NewClient(&mcp.Implementation{Name: "client", Version: "v1"}, nil)
	cs, err := client.Connect(ctx, clientEnd, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, args := range []string{`{"n":21}`, `{"n":-1}`} {
		res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: "double", Arguments: json.RawMessage(args)})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("%s -> isError %v: %s\n", args, res.IsError, mcptools.Output(res))
	}
	cs.Close()
	cancel()
	if err := <-served; err != nil {
		log.Fatal(err)
	}
	// Output:
	// {"n":21} -> isError false: 42
	// {"n":-1} -> isError true: error: invalid arguments for double; nothing was run. Problems:
	// /n: must be >= 0 but found -1
	// Call it again with corrected arguments.
}
