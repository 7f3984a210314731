// Package tools turns Go functions into tools a model can call, and runs the calls a model
// asks for.
//
// New derives a tool's parameters schema from its input type, validates every call's
// arguments against it before the function runs, and marshals the output to JSON:
//
//	type WeatherIn struct {
//		City string `json:"city" jsonschema_description:"City name, e.g. Lisbon"`
//	}
//	weather := tools.New("get_weather", "Current weather in a city",
//		func(ctx context.Context, in WeatherIn) (Weather, error) { ... })
//
// Func does the same for a hand-written JSON Schema and raw JSON arguments.
//
// A Set holds tools with distinct names. Set.Run runs one turn's calls concurrently, with a
// limit, and returns the results in call order. Nothing a tool does aborts the run: invalid
// arguments, an unknown tool name, an error, a panic (recovered and logged with its stack via
// log/slog) and a timeout (Set.WithTimeout) each become a Result whose Output, "error: ...",
// tells the model what went wrong so it can try again, while Result.Err keeps the Go error
// for the caller. Set.WithCallHooks runs a hook as each call starts and ends, in the call's
// goroutine (for tracing), and a Result survives encoding/json with its error as text.
//
// New and Func cannot return an error. A tool they cannot build (a name the providers
// reject, an input type with no JSON Schema) still describes itself, fails every call with an
// error matching ErrInvalidTool, and is refused by NewSet, so the mistake shows up where the
// Set is built.
package tools
