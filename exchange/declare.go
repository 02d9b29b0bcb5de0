package exchange

import (
	"context"
	"errors"
	"fmt"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
)

// ExchangeOptions configure a declared exchange. Zero fields mean their
// defaults.
type ExchangeOptions struct {
	// Partitions is the partition count of the exchange's topic. Messages
	// are placed by routing key, so order holds per key; more partitions
	// let more consumers of one queue compete. Default: 1 (every message
	// in publish order).
	Partitions int
}

// QueueOptions configure this Conn's consumers of a queue. They are not
// part of the durable declaration: each Conn that consumes passes its own.
type QueueOptions struct {
	// Consumer are the subscription options of Consume: where a new queue
	// starts, retries, the error policy, dead letters, manual commits.
	// Start applies only to the first consumer of a queue; the binding
	// windows decide what it delivers anyway. Default: pubsub's defaults.
	Consumer pubsub.SubscribeOptions
}

// ExchangeDeclare declares the exchange name of kind k, creating its topic
// x.<name>, or does nothing when it exists with that kind and partition
// count. It returns ErrInvalidName (the default exchange "" cannot be
// declared), an error matching errors.ErrUnsupported for a kind other than
// Direct, Fanout and Topic, ErrExchangeExists (another kind or count, also
// when another process won a concurrent declaration), or brook.ErrClosed.
func (c *Conn) ExchangeDeclare(ctx context.Context, name string, k Kind, o ExchangeOptions) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, err := parseKind(k); err != nil {
		return fmt.Errorf("%w: %w", err, errors.ErrUnsupported)
	}
	if o.Partitions < 0 || o.Partitions > brook.MaxPartitions {
		return fmt.Errorf("exchange: %q: %w: %d", name, brook.ErrInvalidPartition, o.Partitions)
	}
	if o.Partitions == 0 {
		o.Partitions = 1
	}
	want := exchangeDecl{Name: name, Kind: k, Partitions: o.Partitions}
	check := func() (bool, error) {
		var got exchangeDecl
		var ok bool
		c.view(func(s *state) { got, ok = s.exchanges[name] })
		if ok && got != want {
			return true, fmt.Errorf("%w: %q is %s with %d partitions", ErrExchangeExists, name, got.Kind, got.Partitions)
		}
		return ok, nil
	}
	if err := c.check(); err != nil {
		return err
	}
	if done, err := check(); done {
		return err
	}
	if err := c.c.CreateTopic(ctx, exchangeTopic(name), o.Partitions); err != nil {
		if errors.Is(err, brook.ErrTopicExists) {
			return fmt.Errorf("%w: topic %s exists with another partition count", ErrExchangeExists, exchangeTopic(name))
		}
		return fmt.Errorf("exchange: declare %q: %w", name, err)
	}
	if err := c.write(ctx, record{Op: opExchangeDeclare, Exchange: name, Kind: k, Partitions: o.Partitions}); err != nil {
		return err
	}
	_, err := check()
	return err
}

// ExchangeDelete deletes the exchange name. Its bindings end (their Until
// is set), so messages published from now on reach no queue; what queues
// already hold stays there. The topic is kept. It returns ErrInvalidName,
// ErrUnknownExchange or brook.ErrClosed.
func (c *Conn) ExchangeDelete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := c.known(name, ""); err != nil {
		return err
	}
	end, err := c.c.EndOffsets(ctx, exchangeTopic(name))
	if err != nil {
		return fmt.Errorf("exchange: delete %q: %w", name, err)
	}
	return c.write(ctx, record{Op: opExchangeDelete, Exchange: name, Offsets: end})
}

// QueueDeclare declares the queue name, bound to the default exchange under
// its own name from now on, or does nothing but take the options when it
// exists. The options apply to this Conn's consumers of the queue. It
// returns ErrInvalidName or brook.ErrClosed.
func (c *Conn) QueueDeclare(ctx context.Context, name string, o QueueOptions) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := c.check(); err != nil {
		return err
	}
	c.mu.Lock()
	c.qopts[name] = o
	_, ok := c.rep.st.queues[name]
	c.mu.Unlock()
	if ok {
		return nil
	}
	end, err := c.c.EndOffsets(ctx, defaultTopic)
	if err != nil {
		return fmt.Errorf("exchange: declare queue %q: %w", name, err)
	}
	return c.write(ctx, record{Op: opQueueDeclare, Queue: name, Offsets: end})
}

// QueueBind binds queue to exchange with key (amqp091-go's argument order):
// from now on, the messages published to exchange that key matches reach
// the queue. Binding again what is bound does nothing. It returns
// ErrInvalidName (binding to the default exchange "" too: it binds every
// queue by itself), ErrUnknownQueue, ErrUnknownExchange or brook.ErrClosed.
func (c *Conn) QueueBind(ctx context.Context, queue, key, exchange string) error {
	return c.bind(ctx, opBind, queue, key, exchange)
}

// QueueUnbind removes the binding of queue to exchange with key: messages
// published from now on no longer reach the queue that way, and those
// published while it stood stay in it. Removing a binding that does not
// exist does nothing. Errors are those of QueueBind.
func (c *Conn) QueueUnbind(ctx context.Context, queue, key, exchange string) error {
	return c.bind(ctx, opUnbind, queue, key, exchange)
}

func (c *Conn) bind(ctx context.Context, op, queue, key, exchange string) error {
	if err := checkName(queue); err != nil {
		return err
	}
	if exchange == "" {
		return fmt.Errorf("%w: the default exchange binds every queue under its own name, and nothing else", ErrInvalidName)
	}
	if err := checkName(exchange); err != nil {
		return err
	}
	bound := func() bool {
		var open bool
		c.view(func(s *state) { open = s.queues[queue] != nil && s.queues[queue].open(exchange, key) != nil })
		return open
	}
	if err := c.known(exchange, queue); err != nil {
		return err
	}
	if bound() == (op == opBind) {
		return nil
	}
	end, err := c.c.EndOffsets(ctx, exchangeTopic(exchange))
	if err != nil {
		return fmt.Errorf("exchange: %s %q to %q: %w", op, queue, exchange, err)
	}
	if err := c.write(ctx, record{Op: op, Queue: queue, Exchange: exchange, Key: key, Offsets: end}); err != nil {
		return err
	}
	if bound() == (op == opBind) {
		return nil
	}
	return c.known(exchange, queue) // deleted meanwhile, by another process
}

// known returns ErrUnknownExchange or ErrUnknownQueue for an exchange or a
// queue (either may be "", not checked) that is not declared, and
// brook.ErrClosed after Close.
func (c *Conn) known(exchange, queue string) error {
	if err := c.check(); err != nil {
		return err
	}
	var err error
	c.view(func(s *state) {
		if _, ok := s.exchanges[exchange]; exchange != "" && !ok {
			err = fmt.Errorf("%w: %q", ErrUnknownExchange, exchange)
		} else if _, ok := s.queues[queue]; queue != "" && !ok {
			err = fmt.Errorf("%w: %q", ErrUnknownQueue, queue)
		}
	})
	return err
}

// QueueDelete deletes the queue name: it stops this Conn's consumers of it
// (their Consume returns an error matching ErrUnknownQueue), deletes its
// consumer group q.<name> with its committed offsets, then its declaration
// and bindings. While consumers in other processes are live it returns
// brook.ErrGroupActive and deletes nothing. It also returns
// ErrInvalidName, ErrUnknownQueue or brook.ErrClosed.
func (c *Conn) QueueDelete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if err := c.known("", name); err != nil {
		return err
	}
	c.stopConsumers(name, errQueueDeleted)
	if err := c.c.DeleteGroup(ctx, queueGroup(name)); err != nil && !errors.Is(err, brook.ErrUnknownGroup) {
		return fmt.Errorf("exchange: delete queue %q: %w", name, err)
	}
	if err := c.write(ctx, record{Op: opQueueDelete, Queue: name}); err != nil {
		return err
	}
	c.mu.Lock()
	delete(c.qopts, name)
	c.mu.Unlock()
	return nil
}

// Bindings returns the binding windows of queue, oldest first: those that
// stand (Until nil) and those removed (Until set), which still decide what
// a consumer that lags delivers; a removed binding during which nothing was
// published is not kept. The default exchange's binding is not
// listed. It returns nil for an unknown queue. The result is a copy.
func (c *Conn) Bindings(queue string) []Binding {
	var b []Binding
	c.view(func(s *state) { b = s.bindings(queue) })
	return b
}
