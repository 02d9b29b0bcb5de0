package brook

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook/storage"
)

// Producer publishes messages to the broker's topics. Publishes to the same
// partition from many goroutines are group-committed: one write and one fsync
// serve them all. A Producer is safe for concurrent use.
type Producer struct {
	b      *Broker
	name   string
	rr     atomic.Uint64 // round-robin position
	closed atomic.Bool

	partitioner Partitioner // from ProducerOptions
	optsErr     error       // an invalid ProducerOptions

	// last is the topic resolved by the previous publish: a program that
	// publishes to one topic in a loop skips the name check and the
	// broker's topic lookup.
	last atomic.Pointer[Topic]

	// parts holds the PublishAsync batching of each partition (a
	// *partition) published to: an *asyncPart. See sweep.
	parts    sync.Map
	lastPart atomic.Pointer[asyncPart] // the part used last, if not swept
	nparts   atomic.Int64              // entries in parts
	sweepAt  atomic.Int64              // nparts at which the next sweep runs
	sweeping atomic.Bool
	batches  sync.Pool // of *asyncBatch, to reuse their slices

	mu       sync.Mutex
	inflight int           // asyncParts with publishes in flight
	idle     chan struct{} // closed when inflight drops to 0
}

// CreateProducer returns a producer named name. The name is informational
// (it appears in logs). Calls on the producer return the broker's error if
// the broker could not be opened or is closed.
func (b *Broker) CreateProducer(name string) *Producer {
	p := &Producer{b: b, name: name}
	if b.err == nil && b.register(p) != nil {
		p.closed.Store(true) // the broker is closing or closed: every publish returns ErrClosed
	}
	return p
}

// Name returns the producer's name.
func (p *Producer) Name() string { return p.name }

// Publish appends m to topic and returns when it is as durable as the topic's
// SyncPolicy promises (by default: fsynced). It sets m.Offset, m.Partition
// when Brook chose it, and m.Timestamp when it was zero. It does not depend on
// any consumer: messages wait in the log until they are read.
//
// It returns ErrNilMessage, ErrInvalidTopicName, ErrUnknownTopic,
// ErrTopicMismatch (m.Topic names another topic; an empty m.Topic is set to
// topic), ErrInvalidPartition, ErrMessageTooLarge, ErrPartitionFailed after a
// disk error, or ErrClosed.
func (p *Producer) Publish(topic string, m *Message) error {
	return p.PublishContext(context.Background(), topic, m)
}

// PublishContext is Publish with a context. If ctx ends before the message is
// handed to the partition's writer, it returns ctx.Err() and nothing is
// written; once handed over, the write completes and its result is returned.
func (p *Producer) PublishContext(ctx context.Context, topic string, m *Message) error {
	if err := p.check(); err != nil {
		return err
	}
	part, _, err := p.resolve(topic, m)
	if err != nil {
		return err
	}
	recs := []storage.Record{m.record()}
	first, err := part.append(ctx, recs)
	if err != nil {
		return err
	}
	m.Offset, m.Timestamp = first, recs[0].Timestamp
	return nil
}

// PublishAsync starts publishing m and returns at once. done, if not nil, is
// called exactly once with m and the result when the message is durable per
// the topic's policy (or failed). done runs on the partition's writer
// goroutine: it must be quick and must not block; it may publish again
// through PublishAsync but not through Publish. Flush waits for every
// PublishAsync of this producer. Errors are those of Publish.
//
// While a write of this producer to the partition is in progress, further
// messages for that partition are collected and written together when it
// completes; a partition with nothing in progress is written at once. The
// messages of one goroutine to one partition keep their order, and their
// done calls come in that order.
func (p *Producer) PublishAsync(topic string, m *Message, done func(*Message, error)) {
	if done == nil {
		done = ignoreResult
	}
	if err := p.check(); err != nil {
		done(m, err)
		return
	}
	part, maxBytes, err := p.resolve(topic, m)
	if err != nil {
		done(m, err)
		return
	}
	p.enqueue(part, m, done, mayExceedRecordLimit(m, maxBytes))
}

func ignoreResult(*Message, error) {}

// Flush waits until every PublishAsync of this producer has completed, or
// ctx ends.
func (p *Producer) Flush(ctx context.Context) error {
	p.mu.Lock()
	idle := p.idle
	p.mu.Unlock()
	if idle == nil {
		return nil
	}
	select {
	case <-idle:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close waits for the producer's pending PublishAsync calls and makes later
// calls return ErrClosed. It is idempotent; a Close that races another one
// also waits for the pending calls.
func (p *Producer) Close() error {
	if p.closed.Swap(true) {
		return p.Flush(context.Background())
	}
	err := p.Flush(context.Background())
	if p.b.err == nil {
		p.b.unregister(p)
	}
	return err
}

func (p *Producer) check() error {
	if err := p.b.checkWritable(); err != nil {
		return err
	}
	if p.closed.Load() {
		return fmt.Errorf("%w: producer %q", ErrClosed, p.name)
	}
	return p.optsErr
}

// begin counts a partition with asynchronous publishes in flight.
func (p *Producer) begin() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.inflight == 0 {
		p.idle = make(chan struct{})
	}
	p.inflight++
}

func (p *Producer) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.inflight--
	if p.inflight == 0 {
		close(p.idle)
	}
}

// resolve validates m for topic, chooses its partition, and returns that
// partition and the topic's message size limit.
func (p *Producer) resolve(topic string, m *Message) (*partition, int, error) {
	if m == nil {
		return nil, 0, ErrNilMessage
	}
	t := p.last.Load()
	if t == nil || t.name != topic {
		if err := checkTopicName(topic); err != nil {
			return nil, 0, err
		}
		t = nil
	}
	if m.Topic == "" {
		m.Topic = topic
	} else if m.Topic != topic {
		return nil, 0, fmt.Errorf("%w: message for %q published to %q", ErrTopicMismatch, m.Topic, topic)
	}
	parts, maxBytes, deleted := []*partition(nil), 0, true
	if t != nil {
		parts, maxBytes, deleted = t.publishView()
	}
	if deleted { // not cached, or deleted since: it may have been created again
		var err error
		if t, err = p.b.Topic(topic); err != nil {
			return nil, 0, err
		}
		p.last.Store(t)
		parts, maxBytes, deleted = t.publishView()
	}
	if size := m.size(); size > maxBytes {
		return nil, 0, &TopicError{Topic: topic, Err: fmt.Errorf("%w: %d bytes, limit %d", ErrMessageTooLarge, size, maxBytes)}
	}
	if err := checkTimestamp(topic, m.Timestamp); err != nil {
		return nil, 0, err
	}
	if mayExceedRecordLimit(m, maxBytes) {
		// The storage's own check, made here so that PublishBatch refuses
		// the whole batch before writing any of it.
		r := m.record()
		if r.Timestamp.IsZero() {
			r.Timestamp = time.Now()
		}
		if n, limit := storage.EncodedSize(&r), maxRecordSize(maxBytes); n > limit {
			return nil, 0, &TopicError{Topic: topic, Err: fmt.Errorf(
				"%w: encodes to %d bytes with its %d headers, limit %d", ErrMessageTooLarge, n, len(m.Headers), limit)}
		}
	}
	if deleted {
		return nil, 0, &TopicError{Topic: topic, Err: ErrUnknownTopic}
	}
	if p.partitioner != ManualPartitioner {
		p.place(m)
	}
	part, err := route(topic, parts, m, &p.rr)
	return part, maxBytes, err
}
