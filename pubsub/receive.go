package pubsub

import (
	"context"
	"iter"
	"sync"

	"github.com/brookmq/brook"
)

// poller drives a subscription in pull mode: a background Run whose handler
// hands each message to Receive and returns nil when the next Receive (or
// Close) comes, which is when the message counts as processed and is
// committed. It is brook.Consumer.Poll's design, on any backend.
type poller struct {
	ch   chan *polled
	done chan struct{} // closed when the background Run has returned
	err  error         // Run's result, set before done is closed

	mu     sync.Mutex
	inHand *polled
}

type polled struct {
	m   *brook.Message
	ack chan struct{}
}

// Receive returns the next message delivered to this member, waiting for
// one until ctx ends. Calling Receive again (or Close) marks the previous
// message as processed: it is committed (unless ManualCommit). The first
// Receive starts delivery; Receive and Run cannot be mixed on one
// subscription (brook.ErrRunning). A message in hand holds its partition
// back, as a handler that has not returned does: one held longer than the
// backend's poll timeout (5 minutes on the embedded broker) gets the
// member evicted and its partitions moved on. It returns ctx's error,
// brook.ErrClosed after Close, or the error that ended delivery.
func (s *Subscription) Receive(ctx context.Context) (*brook.Message, error) {
	p, err := s.poller()
	if err != nil {
		return nil, err
	}
	p.ackInHand()
	select {
	case it := <-p.ch:
		p.mu.Lock()
		p.inHand = it
		p.mu.Unlock()
		return it.m, nil
	case <-p.done:
		if p.err != nil {
			return nil, p.err
		}
		return nil, brook.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Messages returns an iterator over Receive's results: it yields each
// message with a nil error, and stops after yielding the first error (ctx's
// end included). Breaking out of the loop leaves the last message in hand
// until the next Receive or Close.
func (s *Subscription) Messages(ctx context.Context) iter.Seq2[*brook.Message, error] {
	return func(yield func(*brook.Message, error) bool) {
		for {
			m, err := s.Receive(ctx)
			if !yield(m, err) || err != nil {
				return
			}
		}
	}
}

// poller returns the subscription's poller, starting its background Run
// on first use.
func (s *Subscription) poller() (*poller, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.poll != nil {
		return s.poll, nil
	}
	runCtx, err := s.startLocked(context.Background())
	if err != nil {
		return nil, err
	}
	p := &poller{ch: make(chan *polled), done: make(chan struct{})}
	s.poll = p
	go func() {
		defer close(p.done)
		p.err = s.runStarted(runCtx, p.handle)
	}()
	return p, nil
}

// handle is the background Run's handler: it waits for Receive to take m
// and for the next Receive to acknowledge it.
func (p *poller) handle(ctx context.Context, m *brook.Message) error {
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
	if p.inHand != nil {
		close(p.inHand.ack)
		p.inHand = nil
	}
}
