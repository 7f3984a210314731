package llm

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// modelHint is advice for a model id the service does not know (HTTP 400 code 7000 on
// /ai/run): the catalogued id it is closest to, else the catalogued models of the task its
// name suggests, else where the list of models is.
func modelHint(id string) string {
	if _, ok := LookupModel(id); ok {
		return "the catalog knows this id, but the service has no route for it: the model may have been retired (see https://developers.cloudflare.com/workers-ai/models/)"
	}
	if close := closestModels(id); len(close) > 0 {
		return "did you mean " + quoteJoin(close, " or ") + "?"
	}
	if task := guessTask(id); task != "" {
		var ids []string
		for _, m := range catalog {
			if m.Task == task {
				ids = append(ids, m.ID)
			}
		}
		const most = 8
		if len(ids) > most {
			// The nearest first: a typo in the vendor is likelier than a made-up name.
			slices.SortStableFunc(ids, func(a, b string) int { return cmp.Compare(modelDistance(id, a), modelDistance(id, b)) })
			return fmt.Sprintf("catalogued %s models include %s (llm.Models() lists all %d)", task, strings.Join(ids[:most], ", "), len(ids))
		}
		return fmt.Sprintf("catalogued %s models: %s", task, strings.Join(ids, ", "))
	}
	return "llm.Models() lists the catalogued model ids; https://developers.cloudflare.com/workers-ai/models/ lists every model"
}

// closestModels returns the catalogued ids nearest to id when they are near enough to be
// what was meant: a few edits away, comparing whole ids and also the names without their
// "@cf/vendor/" prefix, so that "llama-3.1-8b-instruct" or "@cf/llama/llama-3.1-8b-instruct"
// finds "@cf/meta/llama-3.1-8b-instruct".
func closestModels(id string) []string {
	best := -1
	var out []string
	for _, m := range catalog {
		d := modelDistance(id, m.ID)
		limit := max(2, len(shortName(m.ID))/5)
		if d > limit {
			continue
		}
		switch {
		case best < 0 || d < best:
			best, out = d, []string{m.ID}
		case d == best:
			out = append(out, m.ID)
		}
	}
	if len(out) > 3 {
		return nil // too many equally near: no single guess
	}
	return out
}

// modelDistance is the smaller of the edit distances between the ids and between their
// names without the prefix, all compared in lower case.
func modelDistance(a, b string) int {
	a, b = strings.ToLower(a), strings.ToLower(b)
	return min(editDistance(a, b), editDistance(shortName(a), shortName(b)))
}

// shortName drops the "@cf/vendor/" prefix of a model id.
func shortName(id string) string { return id[strings.LastIndexByte(id, '/')+1:] }

// editDistance is the Levenshtein distance between a and b, in bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// taskWords maps words that model names carry to the task they suggest, most specific first.
var taskWords = []struct {
	word string
	task Task
}{
	{"embed", TaskTextEmbeddings}, {"bge-", TaskTextEmbeddings},
	{"rerank", TaskRerank},
	{"whisper", TaskSpeechRecognition}, {"nova", TaskSpeechRecognition},
	{"aura", TaskTextToSpeech}, {"tts", TaskTextToSpeech},
	{"flux", TaskTextToImage}, {"diffusion", TaskTextToImage}, {"sdxl", TaskTextToImage}, {"dreamshaper", TaskTextToImage},
	{"m2m", TaskTranslation}, {"translat", TaskTranslation},
	{"bart", TaskSummarization}, {"summar", TaskSummarization},
	{"llava", TaskImageToText}, {"uform", TaskImageToText},
	{"resnet", TaskImageClassification}, {"detr", TaskObjectDetection},
	{"instruct", TaskTextGeneration}, {"chat", TaskTextGeneration}, {"llama", TaskTextGeneration},
	{"mistral", TaskTextGeneration}, {"qwen", TaskTextGeneration}, {"gemma", TaskTextGeneration},
	{"gpt", TaskTextGeneration}, {"deepseek", TaskTextGeneration}, {"-it", TaskTextGeneration},
}

// guessTask reads a task from the words in a model id; "" when none says.
func guessTask(id string) Task {
	id = strings.ToLower(id)
	for _, w := range taskWords {
		if strings.Contains(id, w.word) {
			return w.task
		}
	}
	return ""
}

func quoteJoin(ids []string, sep string) string {
	q := make([]string, len(ids))
	for i, id := range ids {
		q[i] = fmt.Sprintf("%q", id)
	}
	return strings.Join(q, sep)
}
