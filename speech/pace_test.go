package speech

import (
	"context"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// TestPacerSpacesRequests starts requests 1/rpm of a minute apart, also when they wait
// concurrently, and gives up a turn to a cancelled context.
func TestPacerSpacesRequests(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := newPacer(60) // one a second
		start := time.Now()
		var mu sync.Mutex
		var waited []time.Duration
		var wg sync.WaitGroup
		for range 4 {
			wg.Go(func() {
				if err := p.wait(context.Background()); err != nil {
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
		if err := p.wait(ctx); err == nil {
			t.Error("a cancelled wait returned no error")
		}
	})
}
