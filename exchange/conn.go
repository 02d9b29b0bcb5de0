package exchange

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
)

// Conn is a connection to the exchanges, queues and bindings declared on
// one pubsub backend: amqp091-go's Connection and Channel in one. It reads
// the declarations log from its start when opened and tails it while open,
// so it sees what every process on the same backend declares. A Conn is
// safe for concurrent use.
type Conn struct {
	c *pubsub.Client

	mu        sync.Mutex
	rep       *replica
	changed   chan struct{}           // closed and replaced when a record is applied
	qopts     map[string]QueueOptions // this Conn's options, by queue
	consumers map[string]map[*consumer]bool
	closed    bool
	tooBig    bool // the state is too large to snapshot
	slack     time.Duration
	syncedAt  time.Time // when the latest Sync of a consumer started
	flight    *flight   // the consumers' Sync in flight

	tail     *pubsub.Subscription
	tailDone chan struct{} // closed when the tail's Run returned
	tailErr  error         // why, once tailDone is closed
	wg       sync.WaitGroup
	closeMu  sync.Mutex

	// What consumers read and what they delivered, for the read
	// amplification of BenchmarkDirectFanIn.
	reads, delivered atomic.Int64
	// gate, when set, holds the tail before each record: tests use it to
	// stand for a tail that lags.
	gate atomic.Pointer[chan struct{}]
}

// consumer is one running Consume, which QueueDelete and Close stop.
type consumer struct {
	stop context.CancelCauseFunc
	done chan struct{}
}

var (
	errConnClosed   = errors.New("exchange: connection closed")
	errQueueDeleted = fmt.Errorf("%w: deleted", ErrUnknownQueue)
)

// Open connects to the exchanges of the backend behind c. It creates the
// declarations topic and the default exchange's topic when missing,
// replays the declarations and starts tailing them; it returns once it has
// read them to their end. The backend must have end offsets and group-less
// reads (the embedded backends and Kafka do): on another it returns an
// error matching errors.ErrUnsupported. Close the Conn before c.
func Open(ctx context.Context, c *pubsub.Client) (*Conn, error) {
	caps := c.Capabilities()
	if !caps.EndOffsets || !caps.NoGroup {
		return nil, fmt.Errorf("exchange: the backend lacks end offsets or group-less reads: %w", errors.ErrUnsupported)
	}
	if err := createMetaTopic(ctx, c); err != nil {
		return nil, err
	}
	if err := c.CreateTopic(ctx, defaultTopic, 1); err != nil && !errors.Is(err, brook.ErrTopicExists) {
		return nil, fmt.Errorf("exchange: create the default exchange: %w", err)
	}
	sub, err := c.Subscribe(ctx, "", []string{metaTopic}, pubsub.SubscribeOptions{Start: brook.StartEarliest})
	if err != nil {
		return nil, fmt.Errorf("exchange: tail the declarations: %w", err)
	}
	conn := &Conn{
		c: c, rep: newReplica(), changed: make(chan struct{}),
		qopts: map[string]QueueOptions{}, consumers: map[string]map[*consumer]bool{},
		tail: sub, tailDone: make(chan struct{}),
	}
	conn.slack = slackRemote
	var b *brook.Broker
	if c.As(&b) {
		conn.slack = slackEmbedded
	}
	go conn.runTail()
	if err := conn.Sync(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	conn.maybeSnapshot(ctx)
	return conn, nil
}

// createMetaTopic creates the declarations topic. On the embedded broker
// it is created with a size retention (metaRetentionBytes), so the records
// that snapshots replace are dropped; another backend gets a plain topic
// (see the package doc for Kafka).
func createMetaTopic(ctx context.Context, c *pubsub.Client) error {
	var b *brook.Broker
	if c.As(&b) {
		_, err := b.CreateTopic(metaTopic, brook.TopicConfig{Partitions: 1, RetentionBytes: metaRetentionBytes})
		if err != nil && !errors.Is(err, brook.ErrTopicExists) {
			return fmt.Errorf("exchange: create %s: %w", metaTopic, err)
		}
	}
	if err := c.CreateTopic(ctx, metaTopic, 1); err != nil {
		return fmt.Errorf("exchange: create %s: %w", metaTopic, err)
	}
	return nil
}

// runTail applies the declarations log, record by record, until Close.
func (c *Conn) runTail() {
	err := c.tail.Run(context.Background(), func(ctx context.Context, m *brook.Message) error {
		if g := c.gate.Load(); g != nil {
			select {
			case <-*g:
			case <-ctx.Done():
				return nil
			}
		}
		c.mu.Lock()
		c.rep.apply(m.Offset, m.Value)
		close(c.changed)
		c.changed = make(chan struct{})
		c.mu.Unlock()
		return nil
	})
	if err == nil {
		err = brook.ErrClosed
	}
	c.tailErr = err
	close(c.tailDone)
}

// Sync returns once this Conn has applied every declaration written, by
// any process, before Sync was called: after it, Bindings, Publish and a
// running Consume see them. Declaring calls on this Conn sync by
// themselves. It returns ctx's error or brook.ErrClosed.
func (c *Conn) Sync(ctx context.Context) error {
	if err := c.check(); err != nil {
		return err
	}
	end, err := c.c.EndOffsets(ctx, metaTopic)
	if err != nil {
		return fmt.Errorf("exchange: sync: %w", err)
	}
	if len(end) != 1 {
		return fmt.Errorf("exchange: sync: %s has %d partitions, want 1", metaTopic, len(end))
	}
	return c.waitApplied(ctx, end[0])
}

// waitApplied waits until the records before offset next are applied.
func (c *Conn) waitApplied(ctx context.Context, next int64) error {
	for {
		c.mu.Lock()
		done, ch := c.rep.next >= next, c.changed
		c.mu.Unlock()
		if done {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		case <-c.tailDone:
			return fmt.Errorf("exchange: declarations tail stopped: %w", c.tailErr)
		}
	}
}

func (c *Conn) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return brook.ErrClosed
	}
	return nil
}

// write appends a declaration record and waits until this Conn has
// applied it, so that the caller can check its outcome; it then adds a
// snapshot when one is due.
func (c *Conn) write(ctx context.Context, r record) error {
	m := &brook.Message{Topic: metaTopic, Value: encodeRecord(r)}
	if err := c.c.Publish(ctx, metaTopic, m); err != nil {
		return fmt.Errorf("exchange: write declaration: %w", err)
	}
	if err := c.waitApplied(ctx, m.Offset+1); err != nil {
		return err
	}
	c.maybeSnapshot(ctx)
	return nil
}

// maybeSnapshot writes a snapshot of the state when enough records follow
// the latest one. Several processes may do so at once; the extra
// snapshots are harmless. A failure is not the caller's: the next writer
// tries again.
func (c *Conn) maybeSnapshot(ctx context.Context) {
	c.mu.Lock()
	if !c.rep.snapshotDue() || c.tooBig {
		c.mu.Unlock()
		return
	}
	v := encodeRecord(c.rep.snapshotRecord())
	if len(v) > maxSnapshotBytes {
		c.tooBig = true
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	_ = c.c.Publish(ctx, metaTopic, &brook.Message{Topic: metaTopic, Value: v})
}

// view runs f on the state with the lock held.
func (c *Conn) view(f func(s *state)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c.rep.st)
}

// Close stops this Conn's consumers (their Consume calls return nil) and
// the tail of the declarations log, and waits for them. It leaves the
// pubsub.Client open and the declarations in place. It is idempotent.
func (c *Conn) Close() error {
	c.closeMu.Lock()
	defer c.closeMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	var running []*consumer
	for _, set := range c.consumers {
		for k := range set {
			running = append(running, k)
		}
	}
	c.mu.Unlock()
	for _, k := range running {
		k.stop(errConnClosed)
	}
	c.wg.Wait()
	err := c.tail.Close()
	<-c.tailDone
	return err
}
