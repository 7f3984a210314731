// Package mcptools bridges the Model Context Protocol (MCP) and package tools, in both
// directions, with the official Go SDK, github.com/modelcontextprotocol/go-sdk.
//
// # MCP servers' tools in an agent
//
// Connect starts a session with an MCP server over any of the SDK's transports (a command
// over stdio, streamable HTTP, an in-memory pair), and Session.Tools returns the server's
// tools as tools.Tool values, ready for agent.WithTools:
//
//	sess, err := mcptools.Connect(ctx, &mcp.CommandTransport{Command: exec.Command("my-mcp-server")})
//	if err != nil {
//		return err
//	}
//	defer sess.Close()
//	a := agent.New(model, agent.WithTools(sess.Tools()...))
//
// Each tool's input schema goes to the model with the server's content, in a canonical
// form: the SDK decodes it into a map, which loses the server's key order, so the keys are
// sorted at every level, and the bytes the model reads are the same in every session
// (prompt prefixes stay stable). The model's arguments are validated against the schema
// before the call: invalid arguments never reach the server, and the problems go back to
// the model as a *tools.ArgumentError, as for any gowai tool. A tool the server gave no
// description is described by its title.
//
// The result the model reads is the call's content: text as it is, structured content as
// JSON, and images, audio and resources as one line each saying what they were ("[image
// image/png, 1234 bytes]"). A result with isError set is a *ToolError, and a protocol error
// an error too; the agent shows either to the model, and the run goes on. A call honours
// its context: when the agent's tool timeout or the run's cancellation ends it, the SDK
// sends notifications/cancelled to the server.
//
// Tool names that providers reject (they accept 1 to 64 letters, digits, '_' and '-') have
// their other characters replaced by '_', and a longer name keeps its first 55 characters
// followed by '_' and a hash of the whole name. Tools(s1, s2) merges the tools of several
// sessions, prefixing a name two servers share with each server's prefix (WithPrefix, or by
// default the server's name and "_").
//
// When the server sends notifications/tools/list_changed, the session lists the tools again
// and Session.Tools returns the new set (WithToolsChanged reports it). An agent built with
// agent.WithTools keeps the set it was given; one given the session as a tool source offers
// the new set from its next step on:
//
//	a := agent.New(m, agent.WithToolSource(func(context.Context) []tools.Tool { return sess.Tools() }))
//
// A session ends with Close or when the context given to Connect ends; a command's process
// is stopped and no goroutine is left behind. If the server goes away (its process exits,
// its connection drops, an HTTP server resets or refuses the connection), the call that
// was running fails, and every later call fails at once with an error matching ErrGone
// that names the server; Connect again for a new session.
//
// # gowai tools over MCP
//
// Server, Serve and Handler offer a tools.Set to MCP clients (desktop assistants, IDEs,
// other agents), on any transport or over streamable HTTP:
//
//	set, err := tools.NewSet(weather, calculator)
//	if err != nil {
//		return err
//	}
//	return mcptools.Serve(ctx, set, &mcp.StdioTransport{})
//
// The tools keep their schemas and their argument validation, and invalid arguments, errors,
// panics and timeouts (tools.Set.WithTimeout) are results with isError set, so the client's
// model reads what went wrong.
package mcptools
