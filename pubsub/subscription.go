package pubsub

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub/driver"
)

// SubscribeOptions configure a subscription. They have the meanings and
// defaults of brook.ConsumerOptions; zero fields mean defaults.
type SubscribeOptions struct {
	// Start applies to partitions the group has no committed offset for
	// (and, for group "", to every partition). Default: brook.StartEarliest.
	Start brook.StartOffset

	// MaxAttempts is how many times the handler is called for one message
	// before ErrorPolicy applies; 1 means no retry. Default: 3.
	MaxAttempts int

	// RetryBackoff is the wait before the first retry, doubled for each
	// later one, up to 10 s. Default: 100ms.
	RetryBackoff time.Duration

	// ErrorPolicy is what happens after the last failed attempt:
	// brook.StopOnError (Run returns a *brook.HandlerError and the message
	// is not committed), brook.SkipOnError (logged and committed past) or
	// brook.DeadLetterOnError. Default: brook.StopOnError.
	ErrorPolicy brook.ErrorPolicy

	// DeadLetterTopic receives failed messages under DeadLetterOnError
	// (created with one partition when missing), with the headers
	// brook.dlq.topic, brook.dlq.partition, brook.dlq.offset and
	// brook.dlq.error. Required with group "". Default: the group followed
	// by ".dlq".
	DeadLetterTopic string

	// ManualCommit turns automatic commits off: only Commit commits.
	// Default: false (a message is committed once its handler returns nil).
	ManualCommit bool

	// OnAssigned, OnRevoked and OnLost are called, when set, as the
	// backend's group gives, takes back or loses partitions. They must not
	// call Run, Receive or Close. Default: none.
	OnAssigned, OnRevoked, OnLost func([]brook.TopicPartition)
}

func (o SubscribeOptions) withDefaults(group string) (SubscribeOptions, error) {
	if o.MaxAttempts < 0 || o.RetryBackoff < 0 || o.Start > brook.StartLatest || o.ErrorPolicy > brook.DeadLetterOnError {
		return o, fmt.Errorf("%w: negative subscribe option or unknown policy", brook.ErrInvalidConfig)
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 3
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = 100 * time.Millisecond
	}
	if o.DeadLetterTopic == "" && group != "" {
		o.DeadLetterTopic = group + ".dlq"
	}
	if o.ErrorPolicy == brook.DeadLetterOnError {
		if o.DeadLetterTopic == "" {
			return o, fmt.Errorf("%w: DeadLetterOnError with group \"\" needs a DeadLetterTopic", brook.ErrInvalidConfig)
		}
		if err := checkTopic(o.DeadLetterTopic); err != nil {
			return o, err
		}
	}
	return o, nil
}

// Subscribe joins group for topics (or, with group "", reads every
// partition of them outside any group and commits nothing). Delivery
// starts with Run, Receive or Messages. It returns brook.ErrInvalidGroupID,
// brook.ErrInvalidTopicName, brook.ErrUnknownTopic, brook.ErrInvalidConfig
// (bad options), errors.ErrUnsupported (group "" on a backend without
// NoGroup) or brook.ErrClosed.
func (c *Client) Subscribe(ctx context.Context, group string, topics []string, o SubscribeOptions) (*Subscription, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := checkGroup(group); err != nil {
		return nil, err
	}
	if len(topics) == 0 {
		return nil, brook.ErrNoSubscription
	}
	for _, t := range topics {
		if err := checkTopic(t); err != nil {
			return nil, err
		}
	}
	o, err := o.withDefaults(group)
	if err != nil {
		return nil, err
	}
	if group == "" && !c.caps.NoGroup {
		return nil, fmt.Errorf("pubsub: group \"\": %w", errors.ErrUnsupported)
	}
	for _, t := range topics {
		if _, err := c.b.Partitions(ctx, t); err != nil {
			return nil, err
		}
	}
	ds, err := c.b.Subscribe(ctx, group, topics, driver.SubscribeOptions{Start: o.Start, ManualCommit: o.ManualCommit,
		OnAssigned: o.OnAssigned, OnRevoked: o.OnRevoked, OnLost: o.OnLost})
	if err != nil {
		return nil, err
	}
	s := &Subscription{c: c, ds: ds, group: group, opts: o, closed: make(chan struct{})}
	if err := c.track(s); err != nil {
		_ = ds.Close()
		return nil, err
	}
	return s, nil
}

// Consume joins group for topic and calls h for each message until ctx
// ends (then it returns nil) or h fails under the default
// brook.StopOnError policy: the seed's consume_message. It is Subscribe,
// Run and Close in one call, with default options.
func (c *Client) Consume(ctx context.Context, group, topic string, h brook.Handler) error {
	s, err := c.Subscribe(ctx, group, []string{topic}, SubscribeOptions{})
	if err != nil {
		return err
	}
	err = s.Run(ctx, h)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	return err
}

// Subscription is one member of a group (or a group-less reader), from
// Client.Subscribe. Drive it with Run (push: one goroutine per partition)
// or with Receive and Messages (pull), not both. Its methods are safe for
// concurrent use.
type Subscription struct {
	c     *Client
	ds    driver.Subscription
	group string
	opts  SubscribeOptions

	mu        sync.Mutex
	running   bool
	cancel    context.CancelFunc // ends the current Run
	failure   *brook.HandlerError
	poll      *poller
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// Group returns the subscription's group ("" for a group-less reader).
func (s *Subscription) Group() string { return s.group }

// Run calls h for every message delivered to this member, one goroutine
// per partition, so messages of one partition are handled in order. A nil
// from h commits the message (unless ManualCommit); an error or a panic is
// retried MaxAttempts times with backoff, then the ErrorPolicy applies.
// Run blocks until ctx ends or Close is called (then it returns nil), or
// until a handler fails under brook.StopOnError (then it returns the
// *brook.HandlerError). It returns brook.ErrNilHandler, brook.ErrRunning
// (already running, or driven by Receive), brook.ErrClosed, or the
// backend's error.
func (s *Subscription) Run(ctx context.Context, h brook.Handler) error {
	if h == nil {
		return brook.ErrNilHandler
	}
	s.mu.Lock()
	runCtx, err := s.startLocked(ctx)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	return s.runStarted(runCtx, h)
}

// runStarted runs the backend's subscription with h wrapped in the
// client's retries and error policy, once start has succeeded.
func (s *Subscription) runStarted(runCtx context.Context, h brook.Handler) error {
	err := s.ds.Run(runCtx, s.wrap(h))
	s.mu.Lock()
	s.running = false
	s.cancel()
	failure := s.failure
	s.failure = nil
	s.mu.Unlock()
	var herr *brook.HandlerError
	if failure != nil && errors.As(err, &herr) {
		return failure // the client's own error, not the backend's wrapping of it
	}
	return err
}

// startLocked marks the subscription running and returns the run's
// context, which Close cancels. s.mu is held.
func (s *Subscription) startLocked(ctx context.Context) (context.Context, error) {
	select {
	case <-s.closed:
		return nil, brook.ErrClosed
	default:
	}
	if s.running {
		return nil, brook.ErrRunning
	}
	s.running = true
	runCtx, cancel := context.WithCancel(ctx)
	s.cancel = cancel
	return runCtx, nil
}

// Commit commits m and everything before it on its partition; it is needed
// only with ManualCommit. A group-less subscription commits nothing and
// returns nil. It returns brook.ErrNilMessage, the backend's errors
// (brook.ErrNotAssigned, brook.ErrFenced on the embedded broker), or
// brook.ErrClosed.
func (s *Subscription) Commit(ctx context.Context, m *brook.Message) error {
	if m == nil {
		return brook.ErrNilMessage
	}
	select {
	case <-s.closed:
		return brook.ErrClosed
	default:
	}
	return s.ds.Commit(ctx, m)
}

// Close makes a running Run return (what handlers finished is committed,
// and a message in hand from Receive counts as processed), leaves the
// group and waits for the subscription's goroutines. It is idempotent.
func (s *Subscription) Close() error {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		close(s.closed)
		cancel, p := s.cancel, s.poll
		s.mu.Unlock()
		if p != nil {
			p.ackInHand()
		}
		if cancel != nil {
			cancel() // handlers see their context end, as under brook.Consumer.Close
		}
		s.closeErr = s.ds.Close()
		if p != nil {
			<-p.done
		}
		s.c.untrack(s)
	})
	return s.closeErr
}
