package main

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"regexp"
	"strings"
	"unicode"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// Offline, the models' replies are scripted: the emulator's own test model calls every tool
// at once with made-up arguments, which runs the machinery but shows nothing an agent
// would do. The script below plays each model's part for the bundled question the way a
// capable model would, from what is in each request (the tools' real results included),
// while everything else runs for real on the emulator: the search (over bag-of-words
// vectors, see embedWords), the vision tool's call, the sub-agents at the same time, the approval, the session-affinity
// key and the prompt cache, the usage and the cost.

// The system prompts that tell the scripted model which agent it is playing.
const (
	topSystem    = "You decide expense questions."
	policySystem = "You find the policy rules that apply to an expense."
	readerSystem = "You read receipts."
)

// receiptSeen is what the scripted vision model "sees" on the bundled receipt.png.
const receiptSeen = "Merchant: Corner Cafe. Date: 21.10.2026. Items: latte 4.50, croissant 3.25, water 1.75. Total: 9.50 EUR."

// scripted is the offline emulator's handler: the chat model plays the three agents, the
// vision model describes the receipt, and every other model (the embeddings) answers as the
// emulator does.
func scripted(model string, body []byte) llmtest.Reply {
	switch model {
	case visionModel:
		return llmtest.Text(receiptSeen)
	case embedModel:
		return embedWords(body)
	case chatModel:
	default:
		return llmtest.Model()
	}
	var req chatRequest
	if err := json.Unmarshal(body, &req); err != nil || len(req.Messages) == 0 {
		return llmtest.Model()
	}
	results := req.results()
	switch system := req.text(0); {
	case strings.HasPrefix(system, policySystem):
		if found, ok := results["search_policies"]; ok {
			return llmtest.Text(rulesFrom(found))
		}
		return llmtest.Calls(call("call_search", "search_policies", map[string]any{"query": "coffee meeting with a customer: limit, receipt, what may be claimed"}))
	case strings.HasPrefix(system, readerSystem):
		if seen, ok := results["look_at_image"]; ok {
			return llmtest.Text("The receipt: " + seen)
		}
		return llmtest.Calls(call("call_look", "look_at_image", map[string]any{"image": 0, "question": "What are the merchant, the date, the items and the total on this receipt?"}))
	case strings.HasPrefix(system, topSystem):
		return decideClaim(results)
	}
	return llmtest.Model()
}

// decideClaim plays the top agent: ask both colleagues at once, then file the claim if the
// rules they found allow the receipt's total, then answer.
func decideClaim(results map[string]string) llmtest.Reply {
	rules, haveRules := results["policy_analyst"]
	receipt, haveReceipt := results["receipt_reader"]
	if !haveRules || !haveReceipt {
		return llmtest.Calls(
			call("call_rules", "policy_analyst", map[string]any{"task": "Find the rules for claiming a coffee meeting with a customer: the limit, what may be on the bill, what the receipt must show."}),
			call("call_receipt", "receipt_reader", map[string]any{"task": "Read the attached receipt (image 0): merchant, date, items and total."}))
	}
	merchant, total := field(receipt, `Merchant: ([^.]+)\.`), field(receipt, `Total: ([0-9]+\.[0-9]+)`)
	if merchant == "" || total == "" || !strings.Contains(rules, "15.00 EUR") {
		return llmtest.Text("I could not tell from the rules and the receipt whether the claim is allowed, so I did not file it.\n" +
			"Rules: " + rules + "\nReceipt: " + receipt)
	}
	var amount float64
	fmt.Sscan(total, &amount)
	if amount > 15 {
		return llmtest.Text(fmt.Sprintf("No: the total of %.2f EUR is over the 15.00 EUR limit for a coffee meeting, so I did not file a claim.", amount))
	}
	filed, asked := results["file_expense_claim"]
	switch {
	case !asked:
		return llmtest.Calls(call("call_claim", "file_expense_claim", map[string]any{
			"merchant": merchant, "amount": amount,
			"reason": "Coffee meeting with a customer: within the 15.00 EUR limit for the whole bill, no alcohol (coffee-meetings.md, travel-policy.md).",
		}))
	case strings.HasPrefix(filed, "claim filed"):
		return llmtest.Text(fmt.Sprintf("Yes. A coffee meeting with a customer may be claimed up to 15.00 EUR for the whole bill, without alcohol "+
			"(coffee-meetings.md, travel-policy.md); the receipt from %s comes to %.2f EUR, so I filed the claim. "+
			"Remember to name the customer in it (coffee-meetings.md).", merchant, amount))
	default:
		return llmtest.Text(fmt.Sprintf("The receipt from %s (%.2f EUR) is within the 15.00 EUR limit for a coffee meeting "+
			"(coffee-meetings.md, travel-policy.md), but the claim was not filed: %s", merchant, amount, strings.TrimPrefix(filed, "error: ")))
	}
}

// rulesFrom plays the policy analyst's answer: the sentences of the search results that
// bear on a coffee meeting, each with its source.
func rulesFrom(found string) string {
	var hits []struct {
		Source string `json:"source"`
		Text   string `json:"text"`
	}
	if err := json.Unmarshal([]byte(found), &hits); err != nil {
		return "The search gave no results I could read: " + found
	}
	var rules []string
	seen := map[string]bool{}
	for _, h := range hits {
		// Paragraphs and list items on one line each, then their sentences.
		var text strings.Builder
		for _, para := range strings.Split(strings.ReplaceAll(h.Text, "\n- ", "\n\n- "), "\n\n") {
			text.WriteString(strings.Join(strings.Fields(para), " ") + "\n")
		}
		for _, s := range sentence.FindAllString(text.String(), -1) {
			if s = strings.TrimSpace(s); strings.HasPrefix(s, "#") {
				continue // a heading
			}
			s = strings.TrimLeft(s, "-0123456789. ")
			if !seen[s] && relevant.MatchString(s) {
				seen[s] = true
				rules = append(rules, fmt.Sprintf("- %s (%s)", s, h.Source))
			}
		}
	}
	if len(rules) == 0 {
		return "The search found nothing about coffee meetings."
	}
	return "The rules that apply:\n" + strings.Join(rules, "\n")
}

var (
	// sentence matches a sentence or a list item: up to a full stop that ends a sentence
	// (not the one in "15.00"), or the end of the line.
	sentence = regexp.MustCompile(`(?:[^.\n]|\.[0-9])+\.?`)
	// relevant matches the sentences the analyst keeps.
	relevant = regexp.MustCompile(`(?i)coffee|breakfast|alcohol|customer|itemised|receipt`)
)

// embedWords answers an embeddings request with bag-of-words vectors: each word of four
// letters or more adds to one of 384 dimensions chosen by its hash, so texts that share
// words are near each other. Real embedding models capture meaning; the emulator's own
// vectors capture nothing, and a search over them finds chunks at random.
func embedWords(body []byte) llmtest.Reply {
	var in struct {
		Text json.RawMessage `json:"text"`
	}
	var texts []string
	if json.Unmarshal(body, &in) != nil || json.Unmarshal(in.Text, &texts) != nil {
		var one string
		if json.Unmarshal(in.Text, &one) != nil {
			return llmtest.Model()
		}
		texts = []string{one}
	}
	const dims = 384
	vecs := make([][]float32, len(texts))
	for i, t := range texts {
		v := make([]float64, dims)
		for _, w := range strings.FieldsFunc(strings.ToLower(t), func(r rune) bool { return !unicode.IsLetter(r) }) {
			if len(w) >= 4 {
				h := fnv.New32a()
				h.Write([]byte(strings.TrimSuffix(w, "s")))
				v[h.Sum32()%dims]++
			}
		}
		norm := 0.0
		for _, x := range v {
			norm += x * x
		}
		if norm == 0 {
			v[0], norm = 1, 1
		}
		vecs[i] = make([]float32, dims)
		for j, x := range v {
			vecs[i][j] = float32(x / math.Sqrt(norm))
		}
	}
	return llmtest.JSON(map[string]any{"shape": []int{len(texts), dims}, "data": vecs, "pooling": "mean"})
}

// chatRequest is the part of a chat request the script reads.
type chatRequest struct {
	Messages []struct {
		Role       string          `json:"role"`
		Content    json.RawMessage `json:"content"`
		ToolCallID string          `json:"tool_call_id"`
		ToolCalls  []struct {
			ID       string `json:"id"`
			Function struct {
				Name string `json:"name"`
			} `json:"function"`
		} `json:"tool_calls"`
	} `json:"messages"`
}

// text returns the text of message i: its content as a string, or its text parts.
func (r chatRequest) text(i int) string {
	var s string
	if json.Unmarshal(r.Messages[i].Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	_ = json.Unmarshal(r.Messages[i].Content, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// results returns the latest result of each tool called in the conversation, by tool name.
func (r chatRequest) results() map[string]string {
	names := map[string]string{}
	out := map[string]string{}
	for i, m := range r.Messages {
		for _, c := range m.ToolCalls {
			names[c.ID] = c.Function.Name
		}
		if m.Role == "tool" {
			out[names[m.ToolCallID]] = r.text(i)
		}
	}
	return out
}

// call is a tool call with arguments as JSON.
func call(id, name string, args map[string]any) llm.ToolCall {
	b, _ := json.Marshal(args) // maps of strings and numbers always marshal
	return llm.ToolCall{ID: id, Name: name, Arguments: b}
}

// field returns the first group of pattern in s, or "".
func field(s, pattern string) string {
	if m := regexp.MustCompile(pattern).FindStringSubmatch(s); m != nil {
		return strings.TrimSpace(m[1])
	}
	return ""
}
