package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"

	"github.com/gowai/gowai/structured"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/shared"
	goopenai "github.com/sashabaranov/go-openai"
	goschema "github.com/sashabaranov/go-openai/jsonschema"
	"github.com/tmc/langchaingo/llms"
	lcopenai "github.com/tmc/langchaingo/llms/openai"
	"github.com/tmc/langchaingo/outputparser"
)

// Invoice is scenario 4's target: ten fields, two levels of nesting and a slice of objects.
type Invoice struct {
	Number   string   `json:"number"`
	Issued   string   `json:"issued"`
	Due      string   `json:"due"`
	Customer Customer `json:"customer"`
	Lines    []Line   `json:"lines"`
	Currency string   `json:"currency"`
	Subtotal float64  `json:"subtotal"`
	Tax      float64  `json:"tax"`
	Total    float64  `json:"total"`
	Paid     bool     `json:"paid"`
}

type Customer struct {
	Name    string  `json:"name"`
	Email   string  `json:"email"`
	Address Address `json:"address"`
}

type Address struct {
	Street   string `json:"street"`
	City     string `json:"city"`
	Postcode string `json:"postcode"`
	Country  string `json:"country"`
}

type Line struct {
	SKU         string  `json:"sku"`
	Description string  `json:"description"`
	Quantity    int     `json:"quantity"`
	UnitPrice   float64 `json:"unit_price"`
}

// invoiceJSON is the model's answer, the same for every library.
const invoiceJSON = `{"number":"INV-2026-0042","issued":"2026-03-01","due":"2026-03-31",` +
	`"customer":{"name":"Ada Lovelace","email":"ada@example.com","address":{"street":"12 Analytical Row",` +
	`"city":"London","postcode":"N1 9GU","country":"GB"}},"lines":[` +
	`{"sku":"WAI-100","description":"Workers AI neurons, 1M","quantity":3,"unit_price":11},` +
	`{"sku":"VEC-010","description":"Vectorize queries, 10M","quantity":1,"unit_price":10},` +
	`{"sku":"GW-001","description":"AI Gateway logs","quantity":2,"unit_price":4.5}],` +
	`"currency":"EUR","subtotal":52,"tax":10.4,"total":62.4,"paid":false}`

// invoiceSchema is the schema written by hand for openai-go, which has no generator.
var invoiceSchema = map[string]any{
	"type": "object", "additionalProperties": false,
	"required": []string{"number", "issued", "due", "customer", "lines", "currency", "subtotal", "tax", "total", "paid"},
	"properties": map[string]any{
		"number": map[string]any{"type": "string"}, "issued": map[string]any{"type": "string"},
		"due": map[string]any{"type": "string"}, "currency": map[string]any{"type": "string"},
		"subtotal": map[string]any{"type": "number"}, "tax": map[string]any{"type": "number"},
		"total": map[string]any{"type": "number"}, "paid": map[string]any{"type": "boolean"},
		"customer": map[string]any{
			"type": "object", "additionalProperties": false, "required": []string{"name", "email", "address"},
			"properties": map[string]any{
				"name": map[string]any{"type": "string"}, "email": map[string]any{"type": "string"},
				"address": map[string]any{
					"type": "object", "additionalProperties": false,
					"required": []string{"street", "city", "postcode", "country"},
					"properties": map[string]any{
						"street": map[string]any{"type": "string"}, "city": map[string]any{"type": "string"},
						"postcode": map[string]any{"type": "string"}, "country": map[string]any{"type": "string"},
					},
				},
			},
		},
		"lines": map[string]any{"type": "array", "items": map[string]any{
			"type": "object", "additionalProperties": false,
			"required": []string{"sku", "description", "quantity", "unit_price"},
			"properties": map[string]any{
				"sku": map[string]any{"type": "string"}, "description": map[string]any{"type": "string"},
				"quantity": map[string]any{"type": "integer"}, "unit_price": map[string]any{"type": "number"},
			},
		}},
	},
}

const invoicePrompt = "Extract the invoice: INV-2026-0042 for Ada Lovelace ..."

// extractor is one library's way to get an Invoice; validates says whether it checks the
// answer against a schema before handing it over.
type extractor struct {
	name      string
	validates string
	extract   func(ctx context.Context) (Invoice, error)
}

// extractors builds each library's structured-output call. langchaingo's Defined parser
// asks for, and only accepts, a ```json fenced answer, so its server sends the same JSON
// fenced.
func extractors(tb testing.TB) []extractor {
	s := newWireServer(tb, replies{native: nativeReply(invoiceJSON, 180), openAI: chatCompletion(invoiceJSON, 180)})
	fenced := newWireServer(tb, replies{openAI: chatCompletion("```json\n"+invoiceJSON+"\n```", 184)})
	hc, lhc := transports(tb)
	gc := gowaiClient(tb, s, hc)

	def, err := goschema.GenerateSchemaForType(Invoice{})
	if err != nil {
		tb.Fatal(err)
	}
	goc := func() *goopenai.Client {
		cfg := goopenai.DefaultConfig(apiToken)
		cfg.BaseURL, cfg.HTTPClient = s.openAIBase(), hc
		return goopenai.NewClientWithConfig(cfg)
	}()
	oc := oai.NewClient(option.WithBaseURL(s.openAIBase()+"/"), option.WithAPIKey(apiToken), option.WithHTTPClient(hc))
	parser, err := outputparser.NewDefined(Invoice{})
	if err != nil {
		tb.Fatal(err)
	}
	lc, err := lcopenai.New(lcopenai.WithToken(apiToken), lcopenai.WithBaseURL(fenced.openAIBase()),
		lcopenai.WithModel(openAIID), lcopenai.WithHTTPClient(lhc))
	if err != nil {
		tb.Fatal(err)
	}
	return []extractor{
		{"gowai-native", "yes: JSON Schema, unknown fields, Validate()", func(ctx context.Context) (Invoice, error) {
			return structured.Generate[Invoice](ctx, gc.Model(nativeID), invoicePrompt)
		}},
		{"gowai-openai", "yes: JSON Schema, unknown fields, Validate()", func(ctx context.Context) (Invoice, error) {
			return structured.Generate[Invoice](ctx, gc.OpenAIModel(openAIID), invoicePrompt)
		}},
		{"go-openai", "partly: types and required keys (jsonschema.Validate)", func(ctx context.Context) (Invoice, error) {
			var inv Invoice
			r, err := goc.CreateChatCompletion(ctx, goopenai.ChatCompletionRequest{
				Model:     openAIID,
				Messages:  []goopenai.ChatCompletionMessage{{Role: goopenai.ChatMessageRoleUser, Content: invoicePrompt}},
				MaxTokens: maxTokens,
				ResponseFormat: &goopenai.ChatCompletionResponseFormat{
					Type:       goopenai.ChatCompletionResponseFormatTypeJSONSchema,
					JSONSchema: &goopenai.ChatCompletionResponseFormatJSONSchema{Name: "invoice", Schema: def, Strict: true},
				},
			})
			if err != nil {
				return inv, err
			}
			err = def.Unmarshal(r.Choices[0].Message.Content, &inv)
			return inv, err
		}},
		{"openai-go", "no: json.Unmarshal", func(ctx context.Context) (Invoice, error) {
			var inv Invoice
			r, err := oc.Chat.Completions.New(ctx, oai.ChatCompletionNewParams{
				Model:     openAIID,
				Messages:  []oai.ChatCompletionMessageParamUnion{oai.UserMessage(invoicePrompt)},
				MaxTokens: oai.Int(maxTokens),
				ResponseFormat: oai.ChatCompletionNewParamsResponseFormatUnion{OfJSONSchema: &shared.ResponseFormatJSONSchemaParam{
					JSONSchema: shared.ResponseFormatJSONSchemaJSONSchemaParam{Name: "invoice", Schema: invoiceSchema, Strict: oai.Bool(true)},
				}},
			})
			if err != nil {
				return inv, err
			}
			err = json.Unmarshal([]byte(r.Choices[0].Message.Content), &inv)
			return inv, err
		}},
		{"langchaingo-openai", "no: fence check + json.Unmarshal (outputparser.Defined)", func(ctx context.Context) (Invoice, error) {
			text, err := llms.GenerateFromSinglePrompt(ctx, lc, invoicePrompt+"\n\n"+parser.GetFormatInstructions(),
				llms.WithMaxTokens(maxTokens))
			if err != nil {
				return Invoice{}, err
			}
			return parser.Parse(text)
		}},
	}
}

func wantInvoice() Invoice {
	var inv Invoice
	if err := json.Unmarshal([]byte(invoiceJSON), &inv); err != nil {
		panic(err)
	}
	return inv
}

func sameInvoice(got, want Invoice) error {
	g, _ := json.Marshal(got)
	w, _ := json.Marshal(want)
	if string(g) != string(w) {
		return fmt.Errorf("got %s, want %s", g, w)
	}
	return nil
}

func TestEveryLibraryExtractsTheInvoice(t *testing.T) {
	want := wantInvoice()
	for _, e := range extractors(t) {
		t.Run(e.name, func(t *testing.T) {
			got, err := e.extract(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			if err := sameInvoice(got, want); err != nil {
				t.Error(err)
			}
		})
	}
}

// Scenario 4: structured output into a 10-field nested struct, schema built once.
func BenchmarkStructured(b *testing.B) {
	want := wantInvoice()
	for _, e := range extractors(b) {
		b.Run(e.name, func(b *testing.B) {
			ctx := b.Context()
			if _, err := e.extract(ctx); err != nil { // warm-up: connection, schema caches
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				got, err := e.extract(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if got.Total != want.Total || len(got.Lines) != len(want.Lines) {
					b.Fatalf("got %+v", got)
				}
			}
		})
	}
}
