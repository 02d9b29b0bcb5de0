package brook

// Close stops Run or Poll (handlers see their context end; what they
// finished is committed), leaves the group, and waits for the consumer's
// goroutines. It is idempotent, and a Close that races another one returns
// only when that one has finished (so Broker.Close, which closes its
// consumers, never closes the offsets before their last commit).
func (c *Consumer) Close() error {
	c.mu.Lock()
	if c.closed {
		closing := c.closing
		c.mu.Unlock()
		if closing != nil {
			<-closing
		}
		return nil
	}
	c.closed = true
	c.closing = make(chan struct{})
	defer close(c.closing)
	cancel, done, p := c.cancel, c.runDone, c.poll
	c.mu.Unlock()
	if p != nil {
		p.ackInHand() // the message in hand counts as processed
	}
	if cancel != nil {
		cancel()
		<-done
	}
	if c.b.err == nil {
		c.b.unregister(c)
	}
	return nil
}
