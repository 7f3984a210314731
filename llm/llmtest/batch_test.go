package llmtest_test

import (
	"encoding/json"
	"maps"
	"net/http"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gowai/gowai/llm/llmtest"
)

const (
	queueM3    = "/accounts/acc/ai/run/@cf/baai/bge-m3?queueRequest=true"
	queueSmall = "/accounts/acc/ai/run/@cf/baai/bge-small-en-v1.5?queueRequest=true"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/workers-ai/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// keys returns the sorted keys of a JSON object.
func keys(t *testing.T, raw json.RawMessage) []string {
	t.Helper()
	return slices.Sorted(maps.Keys(decode[map[string]json.RawMessage](t, raw)))
}

type batchResult struct {
	Responses []struct {
		ID                int             `json:"id"`
		Result            json.RawMessage `json:"result"`
		Success           bool            `json:"success"`
		ExternalReference *string         `json:"external_reference"`
	} `json:"responses"`
	Usage map[string]int `json:"usage"`
}

func TestBatchAnswersInTheShapesOfTheDocumentedExchange(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()

	resp, body := post(t, srv, queueM3, string(fixture(t, "batch-submit.request.json")))
	queued := decode[envelope](t, body)
	want := decode[envelope](t, fixture(t, "batch-queued.response.json"))
	if resp.StatusCode != 200 || !slices.Equal(keys(t, queued.Result), keys(t, want.Result)) {
		t.Fatalf("%d %s, want the keys of %s", resp.StatusCode, body, want.Result)
	}
	ack := decode[map[string]string](t, queued.Result)
	if ack["status"] != "queued" || ack["model"] != "@cf/baai/bge-m3" || !reqIDPattern.MatchString(ack["request_id"]) {
		t.Errorf("acknowledgement %s", queued.Result)
	}
	poll := `{"request_id":"` + ack["request_id"] + `"}`

	_, body = post(t, srv, queueM3, poll)
	if running := decode[map[string]string](t, decode[envelope](t, body).Result); running["status"] != "running" {
		t.Errorf("first poll: %s, want a pending status", body)
	}
	for range 2 { // the results, then the same again
		_, body = post(t, srv, queueM3, poll)
		got := decode[envelope](t, body)
		done := decode[envelope](t, fixture(t, "batch-result.response.json"))
		if !slices.Equal(keys(t, got.Result), keys(t, done.Result)) {
			t.Fatalf("result %s, want the keys of %s", got.Result, done.Result)
		}
		res := decode[batchResult](t, got.Result)
		if len(res.Responses) != 1 || !res.Responses[0].Success || res.Responses[0].ID != 0 || res.Responses[0].ExternalReference != nil {
			t.Fatalf("responses %s", got.Result)
		}
		// bge-m3 with {query, contexts} reranks: one score per context.
		ranked := decode[struct {
			Response []struct {
				ID    int     `json:"id"`
				Score float64 `json:"score"`
			} `json:"response"`
		}](t, res.Responses[0].Result)
		if len(ranked.Response) != 3 {
			t.Errorf("rerank result %s", res.Responses[0].Result)
		}
		if res.Usage["prompt_tokens"] == 0 || res.Usage["total_tokens"] != res.Usage["prompt_tokens"]+res.Usage["completion_tokens"] {
			t.Errorf("usage %v", res.Usage)
		}
	}
}

func TestBatchItemsFailOneByOne(t *testing.T) {
	srv := llmtest.NewServer(nil, llmtest.WithBatchPolls(0))
	defer srv.Close()
	_, body := post(t, srv, queueSmall, `{"requests":[{"text":["a"],"external_reference":"ok"},{"input":"no text"},{"text":"b","stream":true}]}`)
	id := decode[map[string]string](t, decode[envelope](t, body).Result)["request_id"]
	_, body = post(t, srv, queueSmall, `{"request_id":"`+id+`"}`)
	res := decode[batchResult](t, decode[envelope](t, body).Result)
	if len(res.Responses) != 3 {
		t.Fatalf("%s", body)
	}
	if r := res.Responses[0]; !r.Success || r.ExternalReference == nil || *r.ExternalReference != "ok" {
		t.Errorf("item 0: %+v", r)
	}
	failed := res.Responses[1]
	errs := decode[struct {
		Errors []apiError `json:"errors"`
	}](t, failed.Result)
	if failed.Success || len(errs.Errors) != 1 || errs.Errors[0].Code != 5006 || !strings.Contains(errs.Errors[0].Message, "'text'") {
		t.Errorf("item 1: %s", failed.Result)
	}
	// Embeddings ignore "stream", so the third item succeeds like any other.
	if !res.Responses[2].Success {
		t.Errorf("item 2: %s", res.Responses[2].Result)
	}
}

func TestBatchRefusals(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	_, body := post(t, srv, queueSmall, `{"requests":[{"text":"a"}]}`)
	id := decode[map[string]string](t, decode[envelope](t, body).Result)["request_id"]
	big := `{"requests":[{"text":"` + strings.Repeat("x", 10_000_000) + `"}]}`
	tests := []struct {
		name, path, body string
		status, code     int
	}{
		{"model without batch support", runLegacy + "?queueRequest=true", `{"requests":[{"prompt":"x"}]}`, 400, 5006},
		{"unknown model", "/accounts/acc/ai/run/@cf/nobody/nothing?queueRequest=true", `{"requests":[{"text":"x"}]}`, 400, 7000},
		{"unknown request id", queueSmall, `{"request_id":"nope"}`, 400, 5006},
		{"a job polled on another model", "/accounts/acc/ai/run/@cf/baai/bge-base-en-v1.5?queueRequest=true", `{"request_id":"` + id + `"}`, 400, 5006},
		{"no requests", queueSmall, `{"requests":[]}`, 400, 5006},
		{"10 MB or more", queueSmall, big, http.StatusRequestEntityTooLarge, 3006},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := post(t, srv, tt.path, tt.body)
			env := decode[envelope](t, body)
			if resp.StatusCode != tt.status || len(env.Errors) == 0 || env.Errors[0].Code != tt.code {
				t.Errorf("%d %.300s, want %d code %d", resp.StatusCode, body, tt.status, tt.code)
			}
		})
	}
}

func TestBatchItemsGoThroughTheHandler(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(llmtest.Text("one"), llmtest.Fail(400, 5006, "Bad input: nope")), llmtest.WithBatchPolls(0))
	defer srv.Close()
	path := "/accounts/acc/ai/run/@cf/meta/llama-3.3-70b-instruct-fp8-fast?queueRequest=true"
	_, body := post(t, srv, path, `{"requests":[{"prompt":"a"},{"prompt":"b"},{"prompt":"c"}]}`)
	id := decode[map[string]string](t, decode[envelope](t, body).Result)["request_id"]
	_, body = post(t, srv, path, `{"request_id":"`+id+`"}`)
	res := decode[batchResult](t, decode[envelope](t, body).Result)
	if len(res.Responses) != 3 || !res.Responses[0].Success || res.Responses[1].Success || res.Responses[2].Success {
		t.Fatalf("%s", body)
	}
	if !strings.Contains(string(res.Responses[0].Result), `"one"`) || !strings.Contains(string(res.Responses[2].Result), "script ran out") {
		t.Errorf("%s", body)
	}
	if !srv.Requests()[0].OutOfScript {
		t.Error("the submission whose items ran the script out is not marked OutOfScript")
	}
}
