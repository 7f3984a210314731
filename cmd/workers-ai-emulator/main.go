// Command workers-ai-emulator serves an offline Workers AI on a local port, for programs in
// any language: the emulator of package github.com/gowai/gowai/llm/llmtest, which answers
// the native /ai/run routes, the OpenAI-compatible /ai/v1 routes, AI Gateway's routes, the
// async batch API, the model catalog (/ai/models/search) and Vectorize in the live
// service's wire format, with a deterministic test model instead of real ones.
//
// Usage:
//
//	go run github.com/gowai/gowai/cmd/workers-ai-emulator [flags]
//
// Flags:
//
//	-addr 127.0.0.1:8787  address to listen on (port 0 picks a free port; :8787 listens on
//	                      every interface, as a container needs, and prints localhost)
//	-account ""           the only account id answered; other ids get 404/7003. Empty: any id
//	-token ""             the API token required as "Authorization: Bearer <token>"; others
//	                      get 401/10000. Empty: no check, any token or none is accepted
//	-script FILE          answer model requests with the replies in FILE, in order (see
//	                      llmtest.ParseScript); once they run out every request gets 400.
//	                      Without it the built-in test model answers
//	-quiet                no request log
//
// Every route is served both under /client/v4 (Cloudflare's documented base URL,
// https://api.cloudflare.com/client/v4, with only the host swapped) and without it. The
// command prints the base URLs to configure, logs one line per request on stderr (method,
// path, model, status, duration, and a note when the script has no reply left) and exits
// cleanly on SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gowai/gowai/llm/llmtest"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	var usage usageError
	switch {
	case err == nil:
	case errors.Is(err, flag.ErrHelp): // the usage was asked for and printed
	case errors.As(err, &usage): // already printed with the usage
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "workers-ai-emulator:", err)
		os.Exit(1)
	}
}

// usageError is a bad command line, already reported on stderr with the usage.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

// run serves until ctx is done, then shuts the server down and returns nil.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("workers-ai-emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	addr := fs.String("addr", "127.0.0.1:8787", "address to listen on (port 0 picks a free port)")
	account := fs.String("account", "", "the only account id answered (empty: any account id)")
	token := fs.String("token", "", "the API token required as a Bearer token (empty: no authentication check)")
	script := fs.String("script", "", "a file of scripted replies (JSON array or JSON Lines; see llmtest.ParseScript)")
	quiet := fs.Bool("quiet", false, "do not log requests")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err} // the flag set printed it with the usage
	}
	if fs.NArg() > 0 {
		err := fmt.Errorf("unexpected arguments %q", fs.Args())
		fmt.Fprintln(stderr, "workers-ai-emulator:", err)
		fs.Usage()
		return usageError{err}
	}

	var handler llmtest.Handler // nil: the built-in test model
	if *script != "" {
		f, err := os.Open(*script)
		if err != nil {
			return fmt.Errorf("script: %w", err)
		}
		handler, err = llmtest.ParseScript(f)
		f.Close()
		if err != nil {
			return err
		}
	}
	var opts []llmtest.ServerOption
	if *account != "" {
		opts = append(opts, llmtest.WithAccount(*account))
	}
	if *token != "" {
		opts = append(opts, llmtest.WithToken(*token))
	}
	if !*quiet {
		logger := log.New(stderr, "", log.LstdFlags)
		opts = append(opts, llmtest.WithRequestLog(func(r llmtest.Recorded) {
			model := r.Model
			if model == "" {
				model = "-"
			}
			status := fmt.Sprint(r.Status)
			if r.Status == 0 {
				status = "client-gone"
			}
			note := ""
			if r.OutOfScript {
				note = " (the script has no reply left)"
			}
			logger.Printf("%s %s model=%s status=%s in %v%s", r.Method, r.Path, model, status, r.Duration.Round(time.Microsecond), note)
		}))
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: llmtest.NewHandler(handler, opts...), ReadHeaderTimeout: 10 * time.Second}
	printBanner(stdout, rootURL(ln.Addr()), *account, *token, *script)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		srv.Close()
	}
	<-served // http.ErrServerClosed
	fmt.Fprintln(stdout, "workers-ai-emulator: stopped")
	return nil
}

// rootURL is the URL a local client reaches addr at: an address on every interface (as
// with -addr :8787) is named localhost.
func rootURL(addr net.Addr) string {
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}

// printBanner prints where the emulator listens and the base URLs to configure.
func printBanner(w io.Writer, root, account, token, script string) {
	acc := account
	accNote := "(any account id is accepted)"
	if acc == "" {
		acc = "local"
	} else {
		accNote = "(only this account id is answered)"
	}
	tokNote := "any token, or none (no -token given: no authentication check)"
	if token != "" {
		tokNote = "required as Authorization: Bearer <the -token value>"
	}
	answers := "the built-in test model"
	if script != "" {
		answers = "the replies in " + script + ", in order"
	}
	base := root + "/client/v4/accounts/" + acc
	fmt.Fprintf(w, `workers-ai-emulator listening on %s
  account:  %s %s
  token:    %s
  answers:  %s
Base URLs:
  native (Workers AI REST)   %s/ai/run/{model}
  OpenAI-compatible          %s/ai/v1
  AI Gateway                 %s/v1/%s/{gateway}/workers-ai
  batch                      %s/ai/run/{model}?queueRequest=true
  model catalog              %s/ai/models/search
  Vectorize                  %s/vectorize/v2/indexes
Stop with Ctrl-C.
`, root, acc, accNote, tokNote, answers, base, base, root, acc, base, base, base)
}
