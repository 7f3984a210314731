package compat

import (
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gowai/gowai/llm/llmtest"
)

// The models every client is driven with.
const (
	chatModel    = "@cf/meta/llama-3.1-8b-instruct"           // legacy family on /ai/run
	hybridModel  = "@cf/meta/llama-3.3-70b-instruct-fp8-fast" // hybrid body on /ai/run
	embedModel   = "@cf/baai/bge-small-en-v1.5"
	unknownModel = "@cf/nobody/no-such-model"
	account      = "compat-account"
	token        = "compat-token"
)

// weatherSchema is the parameters of the tool every client offers.
var weatherSchema = map[string]any{
	"type":       "object",
	"properties": map[string]any{"city": map[string]any{"type": "string", "description": "the city"}},
	"required":   []string{"city"},
}

// animalSchema is the JSON schema every client asks its answer to follow.
var animalSchema = map[string]any{
	"type": "object",
	"properties": map[string]any{
		"animal": map[string]any{"type": "string"},
		"legs":   map[string]any{"type": "integer"},
	},
	"required":             []string{"animal", "legs"},
	"additionalProperties": false,
}

// newServer starts the emulator with the built-in test model, requiring the token and the
// account, as the live service does.
func newServer(t *testing.T, h llmtest.Handler) *llmtest.Server {
	t.Helper()
	srv := llmtest.NewServer(h, llmtest.WithToken(token), llmtest.WithAccount(account))
	t.Cleanup(srv.Close)
	return srv
}

// v1Base is the OpenAI-compatible base URL of Cloudflare's docs, host swapped.
func v1Base(srv *llmtest.Server) string {
	return srv.URL() + "/client/v4/accounts/" + account + "/ai/v1"
}

// checkAnimal checks that s is a JSON object following animalSchema.
func checkAnimal(t *testing.T, s string) {
	t.Helper()
	var v struct {
		Animal *string `json:"animal"`
		Legs   *int    `json:"legs"`
	}
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil || v.Animal == nil || v.Legs == nil {
		t.Fatalf("answer %q does not follow the schema: %v", s, err)
	}
}

// checkCity checks tool-call arguments: a JSON object with a string "city".
func checkCity(t *testing.T, args string) {
	t.Helper()
	var v struct {
		City *string `json:"city"`
	}
	if err := json.Unmarshal([]byte(args), &v); err != nil || v.City == nil {
		t.Fatalf("arguments %q have no string city: %v", args, err)
	}
}

// checkVectors checks that got holds the emulator's vectors of "a" and "b", the texts every
// client embeds, at float32 precision: the values the user gets are the values sent.
func checkVectors[F float32 | float64](t *testing.T, got [][]F) {
	t.Helper()
	want := llmtest.Embed([]string{"a", "b"}, 384)
	if len(got) != len(want) {
		t.Fatalf("%d vectors, want %d", len(got), len(want))
	}
	for i := range want {
		if len(got[i]) != len(want[i]) {
			t.Fatalf("vector %d has %d values, want %d", i, len(got[i]), len(want[i]))
		}
		for j, w := range want[i] {
			if float32(got[i][j]) != w {
				t.Fatalf("vector %d [%d] = %v, want %v", i, j, got[i][j], w)
			}
		}
	}
}

// table collects what each client does with each operation, for the summary TestMain
// prints with -v.
var table = struct {
	sync.Mutex
	cells map[[2]string]string
}{cells: map[[2]string]string{}}

var (
	clients    = []string{"go-openai", "openai-go", "langchaingo/openai", "langchaingo/cloudflare", "cloudflare-go"}
	operations = []string{"chat", "stream", "tools", "json schema", "embeddings", "unknown model"}
)

// cell records the outcome of one client × operation once the test passes.
func cell(t *testing.T, client, op, outcome string) {
	t.Helper()
	t.Cleanup(func() {
		if t.Failed() {
			outcome = "FAILED"
		}
		table.Lock()
		defer table.Unlock()
		table.cells[[2]string{client, op}] = outcome
	})
}

func TestMain(m *testing.M) {
	code := m.Run()
	if testing.Verbose() {
		fmt.Print(summary())
	}
	os.Exit(code)
}

func summary() string {
	table.Lock()
	defer table.Unlock()
	var b strings.Builder
	b.WriteString("\n| client | " + strings.Join(operations, " | ") + " |\n|---|" + strings.Repeat("---|", len(operations)) + "\n")
	for _, c := range clients {
		row := []string{c}
		for _, op := range operations {
			v, ok := table.cells[[2]string{c, op}]
			if !ok {
				v = "not run"
			}
			row = append(row, v)
		}
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
	}
	var notes []string
	for k, v := range table.cells {
		if !slices.Contains(clients, k[0]) || !slices.Contains(operations, k[1]) {
			notes = append(notes, fmt.Sprintf("- %s, %s: %s", k[0], k[1], v))
		}
	}
	slices.Sort(notes)
	if len(notes) > 0 {
		b.WriteString("\nAlso:\n" + strings.Join(notes, "\n") + "\n")
	}
	return b.String()
}
