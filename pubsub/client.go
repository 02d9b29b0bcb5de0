package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub/driver"
)

// Options configure a Client. Zero fields mean their defaults.
type Options struct {
	// Name names the client in member names and log records.
	// Default: "pubsub".
	Name string

	// Logger receives the client's reports (handler failures, dead
	// letters). Default: none; the package prints nothing by itself.
	Logger *slog.Logger
}

// Client is the portable face of a backend: every program talks to the
// embedded broker, Kafka or Google Pub/Sub through the same calls. It
// validates names before the backend sees them and runs retries, the error
// policy and dead letters around handlers itself, so every backend behaves
// alike. Its methods are safe for concurrent use.
type Client struct {
	b    driver.Backend
	caps driver.Capabilities
	name string
	log  *slog.Logger

	mu     sync.Mutex
	closed bool
	subs   map[*Subscription]struct{}
}

// NewClient returns a client over b. The client owns b: Close closes it.
func NewClient(b driver.Backend, opts Options) *Client {
	if opts.Name == "" {
		opts.Name = "pubsub"
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Client{b: b, caps: driver.CapabilitiesOf(b), name: opts.Name, log: opts.Logger,
		subs: make(map[*Subscription]struct{})}
}

// check returns brook.ErrClosed after Close.
func (c *Client) check() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return brook.ErrClosed
	}
	return nil
}

// CreateTopic creates topic with the given number of partitions, or does
// nothing when it exists with that count (so a program can run again on
// its own data). It returns brook.ErrInvalidTopicName,
// brook.ErrInvalidPartition (a count below 1 or above
// brook.MaxPartitions), brook.ErrTopicExists (another count),
// errors.ErrUnsupported (more than one partition on a backend without
// ExplicitPartitions) or brook.ErrClosed.
func (c *Client) CreateTopic(ctx context.Context, name string, partitions int) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := checkTopic(name); err != nil {
		return err
	}
	if partitions < 1 || partitions > brook.MaxPartitions {
		return &brook.TopicError{Topic: name, Err: fmt.Errorf("%w: partition count %d, want 1..%d",
			brook.ErrInvalidPartition, partitions, brook.MaxPartitions)}
	}
	if partitions > 1 && !c.caps.ExplicitPartitions {
		return &brook.TopicError{Topic: name, Err: fmt.Errorf("%w: the backend has one partition per topic", errors.ErrUnsupported)}
	}
	return c.b.EnsureTopic(ctx, name, partitions)
}

// Send publishes value to topic, spreading messages over its partitions in
// turn (brook.PartitionRoundRobin): the seed's send_message. Errors are
// those of Publish.
func (c *Client) Send(ctx context.Context, topic string, value []byte) error {
	return c.Publish(ctx, topic, &brook.Message{Topic: topic, Partition: brook.PartitionRoundRobin, Value: value})
}

// Publish appends msgs to topic and returns once the backend holds them as
// durably as it promises. Each message's Partition is an index or
// brook.PartitionByKey (the same placement as Kafka's, brook.KeyPartition)
// or brook.PartitionRoundRobin. On return each message's Partition, Offset
// (where the backend has offsets) and Timestamp are set. An empty m.Topic
// is set to topic. It returns brook.ErrInvalidTopicName, brook.ErrNilMessage,
// brook.ErrTopicMismatch, brook.ErrUnknownTopic, brook.ErrInvalidPartition
// (a *brook.PartitionError), brook.ErrMessageTooLarge or brook.ErrClosed.
// Messages of one partition keep their slice order; a failure may leave
// the messages of other partitions published.
func (c *Client) Publish(ctx context.Context, topic string, msgs ...*brook.Message) error {
	if err := c.check(); err != nil {
		return err
	}
	if err := checkTopic(topic); err != nil {
		return err
	}
	for i, m := range msgs {
		if err := checkMessage(topic, m); err != nil {
			return fmt.Errorf("pubsub: message %d: %w", i, err)
		}
	}
	if len(msgs) == 0 {
		return nil
	}
	return c.b.Publish(ctx, topic, msgs)
}

// checkMessage is what the client checks of a message before a backend
// sees it.
func checkMessage(topic string, m *brook.Message) error {
	switch {
	case m == nil:
		return brook.ErrNilMessage
	case m.Topic == "":
		m.Topic = topic
	case m.Topic != topic:
		return fmt.Errorf("%w: message for %q published to %q", brook.ErrTopicMismatch, m.Topic, topic)
	}
	if m.Partition < brook.PartitionRoundRobin {
		return &brook.PartitionError{Topic: topic, Partition: m.Partition, Err: brook.ErrInvalidPartition}
	}
	return nil
}

// Partitions returns topic's partition count. It returns
// brook.ErrInvalidTopicName, brook.ErrUnknownTopic or brook.ErrClosed.
func (c *Client) Partitions(ctx context.Context, topic string) (int, error) {
	if err := c.check(); err != nil {
		return 0, err
	}
	if err := checkTopic(topic); err != nil {
		return 0, err
	}
	return c.b.Partitions(ctx, topic)
}

// EndOffsets returns, per partition of topic, the offset the next message
// will get. It returns errors.ErrUnsupported on a backend without offsets
// (Capabilities().EndOffsets false), and the errors of Partitions.
func (c *Client) EndOffsets(ctx context.Context, topic string) ([]int64, error) {
	if err := c.check(); err != nil {
		return nil, err
	}
	if err := checkTopic(topic); err != nil {
		return nil, err
	}
	if !c.caps.EndOffsets {
		return nil, fmt.Errorf("pubsub: end offsets: %w", errors.ErrUnsupported)
	}
	return c.b.EndOffsets(ctx, topic)
}

// DeleteGroup deletes group and its committed offsets. It is refused with
// brook.ErrGroupActive while the group has live members. It also returns
// brook.ErrInvalidGroupID (the empty group included), the backend's error
// for a group it does not know (brook.ErrUnknownGroup on the embedded
// broker), or brook.ErrClosed.
func (c *Client) DeleteGroup(ctx context.Context, group string) error {
	if err := c.check(); err != nil {
		return err
	}
	if !validName(group) {
		return fmt.Errorf("%w: %q", brook.ErrInvalidGroupID, group)
	}
	return c.b.DeleteGroup(ctx, group)
}

// Capabilities returns what the backend declares it can do.
func (c *Client) Capabilities() driver.Capabilities { return c.caps }

// As sets target to the backend's own client when target points to its
// type (a **brook.Broker on the embedded backends, a **kgo.Client on
// Kafka) and reports whether it did; any other target returns false.
func (c *Client) As(target any) bool { return c.b.As(target) }

// Close closes the client's subscriptions, then the backend (which, for
// "brook://", leaves the process-wide broker open). Later calls return
// brook.ErrClosed. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	subs := make([]*Subscription, 0, len(c.subs))
	for s := range c.subs {
		subs = append(subs, s)
	}
	c.mu.Unlock()
	var errs []error
	for _, s := range subs {
		errs = append(errs, s.Close())
	}
	errs = append(errs, c.b.Close())
	return errors.Join(errs...)
}

// track records s as open, unless the client is closed.
func (c *Client) track(s *Subscription) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return brook.ErrClosed
	}
	c.subs[s] = struct{}{}
	return nil
}

func (c *Client) untrack(s *Subscription) {
	c.mu.Lock()
	delete(c.subs, s)
	c.mu.Unlock()
}
