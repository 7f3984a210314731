package mcptools

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gowai/gowai/internal/schema"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// ErrGone is matched by the error of every call made through a Session whose server has
// gone away (its process exited, its connection dropped, an HTTP server reset or refused
// the connection) and by the call that was running when it did.
var ErrGone = errors.New("mcptools: server is gone")

// ErrClosed is matched by the error of every call made through a Session after Close, or
// after the context given to Connect ended.
var ErrClosed = errors.New("mcptools: session is closed")

// Option configures Connect.
type Option func(*options)

type options struct {
	prefix        string
	prefixSet     bool
	clientName    string
	clientVersion string
	onChange      func([]tools.Tool)
}

// WithPrefix puts prefix before the name of every tool of the server, as it is offered to
// the model ("gh_" turns "search" into "gh_search"). Without it, names are left alone
// unless they clash with another server's in Tools, where the default prefix is the
// server's name followed by "_". The prefixed name must still be one providers accept: its
// characters other than letters, digits, '_' and '-' become '_'.
func WithPrefix(prefix string) Option {
	return func(o *options) { o.prefix, o.prefixSet = prefix, true }
}

// WithClientName sets the name and version the client announces to the server (default
// "gowai" and "v0").
func WithClientName(name, version string) Option {
	return func(o *options) { o.clientName, o.clientVersion = name, version }
}

// WithToolsChanged calls f with the new tool set each time the session has fetched the
// server's tools again after a notifications/tools/list_changed. f runs on the session's
// own goroutine and must not call Close; it should return soon, since Close waits for it
// and no further change is fetched while it runs.
func WithToolsChanged(f func([]tools.Tool)) Option {
	return func(o *options) { o.onChange = f }
}

// Session is a connection to one MCP server. Its methods are safe for concurrent use.
type Session struct {
	cs     *mcp.ClientSession
	name   string // the server's name, as it announced it
	prefix string // the prefix for clashing names (WithPrefix, or name + "_")
	opts   options

	life    context.Context // ends on Close, on Connect's ctx end, and when the server goes
	stop    context.CancelFunc
	changed chan struct{} // a list_changed arrived; room for one
	done    chan struct{} // closed when the session's goroutines have returned

	mu     sync.Mutex
	tools  []*remoteTool
	gone   error // why the server is unusable: ErrGone or ErrClosed wrapped
	closed bool
}

// Connect starts a session with the MCP server at the other end of t (any transport of
// github.com/modelcontextprotocol/go-sdk/mcp: a *mcp.CommandTransport running a server
// program over stdio, a *mcp.StreamableClientTransport for streamable HTTP, one end of
// mcp.NewInMemoryTransports) and lists its tools.
//
// The session lasts until Close or until ctx ends, whichever comes first (so ctx should be
// the program's or the agent's, not one limited to the time it takes to connect); either
// way the connection is closed and, for a command, the process is stopped. Close also
// waits for that, and for the session's goroutines, to finish. When the server sends
// notifications/tools/list_changed, the session lists the tools again in the background,
// and Tools returns the new set from then on.
func Connect(ctx context.Context, t mcp.Transport, opts ...Option) (*Session, error) {
	if t == nil {
		return nil, errors.New("mcptools: connect: no transport")
	}
	o := options{clientName: "gowai", clientVersion: "v0"}
	for _, opt := range opts {
		opt(&o)
	}
	s := &Session{opts: o, changed: make(chan struct{}, 1), done: make(chan struct{})}
	client := mcp.NewClient(&mcp.Implementation{Name: o.clientName, Version: o.clientVersion}, &mcp.ClientOptions{
		Capabilities: &mcp.ClientCapabilities{},
		ToolListChangedHandler: func(context.Context, *mcp.ToolListChangedRequest) {
			select {
			case s.changed <- struct{}{}:
			default: // a refresh is already pending; it will see this change too
			}
		},
	})
	cs, err := client.Connect(ctx, t, nil)
	if err != nil {
		return nil, fmt.Errorf("mcptools: connect: %w", err)
	}
	s.cs = cs
	if info := cs.InitializeResult(); info != nil && info.ServerInfo != nil {
		s.name = info.ServerInfo.Name
	}
	if s.name == "" {
		s.name = "mcp" // a server that gave no name; the name appears in errors and prefixes
	}
	s.prefix = s.name + "_"
	if o.prefixSet {
		s.prefix = o.prefix
	}
	ts, err := s.list(ctx)
	if err != nil {
		_ = cs.Close()
		return nil, fmt.Errorf("mcptools: server %s: list tools: %w", s.name, err)
	}
	s.tools = ts
	s.life, s.stop = context.WithCancel(context.WithoutCancel(ctx))
	stopAfter := context.AfterFunc(ctx, func() { s.shut(context.Cause(ctx)) })
	go s.watch(stopAfter)
	return s, nil
}

// watch runs for the session's life: it refreshes the tools on list_changed, and notices
// the server going away.
func (s *Session) watch(stopAfter func() bool) {
	defer close(s.done)
	defer stopAfter()
	ended := make(chan error, 1)
	go func() { ended <- s.cs.Wait() }()
	for {
		select {
		case <-s.changed:
			ts, err := s.list(s.life)
			if err != nil {
				continue // the server going away is noticed below; a failed list keeps the old set
			}
			s.mu.Lock()
			s.tools = ts
			s.mu.Unlock()
			if s.opts.onChange != nil {
				s.opts.onChange(s.Tools())
			}
		case err := <-ended:
			if err == nil {
				err = io.EOF
			}
			s.markGone(err)
			s.stop()
			return
		}
	}
}

// list fetches every page of the server's tools and builds them. A server that did not
// declare the tools capability has none, and is not asked (servers may refuse tools/list).
func (s *Session) list(ctx context.Context) ([]*remoteTool, error) {
	if info := s.cs.InitializeResult(); info != nil && info.Capabilities != nil && info.Capabilities.Tools == nil {
		return nil, nil
	}
	var ts []*remoteTool
	seen := map[string]bool{}
	for t, err := range s.cs.Tools(ctx, nil) {
		if err != nil {
			return nil, err
		}
		rt := s.build(t)
		// Two names that differ only in characters providers reject would collide.
		for base, i := rt.def.Name, 2; seen[rt.def.Name]; i++ {
			rt.def.Name = fitName(fmt.Sprintf("%s_%d", base, i))
		}
		seen[rt.def.Name] = true
		ts = append(ts, rt)
	}
	return ts, nil
}

// build turns one of the server's tools into a tools.Tool.
func (s *Session) build(t *mcp.Tool) *remoteTool {
	name := t.Name
	if s.opts.prefixSet {
		name = s.opts.prefix + name
	}
	rt := &remoteTool{s: s, remote: t.Name, def: llm.ToolDef{Name: fitName(name), Description: description(t)}}
	rt.def.Parameters = canonicalSchema(t.InputSchema)
	// A schema the validator cannot compile still goes to the model; the server checks the
	// arguments itself.
	rt.params, _ = schema.Compile(rt.def.Parameters)
	return rt
}

// description is what the model reads about t: its description or, when it has none, its
// title, so that the model has at least the server's words for what the tool does.
func description(t *mcp.Tool) string {
	switch {
	case t.Description != "":
		return t.Description
	case t.Title != "":
		return t.Title
	case t.Annotations != nil:
		return t.Annotations.Title
	}
	return ""
}

// emptySchema stands for a server's input schema that is missing or not a JSON object.
const emptySchema = `{"type":"object","properties":{}}`

// canonicalSchema encodes a tool's input schema in one canonical form: object keys sorted
// at every level, no HTML escaping, no spaces. The SDK decodes the schema into a
// map[string]any, which loses the server's key order; sorting makes the bytes the model
// reads the same in every session and after every refresh, so that prompts keep a stable
// prefix. A schema that is missing or not a JSON object becomes one that takes an empty
// object.
func canonicalSchema(in any) json.RawMessage {
	raw, err := json.Marshal(in)
	if err != nil {
		return json.RawMessage(emptySchema)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // numbers keep the text the SDK gave them
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return json.RawMessage(emptySchema)
	}
	if _, ok := tree.(map[string]any); !ok {
		return json.RawMessage(emptySchema)
	}
	out, err := plainJSON(tree)
	if err != nil {
		return json.RawMessage(emptySchema)
	}
	return out
}

// Name returns the server's name, as it announced it when the session started.
func (s *Session) Name() string { return s.name }

// Tools returns the server's tools, ready for agent.WithTools or tools.NewSet, in the order
// the server listed them. A name providers reject has its other characters replaced by
// '_' (and is shortened to 64 characters, ending in a hash of the full name); WithPrefix
// adds a prefix. The set changes when the server says it changed; call Tools again for the
// current one.
func (s *Session) Tools() []tools.Tool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]tools.Tool, len(s.tools))
	for i, t := range s.tools {
		out[i] = t
	}
	return out
}

// Tools returns the tools of every session in one list, for agent.WithTools. A name that two
// sessions share gets, in each of them, the session's prefix (WithPrefix, or by default the
// server's name and "_": "github_search" and "gitlab_search"); if that still clashes, a
// number is appended. A nil session has no tools.
func Tools(sessions ...*Session) []tools.Tool {
	var all []*remoteTool
	var owner []*Session
	count := map[string]int{}
	for _, s := range sessions {
		if s == nil {
			continue
		}
		for _, t := range s.Tools() {
			rt := t.(*remoteTool)
			all = append(all, rt)
			owner = append(owner, s)
			count[rt.def.Name]++
		}
	}
	out := make([]tools.Tool, 0, len(all))
	taken := map[string]bool{}
	for name, n := range count {
		if n == 1 {
			taken[name] = true
		}
	}
	for i, rt := range all {
		if count[rt.def.Name] > 1 {
			c := *rt
			name := fitName(owner[i].prefix + rt.def.Name)
			for base, k := name, 2; taken[name]; k++ {
				name = fitName(fmt.Sprintf("%s_%d", base, k))
			}
			c.def.Name = name
			rt = &c
		}
		taken[rt.def.Name] = true
		out = append(out, rt)
	}
	return out
}

// Refresh lists the server's tools again now, as a list_changed notification does.
func (s *Session) Refresh(ctx context.Context) error {
	if err := s.err(); err != nil {
		return err
	}
	ts, err := s.list(ctx)
	if err != nil {
		return s.callErr(ctx, "list tools", err)
	}
	s.mu.Lock()
	s.tools = ts
	s.mu.Unlock()
	return nil
}

// Close ends the session: it closes the connection (stopping a command's process) and
// waits for the session's goroutines. Calls made afterwards fail with an error matching
// ErrClosed. Close returns the error of closing the connection; closing twice is a no-op.
func (s *Session) Close() error {
	err := s.shut(nil)
	<-s.done
	return err
}

// closedError is the error of a call after Close or after Connect's context ended; it
// matches ErrClosed, and the context's error when that was the cause.
type closedError struct {
	server string
	cause  error
}

func (e *closedError) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("mcptools: session with server %s is closed: %v", e.server, e.cause)
	}
	return fmt.Sprintf("mcptools: session with server %s is closed", e.server)
}

func (e *closedError) Is(target error) bool { return target == ErrClosed }
func (e *closedError) Unwrap() error        { return e.cause }

// shut closes the connection once, recording why (nil for Close).
func (s *Session) shut(why error) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	wasGone := s.gone != nil
	if s.gone == nil {
		s.gone = &closedError{server: s.name, cause: why}
	}
	s.mu.Unlock()
	s.stop()
	err := s.cs.Close()
	// A server that went away has said so through the calls; its exit status (a process
	// that crashed) is no news to Close.
	if err != nil && !wasGone && !errors.Is(err, mcp.ErrConnectionClosed) {
		return fmt.Errorf("mcptools: close server %s: %w", s.name, err)
	}
	return nil
}

// markGone records that the server went away, unless the session was closed first.
func (s *Session) markGone(err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gone == nil {
		s.gone = &goneError{server: s.name, err: err}
	}
}

// goneError says which server went away, and how; it matches ErrGone.
type goneError struct {
	server string
	err    error
}

func (e *goneError) Error() string {
	return fmt.Sprintf("mcptools: server %s is gone: %v", e.server, e.err)
}

func (e *goneError) Is(target error) bool { return target == ErrGone }
func (e *goneError) Unwrap() error        { return e.err }

func (s *Session) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.gone
}

// callErr turns the error of a request to the server into the error a call returns.
func (s *Session) callErr(ctx context.Context, what string, err error) error {
	if ctx.Err() != nil {
		// The agent's tool timeout or cancellation; the SDK has told the server.
		return fmt.Errorf("mcptools: %s: %w", what, context.Cause(ctx))
	}
	if gone := s.err(); gone != nil {
		return gone
	}
	if lostConnection(err) {
		s.markGone(err)
		return s.err()
	}
	return fmt.Errorf("mcptools: server %s: %s: %w", s.name, what, err)
}

// lostConnection reports whether err says the server can no longer be reached: the
// connection closed or ended (a process that exited), or, over HTTP, the server reset or
// refused it (a server that died or stopped; a new one would not know the session).
func lostConnection(err error) bool {
	for _, lost := range []error{mcp.ErrConnectionClosed, io.EOF, io.ErrUnexpectedEOF,
		syscall.ECONNRESET, syscall.ECONNREFUSED, syscall.EPIPE} {
		if errors.Is(err, lost) {
			return true
		}
	}
	return false
}

// remoteTool is one of the server's tools as a tools.Tool.
type remoteTool struct {
	s      *Session
	remote string // the name the server knows it by
	def    llm.ToolDef
	params *schema.Schema // nil when the server's schema does not compile
}

// Def returns the tool's name as offered to the model, its description, and the server's
// input schema as its parameters, in canonical form (keys sorted at every level).
func (t *remoteTool) Def() llm.ToolDef {
	d := t.def
	d.Parameters = bytes.Clone(d.Parameters)
	return d
}

// Call validates args against the server's input schema and calls the tool on the server.
func (t *remoteTool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	if err := t.s.err(); err != nil {
		return "", err
	}
	if len(bytes.TrimSpace(args)) == 0 {
		args = json.RawMessage("{}")
	}
	if t.params != nil {
		if problems := t.params.Validate(args); problems != nil {
			return "", &tools.ArgumentError{Tool: t.def.Name, Problems: problems}
		}
	}
	res, err := t.s.cs.CallTool(ctx, &mcp.CallToolParams{Name: t.remote, Arguments: json.RawMessage(args)})
	if err != nil {
		return "", t.s.callErr(ctx, "call "+t.remote, err)
	}
	out := Output(res)
	if res.IsError {
		return "", &ToolError{Server: t.s.name, Tool: t.remote, Output: out}
	}
	return out, nil
}

// ToolError is the error of a call the server answered with isError: the tool ran and
// failed. Output is what it said.
type ToolError struct {
	Server, Tool string
	Output       string
}

func (e *ToolError) Error() string {
	if e.Output == "" {
		return fmt.Sprintf("mcptools: tool %s of server %s failed without saying why", e.Tool, e.Server)
	}
	return e.Output
}

// Output renders a tool call's result as the text a model reads: text content as it is,
// structured content as JSON (unless a text part already holds the same JSON), and images,
// audio and resources as a line saying what they were ("[image image/png, 1234 bytes]"),
// with an embedded text resource's text after its line. Parts are separated by newlines.
func Output(res *mcp.CallToolResult) string {
	if res == nil {
		return ""
	}
	var parts []string
	var texts []string
	for _, c := range res.Content {
		switch c := c.(type) {
		case *mcp.TextContent:
			parts = append(parts, c.Text)
			texts = append(texts, c.Text)
		case *mcp.ImageContent:
			parts = append(parts, fmt.Sprintf("[image %s, %d bytes]", orUnknown(c.MIMEType), len(c.Data)))
		case *mcp.AudioContent:
			parts = append(parts, fmt.Sprintf("[audio %s, %d bytes]", orUnknown(c.MIMEType), len(c.Data)))
		case *mcp.ResourceLink:
			line := "[resource link " + c.URI
			if c.MIMEType != "" {
				line += " " + c.MIMEType
			}
			if c.Name != "" && c.Name != c.URI {
				line += fmt.Sprintf(" %q", c.Name)
			}
			if c.Description != "" {
				line += ": " + c.Description
			}
			parts = append(parts, line+"]")
		case *mcp.EmbeddedResource:
			parts = append(parts, resource(c.Resource))
		default:
			b, err := plainJSON(c)
			if err != nil {
				b = []byte(fmt.Sprintf("%T", c))
			}
			parts = append(parts, "[content "+string(b)+"]")
		}
	}
	if res.StructuredContent != nil {
		if b, err := plainJSON(res.StructuredContent); err == nil && !slices.ContainsFunc(texts, func(t string) bool { return sameJSON(t, b) }) {
			parts = append(parts, string(b))
		}
	}
	return strings.Join(parts, "\n")
}

func resource(r *mcp.ResourceContents) string {
	if r == nil {
		return "[resource]"
	}
	mime := ""
	if r.MIMEType != "" {
		mime = " " + r.MIMEType
	}
	if r.Blob != nil {
		return fmt.Sprintf("[resource %s%s, %d bytes]", r.URI, mime, len(r.Blob))
	}
	return fmt.Sprintf("[resource %s%s]\n%s", r.URI, mime, r.Text)
}

func orUnknown(mime string) string {
	if mime == "" {
		return "of unknown type"
	}
	return mime
}

// plainJSON encodes v as JSON without escaping <, > and & (the model reads the text).
func plainJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// sameJSON reports whether text is a JSON document equal to b.
func sameJSON(text string, b []byte) bool {
	var x, y any
	if json.Unmarshal([]byte(text), &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	bx, _ := json.Marshal(x)
	by, _ := json.Marshal(y)
	return bytes.Equal(bx, by)
}

// fitName makes name one providers accept: 1 to 64 letters, digits, '_' or '-'. Other
// characters become '_'; a longer name keeps 55 characters and ends in '_' and 8 hex digits
// of a hash of the whole name, so that long names stay distinct.
func fitName(name string) string {
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	s := b.String()
	if s == "" {
		return "tool"
	}
	if len(s) > 64 {
		h := fnv.New32a()
		h.Write([]byte(name))
		s = fmt.Sprintf("%s_%08x", s[:55], h.Sum32())
	}
	return s
}
