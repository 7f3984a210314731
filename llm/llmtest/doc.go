// Package llmtest tests code built on package llm without the network.
//
// It offers three tools, from the outside in:
//
//   - Server, an emulator of the Workers AI REST API on a local HTTP server. Point an
//     llm.Client at it with llm.WithBaseURL(server.URL()) (or use Server.Client) and the
//     client's real HTTP path runs: envelopes, event streams, image bytes, error codes,
//     AI Gateway headers and cache, the async batch API and Vectorize. A Handler decides
//     each reply; Script replays a fixed sequence; a nil Handler lets the built-in
//     emulation answer everything.
//   - TestModel, an llm.Model in memory: it calls each offered tool once, then answers, with
//     JSON valid for the requested schema when one is asked for. It is what the Server
//     answers with by default.
//   - Recorder, an http.RoundTripper that records exchanges with the live service to a
//     cassette file once, and replays them offline afterwards, with credentials removed.
//
// A typical test scripts the model's turns and checks what the client sent:
//
//	srv := llmtest.NewServer(llmtest.Script(
//		llmtest.Calls(llm.ToolCall{Name: "weather", Arguments: json.RawMessage(`{"city":"Oslo"}`)}),
//		llmtest.Text("It is sunny in Oslo."),
//	))
//	defer srv.Close()
//	client, err := srv.Client()
//	// ... run the code under test with client.Model("@cf/meta/llama-3.3-70b-instruct-fp8-fast") ...
//	for _, r := range srv.Requests() {
//		// r.Path, r.Model, r.Body: what the client sent
//	}
//
// Faults are options on a Reply: Fail(429, 3040, "...").WithRetryAfter("1") for a
// capacity error, Text("...").CutAfter(3) for a stream that drops before [DONE],
// Model().WithLatency(time.Second) for a slow answer.
//
// # Retries in tests
//
// The client from Server.Client retries as often as llm.DefaultRetryPolicy, but waits
// milliseconds: backoff of 1 to 20 ms, and Retry-After scaled by 1/1000. A scripted 429
// with "Retry-After: 3" therefore costs 3 ms. To test the production timing, pass
// llm.WithRetry(llm.DefaultRetryPolicy()) to Server.Client (options given to it win), and
// run the test inside a testing/synctest bubble so that the waits pass in fake time.
//
// # Answers from the test model
//
// The test model is deterministic: the same request always gets the same answer. Its
// text answers start with "test model:" and summarise the request, so they cannot pass
// for a real model's. Its JSON answers and tool arguments always validate against the
// schema, and are read from the request where they can: a field named like free input
// (expression, query, question, text, input, q, ...) gets the user's message, or the
// arithmetic in it; numbers and plain strings without examples get numbers and words of
// the message; examples are picked and varied by a hash of the messages. Different
// requests thus get different answers. TestModel lists the rules; Example gives the
// request-independent value of a schema.
//
// # What is emulated, and how
//
// The emulator follows the wire format of the live service, with samples under
// llm/testdata, and makes these choices:
//   - Every route is also served under /client/v4, so a client configured with
//     Cloudflare's documented base URL, https://api.cloudflare.com/client/v4, works with
//     only the host changed.
//   - An unknown model id gets 400/7000 "No route for that URI" from the built-in emulation,
//     as the live service answers; a Handler may answer any model id. DefaultTestModelID is
//     always known.
//   - @cf/openai/gpt-oss-* and @cf/moonshotai/kimi-k2* answer "stream": true on /ai/run
//     with an empty JSON result, {"result":{},"success":true,"errors":[],"messages":[]},
//     as the live models do, when the test model answers; scripted replies stream.
//   - JSON mode with "stream": true on /ai/run is answered with JSON, not an error and not
//     a stream: the live behaviour is unconfirmed, and clients must already cope with
//     models that ignore "stream".
//   - The async batch API (?queueRequest=true) queues requests to the models that support
//     batching and answers polls with "running" (see WithBatchPolls) before the results;
//     other models get 400/5006.
//   - Each model family answers in the body shape the live service sends: the chat.completion
//     of vLLM-served models with their null keys, the llama-3.3 hybrid on /ai/run (a
//     chat.completion plus the legacy "response", an object when the text is JSON), the
//     legacy {response, tool_calls, usage} of older models; chat-style streams carry the
//     running usage in every chunk unless stream_options asks for it at the end only,
//     except Gemma 4's and GLM's on /ai/run, whose chunks carry their own share of the
//     usage, sorted keys and a pad, with the totals in a native {"response":"","usage"}
//     tail.
//     /ai/v1/embeddings honours encoding_format "base64".
//   - A request to a catalogued text-generation model whose estimated input plus max_tokens
//     (256 when unset) exceeds the model's context window gets the service's 413. The
//     estimate (4 bytes a token) is lower than llm's, so a request llm fitted always passes.
//   - Requests with the same x-session-affinity header share a prompt cache: the leading
//     messages (and tools) that match the key's previous request are reported as
//     usage.prompt_tokens_details.cached_tokens.
//   - The task models (speech recognition and synthesis, translation, summarisation,
//     classification, moderation, image classification and object detection) answer in
//     their wire forms with deterministic, visibly fake results: a transcript that states
//     the audio's length, a translation marked with its target language, boxes inside the
//     image.
//   - Vectorize v2 indexes live in memory, per server.
//   - GET /ai/models/search lists llm's compiled-in catalog (llm.Models) in the live
//     layout, with search, task, page and per_page; its ids, descriptions and dates are
//     made up, its properties (context window, price, function calling, ...) are llm's.
//   - Embeddings are deterministic unit vectors (see Embed), rerank scores are lexical word
//     overlap, and images are an 8×8 PNG: none of them mean anything.
//
// # For programs in any language
//
// NewHandler serves the same emulation as an http.Handler on any address, and ParseScript
// reads scripted replies from a file; the command cmd/workers-ai-emulator combines them into
// a local Workers AI for clients in any language.
package llmtest
