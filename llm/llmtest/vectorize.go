package llmtest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gowai/gowai/internal/vecfilter"
	"github.com/gowai/gowai/llm"
)

// The Vectorize v2 limits the emulator enforces, as documented on the Vectorize limits page
// (developers.cloudflare.com/vectorize/platform/limits).
const (
	vecMaxDims          = 1536
	vecMaxIDBytes       = 64
	vecMaxNameBytes     = 64
	vecMaxNamespace     = 64
	vecMaxMetadata      = 10 << 10
	vecMaxBatch         = 5000 // vectors per insert/upsert over HTTP
	vecMaxBody          = 100_000_000
	vecMaxTopK          = 100
	vecMaxTopKWithData  = 20 // with values or all metadata
	vecMaxMetadataIndex = 10
	vecDefaultTopK      = 5
)

// Vectorize error codes, as probed on the live API (alchemy-run/distilled#308): 3000 for a
// missing index, 3002 for a duplicate name, 40005 for a missing metadata index. Other bad
// input gets 400 with vecBadInput, a stand-in: those codes are not documented.
const (
	vecNotFound        = 3000
	vecDuplicate       = 3002
	vecNoMetadataIndex = 40005
	vecBadInput        = 40000
	vecTimestampBase   = created // 2026-01-01T00:00:00Z, as chat completions' "created"
	vecTimestampLayout = "2006-01-02T15:04:05.000000Z"
)

// vectorizeStore is the emulator's Vectorize: indexes kept in memory, each with a queue of
// mutations that are applied in order once the processing delay has passed.
type vectorizeStore struct {
	delay time.Duration

	mu        sync.Mutex
	mutations int64
	indexes   map[string]*vecIndex // by account and name
}

type vecIndex struct {
	name, description, metric string
	dims                      int
	vectors                   map[string]vecRecord
	metaIndexes               map[string]string // property name -> "string" | "number" | "boolean"
	queue                     []vecMutation
	processed                 string    // last mutation applied; "" before the first
	processedAt               time.Time // when it was accepted
}

type vecRecord struct {
	ID        string          `json:"id"`
	Values    vecValues       `json:"values"`
	Metadata  json.RawMessage `json:"metadata,omitempty"`
	Namespace string          `json:"namespace,omitempty"`

	meta map[string]any // Metadata decoded, for filters
}

// vecValues decodes a JSON array of numbers without reflection per element, which made
// parsing large writes the emulator's bottleneck.
type vecValues []float32

func (v *vecValues) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) < 2 || b[0] != '[' || b[len(b)-1] != ']' {
		return fmt.Errorf("values must be an array of numbers, not %.40s", b)
	}
	body := bytes.TrimSpace(b[1 : len(b)-1])
	out := make([]float32, 0, bytes.Count(body, []byte{','})+1)
	for part := range bytes.SplitSeq(body, []byte{','}) {
		if len(body) == 0 {
			break
		}
		f, err := strconv.ParseFloat(string(bytes.TrimSpace(part)), 32)
		if err != nil {
			return fmt.Errorf("values: %.40s is not a number", part)
		}
		out = append(out, float32(f))
	}
	*v = out
	return nil
}

type vecMutation struct {
	id       string
	accepted time.Time
	due      time.Time
	apply    func(*vecIndex)
}

// WithVectorizeDelay makes the emulated Vectorize apply each write (insert, upsert,
// delete) d after it was accepted, as the service processes mutations asynchronously:
// until then queries do not see it and info reports the previous mutation. Mutations are
// applied one after another in the order accepted, in rounds: once the oldest waiting
// write is d old, it and every write accepted since are applied. Info reports the last one
// applied, as the service does: its id (processedUpToMutation, an opaque UUID-shaped
// string) and the time it was accepted (processedUpToDatetime, to the microsecond), so it
// can skip from one write to a much later one without naming those between. The default,
// 0, applies each at once.
func WithVectorizeDelay(d time.Duration) ServerOption {
	return func(s *Server) { s.vec.delay = max(d, 0) }
}

func newVectorizeStore() *vectorizeStore { return &vectorizeStore{indexes: map[string]*vecIndex{}} }

// vectorize answers the Vectorize v2 routes under /accounts/{account}/vectorize/v2/indexes.
func (s *Server) vectorize(ex *exchange) output {
	r := ex.r
	name, op := r.PathValue("index"), r.PathValue("op")
	v := s.vec
	key := r.PathValue("account") + "/" + name
	route := r.Method + " " + op
	if route == "POST insert" || route == "POST upsert" {
		return v.write(ex, key, op == "upsert")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if name == "" {
		switch r.Method {
		case http.MethodPost:
			return v.create(ex)
		case http.MethodGet:
			return v.list(r.PathValue("account"))
		}
		return noRoute(r.URL.EscapedPath())
	}
	ix, ok := v.indexes[key]
	if !ok {
		return routerError(ex, http.StatusNotFound, vecNotFound, "vectorize.index.not_found")
	}
	ix.settle(time.Now())
	switch route {
	case "GET ":
		return envelope(http.StatusOK, ix.describe())
	case "DELETE ":
		delete(v.indexes, key)
		return envelope(http.StatusOK, nil)
	case "GET info":
		return envelope(http.StatusOK, ix.info())
	case "POST query":
		return ix.query(ex)
	case "POST get_by_ids":
		return ix.getByIDs(ex)
	case "POST delete_by_ids":
		return v.deleteByIDs(ex, ix)
	case "POST metadata_index/create", "GET metadata_index/list", "POST metadata_index/delete":
		return v.metadataIndex(ex, ix, route)
	}
	return noRoute(r.URL.EscapedPath())
}

func vecBad(ex *exchange, format string, args ...any) output {
	return routerError(ex, http.StatusBadRequest, vecBadInput, "llmtest: vectorize: "+fmt.Sprintf(format, args...))
}

// decodeStrict reads a JSON object body, refusing fields the route does not take.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

func (v *vectorizeStore) create(ex *exchange) output {
	var in struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Config      struct {
			Dimensions int    `json:"dimensions"`
			Metric     string `json:"metric"`
			Preset     string `json:"preset"`
		} `json:"config"`
	}
	if err := decodeStrict(ex.body, &in); err != nil {
		return vecBad(ex, "create: %v", err)
	}
	c := in.Config
	if c.Preset != "" {
		info, ok := llm.LookupModel(c.Preset)
		if !ok || info.Task != llm.TaskTextEmbeddings || info.Dimensions == 0 || c.Dimensions != 0 || c.Metric != "" {
			return vecBad(ex, "create: preset %q is not an embeddings model, or comes with dimensions or a metric", c.Preset)
		}
		c.Dimensions, c.Metric = info.Dimensions, "cosine"
	}
	switch {
	case in.Name == "" || len(in.Name) > vecMaxNameBytes || strings.ContainsAny(in.Name, "/?#% "):
		return vecBad(ex, "create: name %q must be 1 to %d bytes without /?#%% or spaces", in.Name, vecMaxNameBytes)
	case c.Dimensions < 1 || c.Dimensions > vecMaxDims:
		return vecBad(ex, "create: dimensions %d must be 1 to %d", c.Dimensions, vecMaxDims)
	case c.Metric != "cosine" && c.Metric != "euclidean" && c.Metric != "dot-product":
		return vecBad(ex, "create: metric %q is not cosine, euclidean or dot-product", c.Metric)
	}
	key := ex.r.PathValue("account") + "/" + in.Name
	if _, dup := v.indexes[key]; dup {
		return routerError(ex, http.StatusBadRequest, vecDuplicate, "vectorize.index.duplicate_name - Index name \""+in.Name+"\"")
	}
	ix := &vecIndex{name: in.Name, description: in.Description, metric: c.Metric, dims: c.Dimensions,
		vectors: map[string]vecRecord{}, metaIndexes: map[string]string{}}
	v.indexes[key] = ix
	return envelope(http.StatusOK, ix.describe())
}

func (v *vectorizeStore) list(account string) output {
	out := []any{}
	for _, key := range slices.Sorted(maps.Keys(v.indexes)) {
		if strings.HasPrefix(key, account+"/") {
			out = append(out, v.indexes[key].describe())
		}
	}
	return envelope(http.StatusOK, out)
}

func vecTime(n int64) string {
	return time.Unix(vecTimestampBase+n, 0).UTC().Format(vecTimestampLayout)
}

func (ix *vecIndex) describe() any {
	return map[string]any{
		"name": ix.name, "description": ix.description,
		"config":     map[string]any{"dimensions": ix.dims, "metric": ix.metric},
		"created_on": vecTime(0), "modified_on": vecTime(0),
	}
}

func (ix *vecIndex) info() any {
	var processed, at any // null until the first mutation is applied
	if ix.processed != "" {
		processed, at = ix.processed, ix.processedAt.UTC().Format(vecTimestampLayout)
	}
	return map[string]any{
		"dimensions": ix.dims, "vectorCount": len(ix.vectors),
		"processedUpToDatetime": at, "processedUpToMutation": processed,
	}
}

// settle processes the queue in rounds, as the service processes mutations in batches:
// once the oldest mutation's delay has passed, it and every mutation accepted since are
// applied in order, and info names the last.
func (ix *vecIndex) settle(now time.Time) {
	if len(ix.queue) == 0 || ix.queue[0].due.After(now) {
		return
	}
	for _, m := range ix.queue {
		m.apply(ix)
		ix.processed, ix.processedAt = m.id, m.accepted
	}
	ix.queue = nil
}

// enqueue accepts a mutation and returns its envelope {mutationId}.
func (v *vectorizeStore) enqueue(ix *vecIndex, apply func(*vecIndex)) output {
	v.mutations++
	id := vecMutationID(v.mutations)
	now := time.Now()
	ix.queue = append(ix.queue, vecMutation{id: id, accepted: now, due: now.Add(v.delay), apply: apply})
	ix.settle(now)
	return envelope(http.StatusOK, map[string]string{"mutationId": id})
}

// vecMutationID makes the id of the n-th mutation: a UUID v4 in form, and as opaque as
// the service's, so that neither its text nor its order tells which came first. It is a
// bijective mix of n (every id differs) followed through splitmix64.
func vecMutationID(n int64) string {
	mix := func(x uint64) uint64 {
		x += 0x9e3779b97f4a7c15
		x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
		x = (x ^ x>>27) * 0x94d049bb133111eb
		return x ^ x>>31
	}
	a := mix(uint64(n))
	b := mix(a)
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", b>>32, a>>48, b&0xfff, 0x8000|b>>12&0x3fff, a&0xffffffffffff)
}

// write answers insert and upsert: an application/x-ndjson body, one vector per line.
// Insert leaves vectors whose ID is already stored as they are; upsert replaces them. The
// body is parsed without holding the lock, so that concurrent writes are parsed at once.
func (v *vectorizeStore) write(ex *exchange, key string, upsert bool) output {
	v.mu.Lock()
	ix := v.indexes[key]
	v.mu.Unlock()
	if ix == nil {
		return routerError(ex, http.StatusNotFound, vecNotFound, "vectorize.index.not_found")
	}
	if mt, _, _ := mime.ParseMediaType(ex.r.Header.Get("Content-Type")); mt != "application/x-ndjson" {
		return vecBad(ex, "the body must be application/x-ndjson, not %q", ex.r.Header.Get("Content-Type"))
	}
	if len(ex.body) > vecMaxBody {
		return vecBad(ex, "the body is %d bytes; at most %d are taken", len(ex.body), vecMaxBody)
	}
	var recs []vecRecord
	for n, line := range bytes.Split(ex.body, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var rec vecRecord
		if err := decodeStrict(line, &rec); err != nil {
			return vecBad(ex, "line %d: %v", n+1, err)
		}
		if err := checkRecord(&rec, ix.dims); err != nil { // dims never change once created
			return vecBad(ex, "line %d: %v", n+1, err)
		}
		if recs = append(recs, rec); len(recs) > vecMaxBatch {
			return vecBad(ex, "more than %d vectors in one request", vecMaxBatch)
		}
	}
	if len(recs) == 0 {
		return vecBad(ex, "no vectors in the body")
	}
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.indexes[key] != ix {
		return routerError(ex, http.StatusNotFound, vecNotFound, "vectorize.index.not_found") // deleted meanwhile
	}
	ix.settle(time.Now())
	return v.enqueue(ix, func(ix *vecIndex) {
		for _, rec := range recs {
			if _, exists := ix.vectors[rec.ID]; exists && !upsert {
				continue
			}
			ix.vectors[rec.ID] = rec
		}
	})
}

func checkRecord(rec *vecRecord, dims int) error {
	switch {
	case rec.ID == "" || len(rec.ID) > vecMaxIDBytes:
		return fmt.Errorf("id %q must be 1 to %d bytes", rec.ID, vecMaxIDBytes)
	case len(rec.Values) != dims:
		return fmt.Errorf("vector %q has %d dimensions; the index has %d", rec.ID, len(rec.Values), dims)
	case len(rec.Namespace) > vecMaxNamespace:
		return fmt.Errorf("vector %q: namespace is %d bytes, over %d", rec.ID, len(rec.Namespace), vecMaxNamespace)
	case len(rec.Metadata) > vecMaxMetadata:
		return fmt.Errorf("vector %q: metadata is %d bytes, over %d", rec.ID, len(rec.Metadata), vecMaxMetadata)
	}
	if len(rec.Metadata) == 0 || string(rec.Metadata) == "null" {
		rec.Metadata = nil
		return nil
	}
	if err := json.Unmarshal(rec.Metadata, &rec.meta); err != nil {
		return fmt.Errorf("vector %q: metadata must be an object: %v", rec.ID, err)
	}
	for k := range rec.meta {
		if k == "" || strings.ContainsAny(k, `."`) || strings.HasPrefix(k, "$") {
			return fmt.Errorf("vector %q: metadata key %q is empty, contains . or \" or starts with $", rec.ID, k)
		}
	}
	return nil
}

func (v *vectorizeStore) deleteByIDs(ex *exchange, ix *vecIndex) output {
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := decodeStrict(ex.body, &in); err != nil {
		return vecBad(ex, "delete_by_ids: %v", err)
	}
	return v.enqueue(ix, func(ix *vecIndex) {
		for _, id := range in.IDs {
			delete(ix.vectors, id)
		}
	})
}

func (ix *vecIndex) getByIDs(ex *exchange) output {
	var in struct {
		IDs []string `json:"ids"`
	}
	if err := decodeStrict(ex.body, &in); err != nil {
		return vecBad(ex, "get_by_ids: %v", err)
	}
	out := []vecRecord{}
	for _, id := range in.IDs {
		if rec, ok := ix.vectors[id]; ok {
			out = append(out, rec)
		}
	}
	return envelope(http.StatusOK, out)
}

// metadataIndex answers metadata_index/create, /list and /delete. Changes take effect at
// once (only their mutation id goes through the queue, so that processedUpToMutation
// still advances in order); creating an index that exists succeeds, as it does live.
func (v *vectorizeStore) metadataIndex(ex *exchange, ix *vecIndex, route string) output {
	type prop struct {
		PropertyName string `json:"propertyName"`
		IndexType    string `json:"indexType,omitempty"`
	}
	if route == "GET metadata_index/list" {
		out := []prop{}
		for _, p := range slices.Sorted(maps.Keys(ix.metaIndexes)) {
			out = append(out, prop{p, ix.metaIndexes[p]})
		}
		return envelope(http.StatusOK, map[string]any{"metadataIndexes": out})
	}
	var in prop
	if err := decodeStrict(ex.body, &in); err != nil || in.PropertyName == "" {
		return vecBad(ex, "metadata index: the body must be {propertyName, indexType}: %v", err)
	}
	if route == "POST metadata_index/delete" {
		if _, ok := ix.metaIndexes[in.PropertyName]; !ok {
			return routerError(ex, http.StatusBadRequest, vecNoMetadataIndex, "vectorize.metadata_index.not_found - "+in.PropertyName)
		}
		delete(ix.metaIndexes, in.PropertyName)
		return v.enqueue(ix, func(*vecIndex) {})
	}
	switch in.IndexType {
	case "string", "number", "boolean":
	default:
		return vecBad(ex, "metadata index: indexType %q is not string, number or boolean", in.IndexType)
	}
	if _, exists := ix.metaIndexes[in.PropertyName]; !exists && len(ix.metaIndexes) >= vecMaxMetadataIndex {
		return vecBad(ex, "an index has at most %d metadata indexes", vecMaxMetadataIndex)
	}
	ix.metaIndexes[in.PropertyName] = in.IndexType
	return v.enqueue(ix, func(*vecIndex) {})
}

// query answers a nearest-neighbour query over the vectors applied so far.
func (ix *vecIndex) query(ex *exchange) output {
	var in struct {
		Vector         []float32      `json:"vector"`
		TopK           *int           `json:"topK"`
		ReturnValues   bool           `json:"returnValues"`
		ReturnMetadata string         `json:"returnMetadata"`
		Namespace      string         `json:"namespace"`
		Filter         map[string]any `json:"filter"`
	}
	if err := decodeStrict(ex.body, &in); err != nil {
		return vecBad(ex, "query: %v", err)
	}
	topK := vecDefaultTopK
	if in.TopK != nil {
		topK = *in.TopK
	}
	limit := vecMaxTopK
	if in.ReturnValues || in.ReturnMetadata == "all" {
		limit = vecMaxTopKWithData
	}
	switch {
	case len(in.Vector) != ix.dims:
		return vecBad(ex, "query: the vector has %d dimensions; the index has %d", len(in.Vector), ix.dims)
	case topK < 1 || topK > limit:
		return vecBad(ex, "query: topK %d must be 1 to %d (20 with values or all metadata)", topK, limit)
	case in.ReturnMetadata != "" && in.ReturnMetadata != "none" && in.ReturnMetadata != "indexed" && in.ReturnMetadata != "all":
		return vecBad(ex, "query: returnMetadata %q is not none, indexed or all", in.ReturnMetadata)
	}
	conds, err := vecfilter.Parse(in.Filter)
	if err != nil {
		return vecBad(ex, "query: %v", err)
	}
	// Only properties with a metadata index can be filtered on (the metadata filtering
	// docs): a condition on any other property matches no vector.
	unindexed := slices.ContainsFunc(conds, func(c vecfilter.Cond) bool {
		_, ok := ix.metaIndexes[c.Key]
		return !ok
	})
	type match struct {
		ID        string         `json:"id"`
		Score     float64        `json:"score"`
		Values    []float32      `json:"values,omitempty"`
		Metadata  map[string]any `json:"metadata,omitempty"`
		Namespace string         `json:"namespace,omitempty"`
	}
	matches := []match{}
	for _, rec := range ix.vectors {
		if in.Namespace != "" && rec.Namespace != in.Namespace {
			continue
		}
		if unindexed || !vecfilter.MatchAll(conds, rec.meta) {
			continue
		}
		m := match{ID: rec.ID, Score: ix.score(in.Vector, rec.Values), Namespace: rec.Namespace}
		if in.ReturnValues {
			m.Values = []float32(rec.Values)
		}
		switch in.ReturnMetadata {
		case "all":
			m.Metadata = rec.meta
		case "indexed":
			for p := range ix.metaIndexes {
				if val, ok := vecfilter.Lookup(rec.meta, p); ok {
					if m.Metadata == nil {
						m.Metadata = map[string]any{}
					}
					m.Metadata[p] = val
				}
			}
		}
		matches = append(matches, m)
	}
	closer := -1 // cosine and dot-product: a higher score is closer
	if ix.metric == "euclidean" {
		closer = 1 // a distance: lower is closer
	}
	slices.SortFunc(matches, func(a, b match) int {
		if c := cmp.Compare(a.Score, b.Score); c != 0 {
			return c * closer
		}
		return strings.Compare(a.ID, b.ID)
	})
	matches = matches[:min(topK, len(matches))]
	return envelope(http.StatusOK, map[string]any{"count": len(matches), "matches": matches})
}

func (ix *vecIndex) score(a, b []float32) float64 {
	var dot, na, nb, dist float64
	for i := range a {
		x, y := float64(a[i]), float64(b[i])
		dot += x * y
		na += x * x
		nb += y * y
		dist += (x - y) * (x - y)
	}
	switch ix.metric {
	case "euclidean":
		return math.Sqrt(dist)
	case "dot-product":
		return dot
	}
	if na == 0 || nb == 0 {
		return 0
	}
	return dot / math.Sqrt(na*nb)
}
