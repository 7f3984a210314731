// Package llmtest tests code built on package llm without the network.
//
// It offers three tools, from the outside in:
//
//   - Server, an emulator of the Workers AI REST API on a local HTTP server. Point an
//     llm.Client at it with llm.WithBaseURL(server.URL()) (or use Server.Client) and the
//     client's real HTTP path runs: envelopes, event streams, image bytes, error codes,
//     AI Gateway headers and cache. A Handler decides each reply; Script replays a fixed
//     sequence; a nil Handler lets the built-in emulation answer everything.
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
// The emulator follows the wire format recorded from the live service (see the project's
// reference notes), with these deliberate choices:
//   - An unknown model id gets 400/7000 "No route for that URI" from the built-in emulation,
//     as the live service answers; a Handler may answer any model id. DefaultTestModelID is
//     always known.
//   - JSON mode with "stream": true on /ai/run is answered with JSON, not an error and not
//     a stream: the live behaviour is unconfirmed, and clients must already cope with
//     models that ignore "stream".
//   - Embeddings are deterministic unit vectors (see Embed), rerank scores are lexical word
//     overlap, and images are an 8×8 PNG: none of them mean anything.
//   - The async batch API (?queueRequest=true) is not emulated yet and answers 400/5006.
package llmtest
