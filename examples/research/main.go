// Command research answers a question about a small bundle of documents and one image with
// an agent that orchestrates everything gowai offers: a retrieval tool over the documents
// (embed.Index.SearchTool), a vision tool that lets a text model ask a vision model about
// the attached receipt (vision.Tool), two sub-agents that work at the same time
// (agent.AsTool), and one tool that needs a human's approval before it runs.
//
//	go run ./examples/research
//	go run ./examples/research -approve
//	go run ./examples/research -resume /tmp/gowai-research.json
//	go run ./examples/research -resume /tmp/gowai-research.json -deny "not this month"
//
// Without -approve, the run pauses when the model wants to file the expense claim: it prints
// the pending call, saves the run to -state and exits; -resume FILE continues it in a new
// process, approving the call (or refusing it with -deny). Each step is printed with its
// tool calls, then the answer, the tokens served from Workers AI's prompt cache and the cost.
//
// Offline by default, on the llmtest emulator, with the models' replies scripted for the
// bundled question (offline.go): the chat model plays the three agents from what each
// request holds, the vision model reads the receipt, and the embeddings are bag-of-words
// vectors, while the search, the tool calls, the sub-agents, the approval, the prompt cache
// and the usage run as they would against Workers AI. Real Workers AI with
// CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN set. With OPENAI_BASE_URL the agents use
// that server, and the embeddings and vision calls the scripted emulator.
//
// Each sub-agent's steps are printed as they complete, indented with its name, then the
// top agent's step that called them, with a line saying whether the two sub-agents ran at
// the same time.
package main

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/gowai/gowai/agent"
	gowaiembed "github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/examples/internal/backend"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
	"github.com/gowai/gowai/vision"
)

const (
	chatModel   = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	visionModel = "@cf/meta/llama-4-scout-17b-16e-instruct"
	embedModel  = "@cf/baai/bge-small-en-v1.5"
)

//go:embed docs/*.md receipt.png
var bundle embed.FS

func main() {
	q := flag.String("q", "Can I claim the attached coffee receipt from a customer meeting? Check it against our policies, "+
		"and if it is allowed, file the claim.", "the question (real models only: offline, the replies are scripted for the default)")
	approve := flag.Bool("approve", false, "approve the expense claim when the model files it, instead of pausing")
	resume := flag.String("resume", "", "continue the paused run saved in `FILE`")
	deny := flag.String("deny", "", "with -resume: refuse the pending calls, telling the model this `reason`")
	state := flag.String("state", filepath.Join(os.TempDir(), "gowai-research.json"), "where a paused run is saved")
	backend.Main("research", "Research answers a question about bundled policy documents and a receipt image with an\n"+
		"agent that uses a retrieval tool, a vision tool and two sub-agents working at the same\n"+
		"time; filing the claim needs approval (-approve, or pause, save and -resume FILE).\n"+
		"It prints each step, the cached prompt tokens and the cost. Offline, the models'\n"+
		"replies are scripted for the bundled question, and -q does not change them.",
		func(ctx context.Context) error {
			if *deny != "" && *resume == "" {
				return backend.BadFlag("-deny needs -resume")
			}
			ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			defer cancel()
			return run(ctx, *q, *approve, *resume, *deny, *state)
		})
}

func run(ctx context.Context, q string, approve bool, resume, deny, state string) error {
	b, err := backend.Open(chatModel, os.Stderr)
	if err != nil {
		return fmt.Errorf("choose backend: %w", err)
	}
	defer b.Close()
	client, model := b.Client, b.Model
	if b.Offline || client == nil {
		srv := llmtest.NewServer(scripted)
		defer srv.Close()
		if client, err = srv.Client(); err != nil {
			return fmt.Errorf("start the emulator: %w", err)
		}
		if b.Offline {
			model = client.Model(chatModel)
			fmt.Fprintln(os.Stderr, "offline: the models' replies are scripted for the bundled question (see offline.go); "+
				"the search, the vision call, the sub-agents, the approval, the prompt cache and the cost run for real on the emulator")
		} else {
			fmt.Fprintln(os.Stderr, "embeddings and vision: an OpenAI-compatible server has none; using the offline emulator for them")
		}
	}

	sub := &spans{}
	a, err := build(ctx, model, client, sub)
	if err != nil {
		return err
	}

	var res *agent.Result
	if resume != "" {
		if res, err = load(resume); err != nil {
			return err
		}
		fmt.Printf("resuming the run saved in %s (%d steps so far)\n", resume, len(res.Steps))
		if b.Offline {
			fmt.Println("(the emulator of this process starts with an empty prompt cache; Workers AI's would still hold the prefix)")
		}
		res, err = a.Resume(ctx, res, decide(res.Pending, deny))
	} else {
		receipt, lerr := vision.FromBytes(must(bundle.ReadFile("receipt.png")))
		if lerr != nil {
			return fmt.Errorf("load the receipt: %w", lerr)
		}
		fmt.Printf("question: %s\n(attached: receipt.png)\n", q)
		res, err = a.RunMessages(ctx, []llm.Message{llm.User(q, receipt)})
		if errors.Is(err, agent.ErrApprovalRequired) && approve {
			printPending(res.Pending)
			fmt.Println("approved with -approve")
			res, err = a.Resume(ctx, res, decide(res.Pending, ""))
		}
	}
	if errors.Is(err, agent.ErrApprovalRequired) {
		printPending(res.Pending)
		if err := save(state, res); err != nil {
			return err
		}
		fmt.Printf("paused; the run is saved in %s\ncontinue with: go run ./examples/research -resume %s [-deny REASON]\n", state, state)
		return nil
	}
	if err != nil {
		return fmt.Errorf("answer the question (after %d steps): %w", len(res.Steps), err)
	}
	fmt.Printf("\nanswer: %s\n", res.Text)
	u := res.Usage
	fmt.Printf("usage: %d prompt tokens (%d served from the prompt cache), %d completion tokens over %d steps, sub-agents included\n",
		u.PromptTokens, u.CachedTokens, u.CompletionTokens, len(res.Steps))
	fmt.Printf("every model call of the top agent sent the session-affinity key %s (each sub-agent run had its own), "+
		"so Workers AI could reuse the prompt prefix the calls share\n", res.SessionAffinity)
	fmt.Println(backend.Cost(u, b.Offline))
	return nil
}

// build indexes the documents and assembles the agent: a search tool, a vision tool, two
// sub-agents (each with one of them, their calls timed in sub) and the claim tool that
// needs approval.
func build(ctx context.Context, m llm.Model, client *llm.Client, sub *spans) (*agent.Agent, error) {
	ix := gowaiembed.NewIndex(gowaiembed.New(client, embedModel))
	docs, err := fs.Glob(bundle, "docs/*.md")
	if err != nil {
		return nil, err
	}
	for _, name := range docs {
		text := string(must(bundle.ReadFile(name)))
		for i, chunk := range gowaiembed.Chunk(text, 400, 40) {
			d := gowaiembed.Document{ID: fmt.Sprintf("%s#%d", name, i), Text: chunk,
				Meta: map[string]string{"source": strings.TrimPrefix(name, "docs/")}}
			if err := ix.Add(ctx, d); err != nil {
				return nil, fmt.Errorf("index %s: %w", name, err)
			}
		}
	}
	search := ix.SearchTool("search_policies", "Search the company's expense policies; cite the source of what you use.", 3)
	look := vision.Tool(client.Model(visionModel), "look_at_image",
		"Ask a vision model a question about an attached image (image 0 is the receipt).", vision.AttachedOnly())

	policy := agent.New(m, agent.WithName("policy_analyst"),
		agent.WithSystem("You find the policy rules that apply to an expense. Search the policies, then list the rules with their sources."),
		agent.WithTools(search), agent.WithMaxSteps(3), agent.WithHooks(agent.Hooks{AfterStep: printStep("policy_analyst")}))
	reader := agent.New(m, agent.WithName("receipt_reader"),
		agent.WithSystem("You read receipts. Ask the vision tool about image 0 and report the merchant, date, items and total."),
		agent.WithTools(look), agent.WithMaxSteps(3), agent.WithHooks(agent.Hooks{AfterStep: printStep("receipt_reader")}))

	return agent.New(m, agent.WithName("research"),
		agent.WithSystem("You decide expense questions. Ask policy_analyst for the rules and receipt_reader for the "+
			"receipt (they work at the same time), check with search_policies or look_at_image if needed, and file "+
			"the claim with file_expense_claim only if the policies allow it. Answer briefly, citing sources."),
		agent.WithTools(search, look,
			sub.timed(policy.AsTool("policy_analyst", "A colleague who finds the policy rules that apply to an expense.")),
			sub.timed(reader.AsTool("receipt_reader", "A colleague who reads the attached receipt and reports what is on it.")),
			claimTool()),
		agent.WithMaxSteps(4),
		agent.WithHooks(agent.Hooks{
			NeedsApproval: func(c llm.ToolCall) bool { return c.Name == "file_expense_claim" },
			AfterStep: func(ctx context.Context, s agent.Step) {
				printStep("")(ctx, s)
				sub.report()
			},
		}),
	), nil
}

type claim struct {
	Merchant string  `json:"merchant" jsonschema:"minLength=1" jsonschema_description:"Who was paid"`
	Amount   float64 `json:"amount" jsonschema:"minimum=0.01" jsonschema_description:"The total in EUR"`
	Reason   string  `json:"reason" jsonschema:"minLength=1" jsonschema_description:"Why the expense is allowed, citing the policy"`
}

// claimTool files an expense claim. Here it only prints it: the point is that it runs only
// once a human approved it.
func claimTool() tools.Tool {
	return tools.New("file_expense_claim", "File an expense claim with finance. This cannot be undone.",
		func(_ context.Context, c claim) (string, error) {
			return fmt.Sprintf("claim filed: %.2f EUR at %s (%s)", c.Amount, c.Merchant, c.Reason), nil
		})
}

// printStep prints the steps of the agent at path ("" for the top one) as they complete.
func printStep(path string) func(context.Context, agent.Step) {
	indent := ""
	if path != "" {
		indent = "    [" + path + "] "
	}
	return func(_ context.Context, s agent.Step) {
		fmt.Printf("%sstep: model %s, %d tokens (%d cached)\n", indent, s.ModelTime.Round(time.Millisecond),
			s.Usage.TotalTokens, s.Usage.CachedTokens)
		for _, r := range s.Results {
			out := strings.ReplaceAll(strings.TrimSpace(r.Output), "\n", " ")
			if len(out) > 160 {
				out = out[:160] + "..."
			}
			fmt.Printf("%s  %s(%s) in %s -> %s\n", indent, r.Call.Name, r.Call.Arguments, r.Duration.Round(time.Millisecond), out)
		}
	}
}

func printPending(calls []llm.ToolCall) {
	for _, c := range calls {
		fmt.Printf("needs approval: %s %s (call %s)\n", c.Name, c.Arguments, c.ID)
	}
}

// decide approves every pending call, or refuses them all with reason.
func decide(pending []llm.ToolCall, reason string) map[string]agent.Decision {
	d := make(map[string]agent.Decision, len(pending))
	for _, c := range pending {
		if reason != "" {
			d[c.ID] = agent.Deny(reason)
		} else {
			d[c.ID] = agent.Approve()
		}
	}
	return d
}

func save(path string, res *agent.Result) error {
	data, err := json.Marshal(res)
	if err != nil {
		return fmt.Errorf("save the paused run: %w", err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		return fmt.Errorf("save the paused run: %w", err)
	}
	return nil
}

func load(path string) (*agent.Result, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read -resume file: %w", err)
	}
	var res agent.Result
	if err := json.Unmarshal(data, &res); err != nil {
		return nil, fmt.Errorf("read -resume file %s: %w", path, err)
	}
	if len(res.Pending) == 0 {
		return nil, fmt.Errorf("-resume %s: the saved run has no pending calls", path)
	}
	return &res, nil
}

// must is for the files embedded at build time, which are always there.
func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// spans records when the calls of the sub-agents' tools started and ended, to show that
// they ran at the same time.
type spans struct {
	mu    sync.Mutex
	calls []span
}

type span struct {
	name       string
	start, end time.Time
}

// timed returns t with its calls recorded.
func (s *spans) timed(t tools.Tool) tools.Tool { return timedTool{Tool: t, s: s} }

type timedTool struct {
	tools.Tool
	s *spans
}

func (t timedTool) Call(ctx context.Context, args json.RawMessage) (string, error) {
	start := time.Now()
	out, err := t.Tool.Call(ctx, args)
	t.s.mu.Lock()
	t.s.calls = append(t.s.calls, span{t.Def().Name, start, time.Now()})
	t.s.mu.Unlock()
	return out, err
}

// report prints the sub-agent calls recorded since the last report, from the first one's
// start, and whether they overlapped.
func (s *spans) report() {
	s.mu.Lock()
	calls := s.calls
	s.calls = nil
	s.mu.Unlock()
	if len(calls) < 2 {
		return
	}
	first := calls[0].start
	var parts []string
	overlap := false
	for i, c := range calls {
		if c.start.Before(first) {
			first = c.start
		}
		for _, d := range calls[i+1:] {
			overlap = overlap || c.start.Before(d.end) && d.start.Before(c.end)
		}
	}
	for _, c := range calls {
		parts = append(parts, fmt.Sprintf("%s from +%s to +%s", c.name, c.start.Sub(first).Round(time.Microsecond), c.end.Sub(first).Round(time.Microsecond)))
	}
	how := "one after the other"
	if overlap {
		how = "at the same time"
	}
	fmt.Printf("  sub-agents ran %s: %s\n", how, strings.Join(parts, ", "))
}
