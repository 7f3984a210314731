package llmtest

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/gowai/gowai/llm"
)

// taskNames are the catalog's display names of llm's tasks; the reranker is listed under
// text classification in Cloudflare's catalog.
var taskNames = map[llm.Task]string{
	llm.TaskTextGeneration:      "Text Generation",
	llm.TaskTextEmbeddings:      "Text Embeddings",
	llm.TaskTextClassification:  "Text Classification",
	llm.TaskRerank:              "Text Classification",
	llm.TaskTextToImage:         "Text-to-Image",
	llm.TaskImageToText:         "Image-to-Text",
	llm.TaskImageClassification: "Image Classification",
	llm.TaskObjectDetection:     "Object Detection",
	llm.TaskSpeechRecognition:   "Automatic Speech Recognition",
	llm.TaskTextToSpeech:        "Text-to-Speech",
	llm.TaskTranslation:         "Translation",
	llm.TaskSummarization:       "Summarization",
}

// searchModels answers GET /ai/models/search from llm's compiled-in catalog (llm.Models),
// in the layout of
// llm/testdata/recorded/Husnain139__Script-to-Stickman-Scene-Image-Generator-System__models-search-gpt-oss.json:
// the query parameters search (a case-insensitive part of the name or description), task
// (a task's display name, such as "Text Generation"), page and per_page (default 100) are
// honoured. result_info.total_count counts the whole catalog, as the live service's does.
// Ids, descriptions and dates are made up; the properties come from the catalog.
func searchModels(ex *exchange) output {
	q := ex.r.URL.Query()
	page, err1 := positive(q, "page", 1)
	perPage, err2 := positive(q, "per_page", 100)
	if err := errors.Join(err1, err2); err != nil {
		return aiError(ex, http.StatusBadRequest, 5006, "llmtest: "+err.Error())
	}
	search, task := strings.ToLower(q.Get("search")), q.Get("task")
	all := llm.Models()
	var found []any
	for _, m := range all {
		e := catalogEntry(m)
		if search != "" && !strings.Contains(strings.ToLower(m.ID), search) && !strings.Contains(strings.ToLower(e.description), search) {
			continue
		}
		if task != "" && !strings.EqualFold(task, taskNames[m.Task]) {
			continue
		}
		found = append(found, e.obj)
	}
	start := min((page-1)*perPage, len(found))
	result := found[start:min(start+perPage, len(found))]
	if result == nil {
		result = []any{}
	}
	return jsonOutput(http.StatusOK, object(
		"success", true, "result", result, "errors", []any{}, "messages", []any{},
		"result_info", object("count", len(result), "page", page, "per_page", perPage, "total_count", len(all))))
}

// positive reads the query parameter name, which must be a positive integer; def when it
// is absent.
func positive(q url.Values, name string, def int) (int, error) {
	s := q.Get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s %q is not a positive integer", name, s)
	}
	return n, nil
}

type entry struct {
	description string
	obj         any
}

// catalogEntry is m as the catalog lists it, with its properties in the recorded order.
func catalogEntry(m llm.ModelInfo) entry {
	task := taskNames[m.Task]
	desc := fmt.Sprintf("%s model %s in llmtest's emulated catalog.", task, m.ID)
	var props []any
	prop := func(id string, v any) { props = append(props, object("property_id", id, "value", v)) }
	if m.Batch {
		prop("async_queue", "true")
	}
	if m.ContextWindow > 0 {
		prop("context_window", strconv.Itoa(m.ContextWindow))
	}
	if m.NeuronsPerMInput > 0 || m.NeuronsPerMOutput > 0 {
		var prices []any
		for _, p := range []struct {
			unit    string
			neurons float64
		}{{"per M input tokens", m.NeuronsPerMInput}, {"per M output tokens", m.NeuronsPerMOutput}} {
			if p.neurons > 0 {
				usd := math.Round(p.neurons*llm.USDPerNeuron*1e4) / 1e4
				prices = append(prices, object("unit", p.unit, "price", usd, "currency", "USD"))
			}
		}
		prop("price", prices)
	}
	if m.Tools {
		prop("function_calling", "true")
	}
	if m.Reasoning {
		prop("reasoning", "true")
	}
	if strings.Contains(m.ID, "/gpt-oss-") {
		// The reasoning models that take reasoning_effort, as the gpt-oss entries list it.
		prop("reasoning_effort", object("supported_efforts", []string{"high", "medium", "low"},
			"default_effort", "medium", "mandatory", true, "default_enabled", true))
	}
	if props == nil {
		props = []any{}
	}
	return entry{desc, object(
		"id", uuidOf("model:"+m.ID), "source", 1, "name", m.ID, "description", desc,
		"task", object("id", uuidOf("task:"+task), "name", task, "description", task+" models."),
		"created_at", "2026-01-01 00:00:00.000", "tags", []any{}, "properties", props)}
}

// uuidOf makes a stable UUID-shaped id from s.
func uuidOf(s string) string {
	h := sha256.Sum256([]byte(s))
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}
