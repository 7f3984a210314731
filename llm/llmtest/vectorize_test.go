package llmtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gowai/gowai/llm/llmtest"
)

const indexes = "/accounts/acc/vectorize/v2/indexes"

var ndjson = []string{"Content-Type", "application/x-ndjson"}

// vecOK sends a request that must succeed and returns its result.
func vecOK(t *testing.T, srv *llmtest.Server, method, path, body string, header ...string) json.RawMessage {
	t.Helper()
	resp, b := send(t, srv, method, path, body, header...)
	env := decode[envelope](t, b)
	if resp.StatusCode != 200 || !env.Success {
		t.Fatalf("%s %s: %d %.300s", method, path, resp.StatusCode, b)
	}
	return env.Result
}

// vecFails sends a request that must fail with status and code, and returns the message.
func vecFails(t *testing.T, srv *llmtest.Server, method, path, body string, status, code int, header ...string) string {
	t.Helper()
	resp, b := send(t, srv, method, path, body, header...)
	env := decode[envelope](t, b)
	if resp.StatusCode != status || env.Success || len(env.Errors) != 1 || env.Errors[0].Code != code || string(env.Result) != "null" {
		t.Fatalf("%s %s: %d %.300s; want %d code %d", method, path, resp.StatusCode, b, status, code)
	}
	return env.Errors[0].Message
}

type vecMatch struct {
	ID        string         `json:"id"`
	Score     float64        `json:"score"`
	Values    []float32      `json:"values"`
	Metadata  map[string]any `json:"metadata"`
	Namespace string         `json:"namespace"`
}

func queryIDs(t *testing.T, srv *llmtest.Server, index, body string) []string {
	t.Helper()
	res := decode[struct {
		Count   int        `json:"count"`
		Matches []vecMatch `json:"matches"`
	}](t, vecOK(t, srv, "POST", indexes+"/"+index+"/query", body))
	ids := []string{}
	for _, m := range res.Matches {
		ids = append(ids, m.ID)
	}
	if res.Count != len(ids) {
		t.Errorf("count %d for %d matches", res.Count, len(ids))
	}
	return ids
}

func TestVectorizeIndexLifecycle(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()

	created := decode[map[string]any](t, vecOK(t, srv, "POST", indexes, `{"name":"docs","description":"d","config":{"dimensions":3,"metric":"euclidean"}}`))
	if created["name"] != "docs" || created["description"] != "d" || fmt.Sprint(created["config"]) != "map[dimensions:3 metric:euclidean]" {
		t.Errorf("created %v", created)
	}
	vecFails(t, srv, "POST", indexes, `{"name":"docs","config":{"dimensions":3,"metric":"cosine"}}`, 400, 3002)
	preset := decode[map[string]any](t, vecOK(t, srv, "POST", indexes, `{"name":"a-small","config":{"preset":"@cf/baai/bge-small-en-v1.5"}}`))
	if fmt.Sprint(preset["config"]) != "map[dimensions:384 metric:cosine]" {
		t.Errorf("preset %v", preset)
	}

	list := decode[[]struct {
		Name string `json:"name"`
	}](t, vecOK(t, srv, "GET", indexes, ""))
	if len(list) != 2 || list[0].Name != "a-small" || list[1].Name != "docs" {
		t.Errorf("list %+v", list)
	}
	if got := decode[map[string]any](t, vecOK(t, srv, "GET", indexes+"/docs", "")); got["name"] != "docs" || got["created_on"] == nil {
		t.Errorf("get %v", got)
	}
	info := decode[map[string]any](t, vecOK(t, srv, "GET", indexes+"/docs/info", ""))
	if info["dimensions"] != 3.0 || info["vectorCount"] != 0.0 || info["processedUpToMutation"] != nil {
		t.Errorf("info %v", info)
	}
	vecOK(t, srv, "DELETE", indexes+"/docs", "")
	for _, path := range []string{"/docs", "/docs/info", "/docs/query"} {
		vecFails(t, srv, "GET", indexes+path, "", 404, 3000)
	}
}

func TestVectorizeWritesQueriesAndFilters(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	vecOK(t, srv, "POST", indexes, `{"name":"films","config":{"dimensions":2,"metric":"cosine"}}`)
	lines := strings.Join([]string{
		`{"id":"a","values":[1,0],"metadata":{"genre":"sci-fi","year":2019}}`,
		`{"id":"b","values":[0.9,0.1],"metadata":{"genre":"drama","year":2023},"namespace":"old"}`,
		`{"id":"c","values":[0,1],"metadata":{"genre":"sci-fi","year":2024,"extra":{"lang":"en"}}}`,
	}, "\n") + "\n"
	m1 := decode[map[string]string](t, vecOK(t, srv, "POST", indexes+"/films/upsert", lines, ndjson...))["mutationId"]
	if !reqIDPattern.MatchString(m1) {
		t.Errorf("mutation id %q is not shaped like a UUID", m1)
	}
	q := `{"vector":[1,0],"topK":3`
	if got := queryIDs(t, srv, "films", q+`}`); !slices.Equal(got, []string{"a", "b", "c"}) {
		t.Errorf("by similarity: %v", got)
	}
	if got := queryIDs(t, srv, "films", q+`,"namespace":"old"}`); !slices.Equal(got, []string{"b"}) {
		t.Errorf("namespace: %v", got)
	}
	// Without a metadata index a property cannot be filtered on: nothing matches.
	if got := queryIDs(t, srv, "films", q+`,"filter":{"genre":"sci-fi"}}`); len(got) != 0 {
		t.Errorf("filter on an unindexed property: %v", got)
	}
	vecOK(t, srv, "POST", indexes+"/films/metadata_index/create", `{"propertyName":"genre","indexType":"string"}`)
	vecOK(t, srv, "POST", indexes+"/films/metadata_index/create", `{"propertyName":"year","indexType":"number"}`)
	vecOK(t, srv, "POST", indexes+"/films/metadata_index/create", `{"propertyName":"year","indexType":"number"}`) // again: fine
	// Every operator's semantics are tested in internal/vecfilter, on JSON filters too.
	filters := []struct{ filter, want string }{
		{`{"genre":"sci-fi"}`, "a c"},
		{`{"genre":{"$eq":"sci-fi"},"year":{"$lt":2024}}`, "a"},
		{`{"year":{"$gte":2019,"$lt":2024}}`, "a b"},
	}
	for _, f := range filters {
		got := queryIDs(t, srv, "films", q+`,"filter":`+f.filter+`}`)
		if strings.Join(got, " ") != f.want {
			t.Errorf("filter %s: %v, want %q", f.filter, got, f.want)
		}
	}
	listed := decode[map[string][]map[string]string](t, vecOK(t, srv, "GET", indexes+"/films/metadata_index/list", ""))
	if fmt.Sprint(listed["metadataIndexes"]) != "[map[indexType:string propertyName:genre] map[indexType:number propertyName:year]]" {
		t.Errorf("metadata indexes %v", listed)
	}

	res := decode[struct {
		Matches []vecMatch `json:"matches"`
	}](t, vecOK(t, srv, "POST", indexes+"/films/query", `{"vector":[0,1],"topK":1,"returnValues":true,"returnMetadata":"indexed"}`))
	if m := res.Matches[0]; m.ID != "c" || m.Score < 0.999 || !slices.Equal(m.Values, []float32{0, 1}) || fmt.Sprint(m.Metadata) != "map[genre:sci-fi year:2024]" {
		t.Errorf("indexed metadata and values: %+v", res.Matches)
	}

	// insert keeps what is stored; upsert replaces it.
	vecOK(t, srv, "POST", indexes+"/films/insert", `{"id":"a","values":[0,1]}`, ndjson...)
	got := decode[[]vecMatch](t, vecOK(t, srv, "POST", indexes+"/films/get_by_ids", `{"ids":["a","zzz","c"]}`))
	if len(got) != 2 || got[0].ID != "a" || !slices.Equal(got[0].Values, []float32{1, 0}) || got[0].Metadata["genre"] != "sci-fi" || got[1].ID != "c" {
		t.Errorf("after insert: %+v", got)
	}
	vecOK(t, srv, "POST", indexes+"/films/upsert", `{"id":"a","values":[0,1]}`, ndjson...)
	got = decode[[]vecMatch](t, vecOK(t, srv, "POST", indexes+"/films/get_by_ids", `{"ids":["a"]}`))
	if len(got) != 1 || !slices.Equal(got[0].Values, []float32{0, 1}) || got[0].Metadata != nil {
		t.Errorf("after upsert: %+v", got)
	}
	vecOK(t, srv, "POST", indexes+"/films/delete_by_ids", `{"ids":["a","b","nope"]}`)
	info := decode[map[string]any](t, vecOK(t, srv, "GET", indexes+"/films/info", ""))
	if info["vectorCount"] != 1.0 || info["processedUpToMutation"] == m1 {
		t.Errorf("after delete: %v", info)
	}
	vecOK(t, srv, "POST", indexes+"/films/metadata_index/delete", `{"propertyName":"genre"}`)
	vecFails(t, srv, "POST", indexes+"/films/metadata_index/delete", `{"propertyName":"genre"}`, 400, 40005)
}

func TestVectorizeEuclideanRanksByDistance(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	vecOK(t, srv, "POST", indexes, `{"name":"e","config":{"dimensions":1,"metric":"euclidean"}}`)
	vecOK(t, srv, "POST", indexes+"/e/upsert", "{\"id\":\"far\",\"values\":[10]}\n{\"id\":\"near\",\"values\":[1.5]}\n", ndjson...)
	if got := queryIDs(t, srv, "e", `{"vector":[1],"topK":2}`); !slices.Equal(got, []string{"near", "far"}) {
		t.Errorf("%v, want the nearer first", got)
	}
}

func TestVectorizeEnforcesTheServiceLimits(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	vecOK(t, srv, "POST", indexes, `{"name":"lim","config":{"dimensions":2,"metric":"cosine"}}`)
	for i := range 10 {
		vecOK(t, srv, "POST", indexes+"/lim/metadata_index/create", fmt.Sprintf(`{"propertyName":"p%d","indexType":"string"}`, i))
	}
	var many strings.Builder
	for i := range 5001 {
		fmt.Fprintf(&many, `{"id":"v%d","values":[1,0]}`+"\n", i)
	}
	tests := []struct {
		name, method, path, body string
		header                   []string
		want                     string
	}{
		{"dimensions over 1536", "POST", indexes, `{"name":"x","config":{"dimensions":1537,"metric":"cosine"}}`, nil, "dimensions 1537"},
		{"unknown metric", "POST", indexes, `{"name":"x","config":{"dimensions":2,"metric":"manhattan"}}`, nil, "metric"},
		{"JSON instead of NDJSON", "POST", indexes + "/lim/upsert", `{"id":"a","values":[1,0]}`, nil, "application/x-ndjson"},
		{"wrong dimension", "POST", indexes + "/lim/upsert", `{"id":"a","values":[1,0,0]}`, ndjson, "3 dimensions"},
		{"id over 64 bytes", "POST", indexes + "/lim/upsert", `{"id":"` + strings.Repeat("i", 65) + `","values":[1,0]}`, ndjson, "1 to 64 bytes"},
		{"metadata over 10 KiB", "POST", indexes + "/lim/upsert", `{"id":"a","values":[1,0],"metadata":{"k":"` + strings.Repeat("m", 10<<10) + `"}}`, ndjson, "metadata is"},
		{"metadata key with a dot", "POST", indexes + "/lim/upsert", `{"id":"a","values":[1,0],"metadata":{"a.b":1}}`, ndjson, "metadata key"},
		{"namespace over 64 bytes", "POST", indexes + "/lim/upsert", `{"id":"a","values":[1,0],"namespace":"` + strings.Repeat("n", 65) + `"}`, ndjson, "namespace"},
		{"more than 5000 vectors", "POST", indexes + "/lim/upsert", many.String(), ndjson, "more than 5000"},
		{"topK over 100", "POST", indexes + "/lim/query", `{"vector":[1,0],"topK":101}`, nil, "topK 101"},
		{"topK over 20 with values", "POST", indexes + "/lim/query", `{"vector":[1,0],"topK":21,"returnValues":true}`, nil, "topK 21"},
		{"topK over 20 with all metadata", "POST", indexes + "/lim/query", `{"vector":[1,0],"topK":21,"returnMetadata":"all"}`, nil, "topK 21"},
		{"unknown filter operator", "POST", indexes + "/lim/query", `{"vector":[1,0],"filter":{"p1":{"$regex":"x"}}}`, nil, `filter "p1": unknown operator "$regex"`},
		{"filter key with an empty part", "POST", indexes + "/lim/query", `{"vector":[1,0],"filter":{"p1..x":"a"}}`, nil, "empty part between dots"},
		{"filter key without an operator", "POST", indexes + "/lim/query", `{"vector":[1,0],"filter":{"p1":{}}}`, nil, "no operator"},
		{"filter not an object", "POST", indexes + "/lim/query", `{"vector":[1,0],"filter":"p1"}`, nil, "filter"},
		{"an eleventh metadata index", "POST", indexes + "/lim/metadata_index/create", `{"propertyName":"p10","indexType":"string"}`, nil, "at most 10"},
		{"unknown metadata index type", "POST", indexes + "/lim/metadata_index/create", `{"propertyName":"p1","indexType":"date"}`, nil, "indexType"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if msg := vecFails(t, srv, tt.method, tt.path, tt.body, 400, 40000, tt.header...); !strings.Contains(msg, tt.want) {
				t.Errorf("message %q, want %q", msg, tt.want)
			}
		})
	}
	if info := decode[map[string]any](t, vecOK(t, srv, "GET", indexes+"/lim/info", "")); info["vectorCount"] != 0.0 {
		t.Errorf("refused writes were stored: %v", info)
	}
}

func TestVectorizeDelayHoldsWritesBack(t *testing.T) {
	srv := llmtest.NewServer(nil, llmtest.WithVectorizeDelay(time.Hour))
	defer srv.Close()
	vecOK(t, srv, "POST", indexes, `{"name":"slow","config":{"dimensions":2,"metric":"cosine"}}`)
	vecOK(t, srv, "POST", indexes+"/slow/upsert", `{"id":"a","values":[1,0]}`, ndjson...)
	info := decode[map[string]any](t, vecOK(t, srv, "GET", indexes+"/slow/info", ""))
	if info["vectorCount"] != 0.0 || info["processedUpToMutation"] != nil || info["processedUpToDatetime"] != nil {
		t.Fatalf("right after the write: %v, want nothing processed", info)
	}
	if got := queryIDs(t, srv, "slow", `{"vector":[1,0]}`); len(got) != 0 {
		t.Errorf("query saw an unprocessed write: %v", got)
	}
}

func TestVectorizeInfoReportsTheLastMutationAndWhenItWasAccepted(t *testing.T) {
	srv := llmtest.NewServer(nil, llmtest.WithVectorizeDelay(20*time.Millisecond))
	defer srv.Close()
	vecOK(t, srv, "POST", indexes, `{"name":"slow","config":{"dimensions":2,"metric":"cosine"}}`)
	upsert := func(line string) (id string, before, after time.Time) {
		before = time.Now().Truncate(time.Microsecond)
		id = decode[map[string]string](t, vecOK(t, srv, "POST", indexes+"/slow/upsert", line, ndjson...))["mutationId"]
		return id, before, time.Now()
	}
	m1, from1, to1 := upsert(`{"id":"a","values":[1,0]}`)
	m2, from2, to2 := upsert(`{"id":"b","values":[0,1]}`)
	if m1 == m2 {
		t.Fatalf("two writes share the mutation id %q", m1)
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		info := decode[map[string]any](t, vecOK(t, srv, "GET", indexes+"/slow/info", ""))
		p, _ := info["processedUpToMutation"].(string)
		at, _ := info["processedUpToDatetime"].(string)
		when, err := time.Parse(time.RFC3339Nano, at)
		switch {
		case p == "" && at == "":
		case err != nil:
			t.Fatalf("processedUpToDatetime %q: %v", at, err)
		case p == m1 && (when.Before(from1) || when.After(to1)):
			t.Errorf("first write processed: datetime %v is not when it was accepted (%v to %v)", when, from1, to1)
		case p == m2 && (when.Before(from2) || when.After(to2)):
			t.Errorf("second write processed: datetime %v is not when it was accepted (%v to %v)", when, from2, to2)
		case p != m1 && p != m2:
			t.Fatalf("processed up to %q, not one of the writes", p)
		}
		if p == m2 {
			if info["vectorCount"] != 2.0 {
				t.Errorf("finally: %v", info)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second write was not processed: %v", info)
		}
	}
}

func TestVectorizeMutationIDsAreOpaque(t *testing.T) {
	// A client must not read the order of writes from their ids: the emulator's ids are
	// UUID-shaped and do not sort in the order the writes were accepted.
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	vecOK(t, srv, "POST", indexes, `{"name":"ids","config":{"dimensions":2,"metric":"cosine"}}`)
	var ids []string
	for i := range 10 {
		line := fmt.Sprintf(`{"id":"v%d","values":[1,0]}`, i)
		ids = append(ids, decode[map[string]string](t, vecOK(t, srv, "POST", indexes+"/ids/upsert", line, ndjson...))["mutationId"])
	}
	uuid := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	for _, id := range ids {
		if !uuid.MatchString(id) {
			t.Errorf("mutation id %q is not a UUID v4", id)
		}
	}
	if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) || slices.IsSorted(ids) {
		t.Errorf("mutation ids %q repeat or sort in the order of the writes", ids)
	}
}

func TestVectorizeRoutesCheckTokenAndAccount(t *testing.T) {
	srv := llmtest.NewServer(nil, llmtest.WithToken("secret"), llmtest.WithAccount("mine"))
	defer srv.Close()
	resp, body := send(t, srv, "GET", "/accounts/mine/vectorize/v2/indexes", "", "Authorization", "Bearer wrong")
	if env := decode[envelope](t, body); resp.StatusCode != http.StatusUnauthorized || env.Errors[0].Code != 10000 {
		t.Errorf("wrong token: %d %s", resp.StatusCode, body)
	}
	resp, body = send(t, srv, "GET", "/accounts/other/vectorize/v2/indexes", "", "Authorization", "Bearer secret")
	if env := decode[envelope](t, body); resp.StatusCode != http.StatusNotFound || env.Errors[0].Code != 7003 {
		t.Errorf("wrong account: %d %s", resp.StatusCode, body)
	}
	if got := string(vecOK(t, srv, "GET", "/accounts/mine/vectorize/v2/indexes", "", "Authorization", "Bearer secret")); got != "[]" {
		t.Errorf("list %s", got)
	}
}
