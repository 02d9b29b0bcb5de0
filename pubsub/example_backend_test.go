package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/brookmq/brook/pubsub/drivertest"
)

// memlog is a complete custom backend, the one the package documentation
// describes: topics of one partition each, held in memory, and groups that
// let one member at a time read (the others wait, as extra members of a
// Kafka group wait for a partition). It declares what it cannot do in
// Capabilities, so the conformance suite skips exactly those checks.
type memlog struct {
	mu     sync.Mutex
	topics map[string][]brook.Message
	groups map[string]*memGroup
	wake   chan struct{} // closed and replaced on every change
	closed bool
}

// memGroup is one group: its committed offsets, its live members and the
// member reading now.
type memGroup struct {
	committed map[string]int64
	members   int
	reader    *memSub
}

func newMemlog() *memlog {
	return &memlog{topics: map[string][]brook.Message{}, groups: map[string]*memGroup{}, wake: make(chan struct{})}
}

// changed wakes every waiter; l.mu is held.
func (l *memlog) changed() {
	close(l.wake)
	l.wake = make(chan struct{})
}

// Capabilities: one partition per topic; everything else is there.
func (l *memlog) Capabilities() driver.Capabilities {
	c := driver.All()
	c.ExplicitPartitions = false
	return c
}

func (l *memlog) EnsureTopic(_ context.Context, topic string, partitions int) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return brook.ErrClosed
	}
	if partitions != 1 {
		return fmt.Errorf("memlog: %d partitions: %w", partitions, errors.ErrUnsupported)
	}
	if _, ok := l.topics[topic]; !ok {
		l.topics[topic] = nil
	}
	return nil
}

func (l *memlog) Partitions(_ context.Context, topic string) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.topics[topic]; !ok {
		return 0, &brook.TopicError{Topic: topic, Err: brook.ErrUnknownTopic}
	}
	return 1, nil
}

func (l *memlog) EndOffsets(_ context.Context, topic string) ([]int64, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	log, ok := l.topics[topic]
	if !ok {
		return nil, &brook.TopicError{Topic: topic, Err: brook.ErrUnknownTopic}
	}
	return []int64{int64(len(log))}, nil
}

func (l *memlog) Publish(_ context.Context, topic string, msgs []*brook.Message) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	log, ok := l.topics[topic]
	switch {
	case l.closed:
		return brook.ErrClosed
	case !ok:
		return &brook.TopicError{Topic: topic, Err: brook.ErrUnknownTopic}
	}
	for _, m := range msgs { // all or nothing: check first
		if m.Partition > 0 {
			return &brook.PartitionError{Topic: topic, Partition: m.Partition, Partitions: 1, Err: brook.ErrInvalidPartition}
		}
		if len(m.Key)+len(m.Value) > 1<<20 {
			return &brook.TopicError{Topic: topic, Err: brook.ErrMessageTooLarge}
		}
	}
	for _, m := range msgs {
		m.Partition, m.Offset = 0, int64(len(log))
		if m.Timestamp.IsZero() {
			m.Timestamp = time.Now()
		}
		c := *m
		c.Key, c.Value, c.Headers = slices.Clone(m.Key), slices.Clone(m.Value), slices.Clone(m.Headers)
		log = append(log, c)
	}
	l.topics[topic] = log
	l.changed()
	return nil
}

func (l *memlog) Subscribe(_ context.Context, group string, topics []string, o driver.SubscribeOptions) (driver.Subscription, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, brook.ErrClosed
	}
	s := &memSub{l: l, group: group, opts: o, topics: topics, pos: map[string]int64{}}
	for _, t := range topics {
		log, ok := l.topics[t]
		if !ok {
			return nil, &brook.TopicError{Topic: t, Err: brook.ErrUnknownTopic}
		}
		if group == "" && o.Start == brook.StartLatest {
			s.pos[t] = int64(len(log))
		}
	}
	if group != "" {
		g := l.groups[group]
		if g == nil {
			g = &memGroup{committed: map[string]int64{}}
			l.groups[group] = g
		}
		g.members++
		s.g = g
	}
	return s, nil
}

func (l *memlog) DeleteGroup(_ context.Context, group string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	g, ok := l.groups[group]
	switch {
	case !ok:
		return fmt.Errorf("%w: %q", brook.ErrUnknownGroup, group)
	case g.members > 0:
		return fmt.Errorf("%w: %q", brook.ErrGroupActive, group)
	}
	delete(l.groups, group)
	return nil
}

func (l *memlog) As(any) bool { return false } // no client of its own to expose

func (l *memlog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.closed {
		l.closed = true
		l.changed()
	}
	return nil
}

// memSub is one member of a group (or a group-less reader when g is nil).
type memSub struct {
	l      *memlog
	group  string
	g      *memGroup
	opts   driver.SubscribeOptions
	topics []string
	pos    map[string]int64 // under l.mu: group "": the next offset per topic; a group: progress under ManualCommit

	mu     sync.Mutex
	closed bool
	cancel context.CancelFunc
	done   chan struct{}
}

// Run reads each topic on a goroutine of its own, in order.
func (s *memSub) Run(ctx context.Context, h brook.Handler) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return brook.ErrClosed
	}
	ctx, cancel := context.WithCancel(ctx)
	s.cancel, s.done = cancel, make(chan struct{})
	s.mu.Unlock()
	defer close(s.done)
	defer cancel()
	if !s.claim(ctx) {
		return nil
	}
	defer s.release()
	errs := make([]error, 0, len(s.topics))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, topic := range s.topics {
		wg.Go(func() {
			if err := s.read(ctx, topic, h); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				cancel()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// claim waits until this member is its group's reader.
func (s *memSub) claim(ctx context.Context) bool {
	l := s.l
	for {
		l.mu.Lock()
		if s.g == nil || s.g.reader == nil {
			if s.g != nil {
				s.g.reader = s
			}
			l.mu.Unlock()
			return true
		}
		wake := l.wake
		l.mu.Unlock()
		select {
		case <-wake:
		case <-ctx.Done():
			return false
		}
	}
}

func (s *memSub) release() {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	if s.g != nil && s.g.reader == s {
		s.g.reader = nil
		s.l.changed()
	}
}

// next returns the message at this member's position in topic, or a
// channel that closes when there may be one.
func (s *memSub) next(topic string) (*brook.Message, <-chan struct{}, error) {
	l := s.l
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, nil, brook.ErrClosed
	}
	log := l.topics[topic]
	pos := s.pos[topic]
	if s.g != nil {
		off, ok := s.g.committed[topic]
		if !ok {
			off = 0
			if s.opts.Start == brook.StartLatest {
				off = int64(len(log))
			}
			s.g.committed[topic] = off
		}
		if p, ok := s.pos[topic]; ok && p > off { // uncommitted progress under ManualCommit
			off = p
		}
		pos = off
	}
	if pos < int64(len(log)) {
		m := log[pos]
		m.Key, m.Value, m.Headers = slices.Clone(m.Key), slices.Clone(m.Value), slices.Clone(m.Headers)
		return &m, nil, nil
	}
	return nil, l.wake, nil
}

func (s *memSub) read(ctx context.Context, topic string, h brook.Handler) error {
	for {
		m, wait, err := s.next(topic)
		if err != nil {
			return err
		}
		if m == nil {
			select {
			case <-wait:
				continue
			case <-ctx.Done():
				return nil
			}
		}
		if err := h(ctx, m); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		s.advance(m)
	}
}

// advance moves past m: the group's offset, unless ManualCommit.
func (s *memSub) advance(m *brook.Message) {
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	switch {
	case s.g == nil:
		s.pos[m.Topic] = m.Offset + 1
	case s.opts.ManualCommit:
		s.pos[m.Topic] = m.Offset + 1
	default:
		s.g.committed[m.Topic] = m.Offset + 1
	}
}

func (s *memSub) Commit(_ context.Context, m *brook.Message) error {
	if s.g == nil {
		return nil
	}
	s.l.mu.Lock()
	defer s.l.mu.Unlock()
	s.g.committed[m.Topic] = m.Offset + 1
	return nil
}

func (s *memSub) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	cancel, done := s.cancel, s.done
	s.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
	if s.g != nil {
		s.l.mu.Lock()
		s.g.members--
		s.l.mu.Unlock()
	}
	return nil
}

// The custom backend passes the conformance suite, minus what its
// Capabilities rule out.
func TestConformanceCustomBackend(t *testing.T) {
	drivertest.RunConformanceTests(t, func(*testing.T) driver.Backend { return newMemlog() })
}

// A custom backend is registered under a scheme of its own, then opened by
// URL like the built-in ones.
func ExampleRegistry_Register() {
	var reg pubsub.Registry // knows "brook" and "mem" already
	reg.Register("memlog", pubsub.OpenerFunc(func(context.Context, *url.URL) (driver.Backend, error) {
		return newMemlog(), nil
	}))
	ctx := context.Background()
	c, err := reg.Open(ctx, "memlog://")
	if err != nil {
		panic(err)
	}
	defer c.Close()
	if err := c.CreateTopic(ctx, "greetings", 1); err != nil {
		panic(err)
	}
	if err := c.Send(ctx, "greetings", []byte("hello")); err != nil {
		panic(err)
	}
	sub, err := c.Subscribe(ctx, "readers", []string{"greetings"}, pubsub.SubscribeOptions{})
	if err != nil {
		panic(err)
	}
	defer sub.Close()
	m, err := sub.Receive(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(reg.Schemes(), string(m.Value))
	// Output: [brook mem memlog] hello
}
