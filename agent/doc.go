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
// Hooks observe and control a run: BeforeTool can refuse a call, and AfterStep sees each
// step as it completes. An Observer (WithObserver) follows runs, steps and tool calls from
// outside, for tracing.
//
// # Sub-agents
//
// AsTool turns an Agent into a tool another agent calls with a task. Sub-agents called in
// one step run at the same time; their usage and tool calls count toward the caller's
// Result and Budget; the caller's context cancels them; a failing sub-agent is an error
// result the caller's model reads; and in Stream their events arrive too, each with the
// Path of sub-agents it came from.
//
// # Images
//
// Images in a run's input (RunMessages with llm.User(text, images...)) are sent to the
// model as its family takes them when the model has vision. For a model the catalog lists
// without vision, each image is replaced in what is sent by a line naming its index
// ("[attached image 0: image/png, ...]"), and the tools find the images under that index
// with tools.Attachments: vision.Tool lets the model ask a vision model about them.
//
// # Approvals
//
// A call that needs a human's decision (Hooks.NeedsApproval) stops the run before any call
// of its step runs: the run returns ErrApprovalRequired and a Result with the calls in
// Pending. The Result survives encoding/json, so it can be stored while a human decides;
// Resume, in the same process or another, runs the approved calls, tells the model why each
// denied call was denied, and goes on, with the usage, budget and step count carried over.
//
// # Prompt caching and context windows
//
// Workers AI reuses the prefill of a prompt prefix across requests that carry the same
// session-affinity key (https://developers.cloudflare.com/workers-ai/features/prompt-caching/).
// Every run sends one key with all its model calls (Result.SessionAffinity: random, or set
// with WithSessionAffinity; a run continuing an earlier one, by RunMessages on its
// Result.Messages or by Continue, keeps its key), and keeps the prefix
// stable: the system prompt and tool definitions are the same bytes in every step. Cached
// prompt tokens are reported in each Step's Usage. Before each model call, the history policy
// (History, WithHistory) keeps what is sent inside the model's context window; what it
// changed is in Step.Compaction, and Result.Messages keeps the whole conversation.
//
// The loop copes with Workers AI models' ways with tools: tool-call ids that are missing
// (legacy models send calls without ids) or reused across turns (Kimi) are replaced by ids
// unique in the conversation, and tool calls written as text instead of as tool calls, qwen3's
// <tool_call>{...}</tool_call> and gpt-oss's bare {"name":...,"arguments":...}, are
// recognised and run.
package agent
