// Package agent runs the tool-calling loop: it sends the conversation and the tool
// definitions to a model, runs the tool calls in the reply (concurrently, through a
// tools.Set), appends the calls and their results to the conversation, and repeats until the
// model answers without calling a tool.
//
//	a := agent.New(model,
//		agent.WithSystem("You are a careful assistant."),
//		agent.WithTools(calculator, converter),
//		agent.WithBudget(agent.Budget{MaxToolCalls: 20}))
//	res, err := a.Run(ctx, "How many miles is 42 km?")
//
// Every run ends with an answer or an error, and never loses its history: a tool failure of
// any kind becomes a result the model reads (a tool that ignores its context and outlives
// WithToolTimeout is abandoned, and the run goes on); a tool call cut off at max_tokens is
// shown back to the model, which calls again more briefly; when the step limit
// (WithMaxSteps) is reached, one last call with tools disabled asks for the best answer
// from what is known; a run stopped by its Budget returns ErrBudgetExceeded; and every
// error comes with the *Result so far, its Messages and Usage included, with a result for
// every tool call in Messages, so that it can be continued.
//
// Result.Messages continues a conversation: append the next user message and pass it to
// RunMessages. The system prompt is in it once and is not added again.
//
// RunTyped gets the final answer as a Go value: after the tool loop, the conversation goes
// to structured.GenerateFrom, so the answer is validated against the type's schema and
// corrected by the model if needed. Stream delivers a run as events: answer text as it
// arrives, tool calls as they start and finish, each step, and the result.
//
// Hooks observe and control a run: BeforeTool can refuse a call (asking a human for
// approval, say), and AfterStep sees each step as it completes.
//
// The loop copes with Workers AI models' ways with tools: tool-call ids that are missing
// (legacy models send calls without ids) or reused across turns (Kimi) are replaced by ids
// unique in the conversation, and tool calls written as text instead of as tool calls, qwen3's
// <tool_call>{...}</tool_call> and gpt-oss's bare {"name":...,"arguments":...}, are
// recognised and run.
package agent
