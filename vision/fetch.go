package vision

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"syscall"
	"time"

	"github.com/gowai/gowai/llm"
)

// DefaultFetchTimeout bounds a whole FetchImage call: connecting, redirects and the body.
const DefaultFetchTimeout = 30 * time.Second

// maxRedirects is how many redirects FetchImage follows.
const maxRedirects = 5

// ErrPrivateAddress is matched (errors.Is) when FetchImage refuses to connect to a
// loopback, private, link-local or otherwise non-public address.
var ErrPrivateAddress = errors.New("refusing to fetch from a non-public address")

// FetchOption configures one FetchImage call.
type FetchOption func(*fetchConfig)

type fetchConfig struct {
	allowPrivate bool
	maxBytes     int64
	timeout      time.Duration
	// permit lets tests treat chosen loopback addresses as public, to check that a
	// redirect hop is refused while the first hop is not.
	permit func(netip.AddrPort) bool
}

// AllowPrivate lets FetchImage connect to loopback, private and link-local addresses:
// for a local image server during development, never for URLs users supply.
func AllowPrivate() FetchOption { return func(c *fetchConfig) { c.allowPrivate = true } }

// WithMaxBytes sets FetchImage's size limit (default DefaultMaxImageBytes).
func WithMaxBytes(n int64) FetchOption { return func(c *fetchConfig) { c.maxBytes = n } }

// WithFetchTimeout sets how long a FetchImage call may take in all (default
// DefaultFetchTimeout).
func WithFetchTimeout(d time.Duration) FetchOption { return func(c *fetchConfig) { c.timeout = d } }

// FetchImage downloads an image over http or https, for a model that cannot take URLs:
// the input schemas of Workers AI vision models accept images only as data: URLs or bytes.
//
// Because the URL often comes from a user, FetchImage by default refuses to connect to
// addresses that are not public: loopback, private (RFC 1918, fc00::/7), link-local (such
// as the 169.254.169.254 cloud metadata service), unspecified, multicast, shared CGNAT
// space (100.64.0.0/10), and the IPv4-mapped and NAT64 forms of those. The check runs at
// connect time on the address actually dialled, after DNS resolution, for the first
// request and for every redirect, so neither a redirect nor a DNS answer that changes
// between a check and the connection can get around it. Environment proxies are not used,
// since through a proxy the check would see the proxy's address, not the image host's.
//
// At most 5 redirects are followed. The body is read up to the size limit and no further,
// and it must sniff as PNG, JPEG, GIF or WebP whatever its Content-Type says.
func FetchImage(ctx context.Context, rawURL string, opts ...FetchOption) (llm.Image, error) {
	cfg := fetchConfig{maxBytes: DefaultMaxImageBytes, timeout: DefaultFetchTimeout}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.maxBytes <= 0 {
		return llm.Image{}, fmt.Errorf("vision: fetch: WithMaxBytes(%d) is not positive", cfg.maxBytes)
	}
	if cfg.timeout <= 0 {
		return llm.Image{}, fmt.Errorf("vision: fetch: WithFetchTimeout(%v) is not positive", cfg.timeout)
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: fetch: bad URL: %w", unwrapURLError(err))
	}
	shown := displayURL(u)
	if err := checkScheme(u); err != nil {
		return llm.Image{}, fmt.Errorf("vision: fetch %s: %w", shown, err)
	}
	if u.Hostname() == "" {
		return llm.Image{}, fmt.Errorf("vision: fetch %s: URL has no host", shown)
	}

	ctx, cancel := context.WithTimeout(ctx, cfg.timeout)
	defer cancel()
	tr := &http.Transport{
		Proxy:                  nil,
		DialContext:            cfg.dialer().DialContext,
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		MaxResponseHeaderBytes: 64 << 10,
	}
	defer tr.CloseIdleConnections() // one transport per call: leave no idle connection behind
	client := &http.Client{Transport: tr, CheckRedirect: checkRedirect}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: fetch %s: %w", shown, err)
	}
	req.Header.Set("Accept", "image/png, image/jpeg, image/gif, image/webp")
	resp, err := client.Do(req)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: fetch %s: %w", shown, unwrapURLError(err))
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return llm.Image{}, fmt.Errorf("vision: fetch %s: HTTP %s", shown, resp.Status)
	}
	if resp.ContentLength > cfg.maxBytes {
		return llm.Image{}, fmt.Errorf("vision: fetch %s: %w: Content-Length %d, over the limit of %d",
			shown, ErrTooLarge, resp.ContentLength, cfg.maxBytes)
	}
	b, err := readLimited(resp.Body, cfg.maxBytes)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: fetch %s: %w", shown, err)
	}
	img, err := sniff(b)
	if err != nil {
		return llm.Image{}, fmt.Errorf("vision: fetch %s: %w", shown, err)
	}
	return img, nil
}

// dialer returns a Dialer that checks every address just before connecting to it.
func (c *fetchConfig) dialer() *net.Dialer {
	return &net.Dialer{Timeout: 10 * time.Second, Control: c.control}
}

// control runs after DNS resolution and before connect(2), with the address about to be
// dialled: the one place where the check cannot be raced.
func (c *fetchConfig) control(_, address string, _ syscall.RawConn) error {
	if c.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: cannot read address %q", ErrPrivateAddress, address)
	}
	if publicAddr(ap.Addr()) || c.permit != nil && c.permit(ap) {
		return nil
	}
	return fmt.Errorf("%w: %s (pass vision.AllowPrivate() to allow it)", ErrPrivateAddress, ap.Addr())
}

// Ranges that netip's predicates do not cover.
var (
	nonPublicPrefixes = []netip.Prefix{
		netip.MustParsePrefix("0.0.0.0/8"),          // "this network"; 0.x reaches the local host on Linux
		netip.MustParsePrefix("100.64.0.0/10"),      // shared address space (CGNAT), RFC 6598
		netip.MustParsePrefix("255.255.255.255/32"), // limited broadcast
		netip.MustParsePrefix("::/96"),              // IPv4-compatible IPv6, deprecated
	}
	nat64Prefix = netip.MustParsePrefix("64:ff9b::/96") // RFC 6052: the IPv4 address is the last 4 bytes
)

// publicAddr reports whether ip is a public unicast address.
func publicAddr(ip netip.Addr) bool {
	ip = ip.WithZone("").Unmap()
	if nat64Prefix.Contains(ip) {
		b := ip.As16()
		ip = netip.AddrFrom4([4]byte(b[12:]))
	}
	if !ip.IsValid() || ip.IsUnspecified() || ip.IsLoopback() || ip.IsPrivate() ||
		ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() || ip.IsInterfaceLocalMulticast() || ip.IsMulticast() {
		return false
	}
	for _, p := range nonPublicPrefixes {
		if p.Contains(ip) {
			return false
		}
	}
	return true
}

func checkScheme(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("scheme %q is not allowed; only http and https are", u.Scheme)
	}
	return nil
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > maxRedirects {
		return fmt.Errorf("stopped after %d redirects", maxRedirects)
	}
	if err := checkScheme(req.URL); err != nil {
		return fmt.Errorf("redirect to %s: %w", displayURL(req.URL), err)
	}
	return nil
}

// displayURL is u for error messages, without user info or query, which may hold
// credentials (signed URLs put them in the query).
func displayURL(u *url.URL) string {
	v := *u
	v.User = nil
	v.Fragment, v.RawFragment = "", ""
	if v.RawQuery != "" || v.ForceQuery {
		v.RawQuery, v.ForceQuery = "", false
		return v.String() + "?…"
	}
	return v.String()
}

// unwrapURLError drops the *url.Error layer, whose message repeats the whole URL.
func unwrapURLError(err error) error {
	if ue, ok := errors.AsType[*url.Error](err); ok {
		return ue.Err
	}
	return err
}
