package exchange

import (
	"context"
	"time"

	"github.com/brookmq/brook"
)

// Before a consumer decides about a message, its view of the bindings must
// include every declaration written before the message was published. The
// message's timestamp says when that was; a Sync that started later gives
// such a view. Syncs are shared: the consumers of a Conn wait for one in
// flight that started after their message rather than start their own, so
// a burst of fresh messages costs one Sync, not one per message and queue.

// Clock slack: how much later than a message's timestamp a Sync must have
// started for a consumer to skip syncing. The embedded broker stamps
// messages with this process's clock; another backend's timestamps come
// from other machines' clocks.
const (
	slackEmbedded = 0
	slackRemote   = time.Second
)

// flight is one Sync shared by the consumers that need it.
type flight struct {
	start time.Time
	done  chan struct{}
	err   error
}

// cover returns once this Conn's view includes the declarations written
// before m was published, as far as clocks tell.
func (c *Conn) cover(ctx context.Context, m *brook.Message) error {
	for {
		c.mu.Lock()
		if m.Timestamp.Add(c.slack).Before(c.syncedAt) {
			c.mu.Unlock()
			return nil
		}
		if f := c.flight; f != nil && f.start.After(m.Timestamp) {
			c.mu.Unlock()
			select {
			case <-f.done:
			case <-ctx.Done():
				return ctx.Err()
			}
			if f.err == nil {
				return nil
			}
			continue // its owner's ctx ended: sync on ours
		}
		f := &flight{start: time.Now(), done: make(chan struct{})}
		c.flight = f
		c.mu.Unlock()
		f.err = c.Sync(ctx)
		c.mu.Lock()
		if f.err == nil && f.start.After(c.syncedAt) {
			c.syncedAt = f.start
		}
		if c.flight == f {
			c.flight = nil
		}
		c.mu.Unlock()
		close(f.done)
		return f.err
	}
}
