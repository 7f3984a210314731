package agent

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/tools"
)

// ErrBudgetExceeded is matched by the error of a run stopped by its Budget. The run's partial
// *Result is returned with it.
var ErrBudgetExceeded = errors.New("agent: budget exceeded")

// errStopped ends a run whose Stream consumer stopped iterating; it never reaches a caller.
var errStopped = errors.New("agent: stream consumer stopped")

// truncatedNote is the user turn that reports a tool call cut off at max_tokens; it is
// followed by the call's arguments as far as they were written.
const truncatedNote = "Your last reply was cut off by the max_tokens limit while you were writing the arguments of a call to %s, " +
	"so no tool was run. Call the tool again with shorter arguments, or make fewer calls at once. The arguments as far as they were written:\n"

// maxShownArguments caps how much of a cut-off call's arguments is shown back to the model.
const maxShownArguments = 2000

// stepLimitNote is the user turn that asks for an answer once the step limit is reached.
const stepLimitNote = "You have reached the limit of tool-using steps for this task, so no more tools can be called. " +
	"Give your best final answer now from what you know so far, and say what is missing if you could not finish."

// Agent runs a model and a set of tools in a loop until the model answers. An Agent holds no
// per-run state and is safe for concurrent use. Build one with New: the zero Agent has no
// model, and its runs fail with an error saying so.
type Agent struct {
	model       llm.Model
	system      string
	tools       []tools.Tool
	set         *tools.Set
	maxSteps    int
	parallelism int
	toolTimeout time.Duration
	hooks       Hooks
	budget      Budget
	edits       []func(*llm.Request)
	logger      *slog.Logger
	observer    Observer
	name        string
	history     History
	affinity    string // WithSessionAffinity
	sources     []func(context.Context) []tools.Tool
	keys        *keyring // the session-affinity keys of recent runs, by conversation
	err         error    // a configuration error, returned by every run
}

// Option configures an Agent.
type Option func(*Agent)

// Hooks are called during a run, from the goroutine that runs it.
type Hooks struct {
	// BeforeTool is called before each tool call runs. A non-nil error refuses the call: the
	// tool does not run and the model is told the call was refused, with the error's text,
	// so it can carry on without it. This is the place for a quick check or an approval
	// given at once; for one that takes a human longer than a call should wait, use
	// NeedsApproval.
	BeforeTool func(ctx context.Context, call llm.ToolCall) error
	// NeedsApproval says whether a call must wait for a decision. When any call of a step
	// needs one, the run stops before running any of the step's calls and returns its Result
	// with the calls in Pending and an error matching ErrApprovalRequired; Resume goes on
	// once they are decided. The Result can be stored (it survives encoding/json) and
	// resumed by another Agent built the same way, in another process.
	NeedsApproval func(call llm.ToolCall) bool
	// AfterStep is called once each step is complete, with the step.
	AfterStep func(ctx context.Context, s Step)
}

// Budget caps what one run may spend; a zero field means no cap. Every model call counts,
// and so do the Workers AI calls its tools make through an llm.Client under the context
// they are given (a vision model asked by vision.Tool, the embeddings of a search tool, a
// sub-agent's calls); they are checked once the step's tools are done. Every model call counts:
// the tool-using steps, the final call after the step limit, and each attempt of RunTyped's
// typed answer, also when a call fails after the service billed it (a tool call cut off at
// max_tokens). Tokens and neurons are checked after each model reply and before each further
// call: a reply that needs more work (tool calls, a retry after a cut-off call, the typed
// answer or another attempt at it) while the run is over budget ends the run with
// ErrBudgetExceeded, but a final answer that crosses the line is still returned, since it has
// been paid for. MaxToolCalls refuses a step whose calls would take the run past it; none of
// them run.
//
// Neurons are what the service reports for each reply. When a reply reports none (an
// OpenAI-compatible server, say), the budget counts an estimate from the catalog's prices
// for the model (llm.EstimateNeurons: NeuronsPerMInput and NeuronsPerMOutput per million
// prompt and completion tokens, and NeuronsPerMCachedInput for the prompt tokens served from
// the prompt cache where the catalog has that rate); Result.Usage keeps what was reported. The model's id is known when
// the model has an ID() string method, as *llm.ChatModel does. A run with MaxNeurons whose
// model reports no neurons and has no catalog prices stops at its first reply with an error
// that says so, rather than run with a cap that can never trigger.
//
// MaxDollars caps the same neurons priced at llm.USDPerNeuron, and is checked like
// MaxNeurons.
type Budget struct {
	MaxTokens    int     // total tokens (prompt and completion) over all model calls
	MaxNeurons   float64 // Workers AI neurons over all model calls
	MaxDollars   float64 // neurons priced at llm.USDPerNeuron ($0.011 per 1,000)
	MaxToolCalls int     // tool calls run
}

// Spent is what a run has counted against its Budget, beyond the tokens of Result.Usage.
type Spent struct {
	// ToolCalls counts the tool calls run.
	ToolCalls int
	// Neurons counts the neurons of the model calls: those reported, and an estimate from the
	// catalog's prices for a reply that reported none (then NeuronsEstimated is set).
	Neurons          float64
	NeuronsEstimated bool
}

// Result is what a run produced. Messages is the whole conversation, the system message
// first (once) and the final answer last; it can be passed to RunMessages with a new user
// message appended to continue (or given to Continue). Usage sums every model call, those of
// sub-agents (AsTool) and of the history policy's summaries included, so it can be more than
// the sum of the Steps' usage. On error, Result holds everything up to the failure.
//
// A Result survives encoding/json unchanged, except that the errors in its Steps' tool
// results come back as errors with the same text (see tools.Result.MarshalJSON); that is how
// a run paused for approval is stored and given to Resume. (A Step's Response is kept as the
// model gave it: one from an llm.Model other than llm.ChatModel whose tool-call arguments are
// not compact JSON reads back with them compacted.)
//
// SessionAffinity is the key the run sent with every model call (llm.Request.SessionAffinity),
// so that Workers AI could reuse the prefill of the prompt prefix the calls share. A run that
// continues this one (RunMessages on its Messages with more appended, or Continue) keeps it.
type Result struct {
	Text            string
	Steps           []Step
	Messages        []llm.Message
	Usage           llm.Usage
	SessionAffinity string
	// Spent is what the run counted against its Budget.
	Spent Spent
	// Pending holds the calls of the last step that wait for a decision (see
	// Hooks.NeedsApproval and Resume); the run's error then matches ErrApprovalRequired.
	// While calls are pending, the last message of Messages is the model's call of them,
	// without results, and the last Step has Calls but no Results.
	Pending []llm.ToolCall
}

// Step is one model call and the tool calls it asked for.
type Step struct {
	// Response is the model's reply as received. Its ToolCalls may differ from Calls.
	Response *llm.Response
	// Calls are the calls run in this step: the reply's tool calls, or the calls the model
	// wrote as text, with ids made unique within the conversation.
	Calls []llm.ToolCall
	// Results holds one result per call, in order, each with its own duration.
	Results []tools.Result
	// Usage is what the step's model calls used.
	Usage llm.Usage
	// Attempts counts the step's model calls: 1, or more when RunTyped retried an invalid
	// answer.
	Attempts int
	// ModelTime is the time spent waiting for the model; Duration the whole step's.
	ModelTime, Duration time.Duration
	// Compaction is what the history policy (WithHistory) changed in the conversation sent
	// for the step's model call; its usage, when it asked the model for a summary, is in
	// Usage.
	Compaction Compaction
}

// New returns an Agent for m. Defaults: at most 8 tool-using steps, 4 tool calls at a time,
// 30 s per tool call, no budget. A configuration mistake (duplicate or invalid tools, a
// nil model, a step limit below 1, ...) is returned by every run.
func New(m llm.Model, opts ...Option) *Agent {
	a := &Agent{model: m, maxSteps: 8, parallelism: 4, toolTimeout: 30 * time.Second, keys: new(keyring)}
	for _, o := range opts {
		o(a)
	}
	var errs []error
	if m == nil {
		errs = append(errs, errors.New("agent: nil model"))
	}
	if a.maxSteps < 1 {
		errs = append(errs, fmt.Errorf("agent: WithMaxSteps(%d): need at least 1", a.maxSteps))
	}
	if a.parallelism < 1 {
		errs = append(errs, fmt.Errorf("agent: WithParallelism(%d): need at least 1", a.parallelism))
	}
	if a.toolTimeout < 0 {
		errs = append(errs, fmt.Errorf("agent: WithToolTimeout(%s): negative", a.toolTimeout))
	}
	if b := a.budget; b.MaxTokens < 0 || b.MaxNeurons < 0 || b.MaxDollars < 0 || b.MaxToolCalls < 0 {
		errs = append(errs, fmt.Errorf("agent: WithBudget(%+v): negative limit", b))
	}
	set, err := a.newSet(a.tools)
	if err != nil {
		errs = append(errs, err)
	} else {
		a.set = set
	}
	if a.name == "" {
		a.name = "agent"
	}
	a.err = errors.Join(errs...)
	return a
}

// WithSystem sets the system prompt. It is put first in the conversation unless the messages
// given to RunMessages already start with a system message (as Result.Messages does).
func WithSystem(s string) Option { return func(a *Agent) { a.system = s } }

// WithTools adds tools the model may call. Names must be distinct.
func WithTools(ts ...tools.Tool) Option {
	return func(a *Agent) { a.tools = append(a.tools, ts...) }
}

// WithToolSource adds tools that may change while a run goes on, such as those of an MCP
// server that announces changes (mcptools.Session.Tools): src is called before each
// tool-using step's model call, and its tools are offered and run in that step next to
// those of WithTools. A name offered twice fails the step with an error naming it.
func WithToolSource(src func(ctx context.Context) []tools.Tool) Option {
	return func(a *Agent) { a.sources = append(a.sources, src) }
}

// newSet makes the Set that runs ts, configured as the Agent's options say.
func (a *Agent) newSet(ts []tools.Tool) (*tools.Set, error) {
	set, err := tools.NewSet(ts...)
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	set = set.WithTimeout(a.toolTimeout)
	if a.logger != nil {
		set = set.WithLogger(a.logger)
	}
	if o := a.observer; o != nil {
		set = set.WithCallHooks(o.StartTool, o.EndTool)
	}
	return set, nil
}

// refreshTools rebuilds the run's Set from the Agent's tools and its tool sources, when it
// has sources.
func (r *run) refreshTools(ctx context.Context) error {
	if len(r.a.sources) == 0 {
		return nil
	}
	ts := slices.Clone(r.a.tools)
	for _, src := range r.a.sources {
		ts = append(ts, src(ctx)...)
	}
	set, err := r.a.newSet(ts)
	if err != nil {
		return err
	}
	r.useSet(set)
	return nil
}

// useSet makes set the one the run offers and runs.
func (r *run) useSet(set *tools.Set) {
	r.set, r.defs = set, set.Defs()
	r.names = make(map[string]bool, len(r.defs))
	for _, d := range r.defs {
		r.names[d.Name] = true
	}
}

// WithMaxSteps caps the model calls that may use tools (default 8). When the cap is reached,
// one more call is made with tools disabled, asking for the best answer from what is known,
// so a run ends with an answer unless that call fails.
func WithMaxSteps(n int) Option { return func(a *Agent) { a.maxSteps = n } }

// WithParallelism caps the tool calls of one step that run at the same time (default 4).
func WithParallelism(n int) Option { return func(a *Agent) { a.parallelism = n } }

// WithToolTimeout gives each tool call at most d (default 30 s; 0 means no limit). A call
// that times out becomes an error result the model reads, and the run goes on at once, also
// when the tool ignores its context: such a tool cannot be stopped, so it is abandoned to
// finish in the background and its late result is discarded (see tools.Set.Run).
func WithToolTimeout(d time.Duration) Option { return func(a *Agent) { a.toolTimeout = d } }

// WithHooks sets the hooks.
func WithHooks(h Hooks) Option { return func(a *Agent) { a.hooks = h } }

// WithBudget caps what one run may spend.
func WithBudget(b Budget) Option { return func(a *Agent) { a.budget = b } }

// WithRequest edits every request before it is sent (temperature, max tokens, ...),
// including those of RunTyped's typed answer. Edits work on a copy of the conversation. On
// the final call after the step limit, tools stay disabled whatever the edit does.
func WithRequest(f func(*llm.Request)) Option {
	return func(a *Agent) { a.edits = append(a.edits, f) }
}

// WithSessionAffinity has every run send key as its session-affinity key
// (llm.Request.SessionAffinity, the x-session-affinity header), instead of a fresh random key
// per run. Workers AI reuses the prefill of a prompt prefix across requests with the same key
// (https://developers.cloudflare.com/workers-ai/features/prompt-caching/), so runs that share
// a long prefix (the system prompt and tools) can share a key; unrelated runs should not.
// Sub-agents (AsTool) have keys of their own.
func WithSessionAffinity(key string) Option { return func(a *Agent) { a.affinity = key } }

// WithLogger sets the logger for tool panics (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(a *Agent) { a.logger = l } }

// Run starts a conversation with input as the user message and runs it to an answer. Each
// step sends the conversation and the tool definitions; tool calls in the reply are run
// (concurrently, after Hooks.BeforeTool) and their results appended; the run ends at a reply
// with no tool calls, whose text is Result.Text. The returned *Result is never nil, also on
// error.
func (a *Agent) Run(ctx context.Context, input string) (*Result, error) {
	return a.RunMessages(ctx, []llm.Message{llm.User(input)})
}

// RunMessages is Run over a conversation: to continue one, pass the previous
// Result.Messages with a new user message appended. The messages are copied, not changed.
//
// Each run has a session-affinity key (see Result.SessionAffinity): WithSessionAffinity's if
// set; else, when msgs continue the conversation of one of the Agent's last 256 runs (they
// start with its Result.Messages), that run's key, so that the service's prompt cache still
// holds the conversation's prefix; else a fresh random one. To continue a run this Agent did
// not make (a Result stored by another process), use Continue.
func (a *Agent) RunMessages(ctx context.Context, msgs []llm.Message) (*Result, error) {
	r, err := a.start(msgs, nil, "")
	return r.res, r.observed(ctx, err, r.complete)
}

// Continue runs the conversation of a previous run with input as the next user message: it is
// RunMessages on res.Messages with llm.User(input) appended, under res.SessionAffinity (unless
// WithSessionAffinity sets a key), so that the model calls reuse the prompt cache of the
// earlier ones. The new Result has its own steps and usage; res is not changed. A run
// paused for approval (res.Pending) cannot be continued, since its last calls have no
// results: Resume it.
func (a *Agent) Continue(ctx context.Context, res *Result, input string) (*Result, error) {
	if res == nil {
		return a.RunMessages(ctx, []llm.Message{llm.User(input)})
	}
	if len(res.Pending) > 0 {
		return &Result{Messages: append(slices.Clone(res.Messages), llm.User(input)), SessionAffinity: res.SessionAffinity},
			fmt.Errorf("agent: Continue: the run waits for decisions on %d call(s) and cannot take a new message; Resume it first", len(res.Pending))
	}
	msgs := append(slices.Clone(res.Messages), llm.User(input))
	r, err := a.start(msgs, nil, res.SessionAffinity)
	return r.res, r.observed(ctx, err, r.complete)
}

// observed runs body under the Observer's StartRun and EndRun, unless start failed with
// err.
func (r *run) observed(ctx context.Context, err error, body func(context.Context) error) error {
	// The run charges its own model calls; a run that is a tool of another must not also
	// report them to the caller's tool context (toolContext).
	ctx = llm.WithUsageFunc(ctx, nil)
	defer func() { r.a.keys.remember(r.res.Messages, r.res.SessionAffinity) }()
	o := r.a.observer
	if o == nil {
		if err != nil {
			return err
		}
		return body(ctx)
	}
	ctx = orParent(o.StartRun(ctx, r.name, r.res.SessionAffinity), ctx)
	if ro, ok := o.(RunInfoObserver); ok {
		info := RunInfo{Messages: r.res.Messages, Tools: r.defs}
		if m, ok := r.a.model.(interface{ ID() string }); ok {
			info.Model = m.ID()
		}
		ro.RunStarted(ctx, info)
	}
	if err == nil {
		err = body(ctx)
	}
	o.EndRun(ctx, r.res, err)
	return err
}

// orParent is ctx, or parent when an Observer returned no context.
func orParent(ctx, parent context.Context) context.Context {
	if ctx == nil {
		return parent
	}
	return ctx
}

// startStep tells the Observer that step n starts and returns the step's context and a
// func that tells it the step ended: with the step recorded in the Result since, or a
// zero Step if there is none (the model call failed).
func (r *run) startStep(ctx context.Context) (context.Context, func()) {
	o := r.a.observer
	if o == nil {
		return ctx, func() {}
	}
	n := len(r.res.Steps)
	ctx = orParent(o.StartStep(ctx, n+1), ctx)
	return ctx, func() {
		var st Step
		if len(r.res.Steps) > n {
			st = r.res.Steps[n]
		}
		o.EndStep(ctx, st)
	}
}

// newAffinity returns a fresh random session-affinity key: 16 random bytes in hex.
func newAffinity() string {
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// run is the state of one run.
type run struct {
	a       *Agent
	name    string // for the Observer: the Agent's, or a sub-agent's tool name
	res     *Result
	parent  *run       // the run this one is a sub-agent of, nil at the top
	up      *link      // how it was called by parent
	path    []string   // the names of the sub-agents from the top run down to this one
	set     *tools.Set // the Agent's, or the one its tool sources made for this step
	defs    []llm.ToolDef
	names   map[string]bool  // offered tool names
	ids     map[string]bool  // tool-call ids used in the conversation
	nextID  int              // for new ids
	images  []llm.Image      // the images of the run's input, for tools.Attachments
	emit    func(Event) bool // nil unless streaming
	stopped bool             // the stream consumer stopped iterating

	// sent is the conversation as the history policy last shaped it, standing for
	// res.Messages[:sentUpTo]; nil while the policy has changed nothing.
	sent     []llm.Message
	sentUpTo int

	// mu guards res.Usage and res.Spent, which the runs of sub-agents add to from the
	// goroutines of their tool calls.
	mu sync.Mutex
}

// errNotBuilt is returned by the runs of an Agent that New did not build.
var errNotBuilt = errors.New("agent: the Agent has no model; build it with agent.New")

// start prepares a run of msgs. key is the session-affinity key of the run continued, if
// any; WithSessionAffinity's key comes first, and a fresh one is made when neither is set.
func (a *Agent) start(msgs []llm.Message, emit func(Event) bool, key string) (*run, error) {
	if a == nil || a.set == nil && a.err == nil {
		// The zero Agent (or a nil *Agent): nothing to run, but the input is kept.
		r := &run{a: &Agent{}, res: &Result{Messages: slices.Clone(msgs)}, emit: emit}
		return r, errNotBuilt
	}
	history := make([]llm.Message, 0, len(msgs)+1)
	if a.system != "" && (len(msgs) == 0 || msgs[0].Role != llm.RoleSystem) {
		history = append(history, llm.System(a.system))
	}
	history = append(history, msgs...)
	if a.affinity != "" {
		key = a.affinity
	}
	if key == "" {
		key = a.keys.find(history)
	}
	if key == "" {
		key = newAffinity()
	}
	r := &run{a: a, name: a.name, res: &Result{Messages: history, SessionAffinity: key}, emit: emit}
	if a.err != nil {
		return r, a.err
	}
	if len(msgs) == 0 {
		return r, errors.New("agent: no messages")
	}
	r.useSet(a.set)
	r.ids = make(map[string]bool)
	for _, m := range history {
		r.images = append(r.images, m.Images...)
		for _, c := range m.ToolCalls {
			r.ids[c.ID] = true
		}
		if m.ToolCallID != "" {
			r.ids[m.ToolCallID] = true
		}
	}
	return r, nil
}

// complete runs the loop and, if the step limit was reached, the final call without tools.
func (r *run) complete(ctx context.Context) error {
	limited, err := r.loop(ctx)
	if err != nil || !limited {
		return err
	}
	if err := r.overBudget(0); err != nil {
		return err
	}
	r.res.Messages = append(r.res.Messages, llm.User(stepLimitNote))
	ctx, endStep := r.startStep(ctx)
	defer endStep()
	start := time.Now()
	resp, _, _, pre, err := r.reply(ctx, true)
	if err != nil {
		if paid := billed(err); paid != nil {
			took := time.Since(start)
			r.res.Steps = append(r.res.Steps, Step{Response: paid, Usage: paid.Usage.Add(pre.usage), Attempts: 1, ModelTime: took, Duration: took, Compaction: pre.compaction})
			if cerr := r.charge(paid.Usage); cerr != nil {
				return cerr
			}
		}
		return r.fail(err)
	}
	if err := r.charge(resp.Usage); err != nil {
		return err
	}
	// Tools were not offered, so any calls in this reply cannot be answered: the text is the answer.
	r.res.Text = resp.Text
	r.res.Messages = append(r.res.Messages, llm.Assistant(resp.Text))
	took := time.Since(start)
	return r.endStep(ctx, Step{Response: resp, Usage: resp.Usage.Add(pre.usage), Attempts: 1, ModelTime: took, Duration: took, Compaction: pre.compaction})
}

// loop runs steps until the model answers without calling tools or the step limit is reached
// (limited).
func (r *run) loop(ctx context.Context) (limited bool, err error) {
	// Every step adds one Step, so the Steps of a resumed run count towards the limit.
	for len(r.res.Steps) < r.a.maxSteps {
		done, err := r.step(ctx)
		if err != nil || done {
			return false, err
		}
	}
	return true, nil
}

// step makes one model call and runs the calls it asks for. done reports a final answer.
func (r *run) step(ctx context.Context) (done bool, err error) {
	ctx, endStep := r.startStep(ctx)
	defer endStep()
	// Tools run under a context of their own step, so nothing started here outlives it.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	resp, calls, content, pre, err := r.reply(ctx, false)
	if err != nil {
		var cut *llm.TruncatedToolCallError
		if errors.As(err, &cut) {
			return false, r.truncated(ctx, start, cut, pre)
		}
		return false, r.fail(err)
	}
	st := Step{Response: resp, Usage: resp.Usage.Add(pre.usage), Attempts: 1, ModelTime: time.Since(start), Compaction: pre.compaction}
	if err := r.charge(resp.Usage); err != nil {
		return false, err
	}
	if len(calls) == 0 {
		r.res.Text = resp.Text
		r.res.Messages = append(r.res.Messages, llm.Assistant(resp.Text))
		st.Duration = time.Since(start)
		return true, r.endStep(ctx, st)
	}
	st.Calls = r.uniqueIDs(calls)
	// The history gets its own slice of the calls, so that changing a Step cannot change it.
	r.res.Messages = append(r.res.Messages, llm.Message{Role: llm.RoleAssistant, Content: content, ToolCalls: slices.Clone(st.Calls)})
	if r.overBudget(len(st.Calls)) == nil {
		if pending := r.awaiting(st.Calls); len(pending) > 0 {
			return false, r.pause(st, start, pending)
		}
	}
	return false, r.act(ctx, st, start, nil)
}

// act runs the calls of st, except those denied (by call id, with the reason), records the
// step and reports whether the run may go on.
func (r *run) act(ctx context.Context, st Step, start time.Time, denied map[string]string) error {
	ran := len(st.Calls)
	for _, c := range st.Calls {
		if _, ok := denied[c.ID]; ok {
			ran--
		}
	}
	var err error
	overErr := r.overBudget(ran)
	if overErr != nil {
		st.Results = make([]tools.Result, len(st.Calls))
		for i, c := range st.Calls {
			st.Results[i] = tools.Result{Call: c, Err: overErr, Output: "error: not run: the budget for this task is used up"}
		}
	} else {
		st.Results, err = r.runTools(ctx, st.Calls, denied)
	}
	// Every call gets its result, so the conversation stays valid to continue, whatever happened.
	for _, res := range st.Results {
		r.res.Messages = append(r.res.Messages, llm.ToolResult(res.Call.ID, res.Output))
	}
	st.Duration += time.Since(start)
	if err != nil {
		// The stream consumer stopped: keep the step in the Result, with no more events.
		r.res.Steps = append(r.res.Steps, st)
		return err
	}
	if err := r.endStep(ctx, st); err != nil {
		return err
	}
	if overErr != nil {
		return overErr
	}
	// Sub-agents may have spent the budget while the calls ran.
	if err := r.overBudget(0); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("agent: %w", err)
	}
	return nil
}

// truncated records a reply whose tool call was cut off at max_tokens: its usage counts, it
// is a step with no calls run, and the model is shown what it wrote so that it can call again
// more briefly in the next step, within the step limit.
func (r *run) truncated(ctx context.Context, start time.Time, cut *llm.TruncatedToolCallError, pre prepared) error {
	resp := cut.Response
	if resp == nil {
		resp = &llm.Response{FinishReason: "length"}
	}
	took := time.Since(start)
	st := Step{Response: resp, Usage: resp.Usage.Add(pre.usage), Attempts: 1, ModelTime: took, Duration: took, Compaction: pre.compaction}
	if err := r.charge(resp.Usage); err != nil {
		r.res.Steps = append(r.res.Steps, st)
		return err
	}
	if resp.Text != "" {
		r.res.Messages = append(r.res.Messages, llm.Assistant(resp.Text))
	}
	name := cut.Name
	if name == "" {
		name = "a tool"
	}
	args := cut.RawArguments
	if len(args) > maxShownArguments {
		args = strings.ToValidUTF8(args[:maxShownArguments], "") + fmt.Sprintf("… (%d more bytes)", len(args)-maxShownArguments)
	}
	r.res.Messages = append(r.res.Messages, llm.User(fmt.Sprintf(truncatedNote, name)+args))
	if err := r.endStep(ctx, st); err != nil {
		return err
	}
	// Asking again is more work, which a spent budget does not allow.
	return r.overBudget(0)
}

// billed returns the reply a failed model call was billed for, or nil: a tool call cut off
// at max_tokens fails the call but keeps the reply and its usage.
func billed(err error) *llm.Response {
	var cut *llm.TruncatedToolCallError
	if errors.As(err, &cut) {
		return cut.Response
	}
	return nil
}

// estimateNeurons estimates the neurons of a reply that reported none, from the catalog's
// prices for the model. ok is false when the model's id is unknown or the catalog has no
// prices for it.
func (a *Agent) estimateNeurons(u llm.Usage) (n float64, ok bool) {
	m, isID := a.model.(interface{ ID() string })
	if !isID {
		return 0, false
	}
	return llm.EstimateNeurons(m.ID(), u)
}

// modelName names the model in errors: its id when it has one.
func (a *Agent) modelName() string {
	if m, ok := a.model.(interface{ ID() string }); ok && m.ID() != "" {
		return "model " + strconv.Quote(m.ID())
	}
	return fmt.Sprintf("the model (%T)", a.model)
}

// request builds the next request; final disables tools. The history policy fits the
// conversation into the model's window first (see History), and the WithRequest edits see
// what it made.
func (r *run) request(ctx context.Context, final bool) (llm.Request, prepared, error) {
	// Clipped, so that an append by anyone holding the request cannot write into the history,
	// and copied when an edit could change the messages or tools in place, so that each edit
	// starts from the run's own.
	req := llm.Request{Messages: slices.Clip(r.conversation()), SessionAffinity: r.res.SessionAffinity}
	if !final {
		if err := r.refreshTools(ctx); err != nil {
			return req, prepared{}, err
		}
		req.Tools = slices.Clip(r.defs)
	}
	pre, err := r.prepare(ctx, &req)
	if err != nil {
		return req, pre, err
	}
	if len(r.images) > 0 && !r.a.seesImages() {
		req.Messages = describeImages(req.Messages)
	}
	if len(r.a.edits) > 0 {
		req.Messages = slices.Clone(req.Messages)
		req.Tools = slices.Clone(req.Tools)
	}
	for _, f := range r.a.edits {
		f(&req)
	}
	if final {
		req.Tools, req.ToolChoice = nil, "none"
	}
	return req, pre, nil
}

// conversation is what the next model call sends before the history policy sees it: the
// conversation as the policy last shaped it, with the messages added since, or the whole
// history when the policy has changed nothing.
func (r *run) conversation() []llm.Message {
	if r.sent == nil {
		return r.res.Messages
	}
	return append(slices.Clip(r.sent), r.res.Messages[r.sentUpTo:]...)
}

// runTools asks BeforeTool about each call not denied (by id, with the reason), runs the
// approved ones through the Set, and returns one result per call in order.
func (r *run) runTools(ctx context.Context, calls []llm.ToolCall, denied map[string]string) ([]tools.Result, error) {
	results := make([]tools.Result, len(calls))
	approved := make([]llm.ToolCall, 0, len(calls))
	at := make([]int, 0, len(calls))
	for i, c := range calls {
		if err := r.send(Event{Kind: EventToolCallStarted, Call: c}); err != nil {
			return notRun(results, calls), err
		}
		if reason, ok := denied[c.ID]; ok {
			results[i] = denial(c, reason)
			continue
		}
		if h := r.a.hooks.BeforeTool; h != nil {
			if err := h(ctx, c); err != nil {
				results[i] = tools.Result{
					Call:   c,
					Err:    fmt.Errorf("agent: call to %s refused: %w", c.Name, err),
					Output: "error: the call was refused: " + err.Error(),
				}
				continue
			}
		}
		approved = append(approved, c)
		at = append(at, i)
	}
	ran, stopped := r.runSet(ctx, approved)
	for j, res := range ran {
		results[at[j]] = res
	}
	r.count(len(approved))
	if stopped {
		return notRun(results, calls), errStopped
	}
	for i := range results {
		if err := r.send(Event{Kind: EventToolCallFinished, Call: results[i].Call, Tool: &results[i]}); err != nil {
			return results, err
		}
	}
	return results, nil
}

// notRun fills in the results of the calls that were not run because the run stopped.
func notRun(results []tools.Result, calls []llm.ToolCall) []tools.Result {
	for i := range results {
		if results[i].Output == "" && results[i].Err == nil {
			results[i] = tools.Result{Call: calls[i], Err: errStopped, Output: "error: cancelled"}
		}
	}
	return results
}

// endStep records st and reports it.
func (r *run) endStep(ctx context.Context, st Step) error {
	r.res.Steps = append(r.res.Steps, st)
	if h := r.a.hooks.AfterStep; h != nil {
		h(ctx, st)
	}
	return r.send(Event{Kind: EventStepFinished, Step: &r.res.Steps[len(r.res.Steps)-1]})
}

// uniqueIDs returns calls with every id unique within the conversation. Kimi reuses ids such
// as "functions.get_weather:0" in every turn, and Workers AI's legacy tool calls carry none;
// a repeated id would pair a tool result with the wrong call. Results are built from
// the returned calls, so they carry the new ids.
//
// The arguments are made compact JSON, "{}" when there are none, as llm.Client gives them:
// that is how encoding/json writes them back, so a Result stored as JSON reads back the same
// whatever llm.Model made the calls.
func (r *run) uniqueIDs(calls []llm.ToolCall) []llm.ToolCall {
	out := slices.Clone(calls)
	for i := range out {
		out[i].Arguments = compactArguments(out[i].Arguments)
		if out[i].ID == "" || r.ids[out[i].ID] {
			for {
				r.nextID++
				id := "call_" + strconv.Itoa(r.nextID)
				if !r.ids[id] {
					out[i].ID = id
					break
				}
			}
		}
		r.ids[out[i].ID] = true
	}
	return out
}

// compactArguments returns args as compact JSON, or "{}" when empty. Arguments that are not
// JSON are left for the tool to refuse.
func compactArguments(args json.RawMessage) json.RawMessage {
	trimmed := bytes.TrimSpace(args)
	if len(trimmed) == 0 {
		return json.RawMessage("{}")
	}
	var buf bytes.Buffer
	if json.Compact(&buf, trimmed) != nil || bytes.Equal(buf.Bytes(), args) {
		return args
	}
	return buf.Bytes()
}

// fail wraps a model error; a stopped stream stays errStopped.
func (r *run) fail(err error) error {
	if errors.Is(err, errStopped) {
		return err
	}
	return fmt.Errorf("agent: step %d: %w", len(r.res.Steps)+1, err)
}

// send hands an event to the stream consumer, if there is one.
func (r *run) send(ev Event) error {
	if r.emit == nil {
		return nil
	}
	if ev.Path == nil {
		ev.Path = r.path
	}
	if r.stopped || !r.emit(ev) {
		r.stopped = true
		return errStopped
	}
	return nil
}
