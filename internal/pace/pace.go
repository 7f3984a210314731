// Package pace spaces the requests of concurrent work to stay under a per-minute limit.
package pace

import (
	"context"
	"sync"
	"time"
)

// Pacer spaces request starts evenly, 1/rpm of a minute apart, so that no minute sees more
// than rpm of them. Even spacing (no burst) keeps a large job from tripping the account's
// per-minute limit of a model (https://developers.cloudflare.com/workers-ai/platform/limits/)
// even when several calls share the Pacer. It is safe for concurrent use.
type Pacer struct {
	interval time.Duration

	mu   sync.Mutex
	next time.Time // earliest start of the next request
}

// New returns a Pacer for rpm requests a minute (at least 1).
func New(rpm int) *Pacer {
	return &Pacer{interval: time.Minute / time.Duration(max(rpm, 1))}
}

// Wait blocks until the caller's turn, or until ctx is done, and returns ctx's error then.
// A turn given up to a cancelled ctx is not handed to anyone else: the cap holds either way.
func (p *Pacer) Wait(ctx context.Context) error {
	p.mu.Lock()
	now := time.Now()
	at := p.next
	if at.Before(now) {
		at = now
	}
	p.next = at.Add(p.interval)
	p.mu.Unlock()

	d := at.Sub(now)
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Interval is the time between two request starts.
func (p *Pacer) Interval() time.Duration { return p.interval }
