package brook

import (
	"context"
	"iter"
	"sync"
	"time"
)

// poller drives a consumer in pull mode: a background run whose handler
// hands each message to Poll and returns nil when the next Poll (or Close)
// comes, which is when the message counts as processed and is committed.
// Several goroutines may poll at once: every message handed out stays in
// hand until a later Poll (of any goroutine) or Close acknowledges it, so
// none is left unacknowledged and no partition waits for good.
type poller struct {
	ch     chan *polled
	done   chan struct{} // closed when the background run ends
	err    error         // the run's result, set before done is closed
	mu     sync.Mutex
	inHand []*polled // handed out and not yet acknowledged, oldest first
}

type polled struct {
	m   *Message
	at  time.Time // when Poll handed it out
	ack chan struct{}
}

// Poll returns the next message of the partitions assigned to this consumer,
// waiting for one until ctx ends. Calling Poll again (or Close) marks the
// messages returned before as processed, and they are committed (unless
// ManualCommit). Poll is safe to call from several goroutines: each call
// acknowledges every message handed out before it, whichever goroutine
// took it.
// A message left in hand longer than PollTimeout gets the consumer evicted,
// as a stuck handler would. The first Poll joins the group; Poll and Run
// cannot be mixed on one consumer (ErrRunning). Errors are those of Run.
func (c *Consumer) Poll(ctx context.Context) (*Message, error) {
	p, err := c.poller()
	if err != nil {
		return nil, err
	}
	p.ackInHand()
	select {
	case it := <-p.ch:
		p.mu.Lock()
		it.at = time.Now()
		p.inHand = append(p.inHand, it)
		p.mu.Unlock()
		return it.m, nil
	case <-p.done:
		if p.err != nil {
			return nil, p.err
		}
		return nil, ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Messages returns an iterator over Poll's results: it yields each message
// with a nil error, and stops after yielding the first error (ctx's end
// included). Breaking out of the loop leaves the last message in hand until
// the next Poll or Close.
func (c *Consumer) Messages(ctx context.Context) iter.Seq2[*Message, error] {
	return func(yield func(*Message, error) bool) {
		for {
			m, err := c.Poll(ctx)
			if !yield(m, err) || err != nil {
				return
			}
		}
	}
}

// poller returns the consumer's poller, starting its background run on
// first use.
func (c *Consumer) poller() (*poller, error) {
	c.mu.Lock()
	p := c.poll
	c.mu.Unlock()
	if p != nil {
		return p, nil
	}
	c.pollStart.Lock() // concurrent first Polls start one run, not ErrRunning
	defer c.pollStart.Unlock()
	c.mu.Lock()
	p = c.poll
	c.mu.Unlock()
	if p != nil {
		return p, nil
	}
	runCtx, err := c.startRun(context.Background())
	if err != nil {
		return nil, err
	}
	p = &poller{ch: make(chan *polled), done: make(chan struct{})}
	c.mu.Lock()
	c.poll = p
	c.mu.Unlock()
	go func() {
		p.err = c.run(runCtx, p.handle)
		c.mu.Lock()
		c.poll = nil
		c.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// handle is the background run's handler: it waits for Poll to take m and
// for the next Poll to acknowledge it.
func (p *poller) handle(ctx context.Context, m *Message) error {
	it := &polled{m: m, ack: make(chan struct{})}
	select {
	case p.ch <- it:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-it.ack:
		return nil
	case <-ctx.Done():
		select {
		case <-it.ack: // Close acknowledges before it cancels
			return nil
		default:
			return ctx.Err()
		}
	}
}

func (p *poller) ackInHand() {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, it := range p.inHand {
		close(it.ack)
	}
	clear(p.inHand)
	p.inHand = p.inHand[:0]
}

// heldFor is how long the oldest message in hand has been held.
func (p *poller) heldFor(now time.Time) time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.inHand) > 0 {
		return now.Sub(p.inHand[0].at)
	}
	return 0
}
