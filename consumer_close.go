package brook

import (
	"bytes"
	"runtime"
	"strconv"
)

// Close stops Run or Poll (handlers see their context end; what they
// finished is committed), leaves the group, and waits for the consumer's
// goroutines. It is idempotent, and a Close that races another one returns
// only when that one has finished (so Broker.Close, which closes its
// consumers, never closes the offsets before their last commit).
//
// Close may be called from the consumer's own handler or callbacks
// (OnAssigned, OnRevoked, OnLost, OnPartitionFailed): there it cannot wait
// for the consumer's goroutines, one of which is its caller, so it stops
// the consumer and returns nil at once. The handler's context ends; once
// the handler (or callback) returns, the consumer commits what was
// handled, leaves the group and Run returns nil, as after a Close from
// outside; a later Close, or Broker.Close, waits for that end. A handler
// that calls Close and returns nil has its message committed.
func (c *Consumer) Close() error {
	c.mu.Lock()
	inside := c.ownGoroutineLocked()
	if c.closed {
		closing := c.closing
		c.mu.Unlock()
		if closing != nil && !inside {
			<-closing
		}
		return nil
	}
	c.closed = true
	c.closing = make(chan struct{})
	cancel, done, p := c.cancel, c.runDone, c.poll
	c.closeAtRunEnd = inside
	c.mu.Unlock()
	if p != nil {
		p.ackInHand() // the message in hand counts as processed
	}
	if inside {
		cancel() // the run's end finishes the Close (see finishClose)
		return nil
	}
	defer close(c.closing)
	if cancel != nil {
		cancel()
		<-done
	}
	if c.b.err == nil {
		c.b.unregister(c)
	}
	return nil
}

// finishClose ends a Close called from inside the consumer's run (see
// Close): the run calls it last, when it has ended. It holds no lock.
func (c *Consumer) finishClose() {
	c.mu.Lock()
	finish := c.closeAtRunEnd
	c.closeAtRunEnd = false
	c.mu.Unlock()
	if !finish {
		return
	}
	if c.b.err == nil {
		c.b.unregister(c)
	}
	close(c.closing)
}

// ownGoroutineLocked reports whether the caller runs on one of the
// consumer's own goroutines while it runs: the session's (rebalance
// callbacks) or a partition loop's (the handler, OnPartitionFailed). The
// caller holds c.mu.
func (c *Consumer) ownGoroutineLocked() bool {
	if !c.running {
		return false
	}
	self := goid()
	if self == c.runGoid {
		return true
	}
	for _, l := range c.loops {
		if l.goid.Load() == self {
			return true
		}
	}
	return false
}

// goid returns the ID of the calling goroutine, from the first line of its
// stack trace ("goroutine 42 [running]:"). It is read only where Close
// must know whether it waits for itself: once when a run or a partition
// loop starts, and in Close.
func goid() int64 {
	var buf [64]byte
	line := buf[:runtime.Stack(buf[:], false)]
	line = bytes.TrimPrefix(line, []byte("goroutine "))
	if i := bytes.IndexByte(line, ' '); i > 0 {
		line = line[:i]
	}
	id, _ := strconv.ParseInt(string(line), 10, 64)
	return id
}
