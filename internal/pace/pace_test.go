package pace

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

func TestPacerSpacesRequestsEvenly(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(3000) // bge: 20 ms apart
		start := time.Now()
		var at []time.Duration
		for range 4 {
			if err := p.Wait(t.Context()); err != nil {
				t.Fatal(err)
			}
			at = append(at, time.Since(start))
		}
		want := []time.Duration{0, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond}
		if !slices.Equal(at, want) {
			t.Fatalf("requests started at %v, want %v", at, want)
		}
		time.Sleep(time.Second) // an idle pacer does not save up turns for a burst
		start = time.Now()
		p.Wait(t.Context())
		p.Wait(t.Context())
		if d := time.Since(start); d != 20*time.Millisecond {
			t.Fatalf("after idling, two requests took %s, want 20ms", d)
		}
	})
}

func TestPacerWaitStopsWhenCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(1) // one a minute
		p.Wait(t.Context())
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		if err := p.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("wait returned %v, want the context's error", err)
		}
	})
}

// TestPacerSpacesRequests starts requests 1/rpm of a minute apart, also when they wait
// concurrently, and gives up a turn to a cancelled context.
func TestPacerSpacesConcurrentRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := New(60) // one a second
		start := time.Now()
		var mu sync.Mutex
		var waited []time.Duration
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := p.Wait(context.Background()); err != nil {
					t.Error(err)
				}
				mu.Lock()
				waited = append(waited, time.Since(start))
				mu.Unlock()
			})
		}
		wg.Wait()
		seen := map[time.Duration]bool{}
		for _, d := range waited {
			seen[d] = true
		}
		for _, want := range []time.Duration{0, time.Second, 2 * time.Second, 3 * time.Second} {
			if !seen[want] {
				t.Errorf("starts %v, want one at %v", waited, want)
			}
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := p.Wait(ctx); err == nil {
			t.Error("a cancelled wait returned no error")
		}
	})
}
