package backend

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"go.uber.org/goleak"

	"github.com/gowai/gowai/llm"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// setEnv sets every backend variable: the given ones to their values, the rest to empty
// (which Open treats as unset), so the developer's own environment cannot leak in.
func setEnv(t *testing.T, vars map[string]string) {
	for _, k := range []string{EnvAccountID, EnvAPIToken, EnvBaseURL, EnvModel, EnvAPIKey} {
		t.Setenv(k, vars[k])
	}
}

const (
	testAccount = "0123456789abcdef0123456789abcdef"
	testToken   = "tok-SECRET-do-not-print"
)

func TestOpenNeitherRunsOffline(t *testing.T) {
	setEnv(t, nil)
	var log bytes.Buffer
	b, err := Open("@cf/meta/llama-3.1-8b-instruct", &log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !b.Offline || b.Client == nil || b.Model == nil {
		t.Fatalf("Open = %+v, want the offline emulator with a client", b)
	}
	if !strings.Contains(log.String(), "OFFLINE emulator") || !strings.Contains(log.String(), "test model") {
		t.Errorf("log %q does not announce the emulator's test model", log.String())
	}
	resp, err := b.Model.Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hello")}})
	if err != nil {
		t.Fatalf("the emulator does not answer: %v", err)
	}
	if resp.Text == "" {
		t.Error("the emulator answered with no text")
	}
}

func TestOpenBothIsRealWorkersAI(t *testing.T) {
	// OPENAI_BASE_URL set as well: the Cloudflare pair wins.
	setEnv(t, map[string]string{EnvAccountID: testAccount, EnvAPIToken: testToken, EnvBaseURL: "http://127.0.0.1:1/v1"})
	var log bytes.Buffer
	b, err := Open("@cf/meta/llama-3.1-8b-instruct", &log) // sends nothing
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Offline || b.Client == nil || b.srv != nil {
		t.Fatalf("Open = %+v, want a real Workers AI client", b)
	}
	if _, ok := b.Model.(*llm.ChatModel); !ok {
		t.Errorf("Model is %T, want *llm.ChatModel", b.Model)
	}
	if !strings.Contains(log.String(), "real Workers AI") {
		t.Errorf("log %q does not say real Workers AI", log.String())
	}
	if strings.Contains(log.String(), testToken) {
		t.Errorf("log %q shows the token", log.String())
	}
}

func TestOpenHalfSetCredentialsNameTheMissingVariable(t *testing.T) {
	for _, tc := range []struct {
		set, missing string
		value        string
	}{
		{EnvAccountID, EnvAPIToken, testAccount},
		{EnvAPIToken, EnvAccountID, testToken},
	} {
		for _, openai := range []string{"", "http://127.0.0.1:1/v1"} {
			t.Run(tc.set+" only, OPENAI_BASE_URL="+openai, func(t *testing.T) {
				setEnv(t, map[string]string{tc.set: tc.value, EnvBaseURL: openai})
				var log bytes.Buffer
				b, err := Open("@cf/meta/llama-3.1-8b-instruct", &log)
				if err == nil {
					b.Close()
					t.Fatalf("Open succeeded (offline %v) with only %s set", b.Offline, tc.set)
				}
				msg := err.Error()
				if !strings.Contains(msg, tc.missing+" is not") || !strings.Contains(msg, tc.set+" is set") {
					t.Errorf("error %q does not say that %s is missing", msg, tc.missing)
				}
				if strings.Contains(msg, testToken) {
					t.Errorf("error %q shows the token", msg)
				}
				if log.Len() != 0 {
					t.Errorf("a backend was announced: %q", log.String())
				}
			})
		}
	}
}

func TestOpenOpenAICompatible(t *testing.T) {
	var got struct {
		path, auth string
		body       map[string]any
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.path, got.auth = r.URL.Path, r.Header.Get("Authorization")
		json.NewDecoder(r.Body).Decode(&got.body)
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"c1","object":"chat.completion","model":"qwen3",`+
			`"choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],`+
			`"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}`)
	}))
	defer srv.Close()
	setEnv(t, map[string]string{EnvBaseURL: srv.URL + "/v1", EnvModel: "qwen3", EnvAPIKey: "sk-local"})
	var log bytes.Buffer
	b, err := Open("@cf/meta/llama-3.1-8b-instruct", &log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if b.Offline || b.Client != nil {
		t.Fatalf("Open = %+v, want an OpenAI-compatible model and no Workers AI client", b)
	}
	if !strings.Contains(log.String(), "OpenAI-compatible server "+srv.URL+"/v1, model qwen3") {
		t.Errorf("log %q does not name the server and model", log.String())
	}
	resp, err := b.Model.Generate(t.Context(), llm.Request{Messages: []llm.Message{llm.User("hello")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Text != "hi" || got.path != "/v1/chat/completions" || got.auth != "Bearer sk-local" || got.body["model"] != "qwen3" {
		t.Errorf("reply %q; request path %q, auth %q, model %v", resp.Text, got.path, got.auth, got.body["model"])
	}
}

func TestOpenOpenAIDefaultModel(t *testing.T) {
	setEnv(t, map[string]string{EnvBaseURL: "http://127.0.0.1:1/v1"})
	var log bytes.Buffer
	b, err := Open("@cf/meta/llama-3.1-8b-instruct", &log)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if !strings.Contains(log.String(), "model "+DefaultOpenAIModel) {
		t.Errorf("log %q does not name the default model %s", log.String(), DefaultOpenAIModel)
	}
}

// newFlags returns a flag set like an example's, with one flag.
func newFlags() (*flag.FlagSet, *string) {
	fs := flag.NewFlagSet("", flag.ExitOnError)
	return fs, fs.String("dish", "a vegan lasagne", "what to cook")
}

func TestMainExitStatusesAndMessages(t *testing.T) {
	const shows = "Quickstart asks a model for a typed recipe."
	for _, tc := range []struct {
		name       string
		args       []string
		runErr     error
		wantCode   int
		wantRun    bool
		wantStdout []string
		wantStderr string
	}{
		{name: "success", args: []string{"-dish", "soup"}, wantCode: 0, wantRun: true},
		{name: "run fails", runErr: errors.New("generate recipe: llm: out of capacity"), wantCode: 1, wantRun: true,
			wantStderr: "quickstart: generate recipe: llm: out of capacity\n"},
		{name: "unknown flag", args: []string{"-nope"}, wantCode: 2,
			wantStderr: "quickstart: bad command line: flag provided but not defined: -nope\n(go run ./examples/quickstart -h lists the flags)\n"},
		{name: "stray argument", args: []string{"soup"}, wantCode: 2,
			wantStderr: "quickstart: bad command line: unexpected argument \"soup\" (every option is a flag)\n(go run ./examples/quickstart -h lists the flags)\n"},
		{name: "flag value refused by run", runErr: BadFlag("-dish %q: want a dish", ""), wantCode: 2, wantRun: true,
			wantStderr: "quickstart: bad command line: -dish \"\": want a dish\n(go run ./examples/quickstart -h lists the flags)\n"},
		{name: "wrapped flag value error", runErr: fmt.Errorf("check flags: %w", BadFlag("-dish: empty")), wantCode: 2, wantRun: true,
			wantStderr: "quickstart: check flags: bad command line: -dish: empty\n(go run ./examples/quickstart -h lists the flags)\n"},
		{name: "help", args: []string{"-h"}, wantCode: 0,
			wantStdout: []string{shows + "\n\nUsage: go run ./examples/quickstart [flags]\n", EnvAccountID, EnvAPIToken, EnvBaseURL, EnvModel, EnvAPIKey,
				"offline emulator", "Flags:\n  -dish string\n    \twhat to cook (default \"a vegan lasagne\")"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs, _ := newFlags()
			var stdout, stderr bytes.Buffer
			ran := false
			code := mainWith(t.Context(), "quickstart", shows, fs, tc.args, &stdout, &stderr, func(context.Context) error {
				ran = true
				return tc.runErr
			})
			if code != tc.wantCode || ran != tc.wantRun {
				t.Errorf("exit %d, run called %v; want %d, %v", code, ran, tc.wantCode, tc.wantRun)
			}
			if stderr.String() != tc.wantStderr {
				t.Errorf("stderr:\n%q\nwant\n%q", stderr.String(), tc.wantStderr)
			}
			if tc.wantStdout == nil && stdout.Len() != 0 {
				t.Errorf("stdout %q, want nothing", stdout.String())
			}
			for i, want := range tc.wantStdout {
				if i == 0 && !strings.HasPrefix(stdout.String(), want) || !strings.Contains(stdout.String(), want) {
					t.Errorf("stdout does not have %q:\n%s", want, stdout.String())
				}
			}
		})
	}
}

func TestMainParsesBeforeRun(t *testing.T) {
	fs, dish := newFlags()
	var seen string
	code := mainWith(t.Context(), "quickstart", "x", fs, []string{"-dish", "soup"}, io.Discard, io.Discard, func(context.Context) error {
		seen = *dish
		return nil
	})
	if code != 0 || seen != "soup" {
		t.Errorf("exit %d, run saw -dish %q; want 0, soup", code, seen)
	}
}

func TestCost(t *testing.T) {
	for _, tc := range []struct {
		u       llm.Usage
		offline bool
		want    string
	}{
		{llm.Usage{Neurons: 1000}, true, "cost: 1000.00 neurons ≈ $0.011000 (the emulator's figures, not a real bill)"},
		{llm.Usage{Neurons: 1000}, false, "cost: 1000.00 neurons ≈ $0.011000 (reported by Workers AI)"},
		{llm.Usage{Neurons: 10, NeuronsEstimated: true}, false, "cost: 10.00 neurons ≈ $0.000110 (partly estimated from the catalog's prices)"},
		{llm.Usage{TotalTokens: 7}, false, "cost: not known (7 tokens; no neurons reported, and the catalog does not price the model)"},
	} {
		if got := Cost(tc.u, tc.offline); got != tc.want {
			t.Errorf("Cost(%+v, %v) = %q, want %q", tc.u, tc.offline, got, tc.want)
		}
	}
}
