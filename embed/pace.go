package embed

import (
	"context"
	"sync"
	"time"
)

// pacer spaces request starts evenly, 1/rpm of a minute apart, so that no minute sees more
// than rpm of them. Even spacing (no burst) keeps a large corpus from tripping the
// account's per-minute limit (3000 requests a minute for embeddings models, see
// https://developers.cloudflare.com/workers-ai/platform/limits/) even when several calls
// share the pacer.
type pacer struct {
	interval time.Duration

	mu   sync.Mutex
	next time.Time // earliest start of the next request
}

func newPacer(rpm int) *pacer {
	return &pacer{interval: time.Minute / time.Duration(max(rpm, 1))}
}

// wait blocks until the caller's turn, or until ctx is done. A turn given up to a cancelled
// ctx is not handed to anyone else: the cap holds either way.
func (p *pacer) wait(ctx context.Context) error {
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
		return nil
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
