package llm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// GatewayOption configures AI Gateway behaviour for every call of a client.
type GatewayOption func(*gatewayConfig)

type gatewayConfig struct {
	id        string
	cacheTTL  time.Duration
	skipCache bool
	cacheKey  string
	metadata  string // cf-aig-metadata, marshalled when the option was built
	token     *secret
	err       error // the first refused option
}

// WithGateway routes every inference call through the AI Gateway gatewayID:
// {gateway}/v1/{account}/{gatewayID}/workers-ai/{model}, and .../workers-ai/v1/... for
// OpenAIModel and embeddings. Response headers land in Response.Gateway.
func WithGateway(gatewayID string, opts ...GatewayOption) Option {
	return func(c *config) { c.gatewayID, c.gatewayOpts = gatewayID, opts }
}

// WithCacheTTL caches identical requests for ttl (cf-aig-cache-ttl; 60 s to one month).
func WithCacheTTL(ttl time.Duration) GatewayOption {
	return func(g *gatewayConfig) { g.cacheTTL = ttl }
}

// WithSkipCache bypasses the gateway cache (cf-aig-skip-cache).
func WithSkipCache() GatewayOption { return func(g *gatewayConfig) { g.skipCache = true } }

// WithCacheKey sets a custom cache key (cf-aig-cache-key).
func WithCacheKey(key string) GatewayOption { return func(g *gatewayConfig) { g.cacheKey = key } }

// WithMetadata attaches metadata to every gateway log (cf-aig-metadata). Values must be
// strings, numbers or booleans: the gateway takes no nested objects. The map is read once,
// here: later changes to it do not reach the client, and an invalid value is reported by
// NewClient.
func WithMetadata(md map[string]any) GatewayOption {
	header, err := encodeMetadata(md)
	return func(g *gatewayConfig) {
		if err != nil && g.err == nil {
			g.err = err
		}
		g.metadata = header
	}
}

// encodeMetadata checks that md holds only scalar values and returns it as JSON ("" for an
// empty map).
func encodeMetadata(md map[string]any) (string, error) {
	if len(md) == 0 {
		return "", nil
	}
	for k, v := range md {
		switch v.(type) {
		case string, bool, int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64, float32, float64, json.Number:
		default:
			return "", fmt.Errorf("llm: gateway metadata %q has a %T value: only strings, numbers and booleans are allowed", k, v)
		}
	}
	b, err := json.Marshal(md)
	if err != nil {
		return "", fmt.Errorf("llm: gateway metadata: %w", err)
	}
	return string(b), nil
}

// WithGatewayToken authenticates to an Authenticated Gateway (cf-aig-authorization).
func WithGatewayToken(token string) GatewayOption {
	return func(g *gatewayConfig) { g.token = newSecret(token) }
}

func newGatewayConfig(id string, opts []GatewayOption) (*gatewayConfig, error) {
	g := &gatewayConfig{id: id}
	for _, o := range opts {
		o(g)
	}
	if g.err != nil {
		return nil, g.err
	}
	if url.PathEscape(id) != id {
		return nil, fmt.Errorf("llm: gateway id %q must be a plain path segment", id)
	}
	if g.cacheTTL != 0 && (g.cacheTTL < time.Minute || g.cacheTTL > 31*24*time.Hour) {
		return nil, fmt.Errorf("llm: gateway cache TTL %v is outside 60s..one month", g.cacheTTL)
	}
	return g, nil
}

func (g *gatewayConfig) apply(h http.Header) {
	if g.cacheTTL > 0 {
		h.Set("cf-aig-cache-ttl", strconv.Itoa(int(g.cacheTTL/time.Second)))
	}
	if g.skipCache {
		h.Set("cf-aig-skip-cache", "true")
	}
	if g.cacheKey != "" {
		h.Set("cf-aig-cache-key", g.cacheKey)
	}
	if g.metadata != "" {
		h.Set("cf-aig-metadata", g.metadata)
	}
	if g.token != nil && g.token.bearer != nil {
		h["Cf-Aig-Authorization"] = g.token.bearer // canonical form of cf-aig-authorization
	}
}

func gatewayInfo(h http.Header) GatewayInfo {
	return GatewayInfo{LogID: h.Get("cf-aig-log-id"), CacheStatus: h.Get("cf-aig-cache-status")}
}

// Feedback is human feedback on one gateway log entry. Zero fields are not sent.
type Feedback struct {
	Score    *int           // 0..100
	Thumbs   int            // +1 thumbs up, -1 thumbs down, 0 unset
	Metadata map[string]any // scalar values only
}

// GatewayFeedback attaches feedback to the gateway log logID (Response.Gateway.LogID).
func (c *Client) GatewayFeedback(ctx context.Context, gatewayID, logID string, fb Feedback) error {
	if gatewayID == "" || logID == "" {
		return errors.New("llm: gateway feedback: gateway id and log id are required")
	}
	body := map[string]any{}
	if fb.Score != nil {
		if *fb.Score < 0 || *fb.Score > 100 {
			return fmt.Errorf("llm: gateway feedback: score %d is outside 0..100", *fb.Score)
		}
		body["score"] = *fb.Score
	}
	switch fb.Thumbs {
	case 0:
	case 1, -1:
		body["feedback"] = fb.Thumbs
	default:
		return fmt.Errorf("llm: gateway feedback: thumbs %d must be 1, -1 or 0", fb.Thumbs)
	}
	if len(fb.Metadata) > 0 {
		md, err := encodeMetadata(fb.Metadata)
		if err != nil {
			return err
		}
		body["metadata"] = json.RawMessage(md)
	}
	if len(body) == 0 {
		return errors.New("llm: gateway feedback: nothing to send (set Score, Thumbs or Metadata)")
	}
	u := c.accountURL("ai-gateway/gateways/" + url.PathEscape(gatewayID) + "/logs/" + url.PathEscape(logID))
	if err := c.doJSON(ctx, http.MethodPatch, u, body, nil); err != nil {
		return fmt.Errorf("llm: gateway feedback: %w", err)
	}
	return nil
}
