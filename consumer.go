package brook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// Consumer is a member of a consumer group. The group shares the partitions
// of the subscribed topics among its members, each getting an equal share
// (⌊P/M⌋ or ⌈P/M⌉), and moves them cooperatively when members come and go.
// Every group sees every message; within a group each message goes to one
// member. A Consumer's methods are safe for concurrent use.
type Consumer struct {
	b       *Broker
	name    string
	groupID string
	opts    ConsumerOptions
	optsErr error
	wake    chan struct{} // capacity 1: the coordinator's notify

	// mu guards the fields below. It is taken after the group's mu (the
	// group's watchdog calls stalled under it) and never held while
	// calling the group or user code; the poller's mu is taken after it.
	mu      sync.Mutex
	topics  []string // sorted
	closed  bool
	closing chan struct{} // closed when the first Close has returned; nil if never registered
	running bool
	cancel  context.CancelFunc // ends the current run
	runDone chan struct{}      // closed when the current run has ended
	runGoid int64              // the goroutine of the current run (see Close)
	// closeAtRunEnd is set by a Close called from the consumer's own
	// goroutines: the run's end finishes it (finishClose).
	closeAtRunEnd bool
	g             *group // while a session is active
	member        string
	loops         map[TopicPartition]*partLoop // the session's partitions
	poll          *poller

	pollStart sync.Mutex // serializes the start of the poller
	// subMu orders the subscription changes that reach the group, so that
	// an older one never lands after a newer one. Lock order: subMu, then
	// group.mu; mu is never held while the group is called.
	subMu sync.Mutex
}

// CreateConsumer returns a consumer named name in group groupID, with
// default options. Errors (an invalid group ID, a broker that failed to
// open) are returned by Subscribe, Run and Poll.
func (b *Broker) CreateConsumer(name, groupID string) *Consumer {
	return b.CreateConsumerWith(name, groupID, ConsumerOptions{})
}

// CreateConsumerWith is CreateConsumer with options.
func (b *Broker) CreateConsumerWith(name, groupID string, opts ConsumerOptions) *Consumer {
	o, err := opts.withDefaults()
	if o.DeadLetterTopic == "" {
		o.DeadLetterTopic = groupID + ".dlq"
	}
	if err == nil && o.ErrorPolicy == DeadLetterOnError && !validName(o.DeadLetterTopic) {
		err = fmt.Errorf("%w: dead-letter topic %q", ErrInvalidTopicName, o.DeadLetterTopic)
	}
	c := &Consumer{b: b, name: name, groupID: groupID, opts: o, optsErr: err, wake: make(chan struct{}, 1)}
	if b.err == nil && b.register(c) != nil {
		c.closed = true // the broker is closing or closed: every call returns ErrClosed
	}
	return c
}

// Name returns the consumer's name; GroupID its group.
func (c *Consumer) Name() string { return c.name }

// GroupID returns the consumer's group.
func (c *Consumer) GroupID() string { return c.groupID }

// Subscribe adds topics to the consumer's subscription; subscribing to a
// topic twice is a no-op. While the consumer runs, the group rebalances. It
// returns ErrInvalidTopicName, ErrUnknownTopic, ErrInvalidGroupID,
// ErrInvalidConfig (bad options) or ErrClosed.
func (c *Consumer) Subscribe(topics ...string) error {
	if err := c.usable(); err != nil {
		return err
	}
	for _, name := range topics {
		if err := checkTopicName(name); err != nil {
			return err
		}
		if _, err := c.b.Topic(name); err != nil {
			return err
		}
	}
	return c.setTopics(func(cur []string) []string { return append(cur, topics...) })
}

// Unsubscribe removes topics from the subscription; the group rebalances.
func (c *Consumer) Unsubscribe(topics ...string) error {
	if err := c.usable(); err != nil {
		return err
	}
	return c.setTopics(func(cur []string) []string {
		return slices.DeleteFunc(cur, func(t string) bool { return slices.Contains(topics, t) })
	})
}

func (c *Consumer) setTopics(change func([]string) []string) error {
	c.subMu.Lock()
	defer c.subMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	topics := change(slices.Clone(c.topics))
	slices.Sort(topics)
	topics = slices.Compact(topics)
	changed := !slices.Equal(topics, c.topics)
	c.topics = topics
	g, member := c.g, c.member
	c.mu.Unlock()
	if changed && g != nil {
		g.subscribe(member, topics)
	}
	return nil
}

// Subscriptions returns the subscribed topics, sorted.
func (c *Consumer) Subscriptions() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.topics)
}

// usable returns why the consumer cannot be used, or nil.
func (c *Consumer) usable() error {
	if err := c.b.checkWritable(); err != nil {
		return err
	}
	if c.optsErr != nil {
		return c.optsErr
	}
	if !validName(c.groupID) {
		return fmt.Errorf("%w: %q", ErrInvalidGroupID, c.groupID)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return ErrClosed
	}
	return nil
}

// Run joins the group and calls h for every message of the partitions the
// group assigns to this consumer: one goroutine per partition, so messages
// of one partition are handled in order and partitions in parallel. It
// blocks until ctx ends or Close is called (then it commits what was
// handled, leaves the group and returns nil), or until a handler fails under
// StopOnError (then it returns the *HandlerError). A handler panic is
// recovered and treated as an error. Run returns ErrNilHandler,
// ErrNoSubscription, ErrRunning (already running), or the errors of
// Subscribe.
func (c *Consumer) Run(ctx context.Context, h Handler) error {
	if h == nil {
		return ErrNilHandler
	}
	runCtx, err := c.startRun(ctx)
	if err != nil {
		return err
	}
	return c.run(runCtx, h)
}

// startRun marks the consumer running and returns the run's context.
func (c *Consumer) startRun(ctx context.Context) (context.Context, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, ErrClosed
	case c.running:
		return nil, ErrRunning
	case len(c.topics) == 0:
		return nil, ErrNoSubscription
	}
	c.running = true
	runCtx, cancel := context.WithCancel(ctx)
	c.cancel, c.runDone = cancel, make(chan struct{})
	return runCtx, nil
}

// run runs sessions until ctx ends or one fails. It runs on the goroutine
// that calls the rebalance callbacks, whose ID it records for Close.
func (c *Consumer) run(ctx context.Context, h Handler) error {
	c.mu.Lock()
	c.runGoid = goid()
	c.mu.Unlock()
	defer c.finishClose() // after the run's end below: a Close from inside waits for it
	defer func() {
		c.mu.Lock()
		c.running = false
		c.runGoid = 0
		c.cancel()
		close(c.runDone)
		c.mu.Unlock()
	}()
	g, err := c.b.group(c.groupID)
	if err != nil {
		return err
	}
	for {
		err := c.runSession(ctx, g, h)
		if errors.Is(err, errGroupDeleted) && ctx.Err() == nil {
			if g, err = c.b.group(c.groupID); err != nil {
				return err
			}
			continue
		}
		if !errors.Is(err, errEvicted) || ctx.Err() != nil {
			if errors.Is(err, errEvicted) {
				return nil
			}
			return err
		}
		c.b.log.Warn("brook: consumer evicted; rejoining", "group", c.groupID, "consumer", c.name)
	}
}

var (
	errEvicted      = errors.New("brook: member evicted")
	errGroupDeleted = errors.New("brook: group deleted")
)

// Assignment returns the partitions this consumer currently reads, sorted.
func (c *Consumer) Assignment() []TopicPartition {
	c.mu.Lock()
	defer c.mu.Unlock()
	tps := make([]TopicPartition, 0, len(c.loops))
	for tp, l := range c.loops {
		if !l.stopping() {
			tps = append(tps, tp)
		}
	}
	slices.SortFunc(tps, compareTopicPartition)
	return tps
}

// Seek makes the consumer continue the given partition at offset: an
// offset in [first, next] of the partition, or OffsetOldest (the earliest
// offset still held) or OffsetNewest (the end: only messages published from
// now on). The partition must be assigned to this consumer, so call Seek from
// a handler or an OnAssigned callback, or after Assignment lists the
// partition. The message in hand is finished first; the new position is
// committed as the consumer goes on. It returns ErrNotAssigned, or an
// *OffsetError (matching ErrOffsetOutOfRange) for any other offset.
func (c *Consumer) Seek(topic string, partition int, offset int64) error {
	l, err := c.assigned(TopicPartition{Topic: topic, Partition: partition})
	if err != nil {
		return err
	}
	first, next := l.part.offsets()
	switch {
	case offset == OffsetOldest:
		offset = first
	case offset == OffsetNewest:
		offset = next
	case offset < first || offset > next:
		return &OffsetError{Topic: topic, Partition: partition, Offset: offset, First: first, Next: next}
	}
	l.seek(offset)
	return nil
}

// SeekToTime makes the consumer continue the given partition at the first
// message whose timestamp is at or after t (the end of the partition if
// none is). It returns ErrNotAssigned, or ErrCorrupt for a damaged segment
// met on the way.
func (c *Consumer) SeekToTime(topic string, partition int, t time.Time) error {
	l, err := c.assigned(TopicPartition{Topic: topic, Partition: partition})
	if err != nil {
		return err
	}
	// A time outside int64 nanoseconds would wrap around: clamp it to the
	// range, before every message or after every one.
	switch {
	case t.Before(minTimestamp):
		t = minTimestamp
	case t.After(maxTimestamp):
		t = maxTimestamp
	}
	off, err := l.part.offsetForTime(t)
	if err != nil {
		return err
	}
	l.seek(off)
	return nil
}

// Commit commits m (the next offset to read becomes m.Offset+1) and writes
// the group's offsets to disk before returning. It is needed only with
// ManualCommit. It returns ErrFenced when the grant under which m was
// delivered has ended (the partition moved to another member, or away and
// back, or its topic was deleted and created again, since m was delivered)
// or m came from another consumer; an *OffsetError (matching
// ErrOffsetOutOfRange) when m.Offset is negative or not yet in the
// partition (a message that retention removed since can be committed). A message the program built itself
// (not delivered by Brook) is checked against the current grant, and gets
// ErrNotAssigned when the consumer does not own its partition now.
func (c *Consumer) Commit(ctx context.Context, m *Message) error {
	if m == nil {
		return ErrNilMessage
	}
	l := m.delivery
	switch {
	case l == nil: // built by the program: the current grant, if any
		var err error
		if l, err = c.assigned(TopicPartition{Topic: m.Topic, Partition: m.Partition}); err != nil {
			return err
		}
	case l.c != c || l.tp != (TopicPartition{Topic: m.Topic, Partition: m.Partition}):
		return &PartitionError{Topic: m.Topic, Partition: m.Partition, Err: ErrFenced}
	}
	// The grant m was delivered under decides: it still holds during a
	// revocation until the partition is handed over (so a handler can
	// commit the message in hand), and g.commit refuses it once it ended.
	if first, next := l.part.offsets(); m.Offset < 0 || m.Offset >= next {
		return &OffsetError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, First: first, Next: next}
	}
	return l.g.commitSync(ctx, l.member, l.gen, l.tp, m.Offset+1)
}

// assigned returns the loop of tp, if the consumer reads tp now.
func (c *Consumer) assigned(tp TopicPartition) (*partLoop, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.loops[tp]; ok && !l.stopping() {
		return l, nil
	}
	return nil, &PartitionError{Topic: tp.Topic, Partition: tp.Partition, Err: ErrNotAssigned}
}

// notify implements memberConn.
func (c *Consumer) notify() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// stalled implements memberConn: the longest time one of the consumer's
// handlers (or a polled message) has been in hand. For handlers it is
// measured from the watchdog's own earlier calls (see partLoop.stalledFor),
// so it must be called by the group's watchdog only.
func (c *Consumer) stalled(now time.Time) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	var worst time.Duration
	for _, l := range c.loops {
		worst = max(worst, l.stalledFor(now))
	}
	if c.poll != nil {
		worst = max(worst, c.poll.heldFor(now))
	}
	return worst
}
