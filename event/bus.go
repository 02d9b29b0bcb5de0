package event

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
)

// Options configure a Bus. Zero fields mean their defaults.
type Options struct {
	// Service names this service in audit entries and the HeaderService
	// header. Required.
	Service string
	// ReplyTopic is where replies to this bus's requests go; NewBus creates
	// it when missing. Bus instances of one service may share it.
	// Default: Service+".replies".
	ReplyTopic string
	// ReplyPartitions is the partition count NewBus creates ReplyTopic with.
	// Default: 1.
	ReplyPartitions int
	// Store receives the replies that came after their Request gave up. A
	// full Store with the Block policy drops them rather than stall the
	// replies still awaited. Default: none, they are only counted in
	// BusStats.LateReplies.
	Store *Store
	// MaxAudit bounds an event's audit log; the oldest entries go first.
	// Default: 64.
	MaxAudit int
	// Key returns the message key of an event, which decides its partition.
	// Default: the correlation id, so a conversation stays on one partition.
	Key func(*Event) []byte
	// Consumer is what Listen subscribes with: start offset, retries,
	// error policy, dead letters. An event whose handler fails and that is
	// not a request is a handler error there (so is a message that is not
	// an event, under UndecodableFail). Default: pubsub's defaults (three
	// attempts, then stop).
	Consumer pubsub.SubscribeOptions
	// Undecodable is what Listen does with a message that is not an event:
	// no retry can change it, so by default it goes to the dead-letter
	// topic and Listen goes on. Default: UndecodableDeadLetter.
	Undecodable UndecodablePolicy
	// Logger receives what the bus drops (undecodable replies).
	// Default: none.
	Logger *slog.Logger
}

// BusStats are a Bus's counters.
type BusStats struct {
	Pending     int64 // Requests waiting for their reply now
	LateReplies int64 // replies for this bus that no Request waited for any more
	Published   int64 // events published: Publish, Request and Listen's replies
	Handled     int64 // events Listen handed to a handler
}

// Bus publishes, listens to and requests events over a pubsub.Client. Its
// methods are safe for concurrent use. It does not own the client: close
// the bus, then the client.
type Bus struct {
	c        *pubsub.Client
	o        Options
	log      *slog.Logger
	instance string // this bus's id in HeaderReplyInstance
	seq      atomic.Uint64

	mu      sync.Mutex
	closed  bool
	calls   map[string]*call // pending Requests, by correlation id
	listens map[*pubsub.Subscription]struct{}

	replies  *pubsub.Subscription
	closing  chan struct{}   // closed by Close
	done     chan struct{}   // closed when the reply consumer has stopped
	replyErr error           // why it stopped, when not by Close; set before done closes
	noWait   context.Context // already ended: a Store.Put that must not wait

	published, handled, late atomic.Int64
}

// NewBus returns a bus on c for service o.Service. Before it returns it
// creates o.ReplyTopic if missing and starts tailing every partition of it
// from its end, so that no reply to a later Request can be missed. ctx
// bounds this setup only; the bus runs until Close.
//
// It returns errors.ErrUnsupported on a backend without end offsets (Google
// Pub/Sub), and the client's errors (brook.ErrTopicExists when ReplyTopic
// has another partition count, brook.ErrClosed).
func NewBus(ctx context.Context, c *pubsub.Client, o Options) (*Bus, error) {
	if o.Service == "" {
		return nil, fmt.Errorf("event: %w: Options.Service is required", brook.ErrInvalidConfig)
	}
	if o.ReplyTopic == "" {
		o.ReplyTopic = o.Service + ".replies"
	}
	if o.ReplyPartitions == 0 {
		o.ReplyPartitions = 1
	}
	if o.MaxAudit <= 0 {
		o.MaxAudit = 64
	}
	if !c.Capabilities().EndOffsets {
		return nil, fmt.Errorf("event: request/reply needs a backend with end offsets: %w", errors.ErrUnsupported)
	}
	if err := c.CreateTopic(ctx, o.ReplyTopic, o.ReplyPartitions); err != nil {
		return nil, fmt.Errorf("event: reply topic: %w", err)
	}
	if _, err := c.EndOffsets(ctx, o.ReplyTopic); err != nil {
		return nil, fmt.Errorf("event: reply topic: %w", err)
	}
	sub, err := c.Subscribe(ctx, "", []string{o.ReplyTopic}, pubsub.SubscribeOptions{Start: brook.StartLatest, MaxAttempts: 1})
	if err != nil {
		return nil, fmt.Errorf("event: reply topic: %w", err)
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{
		c: c, o: o, log: log, instance: rand.Text(),
		calls: make(map[string]*call), listens: make(map[*pubsub.Subscription]struct{}),
		replies: sub, closing: make(chan struct{}), done: make(chan struct{}),
	}
	var cancel context.CancelFunc
	b.noWait, cancel = context.WithCancel(context.Background())
	cancel()
	go b.runReplies()
	return b, nil
}

// Service returns Options.Service.
func (b *Bus) Service() string { return b.o.Service }

// ReplyTopic returns the topic this bus's requests are answered on.
func (b *Bus) ReplyTopic() string { return b.o.ReplyTopic }

// Publish writes e to topic: the seed's produce. An event without a
// correlation id takes the one ctx carries (WithCorrelationID), else a new
// random one. On return e.CorrelationID is set and e's audit log ends with
// the "publish" entry naming the topic, partition and offset written. It
// returns the client's errors: brook.ErrUnknownTopic,
// brook.ErrMessageTooLarge, brook.ErrClosed (also after the bus's Close).
func (b *Bus) Publish(ctx context.Context, topic string, e *Event) error {
	if err := b.check(); err != nil {
		return err
	}
	return b.publish(ctx, topic, e)
}

// publish writes e with its headers, then extra ones, and records the hop.
func (b *Bus) publish(ctx context.Context, topic string, e *Event, extra ...brook.Header) error {
	if e == nil {
		return brook.ErrNilMessage
	}
	if e.Name == "" {
		return errors.New("event: an event needs a name: no handler could route it")
	}
	if e.CorrelationID == "" {
		if id, ok := CorrelationIDFrom(ctx); ok {
			e.CorrelationID = id
		} else {
			e.CorrelationID = randomID()
		}
	}
	extra = append(extra, brook.Header{Key: HeaderService, Value: []byte(b.o.Service)})
	if tp, ok := TraceparentFrom(ctx); ok {
		extra = append(extra, brook.Header{Key: HeaderTraceparent, Value: []byte(tp)})
	}
	key := []byte(e.CorrelationID)
	if b.o.Key != nil {
		key = b.o.Key(e)
	}
	m, err := e.message(topic, key, extra...)
	if err != nil {
		return err
	}
	if err := b.c.Publish(ctx, topic, m); err != nil {
		return err
	}
	b.published.Add(1)
	e.addAudit(publishEntry(b.o.Service, e.Name, m), b.o.MaxAudit)
	return nil
}

// randomID returns a new correlation id.
func randomID() string { return rand.Text() }

// check returns brook.ErrClosed after Close.
func (b *Bus) check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return brook.ErrClosed
	}
	return nil
}

// Stats returns the bus's counters.
func (b *Bus) Stats() BusStats {
	b.mu.Lock()
	pending := int64(len(b.calls))
	b.mu.Unlock()
	return BusStats{Pending: pending, LateReplies: b.late.Load(), Published: b.published.Load(), Handled: b.handled.Load()}
}

// Close stops the bus: running Listens return (after their handler in
// hand), pending Requests return brook.ErrClosed, and the reply consumer
// stops; Close waits for all of it. It does not close the client. It is
// idempotent.
func (b *Bus) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	close(b.closing)
	subs := make([]*pubsub.Subscription, 0, len(b.listens))
	for s := range b.listens {
		subs = append(subs, s)
	}
	b.mu.Unlock()
	var errs []error
	for _, s := range subs {
		errs = append(errs, s.Close())
	}
	errs = append(errs, b.replies.Close())
	<-b.done
	return errors.Join(errs...)
}
