package embed

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cenkalti/backoff/v4"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/semaphore"

	"github.com/gowai/gowai/internal/vecfilter"
	"github.com/gowai/gowai/llm"
)

// Vectorize limits, from developers.cloudflare.com/vectorize/platform/limits. They are
// checked before any request, so that a bad vector fails with a clear error instead of a
// half-written batch.
const (
	MaxVectorizeDimensions = 1536 // values per vector
	MaxMetadataIndexes     = 10   // metadata indexes per Vectorize index

	maxVectorIDBytes  = 64
	maxNamespaceBytes = 64
	maxIndexNameBytes = 64
	maxMetadataBytes  = 10 << 10 // per vector, JSON-encoded
	maxTopK           = 100
	maxTopKWithData   = 20          // with values or all metadata
	maxWriteVectors   = 5000        // per insert/upsert request over HTTP
	maxWriteBytes     = 100_000_000 // per insert/upsert request
	// The ids per get_by_ids and delete_by_ids request are not documented; these sizes
	// are assumptions, conservative for get.
	getIDsPerRequest    = 20
	deleteIDsPerRequest = maxWriteVectors
)

// ErrIndexNotFound is wrapped by the errors of calls on a Vectorize index that does not
// exist (HTTP 404 or code 3000); the *llm.Error stays reachable with errors.As.
var ErrIndexNotFound = errors.New("embed: vectorize index not found")

// Metric is how a Vectorize index measures closeness.
type Metric string

// The metrics of a Vectorize index. With cosine and dot-product a higher Hit.Score is
// closer; with euclidean Hit.Score is a distance and lower is closer.
const (
	MetricCosine     Metric = "cosine"
	MetricEuclidean  Metric = "euclidean"
	MetricDotProduct Metric = "dot-product"
)

// IndexConfig describes a Vectorize index to create. Give Model, an embeddings model the
// catalog knows (bge-small-en-v1.5 makes 384 dimensions, bge-base 768, bge-large 1024), or
// Dimensions. Metric defaults to cosine, which suits every Workers AI embeddings model.
type IndexConfig struct {
	Model       string
	Dimensions  int
	Metric      Metric
	Description string
}

// IndexDescription is a Vectorize index as the service describes it.
type IndexDescription struct {
	Name        string
	Description string
	Dimensions  int
	Metric      Metric
	CreatedOn   time.Time // zero when the service sent none, or in a form other than RFC 3339
	ModifiedOn  time.Time
}

// IndexInfo is the state of a Vectorize index.
type IndexInfo struct {
	Dimensions  int
	VectorCount int
	// ProcessedUpToMutation is the id of the last write applied; every write accepted
	// before it is visible to queries. "" before the first.
	ProcessedUpToMutation string
	// ProcessedUpToDatetime is the date of that write, by the service's clock; zero before
	// the first.
	ProcessedUpToDatetime time.Time
}

// MetadataType is the type of a metadata index.
type MetadataType string

// The types a metadata index can have.
const (
	MetadataString  MetadataType = "string"
	MetadataNumber  MetadataType = "number"
	MetadataBoolean MetadataType = "boolean"
)

// MetadataIndex makes a metadata property filterable in queries.
type MetadataIndex struct {
	Property string
	Type     MetadataType
}

// VectorizeOption configures a Vectorize.
type VectorizeOption func(*vectorizeConfig)

type vectorizeConfig struct {
	dims        int
	concurrency int
	wait        bool
	pollInitial time.Duration
	pollMax     time.Duration
}

// WithIndexDimensions tells the Vectorize the index's dimension, so that it need not ask
// the service (one info request, then cached) before its first write or query.
func WithIndexDimensions(n int) VectorizeOption { return func(c *vectorizeConfig) { c.dims = n } }

// WithWriteConcurrency sets how many write requests (of up to 5,000 vectors each) may be
// in flight at once (default 4; at least 1).
func WithWriteConcurrency(n int) VectorizeOption {
	return func(c *vectorizeConfig) { c.concurrency = n }
}

// WithWaitForWrites makes Upsert, Insert and Delete return only once their writes are
// processed and visible to queries (see WaitFor), instead of once they are accepted.
func WithWaitForWrites() VectorizeOption { return func(c *vectorizeConfig) { c.wait = true } }

// WithPollInterval sets how WaitFor and Sync poll the index: first after initial, then at
// growing intervals up to max (defaults 500 ms and 10 s).
func WithPollInterval(initial, max time.Duration) VectorizeOption {
	return func(c *vectorizeConfig) { c.pollInitial, c.pollMax = initial, max }
}

// Vectorize is a Store on a Cloudflare Vectorize index (REST API v2), reached with the
// llm.Client's account, token and retry policy: the Store for a corpus that outgrows one
// process. An Index works the same on it as on a MemoryStore:
//
//	v := embed.NewVectorize(client, "docs")
//	_, err := v.Create(ctx, embed.IndexConfig{Model: "@cf/baai/bge-small-en-v1.5"}) // once
//	ix := embed.NewIndexOn(embed.New(client, "@cf/baai/bge-small-en-v1.5"), v)
//
// Vectorize is eventually consistent: a write is accepted at once and applied a few
// seconds later. Upsert, Insert and Delete return when their writes are accepted, unless
// WithWaitForWrites is set; WaitFor and Sync wait for them to be applied. Writes are sent
// as NDJSON in requests of at most 5,000 vectors and 100 MB, several at once
// (WithWriteConcurrency).
//
// Every limit of the service is checked before a request is sent: IDs of 1 to 64 bytes,
// at most 1,536 dimensions and the index's own, at most 10 KiB of metadata per vector
// (JSON-encoded) under keys that are not empty, contain no . or " and do not start with $,
// namespaces of at most 64 bytes, TopK of at most 100 (20 with metadata). Filters take the
// operators of Filter, and on the service only properties with a metadata index
// (CreateMetadataIndex) can be filtered on.
//
// A Vectorize is safe for concurrent use. NewVectorize does not fail: a bad argument is
// returned by every call.
type Vectorize struct {
	c    *llm.Client
	name string
	cfg  vectorizeConfig
	err  error
	dims atomic.Int64 // the index's dimension; 0 until known
	// the index's metric once Create or Describe has told it ("" until then)
	knownMetric atomic.Pointer[Metric]
	log         mutationLog
}

// NewVectorize returns the Vectorize index named index on c's account. The index must
// exist (see Create) before vectors are written to it.
func NewVectorize(c *llm.Client, index string, opts ...VectorizeOption) *Vectorize {
	v := &Vectorize{c: c, name: index, cfg: vectorizeConfig{
		concurrency: defaultConcurrent, pollInitial: 500 * time.Millisecond, pollMax: 10 * time.Second,
	}}
	for _, o := range opts {
		o(&v.cfg)
	}
	v.dims.Store(int64(v.cfg.dims))
	v.log.order = semaphore.NewWeighted(fenceWeight)
	switch cfg := v.cfg; {
	case c == nil:
		v.err = errors.New("embed: vectorize: nil llm.Client")
	case index == "" || len(index) > maxIndexNameBytes || url.PathEscape(index) != index:
		v.err = fmt.Errorf("embed: vectorize index name %q: want 1 to %d bytes that need no escaping in a URL path", index, maxIndexNameBytes)
	case cfg.dims < 0 || cfg.dims > MaxVectorizeDimensions:
		v.err = fmt.Errorf("embed: vectorize index dimensions %d: want 1 to %d", cfg.dims, MaxVectorizeDimensions)
	case cfg.concurrency < 1:
		v.err = fmt.Errorf("embed: vectorize write concurrency %d: must be at least 1", cfg.concurrency)
	case cfg.pollInitial <= 0 || cfg.pollMax < cfg.pollInitial:
		v.err = fmt.Errorf("embed: vectorize poll interval %v up to %v: want 0 < initial <= max", cfg.pollInitial, cfg.pollMax)
	}
	return v
}

// ready returns the error every call of v returns: a bad argument to NewVectorize, or a
// Vectorize not made by it.
func (v *Vectorize) ready() error {
	switch {
	case v.err != nil:
		return v.err
	case v.log.order == nil:
		return errors.New("embed: vectorize: use NewVectorize to make a Vectorize")
	}
	return nil
}

// Name returns the index name.
func (v *Vectorize) Name() string { return v.name }

func (v *Vectorize) path(sub string) string {
	if sub == "" {
		return "vectorize/v2/indexes/" + v.name
	}
	return "vectorize/v2/indexes/" + v.name + "/" + sub
}

// call sends one request to the index and decodes the result into out, naming the index
// and the operation in the error.
func (v *Vectorize) call(ctx context.Context, op, method, sub, contentType string, body []byte, out any) error {
	if err := v.ready(); err != nil {
		return err
	}
	err := v.c.AccountAPI(ctx, method, v.path(sub), contentType, body, out)
	if err == nil {
		return nil
	}
	if e, ok := errors.AsType[*llm.Error](err); ok && (e.Status == http.StatusNotFound || e.Code == 3000) {
		// 3000 is the live code for a missing index (probed: alchemy-run/distilled#308).
		return fmt.Errorf("embed: vectorize index %q: %s: %w: %w", v.name, op, ErrIndexNotFound, err)
	}
	return fmt.Errorf("embed: vectorize index %q: %s: %w", v.name, op, err)
}

func (v *Vectorize) postJSON(ctx context.Context, op, sub string, in, out any) error {
	body, err := json.Marshal(in)
	if err != nil {
		return fmt.Errorf("embed: vectorize index %q: %s: encode: %w", v.name, op, err)
	}
	return v.call(ctx, op, http.MethodPost, sub, "application/json", body, out)
}

// wireIndex is an index as the v2 API describes it.
type wireIndex struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Config      struct {
		Dimensions int    `json:"dimensions"`
		Metric     Metric `json:"metric"`
	} `json:"config"`
	CreatedOn  string `json:"created_on"`
	ModifiedOn string `json:"modified_on"`
}

func (w wireIndex) description() *IndexDescription {
	return &IndexDescription{Name: w.Name, Description: w.Description, Dimensions: w.Config.Dimensions,
		Metric: w.Config.Metric, CreatedOn: parseTime(w.CreatedOn), ModifiedOn: parseTime(w.ModifiedOn)}
}

func parseTime(s string) time.Time {
	t, _ := time.Parse(time.RFC3339Nano, s) // a missing or odd timestamp is reported as zero
	return t
}

// ListVectorizeIndexes returns the Vectorize indexes of c's account.
func ListVectorizeIndexes(ctx context.Context, c *llm.Client) ([]IndexDescription, error) {
	if c == nil {
		return nil, errors.New("embed: list vectorize indexes: nil llm.Client")
	}
	var w []wireIndex
	if err := c.AccountAPI(ctx, http.MethodGet, "vectorize/v2/indexes", "", nil, &w); err != nil {
		return nil, fmt.Errorf("embed: list vectorize indexes: %w", err)
	}
	out := make([]IndexDescription, len(w))
	for i, x := range w {
		out[i] = *x.description()
	}
	return out, nil
}

// Create creates the index with cfg. An index of that name must not exist already: the
// service refuses a duplicate (code 3002).
func (v *Vectorize) Create(ctx context.Context, cfg IndexConfig) (*IndexDescription, error) {
	if err := v.ready(); err != nil {
		return nil, err
	}
	dims, metric := cfg.Dimensions, cfg.Metric
	if cfg.Model != "" {
		info, ok := llm.LookupModel(cfg.Model)
		switch {
		case !ok || info.Task != llm.TaskTextEmbeddings || info.Dimensions == 0:
			return nil, fmt.Errorf("embed: create vectorize index %q: %s is not an embeddings model the catalog knows; give Dimensions instead", v.name, cfg.Model)
		case dims != 0 && dims != info.Dimensions:
			return nil, fmt.Errorf("embed: create vectorize index %q: Dimensions %d, but %s makes %d", v.name, dims, cfg.Model, info.Dimensions)
		}
		dims = info.Dimensions
	}
	if metric == "" {
		metric = MetricCosine
	}
	switch {
	case dims < 1 || dims > MaxVectorizeDimensions:
		return nil, fmt.Errorf("embed: create vectorize index %q: Dimensions %d: want 1 to %d (or a Model)", v.name, dims, MaxVectorizeDimensions)
	case metric != MetricCosine && metric != MetricEuclidean && metric != MetricDotProduct:
		return nil, fmt.Errorf("embed: create vectorize index %q: metric %q: want cosine, euclidean or dot-product", v.name, metric)
	}
	type config struct {
		Dimensions int    `json:"dimensions"`
		Metric     Metric `json:"metric"`
	}
	body, err := json.Marshal(struct {
		Name        string `json:"name"`
		Description string `json:"description,omitempty"`
		Config      config `json:"config"`
	}{v.name, cfg.Description, config{dims, metric}})
	if err != nil {
		return nil, fmt.Errorf("embed: create vectorize index %q: %w", v.name, err)
	}
	var w wireIndex
	if err := v.c.AccountAPI(ctx, http.MethodPost, "vectorize/v2/indexes", "application/json", body, &w); err != nil {
		return nil, fmt.Errorf("embed: create vectorize index %q: %w", v.name, err)
	}
	v.dims.Store(int64(dims))
	v.knownMetric.Store(&metric)
	return w.description(), nil
}

func (v *Vectorize) metric() Metric {
	if m := v.knownMetric.Load(); m != nil {
		return *m
	}
	return ""
}

// Describe returns the index's name, description, dimension and metric. It wraps
// ErrIndexNotFound when there is no such index.
func (v *Vectorize) Describe(ctx context.Context) (*IndexDescription, error) {
	var w wireIndex
	if err := v.call(ctx, "describe", http.MethodGet, "", "", nil, &w); err != nil {
		return nil, err
	}
	d := w.description()
	v.knownMetric.Store(&d.Metric)
	return d, nil
}

// Info returns the index's vector count and how far its writes have been processed.
func (v *Vectorize) Info(ctx context.Context) (*IndexInfo, error) {
	var w struct {
		Dimensions            int     `json:"dimensions"`
		VectorCount           int     `json:"vectorCount"`
		ProcessedUpToDatetime *string `json:"processedUpToDatetime"`
		ProcessedUpToMutation *string `json:"processedUpToMutation"`
	}
	if err := v.call(ctx, "info", http.MethodGet, "info", "", nil, &w); err != nil {
		return nil, err
	}
	info := &IndexInfo{Dimensions: w.Dimensions, VectorCount: w.VectorCount}
	if w.ProcessedUpToMutation != nil {
		info.ProcessedUpToMutation = *w.ProcessedUpToMutation
	}
	if w.ProcessedUpToDatetime != nil {
		info.ProcessedUpToDatetime = parseTime(*w.ProcessedUpToDatetime)
	}
	return info, nil
}

// DeleteIndex deletes the index and every vector in it.
func (v *Vectorize) DeleteIndex(ctx context.Context) error {
	if err := v.call(ctx, "delete index", http.MethodDelete, "", "", nil, nil); err != nil {
		return err
	}
	v.dims.Store(int64(v.cfg.dims))
	v.knownMetric.Store(nil)
	return nil
}

// dimensions returns the index's dimension: given, learnt from Create, or asked once.
func (v *Vectorize) dimensions(ctx context.Context) (int, error) {
	if d := v.dims.Load(); d > 0 {
		return int(d), nil
	}
	info, err := v.Info(ctx)
	if err != nil {
		return 0, err
	}
	if info.Dimensions < 1 {
		return 0, fmt.Errorf("embed: vectorize index %q: info reports %d dimensions", v.name, info.Dimensions)
	}
	v.dims.Store(int64(info.Dimensions))
	return info.Dimensions, nil
}

func (v *Vectorize) checkDims(ctx context.Context, op string, n int) error {
	dims, err := v.dimensions(ctx)
	if err != nil {
		return err
	}
	if n != dims {
		return fmt.Errorf("embed: vectorize index %q: %s: %d dimensions; the index has %d", v.name, op, n, dims)
	}
	return nil
}

// CreateMetadataIndex makes property filterable. It lists the metadata indexes first and
// refuses an eleventh; the service only indexes vectors written after the metadata index
// exists. It returns the mutation id of the change.
func (v *Vectorize) CreateMetadataIndex(ctx context.Context, property string, typ MetadataType) (string, error) {
	if err := v.ready(); err != nil {
		return "", err
	}
	if err := checkFilterKey(property); err != nil {
		return "", fmt.Errorf("embed: vectorize index %q: metadata index: %w", v.name, err)
	}
	if typ != MetadataString && typ != MetadataNumber && typ != MetadataBoolean {
		return "", fmt.Errorf("embed: vectorize index %q: metadata index %q: type %q is not string, number or boolean", v.name, property, typ)
	}
	existing, err := v.MetadataIndexes(ctx)
	if err != nil {
		return "", err
	}
	if len(existing) >= MaxMetadataIndexes && !slices.ContainsFunc(existing, func(m MetadataIndex) bool { return m.Property == property }) {
		return "", fmt.Errorf("embed: vectorize index %q: metadata index %q: the index has %d already, the most it can have", v.name, property, len(existing))
	}
	return v.mutateJSON(ctx, "create metadata index", "metadata_index/create", map[string]any{"propertyName": property, "indexType": typ})
}

// MetadataIndexes lists the index's metadata indexes.
func (v *Vectorize) MetadataIndexes(ctx context.Context) ([]MetadataIndex, error) {
	var w struct {
		MetadataIndexes []struct {
			PropertyName string       `json:"propertyName"`
			IndexType    MetadataType `json:"indexType"`
		} `json:"metadataIndexes"`
	}
	if err := v.call(ctx, "list metadata indexes", http.MethodGet, "metadata_index/list", "", nil, &w); err != nil {
		return nil, err
	}
	out := make([]MetadataIndex, len(w.MetadataIndexes))
	for i, m := range w.MetadataIndexes {
		out[i] = MetadataIndex{m.PropertyName, m.IndexType}
	}
	return out, nil
}

// DeleteMetadataIndex removes the metadata index on property and returns the mutation id
// of the change.
func (v *Vectorize) DeleteMetadataIndex(ctx context.Context, property string) (string, error) {
	if err := v.ready(); err != nil {
		return "", err
	}
	if property == "" {
		return "", fmt.Errorf("embed: vectorize index %q: delete metadata index: empty property name", v.name)
	}
	return v.mutateJSON(ctx, "delete metadata index", "metadata_index/delete", map[string]string{"propertyName": property})
}

// Insert adds vectors; the service leaves a vector whose ID it holds already as it is. It
// returns the mutation id of each request sent, in order. Limits and batching are those of
// Upsert.
func (v *Vectorize) Insert(ctx context.Context, vs []Vector) ([]string, error) {
	return v.write(ctx, "insert", vs)
}

// Upsert adds vectors, replacing those with the same ID; within vs the last one with an ID
// wins, as in MemoryStore. Nothing is sent when one of vs breaks a limit of the service
// (see Vectorize). Requests go out several at once; when one fails the rest are
// cancelled, and those already accepted stay written.
//
// Upsert returns once the service has accepted the writes, before they are visible to
// queries; LastMutation, WaitFor and Sync tell when they are, or set WithWaitForWrites.
func (v *Vectorize) Upsert(ctx context.Context, vs []Vector) error {
	_, err := v.write(ctx, "upsert", vs)
	return err
}

func (v *Vectorize) write(ctx context.Context, op string, vs []Vector) ([]string, error) {
	if err := v.ready(); err != nil {
		return nil, err
	}
	if len(vs) == 0 {
		return nil, nil
	}
	// Within one call the last vector with an ID wins: batches go out concurrently, so
	// sending both could apply them in either order.
	last := make(map[string]int, len(vs))
	for i, x := range vs {
		last[x.ID] = i
	}
	lines := make([][]byte, 0, len(last))
	ids := make([]string, 0, len(last))
	for i, x := range vs {
		line, err := encodeVector(x, len(vs[0].Values)) // replaced vectors are checked too
		if err != nil {
			return nil, fmt.Errorf("embed: vectorize index %q: %s: vector %d: %w", v.name, op, i, err)
		}
		if last[x.ID] == i {
			lines = append(lines, line)
			ids = append(ids, x.ID)
		}
	}
	if err := v.checkDims(ctx, op, len(vs[0].Values)); err != nil {
		return nil, err
	}
	type batch struct{ start, end, size int }
	var batches []batch
	for i, l := range lines {
		n := len(batches)
		if n == 0 || batches[n-1].end-batches[n-1].start == maxWriteVectors || batches[n-1].size+len(l) > maxWriteBytes {
			batches = append(batches, batch{start: i, end: i})
			n++
		}
		batches[n-1].end++
		batches[n-1].size += len(l)
	}
	mutations := make([]string, len(batches))
	send := func(ctx context.Context, j int, fence bool) error {
		b := batches[j]
		body := make([]byte, 0, b.size)
		for _, l := range lines[b.start:b.end] {
			body = append(body, l...)
		}
		id, err := v.mutate(ctx, op, op, "application/x-ndjson", body, fence)
		if err != nil {
			return fmt.Errorf("%w (request %d of %d: vectors %q to %q)", err, j+1, len(batches), ids[b.start], ids[b.end-1])
		}
		mutations[j] = id
		return nil
	}
	// All requests but the last go out at once; the last goes alone once they are
	// accepted (a fence, see mutationLog), so that when it is processed so are they.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.cfg.concurrency)
	for j := range len(batches) - 1 {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			return send(gctx, j, false)
		})
	}
	err := g.Wait()
	if err == nil {
		err = send(ctx, len(batches)-1, true)
	}
	if err != nil {
		v.log.abandon(mutations)
		return nil, err
	}
	return mutations, v.waitIfAsked(ctx, mutations)
}

// encodeVector checks x against the service's limits and returns its NDJSON line
// {"id","values","metadata","namespace"}. dims is the dimension all vectors of the call
// must share.
func encodeVector(x Vector, dims int) ([]byte, error) {
	switch {
	case x.ID == "":
		return nil, errors.New("empty ID")
	case len(x.ID) > maxVectorIDBytes:
		return nil, fmt.Errorf("ID %q is %d bytes; Vectorize takes at most %d", x.ID, len(x.ID), maxVectorIDBytes)
	case len(x.Values) == 0:
		return nil, fmt.Errorf("vector %q has no values", x.ID)
	case len(x.Values) > MaxVectorizeDimensions:
		return nil, fmt.Errorf("vector %q has %d dimensions; Vectorize takes at most %d", x.ID, len(x.Values), MaxVectorizeDimensions)
	case len(x.Values) != dims:
		return nil, fmt.Errorf("vector %q has %d dimensions, the first vector %d", x.ID, len(x.Values), dims)
	case !finite(x.Values):
		return nil, fmt.Errorf("vector %q has a value that is not a finite number", x.ID)
	case len(x.Namespace) > maxNamespaceBytes:
		return nil, fmt.Errorf("vector %q: namespace %q is %d bytes; Vectorize takes at most %d", x.ID, x.Namespace, len(x.Namespace), maxNamespaceBytes)
	}
	id, err := json.Marshal(x.ID)
	if err != nil {
		return nil, err
	}
	line := make([]byte, 0, len(id)+12*len(x.Values)+64)
	line = append(append(line, `{"id":`...), id...)
	line = append(line, `,"values":[`...)
	for i, f := range x.Values {
		if i > 0 {
			line = append(line, ',')
		}
		line = strconv.AppendFloat(line, float64(f), 'g', -1, 32)
	}
	line = append(line, ']')
	if len(x.Metadata) > 0 {
		meta, err := encodeMetadata(x.Metadata)
		if err != nil {
			return nil, fmt.Errorf("vector %q: %w", x.ID, err)
		}
		line = append(append(line, `,"metadata":`...), meta...)
	}
	if x.Namespace != "" {
		ns, err := json.Marshal(x.Namespace)
		if err != nil {
			return nil, err
		}
		line = append(append(line, `,"namespace":`...), ns...)
	}
	return append(line, '}', '\n'), nil
}

// encodeMetadata checks metadata keys, nested ones included, and the encoded size.
func encodeMetadata(md map[string]any) ([]byte, error) {
	if err := checkMetadataKeys(md, ""); err != nil {
		return nil, err
	}
	b, err := json.Marshal(md)
	if err != nil {
		return nil, fmt.Errorf("metadata: %w", err)
	}
	if len(b) > maxMetadataBytes {
		return nil, fmt.Errorf("metadata is %d bytes as JSON; Vectorize takes at most %d (10 KiB)", len(b), maxMetadataBytes)
	}
	return b, nil
}

func checkMetadataKeys(md map[string]any, prefix string) error {
	for k, val := range md {
		if k == "" || strings.ContainsAny(k, `."`) || strings.HasPrefix(k, "$") {
			return fmt.Errorf("metadata key %q: must not be empty, contain . or \" or start with $", prefix+k)
		}
		if inner, ok := val.(map[string]any); ok {
			if err := checkMetadataKeys(inner, prefix+k+"."); err != nil {
				return err
			}
		}
	}
	return nil
}

func checkFilterKey(key string) error {
	if key == "" || strings.HasPrefix(key, "$") || strings.Contains(key, `"`) {
		return fmt.Errorf("property %q: must not be empty, start with $ or contain \"", key)
	}
	return nil
}

// Query returns the q.TopK vectors closest to vector, closest first. Hit.Score is the
// index metric's score: the cosine similarity on a cosine index. An all-zero vector is
// refused unless the index is known (from Create or Describe) to be euclidean: on cosine
// and dot-product indexes it scores 0 against everything. q.Filter is checked
// before sending (see Filter); on the service it only applies to properties with a
// metadata index. A query sees only writes already processed (see WaitFor).
func (v *Vectorize) Query(ctx context.Context, vector []float32, q Query) ([]Hit, error) {
	if err := v.ready(); err != nil {
		return nil, err
	}
	limit, with := maxTopK, ""
	if q.ReturnMetadata {
		limit, with = maxTopKWithData, " with metadata"
	}
	fail := func(format string, args ...any) ([]Hit, error) {
		return nil, fmt.Errorf("embed: vectorize index %q: query: "+format, append([]any{v.name}, args...)...)
	}
	switch {
	case q.TopK < 1 || q.TopK > limit:
		return fail("TopK %d: Vectorize returns 1 to %d matches%s", q.TopK, limit, with)
	case len(q.Namespace) > maxNamespaceBytes:
		return fail("namespace %q is %d bytes; Vectorize takes at most %d", q.Namespace, len(q.Namespace), maxNamespaceBytes)
	case len(vector) == 0 || len(vector) > MaxVectorizeDimensions:
		return fail("the vector has %d dimensions; Vectorize takes 1 to %d", len(vector), MaxVectorizeDimensions)
	case !finite(vector):
		return fail("the vector has a value that is not a finite number")
	case zero(vector) && v.metric() != MetricEuclidean:
		return fail("the vector is all zeros: it has no direction, so on a cosine or dot-product index every vector would score 0")
	}
	if _, err := vecfilter.Parse(q.Filter); err != nil {
		return fail("%w", err)
	}
	if err := v.checkDims(ctx, "query", len(vector)); err != nil {
		return nil, err
	}
	returnMetadata := "none"
	if q.ReturnMetadata {
		returnMetadata = "all"
	}
	in := struct {
		Vector         []float32      `json:"vector"`
		TopK           int            `json:"topK"`
		ReturnValues   bool           `json:"returnValues"`
		ReturnMetadata string         `json:"returnMetadata"`
		Namespace      string         `json:"namespace,omitempty"`
		Filter         map[string]any `json:"filter,omitempty"`
	}{vector, q.TopK, false, returnMetadata, q.Namespace, q.Filter}
	var out struct {
		Matches []struct {
			ID       string         `json:"id"`
			Score    float32        `json:"score"`
			Metadata map[string]any `json:"metadata"`
		} `json:"matches"`
	}
	if err := v.postJSON(ctx, "query", "query", in, &out); err != nil {
		return nil, err
	}
	hits := make([]Hit, len(out.Matches))
	for i, m := range out.Matches {
		hits[i] = Hit{ID: m.ID, Score: m.Score}
		if q.ReturnMetadata {
			hits[i].Metadata = m.Metadata
		}
	}
	return hits, nil
}

func checkIDs(ids []string) error {
	for i, id := range ids {
		if id == "" || len(id) > maxVectorIDBytes {
			return fmt.Errorf("ID %d (%q): want 1 to %d bytes", i, id, maxVectorIDBytes)
		}
	}
	return nil
}

// Get returns the stored vectors with the given IDs, in the order asked, leaving out IDs
// the index does not hold (or holds in writes not yet processed). IDs are fetched 20 to a
// request, several requests at once.
func (v *Vectorize) Get(ctx context.Context, ids ...string) ([]Vector, error) {
	if err := v.ready(); err != nil {
		return nil, err
	}
	if err := checkIDs(ids); err != nil {
		return nil, fmt.Errorf("embed: vectorize index %q: get: %w", v.name, err)
	}
	unique := slices.Compact(slices.Sorted(slices.Values(ids)))
	var (
		mu    sync.Mutex
		found = make(map[string]Vector, len(unique))
	)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(v.cfg.concurrency)
	for chunk := range slices.Chunk(unique, getIDsPerRequest) {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			var out []struct {
				ID        string         `json:"id"`
				Values    []float32      `json:"values"`
				Metadata  map[string]any `json:"metadata"`
				Namespace string         `json:"namespace"`
			}
			if err := v.postJSON(gctx, "get", "get_by_ids", map[string][]string{"ids": chunk}, &out); err != nil {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for _, x := range out {
				found[x.ID] = Vector{ID: x.ID, Values: x.Values, Metadata: x.Metadata, Namespace: x.Namespace}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	var out []Vector
	for _, id := range ids {
		if x, ok := found[id]; ok {
			out = append(out, x)
		}
	}
	return out, nil
}

// Delete removes the vectors with the given IDs; unknown IDs are not an error. Like
// Upsert, it returns once the deletion is accepted unless WithWaitForWrites is set.
func (v *Vectorize) Delete(ctx context.Context, ids ...string) error {
	if err := v.ready(); err != nil {
		return err
	}
	if err := checkIDs(ids); err != nil {
		return fmt.Errorf("embed: vectorize index %q: delete: %w", v.name, err)
	}
	var mutations []string
	for chunk := range slices.Chunk(ids, deleteIDsPerRequest) {
		id, err := v.mutateJSON(ctx, "delete", "delete_by_ids", map[string][]string{"ids": chunk})
		if err != nil {
			v.log.abandon(mutations)
			return err
		}
		mutations = append(mutations, id)
	}
	return v.waitIfAsked(ctx, mutations)
}

func (v *Vectorize) mutateJSON(ctx context.Context, op, sub string, in any) (string, error) {
	body, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("embed: vectorize index %q: %s: encode: %w", v.name, op, err)
	}
	return v.mutate(ctx, op, sub, "application/json", body, true)
}

// mutate sends a write and records its mutation id with what is known of its order. A
// fence is sent alone: after every write of this Vectorize already sent has been
// accepted, and before any other is sent.
func (v *Vectorize) mutate(ctx context.Context, op, sub, contentType string, body []byte, fence bool) (string, error) {
	var out struct {
		MutationID string `json:"mutationId"`
	}
	weight := int64(1)
	if fence {
		weight = fenceWeight
	}
	if err := v.log.order.Acquire(ctx, weight); err != nil {
		return "", fmt.Errorf("embed: vectorize index %q: %s: %w", v.name, op, err)
	}
	defer v.log.order.Release(weight)
	seq, after := v.log.begin()
	if err := v.call(ctx, op, http.MethodPost, sub, contentType, body, &out); err != nil {
		return "", err
	}
	if out.MutationID == "" {
		return "", fmt.Errorf("embed: vectorize index %q: %s: the reply has no mutationId", v.name, op)
	}
	v.log.add(out.MutationID, seq, after, fence)
	return out.MutationID, nil
}

func (v *Vectorize) waitIfAsked(ctx context.Context, mutations []string) error {
	if !v.cfg.wait {
		return nil
	}
	for _, id := range slices.Backward(mutations) { // the last is the fence: it covers the rest
		if err := v.WaitFor(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// LastMutation returns the mutation id of the most recent write of this Vectorize to be
// accepted whole, "" before the first. Once it is processed, so are all earlier writes of
// this Vectorize.
func (v *Vectorize) LastMutation() string {
	v.log.mu.Lock()
	defer v.log.mu.Unlock()
	return v.log.last
}

var errNotProcessed = errors.New("embed: mutation not processed yet")

// WaitFor polls the index's info, at growing intervals (WithPollInterval), until the
// write with mutationID has been processed, or ctx ends.
//
// Vectorize applies writes one after another in the order it accepted them, and info
// reports the last one applied: its id (processedUpToMutation) and its date
// (processedUpToDatetime). Mutation ids are opaque, so a write is known to be processed
// when info names it, or names a write of this Vectorize sent after it was accepted, or
// names a write from elsewhere (another process on the same index) dated at or after the
// moment its acceptance reached this process. The last rule compares the service's clock
// with this machine's, which must be set right (as NTP keeps it).
//
// Writes of this Vectorize are ordered so that this always ends: the last request of each
// write is sent alone, after the others of this Vectorize are accepted and before any more
// are sent. For an id this Vectorize did not make, the moment WaitFor is called stands in
// for the moment of acceptance.
func (v *Vectorize) WaitFor(ctx context.Context, mutationID string) error {
	if err := v.ready(); err != nil {
		return err
	}
	if mutationID == "" {
		return fmt.Errorf("embed: vectorize index %q: wait: empty mutation id", v.name)
	}
	target := v.log.target(mutationID)
	if v.log.covered(target, "", time.Time{}) {
		return nil
	}
	exp := backoff.NewExponentialBackOff(
		backoff.WithInitialInterval(v.cfg.pollInitial),
		backoff.WithMaxInterval(v.cfg.pollMax),
		backoff.WithMaxElapsedTime(0), // ctx bounds the wait
	)
	var infoErr error
	err := backoff.Retry(func() error {
		info, err := v.Info(ctx)
		if err != nil {
			infoErr = err
			return backoff.Permanent(err)
		}
		v.log.observe(info.ProcessedUpToMutation, info.ProcessedUpToDatetime)
		if v.log.covered(target, info.ProcessedUpToMutation, info.ProcessedUpToDatetime) {
			return nil
		}
		return errNotProcessed
	}, backoff.WithContext(exp, ctx)) // WithContext outermost, or a sleep would not end with ctx
	switch {
	case infoErr != nil:
		return infoErr
	case err != nil:
		return fmt.Errorf("embed: vectorize index %q: wait for mutation %s: %w", v.name, mutationID, err)
	}
	return nil
}

// Sync waits until every write this Vectorize has made is processed and visible to
// queries. A write that failed is not waited for, even if some of its requests were
// accepted.
func (v *Vectorize) Sync(ctx context.Context) error {
	if err := v.ready(); err != nil {
		return err
	}
	pending := v.log.pending()
	for _, id := range slices.Backward(pending) { // the latest covers the earlier ones
		if err := v.WaitFor(ctx, id); err != nil {
			return err
		}
	}
	return nil
}

// fenceWeight is what a fence takes of mutationLog.order: all of it.
const fenceWeight = 1 << 30

// mutationLog remembers this Vectorize's writes and what is known of their order: write B
// was accepted after write A when B was sent after A's reply arrived. Requests of one
// write go out at once and have no known order among themselves; the last request of each
// write is a fence, which holds all of order, so every other request is either accepted
// before it is sent or sent after it is accepted.
type mutationLog struct {
	order *semaphore.Weighted

	mu        sync.Mutex
	sent      int64 // requests sent so far
	completed int64 // requests accepted so far
	byID      map[string]*mutation
	last      string
}

type mutation struct {
	seq        int64     // its number among requests sent
	after      int64     // requests accepted when this one was sent
	done       int64     // its number among accepted requests
	acceptedBy time.Time // wall clock, to the microsecond, once its reply arrived
	processed  bool
	abandoned  bool // part of a write that failed: Sync does not wait for it
}

// waitTarget is what WaitFor knows of the write it waits for.
type waitTarget struct {
	id  string
	own *mutation // nil for a write this Vectorize did not make
	// For a write from elsewhere: requests of this Vectorize sent so far, and the time,
	// when WaitFor was called; the write was accepted before both.
	sentBefore int64
	calledAt   time.Time
}

// begin counts a request about to be sent and returns its number among requests sent and
// the number of requests accepted so far.
func (l *mutationLog) begin() (seq, after int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sent++
	return l.sent, l.completed
}

func (l *mutationLog) add(id string, seq, after int64, fence bool) {
	now := time.Now().Round(0).Truncate(time.Microsecond)
	l.mu.Lock()
	defer l.mu.Unlock()
	l.completed++
	if l.byID == nil {
		l.byID = map[string]*mutation{}
	}
	l.byID[id] = &mutation{seq: seq, after: after, done: l.completed, acceptedBy: now}
	if fence {
		l.last = id
	}
}

// abandon marks the accepted requests of a failed write ("" for those not accepted).
func (l *mutationLog) abandon(ids []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, id := range ids {
		if m, ok := l.byID[id]; ok {
			m.abandoned = true
		}
	}
}

func (l *mutationLog) target(id string) *waitTarget {
	now := time.Now().Round(0).Truncate(time.Microsecond)
	l.mu.Lock()
	defer l.mu.Unlock()
	return &waitTarget{id: id, own: l.byID[id], sentBefore: l.sent, calledAt: now}
}

// observe records what info reports: the id and date of the last write processed. When
// that write is one of this Vectorize's, every write accepted before it was sent is
// processed too; when it is from elsewhere, every write whose acceptance arrived by its
// date is.
func (l *mutationLog) observe(processed string, at time.Time) {
	if processed == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if p, ok := l.byID[processed]; ok {
		p.processed = true
		for _, m := range l.byID {
			if m.done <= p.after {
				m.processed = true
			}
		}
		return
	}
	if at.IsZero() {
		return
	}
	for _, m := range l.byID {
		if !m.acceptedBy.After(at) {
			m.processed = true
		}
	}
}

// covered reports whether the target is known to be processed, given what info last
// reported ("" and the zero time to only look). A write of this Vectorize is when observe
// has said so. A write from elsewhere is when info names it, or names a write of this
// Vectorize sent after WaitFor was called, or a write dated at or after that call.
func (l *mutationLog) covered(t *waitTarget, reported string, at time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	switch {
	case t.own != nil:
		return t.own.processed
	case reported == "":
		return false
	case reported == t.id:
		return true
	}
	if n, ok := l.byID[reported]; ok && n.seq > t.sentBefore {
		return true
	}
	return !at.IsZero() && !at.Before(t.calledAt)
}

// pending returns the writes not known to be processed, in the order they were accepted.
func (l *mutationLog) pending() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var ids []string
	for id, m := range l.byID {
		if !m.processed && !m.abandoned {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b string) int { return cmp.Compare(l.byID[a].done, l.byID[b].done) })
	return ids
}
