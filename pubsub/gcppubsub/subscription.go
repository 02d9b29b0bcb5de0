package gcppubsub

import (
	"context"
	"runtime/debug"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub/driver"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// leaseExtension bounds each extension of a message's ack deadline, and
// so the stream's deadline too.
const leaseExtension = 10 * time.Second

// subscription is one member of a group: one Pub/Sub Subscriber per topic,
// on the subscriptions SubscriptionID(group, topic).
type subscription struct {
	b      *backend
	group  string
	topics []string
	subs   []*pubsub.Subscriber // one per topic, in the order of topics
	o      driver.SubscribeOptions

	mu       sync.Mutex
	closed   bool
	running  bool
	cancel   context.CancelFunc // ends the running Run
	done     chan struct{}      // closed when the running Run returns
	pending  []delivered        // ManualCommit: delivered, not yet acknowledged, in order
	draining bool               // Run is ending: deliveries are given back

	closeOnce sync.Once
}

// delivered pairs a message handed to the handler with the Pub/Sub message
// to acknowledge.
type delivered struct {
	m  *brook.Message
	pm *pubsub.Message
}

// Subscribe creates the group's subscription to each topic when it does not
// exist (with message ordering on), and returns a member of it. A new
// subscription gets only what is published after it was created, whatever
// o.Start says. Group "" is errors.ErrUnsupported.
func (b *backend) Subscribe(ctx context.Context, group string, topics []string, o driver.SubscribeOptions) (driver.Subscription, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	if group == "" {
		return nil, errUnsupported("group \"\": every Pub/Sub reader is a subscription")
	}
	if len(topics) == 0 {
		return nil, brook.ErrNoSubscription
	}
	s := &subscription{b: b, group: group, topics: topics, o: o}
	for _, t := range topics {
		id := SubscriptionID(group, t)
		_, err := b.c.SubscriptionAdminClient.CreateSubscription(ctx, &pubsubpb.Subscription{
			Name:                  b.subscriptionPath(id),
			Topic:                 b.topicPath(t),
			EnableMessageOrdering: true,
		})
		if err != nil && status.Code(err) != codes.AlreadyExists {
			return nil, b.adminErr(err, t)
		}
		sub := b.c.Subscriber(id)
		// Leases of 10 s (Pub/Sub's minimum) rather than the library's 60 s:
		// a message in flight on a stream that closes comes back within 10 s.
		sub.ReceiveSettings.MaxDurationPerAckExtension = leaseExtension
		s.subs = append(s.subs, sub)
	}
	if err := b.track(s); err != nil {
		return nil, err
	}
	return s, nil
}

// Run receives from every topic's subscription until ctx ends, Close is
// called or a handler fails. Pub/Sub calls handlers concurrently, serially
// per ordering key (the message key). A nil from the handler acknowledges
// the message (unless ManualCommit); an error negatively acknowledges it,
// so that it is redelivered, and stops Run. OnAssigned and OnRevoked see
// partition 0 of each topic when Run starts and ends.
func (s *subscription) Run(ctx context.Context, h brook.Handler) error {
	if h == nil {
		return brook.ErrNilHandler
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return brook.ErrClosed
	case s.running:
		s.mu.Unlock()
		return brook.ErrRunning
	}
	ctx, cancel := context.WithCancel(ctx)
	s.running, s.cancel, s.done = true, cancel, make(chan struct{})
	done := s.done
	s.mu.Unlock()
	defer func() {
		cancel()
		s.mu.Lock()
		s.running, s.cancel, s.draining = false, nil, false
		close(done)
		s.mu.Unlock()
	}()

	tps := make([]brook.TopicPartition, len(s.topics))
	for i, t := range s.topics {
		tps[i] = brook.TopicPartition{Topic: t}
	}
	if s.o.OnAssigned != nil {
		s.o.OnAssigned(tps)
	}
	if s.o.OnRevoked != nil {
		defer s.o.OnRevoked(tps)
	}

	r := &run{s: s, h: h, cancel: cancel}
	errs := make([]error, len(s.subs))
	var wg sync.WaitGroup
	if s.o.ManualCommit {
		wg.Go(func() { <-ctx.Done(); s.drain() })
	}
	for i, sub := range s.subs {
		topic := s.topics[i]
		wg.Go(func() {
			errs[i] = sub.Receive(ctx, func(ctx context.Context, pm *pubsub.Message) { r.deliver(ctx, topic, pm) })
		})
	}
	wg.Wait()
	if herr := r.err.Load(); herr != nil {
		return herr
	}
	for i, err := range errs {
		if err != nil && ctx.Err() == nil {
			return mapErr(err, s.topics[i])
		}
	}
	return nil
}

// run is the state of one Run shared by its concurrent deliveries.
type run struct {
	s      *subscription
	h      brook.Handler
	cancel context.CancelFunc
	err    atomic.Pointer[brook.HandlerError] // the first handler error
}

func (r *run) deliver(ctx context.Context, topic string, pm *pubsub.Message) {
	if r.err.Load() != nil || ctx.Err() != nil {
		pm.Nack()
		return
	}
	m := &brook.Message{Topic: topic, Offset: -1, Value: pm.Data}
	decode(m, pm.OrderingKey, pm.Attributes, pm.PublishTime)
	manual := r.s.o.ManualCommit
	// With ManualCommit the message is held from now on, so that Commit
	// finds it while the handler still runs (as Receive's handler does).
	if manual && !r.s.hold(m, pm) {
		return
	}
	if err := call(ctx, r.h, m); err != nil {
		if manual {
			r.s.release(m)
		}
		pm.Nack()
		herr := &brook.HandlerError{Topic: topic, Offset: -1, Attempts: 1, Err: err}
		if ctx.Err() == nil && r.err.CompareAndSwap(nil, herr) {
			r.cancel()
		}
		return
	}
	if !manual {
		pm.Ack()
	}
}

// call runs h on m, turning a panic into a *brook.PanicError.
func call(ctx context.Context, h brook.Handler, m *brook.Message) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &brook.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return h(ctx, m)
}

// hold records a delivery for Commit. Once Run is ending it gives the
// message back instead and returns false.
func (s *subscription) hold(m *brook.Message, pm *pubsub.Message) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.draining {
		pm.Nack()
		return false
	}
	s.pending = append(s.pending, delivered{m: m, pm: pm})
	return true
}

// release forgets a held delivery whose handler failed.
func (s *subscription) release(m *brook.Message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pending = slices.DeleteFunc(s.pending, func(d delivered) bool { return d.m == m })
}

// drain gives back what ManualCommit holds unacknowledged, so that it is
// redelivered now rather than when its deadline passes, and so that
// Receive, which waits for every delivery to be acknowledged or given
// back, can return. Deliveries after it are given back at once.
func (s *subscription) drain() {
	s.mu.Lock()
	pending := s.pending
	s.pending, s.draining = nil, true
	s.mu.Unlock()
	for _, d := range pending {
		d.pm.Nack()
	}
}

// Commit acknowledges m and every message of its topic handled before it
// and not yet acknowledged. Without ManualCommit the handler's nil did
// that already. A message not held (never delivered here, given back when
// its handler failed or when Run ended) is brook.ErrNotAssigned.
func (s *subscription) Commit(_ context.Context, m *brook.Message) error {
	if m == nil {
		return brook.ErrNilMessage
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return brook.ErrClosed
	}
	if !s.o.ManualCommit {
		s.mu.Unlock()
		return nil
	}
	i := -1
	for j, d := range s.pending {
		if d.m == m {
			i = j
			break
		}
	}
	if i < 0 {
		s.mu.Unlock()
		return &brook.PartitionError{Topic: m.Topic, Partition: m.Partition, Err: brook.ErrNotAssigned}
	}
	var ack []*pubsub.Message
	keep := s.pending[:0]
	for j, d := range s.pending {
		if j <= i && d.m.Topic == m.Topic {
			ack = append(ack, d.pm)
		} else {
			keep = append(keep, d)
		}
	}
	s.pending = keep
	s.mu.Unlock()
	for _, pm := range ack {
		pm.Ack()
	}
	return nil
}

// Close ends a running Run and waits for it (its deliveries are
// acknowledged or given back). It is idempotent.
func (s *subscription) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		cancel, done := s.cancel, s.done
		s.mu.Unlock()
		if cancel != nil {
			cancel()
			<-done
		}
		s.b.forget(s)
	})
	return nil
}
