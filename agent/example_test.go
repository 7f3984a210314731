package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"strings"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

type lengthIn struct {
	Km float64 `json:"km" jsonschema_description:"Distance in kilometres"`
}

var kmToMiles = tools.New("km_to_miles", "Convert kilometres to miles",
	func(_ context.Context, in lengthIn) (float64, error) {
		return float64(int(in.Km/1.609344*100+0.5)) / 100, nil
	})

// offlineModel returns a model on the offline Workers AI emulator that answers with the
// given replies in order; a real program would use llm.NewClient().Model(...).
func offlineModel(replies ...llmtest.Reply) (llm.Model, func()) {
	srv := llmtest.NewServer(llmtest.Script(replies...))
	c, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	return c.Model("@cf/meta/llama-3.3-70b-instruct-fp8-fast"), srv.Close
}

func ExampleAgent_Run() {
	model, closeModel := offlineModel(
		llmtest.Calls(llm.ToolCall{Name: "km_to_miles", Arguments: json.RawMessage(`{"km":42.195}`)}),
		llmtest.Text("A marathon, 42.195 km, is about 26.22 miles."),
	)
	defer closeModel()

	a := agent.New(model,
		agent.WithSystem("Use the tools for any arithmetic."),
		agent.WithTools(kmToMiles),
		agent.WithHooks(agent.Hooks{AfterStep: func(_ context.Context, s agent.Step) {
			for _, r := range s.Results {
				fmt.Printf("tool %s(%s) -> %s\n", r.Call.Name, r.Call.Arguments, r.Output)
			}
		}}))
	res, err := a.Run(context.Background(), "How many miles is a marathon?")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Text)
	fmt.Println(len(res.Steps), "steps,", len(res.Messages), "messages")
	// Output:
	// tool km_to_miles({"km":42.195}) -> 26.22
	// A marathon, 42.195 km, is about 26.22 miles.
	// 2 steps, 5 messages
}

func ExampleRunTyped() {
	model, closeModel := offlineModel(
		llmtest.Calls(llm.ToolCall{Name: "km_to_miles", Arguments: json.RawMessage(`{"km":10}`)}),
		llmtest.Text("10 km is 6.21 miles."),
		llmtest.Text(`{"km":10,"miles":6.21}`),
	)
	defer closeModel()

	type Answer struct {
		Km    float64 `json:"km"`
		Miles float64 `json:"miles"`
	}
	a := agent.New(model, agent.WithTools(kmToMiles))
	v, res, err := agent.RunTyped[Answer](context.Background(), a, "How many miles is a 10K race?")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%+v after %d steps\n", v, len(res.Steps))
	// Output:
	// {Km:10 Miles:6.21} after 3 steps
}

func ExampleAgent_Stream() {
	model, closeModel := offlineModel(
		llmtest.Calls(llm.ToolCall{Name: "km_to_miles", Arguments: json.RawMessage(`{"km":5}`)}),
		llmtest.Text("5 km is 3.11 miles."),
	)
	defer closeModel()

	a := agent.New(model, agent.WithTools(kmToMiles))
	var answer strings.Builder
	for ev, err := range a.Stream(context.Background(), "How far is a 5K in miles?") {
		if err != nil {
			fmt.Println(err)
			return
		}
		switch ev.Kind {
		case agent.EventToolCallStarted:
			fmt.Println("calling", ev.Call.Name)
		case agent.EventToolCallFinished:
			fmt.Println("got", ev.Tool.Output)
		case agent.EventTextDelta:
			answer.WriteString(ev.Text) // a UI would show each piece as it comes
		case agent.EventDone:
			fmt.Println(answer.String())
		}
	}
	// Output:
	// calling km_to_miles
	// got 3.11
	// 5 km is 3.11 miles.
}

func ExampleAgent_AsTool() {
	// Each agent has its own model; here each is a scripted emulator.
	usage := func(n int) llm.Usage { return llm.Usage{PromptTokens: n, CompletionTokens: 10, TotalTokens: n + 10} }
	historian, closeHistorian := offlineModel(llmtest.Text("The Eiffel Tower was finished in 1889.").WithUsage(usage(100)))
	defer closeHistorian()
	engineer, closeEngineer := offlineModel(llmtest.Text("It is 330 m tall.").WithUsage(usage(100)))
	defer closeEngineer()
	lead, closeLead := offlineModel(
		llmtest.Calls(
			llm.ToolCall{Name: "historian", Arguments: json.RawMessage(`{"task":"When was the Eiffel Tower finished?"}`)},
			llm.ToolCall{Name: "engineer", Arguments: json.RawMessage(`{"task":"How tall is the Eiffel Tower?"}`)},
		).WithUsage(usage(50)),
		llmtest.Text("Finished in 1889, the Eiffel Tower is 330 m tall.").WithUsage(usage(80)),
	)
	defer closeLead()

	a := agent.New(lead,
		agent.WithTools(
			agent.New(historian, agent.WithSystem("You know history.")).AsTool("historian", "Ask a historian"),
			agent.New(engineer, agent.WithSystem("You know buildings.")).AsTool("engineer", "Ask an engineer"),
		),
		// Both sub-agents run at the same time; their spending counts here.
		agent.WithBudget(agent.Budget{MaxTokens: 10_000}))
	res, err := a.Run(context.Background(), "Tell me about the Eiffel Tower.")
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range res.Steps[0].Results {
		fmt.Printf("%s: %s\n", r.Call.Name, r.Output)
	}
	fmt.Println(res.Text)
	fmt.Println(res.Usage.TotalTokens, "tokens, the sub-agents' included")
	// Output:
	// historian: The Eiffel Tower was finished in 1889.
	// engineer: It is 330 m tall.
	// Finished in 1889, the Eiffel Tower is 330 m tall.
	// 370 tokens, the sub-agents' included
}

func ExampleAgent_Resume() {
	model, closeModel := offlineModel(
		llmtest.Calls(
			llm.ToolCall{ID: "c1", Name: "km_to_miles", Arguments: json.RawMessage(`{"km":10}`)},
			llm.ToolCall{ID: "c2", Name: "send_email", Arguments: json.RawMessage(`{"to":"team@example.com"}`)},
		),
		llmtest.Text("10 km is 6.21 miles. I did not send the email."),
	)
	defer closeModel()

	sendEmail := tools.New("send_email", "Send the answer by email", func(_ context.Context, in struct {
		To string `json:"to"`
	}) (string, error) {
		return "sent to " + in.To, nil
	})
	build := func() *agent.Agent {
		return agent.New(model, agent.WithTools(kmToMiles, sendEmail),
			agent.WithHooks(agent.Hooks{NeedsApproval: func(c llm.ToolCall) bool { return c.Name == "send_email" }}))
	}

	res, err := build().Run(context.Background(), "Convert 10 km to miles and email the team.")
	if !errors.Is(err, agent.ErrApprovalRequired) {
		fmt.Println("unexpected:", err)
		return
	}
	for _, c := range res.Pending {
		fmt.Printf("waiting for a decision on %s %s\n", c.Name, c.Arguments)
	}
	// The Result can be stored while a human decides, and resumed elsewhere.
	stored, err := json.Marshal(res)
	if err != nil {
		fmt.Println(err)
		return
	}

	var paused agent.Result
	if err := json.Unmarshal(stored, &paused); err != nil {
		fmt.Println(err)
		return
	}
	done, err := build().Resume(context.Background(), &paused, map[string]agent.Decision{
		"c2": agent.Deny("the team already knows"),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range done.Steps[0].Results {
		fmt.Printf("%s -> %s\n", r.Call.Name, r.Output)
	}
	fmt.Println(done.Text)
	// Output:
	// waiting for a decision on send_email {"to":"team@example.com"}
	// km_to_miles -> 6.21
	// send_email -> error: the call was denied: the team already knows
	// 10 km is 6.21 miles. I did not send the email.
}
