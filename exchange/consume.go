package exchange

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/brookmq/brook"
)

// Consume delivers the messages of queue to h until ctx ends or the Conn is
// closed (then it returns nil). It joins the queue's consumer group
// q.<queue> on the topics of the exchanges the queue is bound to, so that
// consumers of one queue, in this process or others, compete: each message
// goes to one of them, up to one consumer per partition. It delivers a
// message once however many of the queue's bindings match it, and commits
// past the messages that none matches without calling h. A nil from h
// commits the message; an error is retried and then handled as the queue's
// QueueOptions.Consumer say (Default: stop, and Consume returns the
// *brook.HandlerError). consumer names this consumer in errors. When the
// queue's bindings reach a new exchange, Consume joins again with the new
// topics. It returns ErrInvalidName, ErrUnknownQueue (also when the queue
// is deleted while it runs), brook.ErrNilHandler, brook.ErrClosed, or the
// backend's error.
func (c *Conn) Consume(ctx context.Context, queue, consumer string, h brook.Handler) error {
	if err := checkName(queue); err != nil {
		return err
	}
	if h == nil {
		return brook.ErrNilHandler
	}
	k, ctx, err := c.startConsumer(ctx, queue)
	if err != nil {
		return err
	}
	defer c.endConsumer(queue, k)
	err = c.consume(ctx, queue, c.filter(queue, h))
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errQueueDeleted):
		return fmt.Errorf("exchange: consumer %q: %w: %q", consumer, errQueueDeleted, queue)
	case ctx.Err() != nil:
		return nil
	case err != nil:
		return fmt.Errorf("exchange: consumer %q of %q: %w", consumer, queue, err)
	}
	return nil
}

// consume runs subscriptions of the queue's group, one after the other: a
// new one each time the set of topics to read changes.
func (c *Conn) consume(ctx context.Context, queue string, h brook.Handler) error {
	c.mu.Lock()
	opts := c.qopts[queue].Consumer
	c.mu.Unlock()
	for {
		var topics []string
		var ch chan struct{}
		c.mu.Lock()
		topics, ch = c.rep.st.topics(queue), c.changed
		c.mu.Unlock()
		if topics == nil {
			return errQueueDeleted
		}
		sub, err := c.c.Subscribe(ctx, queueGroup(queue), topics, opts)
		if err != nil {
			return err
		}
		runDone := make(chan error, 1)
		go func() { runDone <- sub.Run(ctx, h) }()
		again, err := c.watch(ctx, queue, topics, ch, runDone)
		sub.Close()
		if !again {
			<-runDone
			return err
		}
		// Closed for the new topics: a Run that had not started yet
		// returns brook.ErrClosed, which is not a failure.
		if err := <-runDone; err != nil && !errors.Is(err, brook.ErrClosed) {
			return err
		}
	}
}

// watch waits until the run ends (its error, and false), ctx ends (false)
// or the queue's topics change (true).
func (c *Conn) watch(ctx context.Context, queue string, topics []string, ch chan struct{}, runDone chan error) (bool, error) {
	for {
		select {
		case err := <-runDone:
			runDone <- err // for the caller's wait
			return false, err
		case <-ctx.Done():
			return false, nil
		case <-ch:
		}
		c.mu.Lock()
		now := c.rep.st.topics(queue)
		ch = c.changed
		c.mu.Unlock()
		if now == nil {
			return false, errQueueDeleted
		}
		if !slices.Equal(now, topics) {
			return true, nil
		}
	}
}

// filter wraps h: it calls h only for the messages one of the queue's
// binding windows takes, and returns nil (commits) for the others. Before
// deciding about a message newer than its last sync, it syncs the
// declarations, so that a binding made before the message was published is
// seen.
func (c *Conn) filter(queue string, h brook.Handler) brook.Handler {
	return func(ctx context.Context, m *brook.Message) error {
		if err := c.cover(ctx, m); err != nil {
			return err
		}
		c.reads.Add(1)
		exchange, ok := exchangeOf(m.Topic)
		var take bool
		c.view(func(s *state) { take = ok && s.matches(queue, exchange, RoutingKey(m), m.Partition, m.Offset) })
		if !take {
			return nil
		}
		c.delivered.Add(1)
		return h(ctx, m)
	}
}

// startConsumer registers a Consume of queue and returns its context,
// which Close and QueueDelete cancel.
func (c *Conn) startConsumer(ctx context.Context, queue string) (*consumer, context.Context, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return nil, nil, brook.ErrClosed
	}
	if _, ok := c.rep.st.queues[queue]; !ok {
		return nil, nil, fmt.Errorf("%w: %q", ErrUnknownQueue, queue)
	}
	ctx, stop := context.WithCancelCause(ctx)
	k := &consumer{stop: stop, done: make(chan struct{})}
	if c.consumers[queue] == nil {
		c.consumers[queue] = map[*consumer]bool{}
	}
	c.consumers[queue][k] = true
	c.wg.Add(1)
	return k, ctx, nil
}

func (c *Conn) endConsumer(queue string, k *consumer) {
	c.mu.Lock()
	delete(c.consumers[queue], k)
	if len(c.consumers[queue]) == 0 {
		delete(c.consumers, queue)
	}
	c.mu.Unlock()
	k.stop(nil)
	close(k.done)
	c.wg.Done()
}

// stopConsumers stops this Conn's consumers of queue and waits until
// their Consume calls have returned.
func (c *Conn) stopConsumers(queue string, cause error) {
	c.mu.Lock()
	var ks []*consumer
	for k := range c.consumers[queue] {
		ks = append(ks, k)
	}
	c.mu.Unlock()
	for _, k := range ks {
		k.stop(cause)
	}
	for _, k := range ks {
		<-k.done
	}
}
