package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/gowai/gowai/llm"
)

// Defaults of the History policy.
const (
	defaultKeepToolResult = 400 // characters kept of a shortened tool result
	defaultSummaryTokens  = 512 // max_tokens of a summary call
	maxSummariesPerFit    = 4   // summary calls one fit may make
	transcriptLineRunes   = 2000
)

// summaryPrefix starts the message that stands for summarised turns.
const summaryPrefix = "Summary of earlier conversation: "

// summaryPrompt is the system prompt of a summary call.
const summaryPrompt = "You compress the earlier part of a conversation between a user, an assistant and its tools, " +
	"so that the assistant can carry on with its task from your summary alone. Write a concise summary of the " +
	"transcript the user sends, in at most %d words: keep what the user asked for, the facts, figures, names and " +
	"sources found, the tools called and what they returned, the decisions taken and what is still open. " +
	"Write the summary only, with no preamble."

// shortenedNote ends a tool result shortened by the policy.
const shortenedNote = "… [shortened by the agent: %d of %d characters dropped]"

// History is how a run keeps its conversation inside the model's context window. Before
// each model call the loop passes it the messages to send and the tool definitions; when
// they do not fit, it shapes a smaller conversation. Result.Messages always keeps the full
// conversation: the policy only changes what is sent.
//
// The zero History is the default policy, and it is on. Turn it off with
// WithHistory(History{Disabled: true}).
//
// # The estimate
//
// Messages are measured with llm.EstimateTokens, the rule the client checks a request
// against the model's window with: 4 tokens per message plus its content, tool calls and
// tool-call id at three bytes a token (rounded up), 2,048 tokens per image, and 8 tokens per
// tool definition plus its name, description and schema at three bytes a token. It counts
// more tokens than the models' tokenizers do, so a conversation the policy lets through is
// not refused by the client or by Workers AI.
//
// The limit is MaxTokens, or by default the model's context window from the catalog
// (llm.LookupModel, by the model's ID() when it has that method, as *llm.ChatModel does)
// minus Reserve, the room kept for the answer. A model the catalog does not know, or knows
// without a window, is sent the messages as they are unless MaxTokens is set.
//
// # The measures, in order
//
// When the estimate is over the limit, the policy works towards three quarters of the
// limit, so that the next steps have room to grow before it has to act again (every change
// to earlier messages costs the run the prompt cache of what follows it):
//
//  1. Tool results are shortened, oldest first, to their first KeepToolResult characters
//     followed by "… [shortened by the agent: N of M characters dropped]". The results of
//     the most recent turn, which the model has not read yet, are left for step 3, and a
//     result already that short is left alone.
//  2. If that is not enough to get under the limit, the oldest turns are summarised by the
//     model: one call to Generate (no tools, no session affinity, at most SummaryTokens of
//     answer) is given a transcript of those turns and asked for a concise summary, and
//     the turns are replaced by one user message, "Summary of earlier conversation: ...".
//     The turns before the latest user message go first, then those after it; a later
//     summary takes in the earlier one with the turns that followed. What the summary
//     calls use is reported with the step's usage and counts toward the Budget.
//  3. If the conversation is still over the limit, the results of the most recent turn are
//     shortened as well, as far as the limit needs.
//
// The system prompt (the first message, when it is a system message) and the latest user
// message (the user's, not a note the agent added at the step limit, after a cut-off tool
// call or to ask RunTyped's typed answer) are always kept, and the most recent turn is
// never summarised; an assistant message that called tools is summarised together with
// its results, never apart. When all this is not enough, the conversation is sent as small
// as it got, and the client refuses it with llm.ErrContextWindow if it cannot fit the
// window.
//
// The policy never changes the messages it is given: Result.Messages keeps the whole
// conversation. Within a run, the conversation it shaped is sent again at the next step
// (and to RunTyped's typed answer) with the new messages appended, so that a summary is
// made once, not at every step. A run resumed or continued from a Result starts from the
// whole conversation again.
type History struct {
	// Disabled turns the policy off: every message is sent as it is.
	Disabled bool
	// MaxTokens is the estimate (messages plus tool definitions) the conversation sent may
	// reach. 0 means the model's context window from the catalog minus Reserve.
	MaxTokens int
	// Reserve is the room kept for the answer when MaxTokens is 0. 0 means
	// llm.DefaultMaxTokens; set it to the MaxTokens a WithRequest edit asks for when that is
	// larger.
	Reserve int
	// KeepToolResult is how many characters of a shortened tool result are kept. 0 means 400.
	KeepToolResult int
	// SummaryTokens is the max_tokens of a summary call. 0 means 512.
	SummaryTokens int
}

// WithHistory sets the history policy (by default History{}, which is on).
func WithHistory(h History) Option { return func(a *Agent) { a.history = h } }

// Compaction reports what the history policy changed before a step's model call. The zero
// Compaction means the conversation fit and was sent as it was; one with nothing shortened
// or summarised means it did not fit and the policy found nothing it could take out.
type Compaction struct {
	// ShortenedResults counts the tool results shortened, and DroppedChars the characters
	// they lost.
	ShortenedResults, DroppedChars int
	// SummarisedMessages counts the messages replaced by summaries, Summaries the summary
	// calls made.
	SummarisedMessages, Summaries int
	// TokensBefore and TokensAfter are the estimates of the conversation (messages and tool
	// definitions) before and after; Limit is what it had to fit under.
	TokensBefore, TokensAfter, Limit int
}

// String describes c in one line for logs.
func (c Compaction) String() string {
	if c == (Compaction{}) {
		return "history: unchanged"
	}
	var did []string
	if c.ShortenedResults > 0 {
		did = append(did, fmt.Sprintf("shortened %s (%d characters dropped)", quantity(c.ShortenedResults, "tool result"), c.DroppedChars))
	}
	if c.SummarisedMessages > 0 {
		did = append(did, fmt.Sprintf("summarised %s in %s", quantity(c.SummarisedMessages, "message"), quantity(c.Summaries, "call")))
	}
	if len(did) == 0 {
		did = append(did, "could not compact")
	}
	return fmt.Sprintf("history: %s: ~%d → ~%d tokens (limit %d)", strings.Join(did, ", "), c.TokensBefore, c.TokensAfter, c.Limit)
}

// quantity writes n things, in the plural unless n is 1.
func quantity(n int, thing string) string {
	if n == 1 {
		return "1 " + thing
	}
	return fmt.Sprintf("%d %ss", n, thing)
}

// fit returns the messages to send for the next model call, the changes it made, and what
// its summary calls used. It is a pure function of its arguments and the model's answers:
// msgs is not changed, and when it fits it is returned as it is. The loop is expected to keep
// sending fit's output, with the messages added since appended, so that a summary is made
// once rather than at every step.
//
// On error (a failed summary call), msgs is returned with the usage of the calls made.
func (h History) fit(ctx context.Context, m llm.Model, msgs []llm.Message, tools []llm.ToolDef) ([]llm.Message, Compaction, llm.Usage, error) {
	if h.Disabled || len(msgs) == 0 {
		return msgs, Compaction{}, llm.Usage{}, nil
	}
	if err := h.validate(); err != nil {
		return msgs, Compaction{}, llm.Usage{}, err
	}
	limit, window, ok := h.limit(m)
	if !ok {
		return msgs, Compaction{}, llm.Usage{}, nil
	}
	w := newWorkspace(msgs, tools)
	if w.total <= limit {
		return msgs, Compaction{}, llm.Usage{}, nil
	}
	c := Compaction{TokensBefore: w.total, Limit: limit}
	target := limit * 3 / 4

	// 1. Shorten the oldest tool results first, all but those of the most recent turn.
	keep := cmp.Or(h.KeepToolResult, defaultKeepToolResult)
	recent := w.recent()
	w.shorten(&c, keep, 0, recent, target)

	// 2. Summarise the oldest turns.
	var usage llm.Usage
	for range maxSummariesPerFit {
		if w.total <= limit {
			break
		}
		lo, hi, ok := h.span(w, w.total-target, window)
		if !ok {
			break
		}
		text, u, err := h.summarise(ctx, m, w.msgs[lo:hi])
		usage = usage.Add(u)
		if err != nil {
			return msgs, Compaction{}, usage, fmt.Errorf("agent: summarising %d earlier messages to fit the context window: %w", hi-lo, err)
		}
		if text == "" {
			text = fmt.Sprintf("(%d earlier messages were left out to fit the context window.)", hi-lo)
		}
		w.replace(lo, hi, llm.User(summaryPrefix+text))
		c.SummarisedMessages += hi - lo
		c.Summaries++
	}

	// 3. Last, the results of the most recent turn, only as far as the limit needs.
	w.shorten(&c, keep, w.recent(), len(w.msgs), limit)

	c.TokensAfter = w.total
	if c.ShortenedResults == 0 && c.Summaries == 0 {
		return msgs, c, usage, nil // nothing could be taken out
	}
	return w.msgs, c, usage, nil
}

// validate refuses negative settings.
func (h History) validate() error {
	var errs []error
	for _, f := range []struct {
		name string
		v    int
	}{{"MaxTokens", h.MaxTokens}, {"Reserve", h.Reserve}, {"KeepToolResult", h.KeepToolResult}, {"SummaryTokens", h.SummaryTokens}} {
		if f.v < 0 {
			errs = append(errs, fmt.Errorf("agent: History.%s is %d: negative", f.name, f.v))
		}
	}
	return errors.Join(errs...)
}

// limit returns the estimate the conversation must fit under, and the window a summary
// call must fit in: the model's from the catalog, or the limit and the reserve. ok is false
// when the policy has nothing to go by.
func (h History) limit(m llm.Model) (limit, window int, ok bool) {
	reserve := cmp.Or(h.Reserve, llm.DefaultMaxTokens)
	if id, isID := m.(interface{ ID() string }); isID {
		if info, known := llm.LookupModel(id.ID()); known && info.ContextWindow > 0 {
			window = info.ContextWindow
		}
	}
	switch {
	case h.MaxTokens > 0 && window > 0:
		return h.MaxTokens, window, true
	case h.MaxTokens > 0:
		return h.MaxTokens, h.MaxTokens + reserve, true
	case window > reserve:
		return window - reserve, window, true
	}
	return 0, 0, false
}

// span picks the oldest turns to summarise: a run of whole turns, none of them protected,
// whose transcript fits a summary call, taken until replacing them would save need tokens
// (or as many as fit). ok is false when no run would save anything.
func (h History) span(w *workspace, need, window int) (lo, hi int, ok bool) {
	summaryTokens := cmp.Or(h.SummaryTokens, defaultSummaryTokens)
	// What the summary message is counted at: SummaryTokens of text at four bytes a token.
	note := llm.EstimateTokens(llm.Request{Messages: []llm.Message{llm.User(summaryPrefix + strings.Repeat("x", 4*summaryTokens))}}) - emptyEstimate()
	base := llm.EstimateTokens(h.summaryCall(nil))
	room := (window - summaryTokens - base) * llm.EstimateBytesPerToken // transcript bytes a call can take

	protected := w.protected()
	groups := turns(w.msgs)
	start, saved, size := -1, 0, 0 // the run of turns taken so far
	for _, g := range groups {
		b := 0
		if !protected[g[0]] {
			b = len(transcript(w.msgs[g[0]:g[1]]))
		}
		if protected[g[0]] || size+b > room {
			// The run ends here: take it if it saves anything, else start over after it.
			if start >= 0 && saved > note {
				return start, g[0], true
			}
			start, saved, size = -1, 0, 0
			if protected[g[0]] || b > room {
				continue
			}
		}
		if start < 0 {
			start = g[0]
		}
		size += b
		for _, n := range w.toks[g[0]:g[1]] {
			saved += n
		}
		if saved-note >= need {
			return start, g[1], true
		}
	}
	if start >= 0 && saved > note {
		return start, len(w.msgs), true
	}
	return 0, 0, false
}

// transcriptIntro opens the user message of a summary call.
const transcriptIntro = "The earlier part of the conversation, to summarise:\n\n"

// summarise asks m for a summary of msgs and returns its text and the call's usage.
func (h History) summarise(ctx context.Context, m llm.Model, msgs []llm.Message) (string, llm.Usage, error) {
	resp, err := m.Generate(ctx, h.summaryCall(msgs))
	if err != nil {
		var u llm.Usage
		if paid := billed(err); paid != nil {
			u = paid.Usage
		}
		return "", u, err
	}
	return strings.TrimSpace(resp.Text), resp.Usage, nil
}

// summaryCall is the request that asks for a summary of msgs.
func (h History) summaryCall(msgs []llm.Message) llm.Request {
	summaryTokens := cmp.Or(h.SummaryTokens, defaultSummaryTokens)
	return llm.Request{
		Messages: []llm.Message{
			llm.System(fmt.Sprintf(summaryPrompt, summaryTokens*3/4)),
			llm.User(transcriptIntro + transcript(msgs)),
		},
		MaxTokens: summaryTokens,
	}
}

// transcript renders msgs as plain text for a summary call, each message cut to
// transcriptLineRunes characters.
func transcript(msgs []llm.Message) string {
	var b strings.Builder
	for _, m := range msgs {
		text := m.Content
		if short, _, ok := shorten(text, transcriptLineRunes); ok {
			text = short
		}
		switch {
		case m.Role == llm.RoleTool:
			fmt.Fprintf(&b, "tool result (%s): %s\n", m.ToolCallID, text)
		case m.Role == llm.RoleUser && strings.HasPrefix(text, summaryPrefix):
			fmt.Fprintf(&b, "%s\n", text)
		case text != "" || len(m.ToolCalls) == 0:
			fmt.Fprintf(&b, "%s: %s\n", m.Role, text)
		}
		for range m.Images {
			b.WriteString("(an image)\n")
		}
		for _, c := range m.ToolCalls {
			args := string(c.Arguments)
			if short, _, ok := shorten(args, transcriptLineRunes); ok {
				args = short
			}
			fmt.Fprintf(&b, "assistant called %s (%s) with %s\n", c.Name, c.ID, args)
		}
	}
	return b.String()
}

// shorten cuts s to its first keep characters and a note of what was dropped. ok is false
// when s is short enough, or already shortened, so that it is left as it is.
func shorten(s string, keep int) (string, int, bool) {
	n := utf8.RuneCountInString(s)
	note := fmt.Sprintf(shortenedNote, n, n)
	if n <= keep+utf8.RuneCountInString(note) || strings.Contains(s, "[shortened by the agent: ") {
		return s, 0, false
	}
	cut := 0
	for range keep {
		_, size := utf8.DecodeRuneInString(s[cut:])
		cut += size
	}
	return s[:cut] + fmt.Sprintf(shortenedNote, n-keep, n), n - keep, true
}

// workspace is a copy of the conversation being compacted, with each message's estimate.
type workspace struct {
	msgs  []llm.Message
	toks  []int
	total int // messages, tool definitions and the answer's opening, as llm.EstimateTokens counts
}

func newWorkspace(msgs []llm.Message, tools []llm.ToolDef) *workspace {
	w := &workspace{msgs: slices.Clone(msgs), toks: make([]int, len(msgs))}
	w.total = llm.EstimateTokens(llm.Request{Tools: tools})
	for i := range w.msgs {
		w.toks[i] = messageTokens(w.msgs[i])
		w.total += w.toks[i]
	}
	return w
}

// shorten shortens the tool results among messages from to to, oldest first, until the
// estimate is down to goal, and counts what it did in c.
func (w *workspace) shorten(c *Compaction, keep, from, to, goal int) {
	for i := from; i < to && w.total > goal; i++ {
		if w.msgs[i].Role != llm.RoleTool {
			continue
		}
		short, dropped, ok := shorten(w.msgs[i].Content, keep)
		if !ok {
			continue
		}
		w.msgs[i].Content = short
		w.retoken(i)
		c.ShortenedResults++
		c.DroppedChars += dropped
	}
}

// recent returns the index where the most recent turn starts.
func (w *workspace) recent() int {
	g := turns(w.msgs)
	if len(g) == 0 {
		return 0
	}
	return g[len(g)-1][0]
}

// retoken re-estimates message i after a change.
func (w *workspace) retoken(i int) {
	n := messageTokens(w.msgs[i])
	w.total += n - w.toks[i]
	w.toks[i] = n
}

// replace puts m in place of messages lo to hi.
func (w *workspace) replace(lo, hi int, m llm.Message) {
	for _, n := range w.toks[lo:hi] {
		w.total -= n
	}
	n := messageTokens(m)
	w.total += n
	w.msgs = slices.Replace(w.msgs, lo, hi, m)
	w.toks = slices.Replace(w.toks, lo, hi, n)
}

// protected marks the messages no summary may take: the system prompt when it comes first,
// the latest user message that is the user's (not a note of the agent's), and the most
// recent turn.
func (w *workspace) protected() map[int]bool {
	p := map[int]bool{}
	if len(w.msgs) > 0 && w.msgs[0].Role == llm.RoleSystem {
		p[0] = true
	}
	for i := len(w.msgs) - 1; i >= 0; i-- {
		if m := w.msgs[i]; m.Role == llm.RoleUser && !fromAgent(m.Content) {
			p[i] = true
			break
		}
	}
	if g := turns(w.msgs); len(g) > 0 {
		p[g[len(g)-1][0]] = true
	}
	return p
}

// fromAgent reports whether a user message's content was written by the agent: a summary,
// or the notes the loop adds after a cut-off tool call, at the step limit, or to ask
// RunTyped's typed answer.
func fromAgent(content string) bool {
	truncated, _, _ := strings.Cut(truncatedNote, "%s")
	return strings.HasPrefix(content, summaryPrefix) || strings.HasPrefix(content, stepLimitNote) ||
		strings.HasPrefix(content, truncated) || content == typedNote
}

// turns splits msgs into the units a summary takes whole: an assistant message with tool
// calls and the tool results that follow it, or any other single message. Each is [start,
// end).
func turns(msgs []llm.Message) [][2]int {
	var out [][2]int
	for i := 0; i < len(msgs); {
		j := i + 1
		if msgs[i].Role == llm.RoleAssistant && len(msgs[i].ToolCalls) > 0 {
			for j < len(msgs) && msgs[j].Role == llm.RoleTool {
				j++
			}
		}
		out = append(out, [2]int{i, j})
		i = j
	}
	return out
}

// messageTokens is what llm.EstimateTokens counts for m.
func messageTokens(m llm.Message) int {
	return llm.EstimateTokens(llm.Request{Messages: []llm.Message{m}}) - emptyEstimate()
}

// emptyEstimate is what llm.EstimateTokens counts for an empty request: the answer's opening.
func emptyEstimate() int { return llm.EstimateTokens(llm.Request{}) }
