package llmtest

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/gowai/gowai/llm"
)

// callArgs returns the arguments the test model gives the one tool offered.
func callArgs(t *testing.T, m *TestModel, user, params string) map[string]any {
	t.Helper()
	resp := generate(t, m, llm.Request{
		Messages: []llm.Message{llm.User(user)},
		Tools:    []llm.ToolDef{{Name: "tool", Parameters: json.RawMessage(params)}},
	})
	if len(resp.ToolCalls) != 1 {
		t.Fatalf("calls %v, want one", resp.ToolCalls)
	}
	mustValidate(t, params, resp.ToolCalls[0].Arguments)
	var args map[string]any
	if err := json.Unmarshal(resp.ToolCalls[0].Arguments, &args); err != nil {
		t.Fatal(err)
	}
	return args
}

func TestTestModelCopiesFreeInputFromTheMessage(t *testing.T) {
	const calc = `{"type":"object","properties":{"expression":{"type":"string","minLength":1,"maxLength":500,"examples":["(42.195 * 5.5) / 60"]}},"required":["expression"]}`
	tests := []struct {
		name, user, params, field string
		want                      any
	}{
		{"expression is the arithmetic of the question", "What is 2+2?", calc, "expression", "2+2"},
		{"the longest arithmetic run wins", "What is (12.5 + 7.5) * 3, and how many miles is that in km?", calc, "expression", "(12.5 + 7.5) * 3"},
		{"an operator beats a longer date", "On 2026-01-05, what was 2+2?", calc, "expression", "2+2"},
		{"expression without arithmetic is the whole message", "Add up the numbers", calc, "expression", "Add up the numbers"},
		{"query is the message", "best pizza in Naples",
			`{"type":"object","properties":{"query":{"type":"string"}},"required":["query"]}`, "query", "best pizza in Naples"},
		{"search_query is free input too", "best pizza in Naples",
			`{"type":"object","properties":{"search_query":{"type":"string","examples":["golang"]}}}`, "search_query", "best pizza in Naples"},
		{"maxLength cuts the copy", "best pizza in Naples",
			`{"type":"object","properties":{"Question":{"type":"string","maxLength":10}}}`, "Question", "best pizza"},
		{"an enum is never replaced", "best pizza in Naples",
			`{"type":"object","properties":{"query":{"enum":["a","b"]}}}`, "query", "a"},
		{"other names keep their example", "best pizza in Naples",
			`{"type":"object","properties":{"city":{"type":"string","examples":["Oslo"]}}}`, "city", "Oslo"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			args := callArgs(t, NewTestModel(), tc.user, tc.params)
			if got := args[tc.field]; got != tc.want {
				t.Errorf("%s = %#v, want %#v", tc.field, got, tc.want)
			}
		})
	}
}

func TestTestModelTakesNumbersAndWordsFromTheMessage(t *testing.T) {
	m := NewTestModel()
	args := callArgs(t, m, "I bought 12 apples", `{"type":"object","properties":{"count":{"type":"integer"}}}`)
	if args["count"] != 12.0 {
		t.Errorf("count = %v, want 12 from the message", args["count"])
	}
	args = callArgs(t, m, "Shipped 2026-01-05, 007 boxes", `{"type":"object","properties":{"n":{"type":"integer","maximum":10}}}`)
	if n := args["n"]; n != 1.0 && n != 5.0 && n != 7.0 {
		t.Errorf("n = %v, want 1, 5 or 7 read from the message (a date's dashes are not minus signs)", n)
	}
	// 12 is out of bounds: the answer is still valid (callArgs validates it).
	args = callArgs(t, m, "I bought 12 apples", `{"type":"object","properties":{"count":{"type":"integer","minimum":100}}}`)
	if args["count"] == 12.0 {
		t.Errorf("count = 12, below the minimum")
	}
	args = callArgs(t, m, "What is the weather in Oslo, Norway?", `{"type":"object","properties":{"place":{"type":"string"}}}`)
	place, _ := args["place"].(string)
	words := strings.Fields("What is the weather in Oslo Norway")
	for _, w := range strings.Fields(place) {
		if !slices.Contains(words, w) {
			t.Errorf("place = %q, want words of the message", place)
		}
	}
	if n := len(strings.Fields(place)); n < 1 || n > 3 {
		t.Errorf("place = %q, want one to three words", place)
	}
	for user, want := range map[string]string{"in F please": "F", "in kelvin": "C", "c or f": "C"} {
		args = callArgs(t, m, user, `{"type":"object","properties":{"unit":{"enum":["C","F"]}}}`)
		if args["unit"] != want {
			t.Errorf("%q: unit = %v, want %s", user, args["unit"], want)
		}
	}
}

// invoiceSchema is the schema of examples/extract's Invoice: every field has one example,
// and the line amount and the total share theirs.
const invoiceSchema = `{"type":"object","properties":{
	"number":{"type":"string","examples":["2026-0412"]},
	"supplier":{"type":"string","examples":["Northwind Traders Ltd"]},
	"date":{"type":"string","format":"date","examples":["2026-11-03"]},
	"currency":{"type":"string","pattern":"^[A-Z]{3}$","examples":["EUR"]},
	"lines":{"type":"array","minItems":1,"items":{"type":"object","properties":{
		"description":{"type":"string","examples":["Oat milk 1L"]},
		"quantity":{"type":"number","exclusiveMinimum":0,"examples":[10]},
		"amount":{"type":"number","minimum":0,"examples":[18]}},
		"required":["description","quantity","amount"],"additionalProperties":false}},
	"total":{"type":"number","minimum":0,"examples":[18]}},
	"required":["number","supplier","date","currency","lines","total"],"additionalProperties":false}`

func TestTestModelVariesAnswersByRequest(t *testing.T) {
	docs := []string{
		"Invoice 1001 from Acme Ltd, 2026-01-05: 3 x widgets = 30.00 EUR",
		"Invoice 1002 from Globex, 2026-02-11: 1 x consulting = 950.00 USD",
		"Order 77 from Initech, 2026-03-20: 12 x staplers = 48.00 GBP",
		"Receipt 5 from Umbrella, 2026-04-02: 2 x masks = 7.50 EUR",
	}
	m := NewTestModel()
	seen := map[string]int{}
	for i, doc := range docs {
		req := llm.Request{
			Messages: []llm.Message{llm.System("Extract the invoice."), llm.User(doc)},
			Format:   &llm.Format{Schema: json.RawMessage(invoiceSchema)},
		}
		resp := generate(t, m, req)
		mustValidate(t, invoiceSchema, []byte(resp.Text))
		if j, dup := seen[resp.Text]; dup {
			t.Errorf("documents %d and %d both got %s", j, i, resp.Text)
		}
		seen[resp.Text] = i
		if again := generate(t, NewTestModel(), req); again.Text != resp.Text {
			t.Errorf("document %d: a fresh model answered %s, want %s", i, again.Text, resp.Text)
		}
		if again := generate(t, m, req); again.Text != resp.Text {
			t.Errorf("document %d: the cached answer %s differs from %s", i, again.Text, resp.Text)
		}
		var inv struct {
			Lines []struct{ Amount float64 } `json:"lines"`
			Total float64                    `json:"total"`
		}
		if err := json.Unmarshal([]byte(resp.Text), &inv); err != nil {
			t.Fatal(err)
		}
		if inv.Lines[0].Amount != inv.Total {
			t.Errorf("document %d: amount %v and total %v came from the same example and should agree", i, inv.Lines[0].Amount, inv.Total)
		}
	}
}

func TestExampleDoesNotDependOnRequests(t *testing.T) {
	a, err := Example(json.RawMessage(invoiceSchema))
	if err != nil {
		t.Fatal(err)
	}
	generate(t, NewTestModel(), llm.Request{Messages: []llm.Message{llm.User("x")}, Format: &llm.Format{Schema: json.RawMessage(invoiceSchema)}})
	b, err := Example(json.RawMessage(invoiceSchema))
	if err != nil || string(a) != string(b) {
		t.Fatalf("Example gave %s then %s (%v)", a, b, err)
	}
	want := `{"number":"2026-0412","supplier":"Northwind Traders Ltd","date":"2026-11-03","currency":"EUR","lines":[{"description":"Oat milk 1L","quantity":10,"amount":18}],"total":18}`
	if string(a) != want {
		t.Errorf("Example = %s, want the schema's examples %s", a, want)
	}
}
