package vision

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// imageServer serves body at every path and counts the requests it gets.
func imageServer(t *testing.T, body []byte) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func TestFetchImageRefusesNonPublicAddresses(t *testing.T) {
	srv, hits := imageServer(t, readTestdata(t, "square.png"))
	port := srv.Listener.Addr().(*net.TCPAddr).Port
	cases := []struct{ name, url string }{
		{"127.0.0.1 test server", srv.URL + "/a.png"},
		{"localhost resolving to loopback", "http://localhost:" + strconv.Itoa(port) + "/a.png"},
		{"IPv4-mapped loopback", "http://[::ffff:127.0.0.1]:" + strconv.Itoa(port) + "/a.png"},
		// Nothing listens on these: a connection attempt would fail differently (refused,
		// timeout), so ErrPrivateAddress shows the dial was stopped before connecting.
		{"::1", "http://[::1]:9/a.png"},
		{"10.x private", "http://10.0.0.1:9/a.png"},
		{"169.254.x link-local metadata service", "http://169.254.169.254/latest/meta-data/"},
		{"0.0.0.0", "http://0.0.0.0:9/"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FetchImage(t.Context(), c.url, WithFetchTimeout(5*time.Second))
			if !errors.Is(err, ErrPrivateAddress) {
				t.Fatalf("err = %v, want ErrPrivateAddress", err)
			}
			if !strings.Contains(err.Error(), "AllowPrivate") {
				t.Errorf("error %q should say how to allow private addresses", err)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("the loopback server got %d requests; refused fetches must not connect", n)
	}
}

func TestFetchImageAllowPrivate(t *testing.T) {
	pngBytes := readTestdata(t, "square.png")
	srv, hits := imageServer(t, pngBytes)
	img, err := FetchImage(t.Context(), srv.URL+"/a.png", AllowPrivate())
	if err != nil {
		t.Fatal(err)
	}
	if img.MIME != "image/png" || string(img.Data) != string(pngBytes) || hits.Load() != 1 {
		t.Errorf("got %s, %d bytes after %d requests; want the PNG after 1", img.MIME, len(img.Data), hits.Load())
	}
}

func TestDialerRefusesBeforeConnecting(t *testing.T) {
	// The dialer FetchImage uses, pointed straight at non-public addresses: Control runs
	// before connect(2), so these fail without a packet being sent.
	var cfg fetchConfig
	for _, addr := range []string{"10.1.2.3:80", "169.254.169.254:80", "192.168.0.1:443", "[fd00::1]:80", "[::1]:80", "127.0.0.1:80"} {
		conn, err := cfg.dialer().DialContext(t.Context(), "tcp", addr)
		if conn != nil {
			conn.Close()
		}
		if !errors.Is(err, ErrPrivateAddress) {
			t.Errorf("dial %s: err = %v, want ErrPrivateAddress", addr, err)
		}
	}
}

func TestPublicAddr(t *testing.T) {
	cases := []struct {
		addr   string
		public bool
	}{
		{"127.0.0.1", false},
		{"127.255.0.9", false},
		{"10.1.2.3", false},
		{"172.16.0.1", false},
		{"172.31.255.255", false},
		{"192.168.1.1", false},
		{"169.254.169.254", false},
		{"100.64.0.1", false},
		{"100.127.255.254", false},
		{"0.0.0.0", false},
		{"0.1.2.3", false},
		{"224.0.0.1", false},
		{"239.255.255.250", false},
		{"255.255.255.255", false},
		{"::", false},
		{"::1", false},
		{"fe80::1", false},
		{"fe80::1%eth0", false},
		{"fc00::1", false},
		{"fd12:3456::1", false},
		{"ff02::1", false},
		{"ff05::2", false},
		{"::ffff:127.0.0.1", false},
		{"::ffff:10.0.0.1", false},
		{"::ffff:169.254.169.254", false},
		{"::ffff:100.64.1.1", false},
		{"::10.0.0.1", false},
		{"64:ff9b::a00:1", false},     // NAT64 of 10.0.0.1
		{"64:ff9b::a9fe:a9fe", false}, // NAT64 of 169.254.169.254
		{"8.8.8.8", true},
		{"1.1.1.1", true},
		{"100.63.255.255", true}, // just below CGNAT
		{"100.128.0.1", true},    // just above CGNAT
		{"172.32.0.1", true},     // just above 172.16/12
		{"::ffff:8.8.8.8", true},
		{"64:ff9b::808:808", true}, // NAT64 of 8.8.8.8
		{"2606:4700:4700::1111", true},
	}
	for _, c := range cases {
		if got := publicAddr(netip.MustParseAddr(c.addr)); got != c.public {
			t.Errorf("publicAddr(%s) = %v, want %v", c.addr, got, c.public)
		}
	}
}

func TestFetchImageRedirects(t *testing.T) {
	pngBytes := readTestdata(t, "square.png")
	target, targetHits := imageServer(t, pngBytes)
	var hops atomic.Int64
	redirector := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hops.Add(1)
		switch r.URL.Path {
		case "/to-target":
			http.Redirect(w, r, target.URL+"/a.png", http.StatusFound)
		case "/to-file":
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		default: // /chain/N redirects N more times, then to the target
			n, _ := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/chain/"))
			if n == 0 {
				http.Redirect(w, r, target.URL+"/a.png", http.StatusFound)
				return
			}
			http.Redirect(w, r, fmt.Sprintf("/chain/%d", n-1), http.StatusFound)
		}
	}))
	t.Cleanup(redirector.Close)
	redirectorAddr := netip.MustParseAddrPort(redirector.Listener.Addr().String())
	// Treat the redirector as a public host, so only the redirect hop is private.
	publicRedirector := func(c *fetchConfig) {
		c.permit = func(ap netip.AddrPort) bool { return ap == redirectorAddr }
	}

	t.Run("a redirect to loopback is refused", func(t *testing.T) {
		_, err := FetchImage(t.Context(), redirector.URL+"/to-target", publicRedirector)
		if !errors.Is(err, ErrPrivateAddress) {
			t.Fatalf("err = %v, want ErrPrivateAddress", err)
		}
		if hops.Load() == 0 || targetHits.Load() != 0 {
			t.Errorf("redirector got %d requests, target %d; want the first hop served and the second refused", hops.Load(), targetHits.Load())
		}
	})
	t.Run("with AllowPrivate the redirect is followed", func(t *testing.T) {
		img, err := FetchImage(t.Context(), redirector.URL+"/to-target", AllowPrivate())
		if err != nil || img.MIME != "image/png" {
			t.Fatalf("got %q, %v", img.MIME, err)
		}
	})
	t.Run("a redirect to another scheme is refused", func(t *testing.T) {
		_, err := FetchImage(t.Context(), redirector.URL+"/to-file", AllowPrivate())
		if err == nil || !strings.Contains(err.Error(), `scheme "file"`) {
			t.Fatalf("err = %v, want a refused file scheme", err)
		}
	})
	t.Run("five redirects are followed", func(t *testing.T) {
		// chain/4 → 3 → 2 → 1 → 0 → target: five redirects.
		if _, err := FetchImage(t.Context(), redirector.URL+"/chain/4", AllowPrivate()); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("a sixth redirect is refused", func(t *testing.T) {
		_, err := FetchImage(t.Context(), redirector.URL+"/chain/5", AllowPrivate())
		if err == nil || !strings.Contains(err.Error(), "5 redirects") {
			t.Fatalf("err = %v, want a stop after 5 redirects", err)
		}
	})
}

func TestFetchImageSizeLimit(t *testing.T) {
	pngBytes := readTestdata(t, "square.png")
	const limit = 64 << 10
	var written atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/endless": // no Content-Length: only reading tells the size
			w.Write(pngBytes)
			chunk := make([]byte, 32<<10)
			for range 64 << 20 / len(chunk) {
				n, err := w.Write(chunk)
				written.Add(int64(n))
				if err != nil {
					return
				}
				w.(http.Flusher).Flush()
			}
		case "/declared":
			w.Header().Set("Content-Length", strconv.Itoa(limit+1))
			w.Write(pngBytes)
		case "/exact":
			b := make([]byte, limit)
			copy(b, pngBytes)
			w.Write(b)
		}
	}))
	t.Cleanup(srv.Close)

	t.Run("a body streaming past the limit is cut off", func(t *testing.T) {
		_, err := FetchImage(t.Context(), srv.URL+"/endless", AllowPrivate(), WithMaxBytes(limit))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("a declared Content-Length over the limit is refused", func(t *testing.T) {
		_, err := FetchImage(t.Context(), srv.URL+"/declared", AllowPrivate(), WithMaxBytes(limit))
		if !errors.Is(err, ErrTooLarge) {
			t.Fatalf("err = %v, want ErrTooLarge", err)
		}
	})
	t.Run("a body of exactly the limit is accepted", func(t *testing.T) {
		img, err := FetchImage(t.Context(), srv.URL+"/exact", AllowPrivate(), WithMaxBytes(limit))
		if err != nil || len(img.Data) != limit {
			t.Fatalf("got %d bytes, %v; want %d", len(img.Data), err, limit)
		}
	})
	srv.Close() // waits for the endless handler, which stops once the client hangs up
	if w := written.Load(); w >= 64<<20 {
		t.Errorf("server wrote all %d bytes: the client kept reading past the limit", w)
	}
}

func TestFetchImageBadInput(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/page":
			w.Header().Set("Content-Type", "image/png") // a lying Content-Type
			w.Write([]byte("<!DOCTYPE html><html><body>not here</body></html>"))
		case "/slow":
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)

	cases := []struct {
		name, url string
		opts      []FetchOption
		want      string
		is        error
	}{
		{"file scheme", "file:///etc/passwd", nil, `scheme "file" is not allowed`, nil},
		{"ftp scheme", "ftp://example.com/a.png", nil, `scheme "ftp" is not allowed`, nil},
		{"data URL", "data:image/png;base64,iVBORw0KGgo=", nil, `scheme "data" is not allowed`, nil},
		{"no host", "http:///a.png", nil, "no host", nil},
		{"HTTP error", srv.URL + "/missing.png", []FetchOption{AllowPrivate()}, "HTTP 404", nil},
		{"HTML instead of an image", srv.URL + "/page", []FetchOption{AllowPrivate()}, "text/html", ErrNotImage},
		{"timeout", srv.URL + "/slow", []FetchOption{AllowPrivate(), WithFetchTimeout(50 * time.Millisecond)}, "deadline exceeded", context.DeadlineExceeded},
		{"zero size limit", srv.URL + "/page", []FetchOption{WithMaxBytes(0)}, "WithMaxBytes(0)", nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := FetchImage(t.Context(), c.url, c.opts...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err = %v, want one containing %q", err, c.want)
			}
			if c.is != nil && !errors.Is(err, c.is) {
				t.Errorf("err = %v, want errors.Is %v", err, c.is)
			}
		})
	}
}

func TestFetchImageKeepsCredentialsOutOfErrors(t *testing.T) {
	_, err := FetchImage(t.Context(), "http://user:hunter2@10.0.0.1:9/a.png?X-Amz-Signature=s3cr3t")
	if err == nil {
		t.Fatal("want an error")
	}
	for _, secret := range []string{"hunter2", "s3cr3t"} {
		if strings.Contains(err.Error(), secret) {
			t.Errorf("error %q shows %q", err, secret)
		}
	}
	if u, _ := url.Parse("http://10.0.0.1:9/a.png"); !strings.Contains(err.Error(), u.Host) {
		t.Errorf("error %q should still name the host", err)
	}
}
