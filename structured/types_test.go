package structured_test

import (
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/structured"
)

// ticketID encodes as 32 hex digits, like a UUID type; its Go structure is 16 bytes.
type ticketID [16]byte

func (id ticketID) MarshalText() ([]byte, error) { return []byte(hex.EncodeToString(id[:])), nil }

func (id *ticketID) UnmarshalText(b []byte) error {
	if len(b) != 32 {
		return errors.New("ticketID: want 32 hex digits")
	}
	_, err := hex.Decode(id[:], b)
	return err
}

type Address struct {
	City string `json:"city"`
}

type Ticket struct {
	ID    ticketID `json:"id"`
	Seats int      `json:"seats"`
	Home  *Address `json:"home"`
}

const validTicket = `{"id":"000102030405060708090a0b0c0d0e0f","seats":2,"home":{"city":"Oslo"}}`

func TestTextEncodedFieldsTravelAsStrings(t *testing.T) {
	asArray := `{"id":[0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15],"seats":2,"home":null}`
	srv, c := newServer(t, llmtest.Script(llmtest.Text(asArray), llmtest.Text(validTicket)))
	r, err := structured.GenerateFrom[Ticket](t.Context(), c.Model(promptModel), []llm.Message{llm.User("a ticket")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 2 || r.Value.ID[15] != 0x0f || r.Value.Home.City != "Oslo" {
		t.Errorf("attempts %d, value %+v", r.Attempts, r.Value)
	}
	reqs := sent(t, srv)
	if !strings.Contains(reqs[0].Messages[0].Content, `"id":{"type":"string"}`) {
		t.Errorf("schema sent: %s", reqs[0].Messages[0].Content)
	}
	if fb := reqs[1].Messages[len(reqs[1].Messages)-1].Content; !strings.Contains(fb, "/id: expected string, but got array") {
		t.Errorf("feedback = %q", fb)
	}
}

func TestNullPointerFieldDecodesToNil(t *testing.T) {
	_, c := newServer(t, llmtest.Script(llmtest.Text(`{"id":"000102030405060708090a0b0c0d0e0f","seats":1,"home":null}`)))
	r, err := structured.GenerateFrom[Ticket](t.Context(), c.Model(promptModel), []llm.Message{llm.User("a ticket")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 1 || r.Value.Home != nil || r.Value.Seats != 1 {
		t.Errorf("attempts %d, value %+v", r.Attempts, r.Value)
	}
}

func TestIntegerWrittenAsFractionIsFedBackNotADecodeError(t *testing.T) {
	srv, c := newServer(t, llmtest.Script(
		llmtest.Text(`{"id":"000102030405060708090a0b0c0d0e0f","seats":3.0,"home":null}`),
		llmtest.Text(validTicket),
	))
	r, err := structured.GenerateFrom[Ticket](t.Context(), c.Model(promptModel), []llm.Message{llm.User("a ticket")})
	if err != nil {
		t.Fatal(err)
	}
	if r.Attempts != 2 || r.Value.Seats != 2 {
		t.Errorf("attempts %d, value %+v", r.Attempts, r.Value)
	}
	reqs := sent(t, srv)
	if fb := reqs[1].Messages[len(reqs[1].Messages)-1].Content; !strings.Contains(fb, "/seats: expected an integer written without a fraction or exponent, but got 3.0") {
		t.Errorf("feedback = %q", fb)
	}
}

func TestDurationIsRefusedBeforeAnyRequest(t *testing.T) {
	type job struct {
		Timeout time.Duration `json:"timeout"`
	}
	srv, c := newServer(t, nil)
	_, err := structured.Generate[job](t.Context(), c.Model(promptModel), "a job")
	if err == nil || !strings.Contains(err.Error(), "job.Timeout: time.Duration") || !strings.Contains(err.Error(), "TimeoutSeconds") {
		t.Errorf("err = %v", err)
	}
	if _, err := structured.SchemaFor[job](); err == nil {
		t.Error("SchemaFor accepted a time.Duration field")
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent", n)
	}
}

func TestRecursiveTypesUsePromptModeUnderAuto(t *testing.T) {
	for _, model := range []string{jsonModel, toolModel, "@cf/gowai/test-model"} {
		srv, c := newServer(t, nil)
		r, err := structured.GenerateFrom[Tree](t.Context(), c.Model(model), []llm.Message{llm.User("a tree")})
		if err != nil {
			t.Fatalf("%s: %v", model, err)
		}
		req := sent(t, srv)[0]
		if r.Mode != structured.ModePrompt || len(req.ResponseFormat) != 0 || len(req.Tools) != 0 {
			t.Errorf("%s: mode %v, response_format %s, %d tools", model, r.Mode, req.ResponseFormat, len(req.Tools))
		}
		if !strings.Contains(req.Messages[0].Content, `"$ref":"#"`) {
			t.Errorf("%s: the prompt does not carry the recursive schema: %s", model, req.Messages[0].Content)
		}
	}
	// A forced mode is honoured: the caller knows its provider takes references.
	srv, c := newServer(t, nil)
	r, err := structured.GenerateFrom[Tree](t.Context(), c.Model(jsonModel), []llm.Message{llm.User("a tree")},
		structured.WithMode(structured.ModeJSONSchema))
	if err != nil || r.Mode != structured.ModeJSONSchema {
		t.Fatalf("forced JSON mode: %+v, %v", r, err)
	}
	if rf := string(sent(t, srv)[0].ResponseFormat); !strings.Contains(rf, `"$ref":"#"`) {
		t.Errorf("forced JSON mode sent %s", rf)
	}
}

func TestSchemaBytesHandedOutAreCopies(t *testing.T) {
	first, err := structured.SchemaFor[Order]()
	if err != nil {
		t.Fatal(err)
	}
	want := string(first)
	clear(first)
	if again, _ := structured.SchemaFor[Order](); string(again) != want {
		t.Fatalf("editing SchemaFor's bytes changed the next call's: %s", again)
	}
	// A request edit that writes into the schema it was given does not reach later calls.
	srv, c := newServer(t, nil)
	scribble := structured.WithRequest(func(r *llm.Request) {
		if r.Format != nil {
			copy(r.Format.Schema, `{"type":"string"}`+strings.Repeat(" ", len(r.Format.Schema)-17))
		}
	})
	// Whatever the test model makes of the scribbled schema, it is the caller's own request.
	_, _ = structured.Generate[Order](t.Context(), c.Model(jsonModel), "x", structured.WithMode(structured.ModeJSONSchema), scribble)
	if _, err := structured.Generate[Order](t.Context(), c.Model(jsonModel), "x", structured.WithMode(structured.ModeJSONSchema)); err != nil {
		t.Fatal(err)
	}
	reqs := sent(t, srv)
	if last := string(reqs[len(reqs)-1].ResponseFormat); !strings.Contains(last, `"customer"`) {
		t.Errorf("a later call sent %s", last)
	}
	if again, _ := structured.SchemaFor[Order](); string(again) != want {
		t.Errorf("the cached schema changed: %s", again)
	}
}
