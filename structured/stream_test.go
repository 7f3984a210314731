package structured_test

import (
	"strings"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/structured"
)

func TestStreamOfALongAnswerGivesFewMonotonicPartials(t *testing.T) {
	text := catalogJSON(50_000)
	m := chunkedModel{text, 4}
	var partials []structured.Partial[Catalog]
	for p, err := range structured.Stream[Catalog](t.Context(), m, "x") {
		if err != nil {
			t.Fatal(err)
		}
		partials = append(partials, p)
	}
	final := partials[len(partials)-1]
	if !final.Done || len(final.Value.Items) < 100 {
		t.Fatalf("final partial %+v", final.Value.Title)
	}
	// 12,500 deltas; a partial only when the answer grew by a quarter.
	if n := len(partials); n > 80 || n < 10 {
		t.Errorf("%d partials for %d deltas", n, len(text)/4)
	}
	if final.Usage.TotalTokens != len(text)/4 {
		t.Errorf("final usage %+v", final.Usage)
	}
	prev := partials[0].Value
	for i, p := range partials[1:] {
		cur := p.Value
		if !strings.HasPrefix(cur.Title, prev.Title) || len(cur.Items) < len(prev.Items) {
			t.Fatalf("partial %d went backwards", i+1)
		}
		for j, it := range cur.Items {
			// A number is shown only once complete: never 12 for 125.
			if it.Qty != 0 && it.Qty != final.Value.Items[j].Qty {
				t.Fatalf("partial %d shows qty %d for item %d, final %d", i+1, it.Qty, j, final.Value.Items[j].Qty)
			}
			if !strings.HasPrefix(final.Value.Items[j].Name, it.Name) {
				t.Fatalf("partial %d: name %q is not a prefix of %q", i+1, it.Name, final.Value.Items[j].Name)
			}
		}
		if !p.Done && p.Usage != (llm.Usage{}) {
			t.Errorf("partial %d carries usage %+v", i+1, p.Usage)
		}
		prev = cur
	}
}

func TestStreamReportsUsageOfEveryAttempt(t *testing.T) {
	_, c := newServer(t, llmtest.Script(
		llmtest.Text(`{"customer":"Ada","status":"lost","items":[]}`).WithUsage(usage(15)),
		llmtest.Text(validOrder).WithUsage(usage(25)),
	))
	var retry, done structured.Partial[Order]
	for p, err := range structured.Stream[Order](t.Context(), c.Model(promptModel), "an order") {
		if err != nil {
			t.Fatal(err)
		}
		if p.Problems != nil {
			retry = p
		}
		if p.Done {
			done = p
		}
	}
	if retry.Usage.TotalTokens != 15 || done.Usage.TotalTokens != 40 || done.Attempt != 2 {
		t.Errorf("retry usage %+v, final usage %+v (attempt %d)", retry.Usage, done.Usage, done.Attempt)
	}

	// Failing every time: the error comes with the usage, in the Partial and the ValidationError.
	bad := llmtest.Text(`{"customer":"Ada","status":"lost","items":[]}`).WithUsage(usage(15))
	_, c = newServer(t, llmtest.Script(bad, bad))
	var last structured.Partial[Order]
	var lastErr error
	for p, err := range structured.Stream[Order](t.Context(), c.Model(promptModel), "an order", structured.WithMaxAttempts(2)) {
		last, lastErr = p, err
	}
	ve, ok := lastErr.(*structured.ValidationError)
	if !ok || ve.Usage.TotalTokens != 30 || last.Usage.TotalTokens != 30 {
		t.Errorf("err %v, partial usage %+v", lastErr, last.Usage)
	}
}

func TestStreamRetriesAToolCallCutOffAtMaxTokens(t *testing.T) {
	srv, c := newServer(t, llmtest.Script(cutAnswer, llmtest.Text(validOrder).WithUsage(usage(90))))
	var done structured.Partial[Order]
	for p, err := range structured.Stream[Order](t.Context(), c.Model("@cf/moonshotai/kimi-k2.6"), "an order",
		structured.WithMode(structured.ModeTool)) {
		if err != nil {
			t.Fatal(err)
		}
		done = p
	}
	if !done.Done || done.Attempt != 2 || done.Usage.TotalTokens != 56+90 {
		t.Fatalf("final partial %+v", done)
	}
	msgs := sent(t, srv)[1].Messages
	if fb := msgs[len(msgs)-1].Content; !strings.Contains(fb, "cut off at max_tokens") {
		t.Errorf("feedback = %q", fb)
	}
}
