// Package backend is what every example shares: the command line (usage text, exit
// statuses, error format) and the choice of what the example talks to.
//
// The backend comes from the environment:
//
//   - CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN both set: real Workers AI;
//   - OPENAI_BASE_URL set (with OPENAI_MODEL and OPENAI_API_KEY if the server needs them):
//     an OpenAI-compatible server such as a local Ollama;
//   - neither: the offline llmtest emulator, whose test model answers from the request's
//     schema and tools.
//
// Only one of the two Cloudflare variables set is an error naming the other, never a
// silent fall-back to the emulator. Open says on stderr which backend it uses, so offline
// output is never mistaken for a real model's.
package backend

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// The environment variables that choose the backend.
const (
	EnvAccountID = "CLOUDFLARE_ACCOUNT_ID"
	EnvAPIToken  = "CLOUDFLARE_API_TOKEN"
	EnvBaseURL   = "OPENAI_BASE_URL"
	EnvModel     = "OPENAI_MODEL"
	EnvAPIKey    = "OPENAI_API_KEY"
)

// DefaultOpenAIModel is the model asked of an OpenAI-compatible server when OPENAI_MODEL
// is not set.
const DefaultOpenAIModel = "llama3.2"

// Backend is an opened backend. Close it when done.
type Backend struct {
	Client  *llm.Client // nil for an OpenAI-compatible server (it has no Workers AI tasks)
	Model   llm.Model
	Offline bool
	srv     *llmtest.Server
}

// Open returns the backend the environment asks for (see the package documentation).
// workersAIModel is the model id used on Workers AI and on the emulator; OPENAI_MODEL
// names the model on an OpenAI-compatible server (default DefaultOpenAIModel). Open
// sends no request; it writes one line to log saying which backend it chose.
func Open(workersAIModel string, log io.Writer) (*Backend, error) {
	account, token := os.Getenv(EnvAccountID), os.Getenv(EnvAPIToken)
	switch {
	case account != "" && token == "":
		return nil, fmt.Errorf("%s is set but %s is not: set %[2]s too for real Workers AI, or unset %[1]s to run offline", EnvAccountID, EnvAPIToken)
	case account == "" && token != "":
		return nil, fmt.Errorf("%s is set but %s is not: set %[2]s too for real Workers AI, or unset %[1]s to run offline", EnvAPIToken, EnvAccountID)
	case account != "":
		c, err := llm.NewClient()
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(log, "backend: real Workers AI, model %s\n", workersAIModel)
		return &Backend{Client: c, Model: c.Model(workersAIModel)}, nil
	case os.Getenv(EnvBaseURL) != "":
		model := os.Getenv(EnvModel)
		if model == "" {
			model = DefaultOpenAIModel
		}
		base := os.Getenv(EnvBaseURL)
		fmt.Fprintf(log, "backend: OpenAI-compatible server %s, model %s\n", base, model)
		return &Backend{Model: llm.NewOpenAICompatible(base, os.Getenv(EnvAPIKey), model)}, nil
	}
	srv := llmtest.NewServer(nil)
	c, err := srv.Client()
	if err != nil {
		srv.Close()
		return nil, err
	}
	fmt.Fprintf(log, "backend: OFFLINE emulator (llmtest test model, not a real model: answers are generated from the request); set %s and %s for real Workers AI\n", EnvAccountID, EnvAPIToken)
	return &Backend{Client: c, Model: c.Model(workersAIModel), Offline: true, srv: srv}, nil
}

// Close stops the emulator, if one was started.
func (b *Backend) Close() {
	if b.srv != nil {
		b.srv.Close()
	}
}

// Main is the main function of the example name: it parses the command line, then calls
// run with a context cancelled by an interrupt (Ctrl-C), and exits.
//
// shows says what the example shows, in a sentence or two; it opens the -h text, followed
// by how the backend is chosen and the flags (those defined on flag.CommandLine before
// Main is called). The exit status is 0 on success (and for -h), 1 when run fails, with
// the error printed on stderr as "name: error", and 2 for bad flags or arguments.
func Main(name, shows string, run func(ctx context.Context) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := mainWith(ctx, name, shows, flag.CommandLine, os.Args[1:], os.Stdout, os.Stderr, run)
	stop()
	os.Exit(code)
}

// errBadCommandLine marks the errors of BadFlag.
var errBadCommandLine = errors.New("bad command line")

// BadFlag returns an error for a flag value that parsed but makes no sense ("-parallel 0:
// want at least 1"). When run returns it, Main prints it like a flag the flag package
// refused and exits with status 2, not 1.
func BadFlag(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errBadCommandLine, fmt.Sprintf(format, args...))
}

// mainWith is Main over explicit arguments and outputs; it returns the exit status.
func mainWith(ctx context.Context, name, shows string, fs *flag.FlagSet, args []string, stdout, stderr io.Writer,
	run func(ctx context.Context) error) int {
	// The flag package would print its own message and the usage, on stderr, and exit by
	// itself: instead, -h prints the usage on stdout and exits 0, a bad flag prints one
	// line in the examples' error format and exits 2.
	fs.Init(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if err == nil && fs.NArg() > 0 {
		err = fmt.Errorf("unexpected argument %q (every option is a flag)", fs.Arg(0))
	}
	switch {
	case errors.Is(err, flag.ErrHelp):
		Usage(stdout, name, shows, fs)
		return 0
	case err != nil:
		err = fmt.Errorf("%w: %w", errBadCommandLine, err)
	default:
		err = run(ctx)
	}
	switch {
	case errors.Is(err, errBadCommandLine):
		fmt.Fprintf(stderr, "%s: %v\n(go run ./examples/%s -h lists the flags)\n", name, err, name)
		return 2
	case err != nil:
		fmt.Fprintf(stderr, "%s: %v\n", name, err)
		return 1
	}
	return 0
}

// Usage writes the -h text of the example name to w: what it shows, how the backend is
// chosen, and the flags of fs.
func Usage(w io.Writer, name, shows string, fs *flag.FlagSet) {
	fmt.Fprintf(w, "%s\n\nUsage: go run ./examples/%s [flags]\n\n", strings.TrimSpace(shows), name)
	fmt.Fprintf(w, `Backend, chosen from the environment and named on stderr when the example starts:
  %-49s real Workers AI (set both, or neither)
  %-49s an OpenAI-compatible server such as Ollama
  %-49s (OPENAI_MODEL defaults to %s)
  %-49s the offline emulator: llmtest's test model, which
  %-49s makes answers up from the request; not a real model

`, EnvAccountID+" + "+EnvAPIToken, EnvBaseURL+" (+ "+EnvModel+", "+EnvAPIKey+")", "", DefaultOpenAIModel, "neither", "")
	fmt.Fprintln(w, "Flags:")
	out := fs.Output()
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(out)
}

// Cost says what u cost and where the figure comes from: the emulator's made-up neurons
// when offline, else what Workers AI reported or, marked so, the catalog's estimate.
func Cost(u llm.Usage, offline bool) string {
	source := "reported by Workers AI"
	switch {
	case offline:
		source = "the emulator's figures, not a real bill"
	case u.NeuronsEstimated:
		source = "partly estimated from the catalog's prices"
	case u.Neurons == 0:
		return fmt.Sprintf("cost: not known (%d tokens; no neurons reported, and the catalog does not price the model)", u.TotalTokens)
	}
	return fmt.Sprintf("cost: %.2f neurons ≈ $%.6f (%s)", u.Neurons, u.Dollars(), source)
}
