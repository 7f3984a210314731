package agent_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/structured"
)

// unpriced is a reply that reports its tokens but no neurons, as an OpenAI-compatible server
// does: no neurons in the body, and an empty cf-ai-neurons header.
func unpriced(r llmtest.Reply) llmtest.Reply {
	return r.WithUsage(llm.Usage{PromptTokens: 1000, CompletionTokens: 100, TotalTokens: 1100}).WithHeader("cf-ai-neurons", "")
}

// The legacy model's catalog prices (25608 and 75147 neurons per million input and output
// tokens) make each unpriced reply about 33.12 neurons.
func TestNeuronBudgetEstimatesNeuronsTheReplyDoesNotReport(t *testing.T) {
	srv, m := emulator(t, legacy, unpriced(llmtest.Calls(add("", 1, 2))), unpriced(llmtest.Calls(add("", 3, 4))), llmtest.Text("never asked"))
	var ran atomic.Int32
	res, err := agent.New(m, agent.WithTools(addTool(&ran)), agent.WithBudget(agent.Budget{MaxNeurons: 40})).Run(t.Context(), "add")
	if !errors.Is(err, agent.ErrBudgetExceeded) || !strings.Contains(err.Error(), "66.25 neurons") || !strings.Contains(err.Error(), "estimated") {
		t.Fatalf("error = %v, want ErrBudgetExceeded at about 66.25 estimated neurons", err)
	}
	if ran.Load() != 1 || len(res.Steps) != 2 || len(srv.Requests()) != 2 {
		t.Fatalf("add ran %d times, %d steps, %d requests; want the second step's calls refused", ran.Load(), len(res.Steps), len(srv.Requests()))
	}
	if !res.Usage.NeuronsEstimated || res.Usage.TotalTokens != 2200 {
		t.Fatalf("Usage = %+v; want the tokens as reported and the neurons marked estimated", res.Usage)
	}
}

// withoutID hides the model's id, as a wrapper around a model does.
type withoutID struct{ llm.Model }

// unmetered is a model that reports no neurons and has no id to estimate them from, as an
// OpenAI-compatible server's model is.
type unmetered struct{ llm.Model }

func (m unmetered) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	r, err := m.Model.Generate(ctx, req)
	if r != nil {
		r.Usage.Neurons, r.Usage.NeuronsEstimated = 0, false
	}
	return r, err
}

func TestNeuronBudgetThatCannotBeEnforcedIsRefused(t *testing.T) {
	srv, m := emulator(t, llama, unpriced(llmtest.Calls(add("", 1, 2))), llmtest.Text("never asked"))
	var ran atomic.Int32
	res, err := agent.New(unmetered{m}, agent.WithTools(addTool(&ran)), agent.WithBudget(agent.Budget{MaxNeurons: 60})).Run(t.Context(), "add")
	if err == nil || !strings.Contains(err.Error(), "MaxNeurons and MaxDollars cannot be enforced") || !strings.Contains(err.Error(), "reports no neurons") {
		t.Fatalf("error = %v, want MaxNeurons refused, saying why", err)
	}
	if ran.Load() != 0 || len(srv.Requests()) != 1 || res.Usage.TotalTokens != 1100 {
		t.Fatalf("add ran %d times after %d requests, usage %+v", ran.Load(), len(srv.Requests()), res.Usage)
	}
	if last := res.Messages[len(res.Messages)-1]; last.Role != llm.RoleUser {
		t.Fatalf("history ends with %+v, want the input alone", last)
	}

	// Without MaxNeurons the same model runs.
	_, m = emulator(t, llama, unpriced(llmtest.Text("fine")))
	if res, err := agent.New(withoutID{m}, agent.WithBudget(agent.Budget{MaxTokens: 10000})).Run(t.Context(), "hi"); err != nil || res.Text != "fine" {
		t.Fatalf("Run = %q, %v", res.Text, err)
	}
}

func TestNeuronsReportedByTheServiceAreNotEstimated(t *testing.T) {
	// The service reports 1 neuron a reply, far below llama's catalog price for 1100 tokens.
	reply := func(r llmtest.Reply) llmtest.Reply {
		return r.WithUsage(llm.Usage{PromptTokens: 1000, CompletionTokens: 100, TotalTokens: 1100, Neurons: 1})
	}
	_, m := emulator(t, llama, reply(llmtest.Calls(add("", 1, 2))), reply(llmtest.Text("3")))
	res, err := agent.New(withoutID{m}, agent.WithTools(addTool(nil)), agent.WithBudget(agent.Budget{MaxNeurons: 5})).Run(t.Context(), "add")
	if err != nil || res.Text != "3" {
		t.Fatalf("Run = %q, %v", res.Text, err)
	}
}

func TestRunTypedAttemptsAreHeldToTheBudget(t *testing.T) {
	srv, m := emulator(t, llama,
		llmtest.Text("I think 3.").WithUsage(llm.Usage{TotalTokens: 10}),
		llmtest.Text(`{"sum":"x"}`).WithUsage(llm.Usage{TotalTokens: 20}),
		llmtest.Text(`{"sum":3}`).WithUsage(llm.Usage{TotalTokens: 20}))
	_, res, err := agent.RunTyped[sum](t.Context(), agent.New(m, agent.WithBudget(agent.Budget{MaxTokens: 25})), "1+2?")
	if !errors.Is(err, agent.ErrBudgetExceeded) {
		t.Fatalf("error = %v, want ErrBudgetExceeded before the typed answer's second attempt", err)
	}
	if n := len(srv.Requests()); n != 2 {
		t.Fatalf("%d requests, want 2: the loop's answer and one typed attempt", n)
	}
	if res.Usage.TotalTokens != 30 || len(res.Steps) != 2 || res.Steps[1].Attempts != 1 || res.Steps[1].Usage.TotalTokens != 20 {
		t.Fatalf("usage %+v, steps %+v", res.Usage, res.Steps)
	}
}

func TestRunTypedCountsEstimatedNeurons(t *testing.T) {
	// The loop's answer costs about 47.15 neurons; the typed answer, about as much, takes the
	// run past 60, so its invalid first attempt is not followed by another.
	srv, m := emulator(t, llama, unpriced(llmtest.Text("I think 3.")), unpriced(llmtest.Text(`{"sum":"x"}`)), llmtest.Text(`{"sum":3}`))
	_, res, err := agent.RunTyped[sum](t.Context(), agent.New(m, agent.WithBudget(agent.Budget{MaxNeurons: 60})), "1+2?")
	if !errors.Is(err, agent.ErrBudgetExceeded) || len(srv.Requests()) != 2 {
		t.Fatalf("error = %v after %d requests, want ErrBudgetExceeded after 2", err, len(srv.Requests()))
	}
	if res.Usage.TotalTokens != 2200 {
		t.Fatalf("usage %+v", res.Usage)
	}
}

func TestRunTypedFailingWithinTheBudgetKeepsStructuredsError(t *testing.T) {
	invalid := llmtest.Text(`{"sum":"x"}`).WithUsage(llm.Usage{TotalTokens: 7})
	_, m := emulator(t, llama, llmtest.Text("I think 3.").WithUsage(llm.Usage{TotalTokens: 5}), invalid, invalid, invalid)
	_, _, err := agent.RunTyped[sum](t.Context(), agent.New(m, agent.WithBudget(agent.Budget{MaxTokens: 1000})), "1+2?")
	if !errors.Is(err, structured.ErrInvalidOutput) || errors.Is(err, agent.ErrBudgetExceeded) {
		t.Fatalf("error = %v, want structured.ErrInvalidOutput", err)
	}
}

func TestFinalCallAfterTheStepLimitIsCounted(t *testing.T) {
	_, m := emulator(t, llama,
		llmtest.Calls(add("", 1, 2)).WithUsage(llm.Usage{TotalTokens: 10, Neurons: 1}),
		llmtest.Text("3").WithUsage(llm.Usage{TotalTokens: 30, Neurons: 2}))
	res, err := agent.New(m, agent.WithTools(addTool(nil)), agent.WithMaxSteps(1)).Run(t.Context(), "add")
	if err != nil {
		t.Fatal(err)
	}
	if res.Usage.TotalTokens != 40 || res.Usage.Neurons != 3 || len(res.Steps) != 2 || res.Steps[1].Usage.TotalTokens != 30 {
		t.Fatalf("usage %+v, %d steps", res.Usage, len(res.Steps))
	}
}

func TestZeroAgentReturnsAnError(t *testing.T) {
	var zero agent.Agent
	var nilAgent *agent.Agent
	for name, a := range map[string]*agent.Agent{"zero value": &zero, "nil pointer": nilAgent} {
		t.Run(name, func(t *testing.T) {
			res, err := a.Run(t.Context(), "hi")
			if err == nil || !strings.Contains(err.Error(), "agent.New") || res == nil || len(res.Messages) != 1 {
				t.Fatalf("Run = %+v, %v; want an error saying to use agent.New, and the input kept", res, err)
			}
			if _, _, err := agent.RunTyped[sum](t.Context(), a, "hi"); err == nil || !strings.Contains(err.Error(), "agent.New") {
				t.Fatalf("RunTyped error = %v", err)
			}
			var got error
			for ev, err := range a.Stream(t.Context(), "hi") {
				if ev.Kind != agent.EventDone || ev.Result == nil {
					t.Fatalf("event %v", ev.Kind)
				}
				got = err
			}
			if got == nil || !strings.Contains(got.Error(), "agent.New") {
				t.Fatalf("Stream error = %v", got)
			}
		})
	}
}

// dropNeurons is a model whose replies report no neurons, whatever the server said, and
// that keeps its id, so the agent estimates them from the catalog.
type dropNeurons struct{ *llm.ChatModel }

func (m dropNeurons) Generate(ctx context.Context, req llm.Request) (*llm.Response, error) {
	r, err := m.ChatModel.Generate(ctx, req)
	if r != nil {
		r.Usage.Neurons, r.Usage.NeuronsEstimated = 0, false
	}
	return r, err
}

// Prompt tokens served from the prompt cache are priced at the catalog's cached rate when
// the agent estimates neurons: kimi's 0.16 $/M instead of 0.95 $/M. At the full rate the
// first reply alone would be over the MaxDollars cap and stop the run before its tool call.
func TestEstimatedNeuronsPriceCachedTokensAtTheCachedRate(t *testing.T) {
	u := llm.Usage{PromptTokens: 1000, CachedTokens: 800, CompletionTokens: 100, TotalTokens: 1100}
	_, m := emulator(t, kimi, llmtest.Calls(add("c1", 1, 2)).WithUsage(u), llmtest.Text("3").WithUsage(u))
	var ran atomic.Int32
	a := agent.New(dropNeurons{m.(*llm.ChatModel)}, agent.WithTools(addTool(&ran)), agent.WithBudget(agent.Budget{MaxDollars: 0.001}))
	res, err := a.Run(t.Context(), "add")
	if err != nil || res.Text != "3" || ran.Load() != 1 {
		t.Fatalf("Run = %q, %v; add ran %d times", res.Text, err, ran.Load())
	}
	want, ok := llm.EstimateNeurons(kimi, u)
	full, _ := llm.EstimateNeurons(kimi, llm.Usage{PromptTokens: 1000, CompletionTokens: 100, TotalTokens: 1100})
	if !ok || want >= full || full*llm.USDPerNeuron <= 0.001 {
		t.Fatalf("the catalog's estimate with cached tokens is %.2f neurons, without %.2f", want, full)
	}
	if got := res.Spent.Neurons; !res.Spent.NeuronsEstimated || got < 2*want-0.01 || got > 2*want+0.01 {
		t.Fatalf("Spent %+v; want 2 × %.2f estimated neurons", res.Spent, want)
	}
	if res.Usage.CachedTokens != 1600 {
		t.Fatalf("Usage %+v; want the cached tokens of both replies", res.Usage)
	}
}
