package llm

import (
	"io"
	"net/http"
	"runtime"
	"strings"
	"testing"
)

// zeros is an endless-enough reply body that allocates nothing: n zero bytes.
type zeros struct{ n, read int64 }

func (z *zeros) Read(p []byte) (int, error) {
	if z.read >= z.n {
		return 0, io.EOF
	}
	k := int64(len(p))
	k = min(k, z.n-z.read)
	clear(p[:k])
	z.read += k
	return int(k), nil
}

func (z *zeros) Close() error { return nil }

// allocated returns the bytes allocated while f ran.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// A 200 MiB reply under the default 32 MiB cap: the error comes once cap+1 bytes are read,
// and the bytes allocated stay near the cap (io.ReadAll under a LimitReader allocated
// 3.5 times the cap).
func TestReadBodyOverTheCapCostsTheCap(t *testing.T) {
	const size, limit = 200 << 20, DefaultMaxResponseBytes
	c := newTestClient(t, nil)
	for _, length := range []int64{-1, 10} { // unknown, and announced too small
		body := &zeros{n: size}
		var err error
		alloc := allocated(func() {
			_, err = c.readBody(&http.Response{ContentLength: length, Body: body})
		})
		if err == nil || !strings.Contains(err.Error(), "exceeds 33554432 bytes") {
			t.Fatalf("Content-Length %d: err = %v", length, err)
		}
		if body.read > limit+1 {
			t.Errorf("Content-Length %d: read %d bytes, want no more than the cap + 1", length, body.read)
		}
		t.Logf("Content-Length %d: %.1f MiB allocated for a 200 MiB body under a 32 MiB cap", length, float64(alloc)/(1<<20))
		if alloc > limit*5/4 {
			t.Errorf("Content-Length %d: allocated %d bytes, want under 1.25 times the cap (%d)", length, alloc, limit*5/4)
		}
	}
	body := &zeros{n: size}
	if _, err := c.readBody(&http.Response{ContentLength: size, Body: body}); err == nil || body.read != 0 {
		t.Errorf("announced 200 MiB: err = %v after reading %d bytes, want an error before reading", err, body.read)
	}
}

// A body under the cap of unknown length costs about twice its size at most.
func TestReadBodyOfUnknownLengthCostsAtMostTwiceItsSize(t *testing.T) {
	const size = 24 << 20
	c := newTestClient(t, nil)
	var b []byte
	var err error
	alloc := allocated(func() {
		b, err = c.readBody(&http.Response{ContentLength: -1, Body: &zeros{n: size}})
	})
	if err != nil || len(b) != size {
		t.Fatalf("readBody = %d bytes, %v", len(b), err)
	}
	t.Logf("%.1f MiB allocated for a 24 MiB body of unknown length", float64(alloc)/(1<<20))
	if alloc > 2*size+size/4 { // the last 4 MiB chunk may be partly empty
		t.Errorf("allocated %d bytes, want about twice the body (%d)", alloc, 2*size)
	}
	alloc = allocated(func() {
		b, err = c.readBody(&http.Response{ContentLength: size, Body: &zeros{n: size}})
	})
	if err != nil || len(b) != size {
		t.Fatalf("readBody = %d bytes, %v", len(b), err)
	}
	t.Logf("%.1f MiB allocated for a 24 MiB body of announced length", float64(alloc)/(1<<20))
	if alloc > size+size/16 {
		t.Errorf("allocated %d bytes for an announced body, want about its size (%d)", alloc, size)
	}
}
