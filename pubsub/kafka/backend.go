package kafka

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// backend is a driver.Backend over one kgo client (for producing and admin
// calls) plus one kgo client per subscription.
type backend struct {
	cl    *kgo.Client // the client given to New, or the one Open built
	owned bool        // Open built cl, so Close closes it
	adm   *kadm.Client
	base  []kgo.Opt // what every subscription's client starts from

	mu       sync.Mutex
	closed   bool
	producer *kgo.Client // cl when it has our partitioner, else a sibling we own
	subs     map[*subscription]struct{}
}

// New returns a backend over cl, which must be able to reach the cluster.
// The backend does not own cl: Close leaves it open. Each subscription gets
// its own client, built from cl.Opts() plus the group options. When cl was
// not built with kgo.RecordPartitioner(Partitioner()), the backend publishes
// through a second client with cl's producer options and that partitioner
// (made at the first Publish and closed by Close), so explicit partitions
// and key placement behave as everywhere else.
func New(cl *kgo.Client) driver.Backend {
	return newBackend(cl, false, cl.Opts())
}

func newBackend(cl *kgo.Client, owned bool, base []kgo.Opt) *backend {
	return &backend{
		cl:    cl,
		owned: owned,
		adm:   kadm.NewClient(cl),
		base:  slices.Clip(base),
		subs:  make(map[*subscription]struct{}),
	}
}

// Capabilities declares everything but ExactTimestamps: Kafka keeps record
// timestamps in milliseconds.
func (b *backend) Capabilities() driver.Capabilities {
	c := driver.All()
	c.ExactTimestamps = false
	return c
}

func (b *backend) check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return brook.ErrClosed
	}
	return nil
}

// EnsureTopic creates topic with the cluster's default replication factor,
// then waits until the metadata shows it, since Kafka creates topics
// asynchronously.
func (b *backend) EnsureTopic(ctx context.Context, topic string, partitions int) error {
	if err := b.check(); err != nil {
		return err
	}
	if partitions <= 0 || partitions > 1<<20 {
		return &brook.PartitionError{Topic: topic, Partition: partitions, Err: brook.ErrInvalidPartition}
	}
	_, err := b.adm.CreateTopic(ctx, int32(partitions), -1, nil, topic)
	if err != nil && !errors.Is(err, kerr.TopicAlreadyExists) {
		return mapErr(err, topic)
	}
	created := err == nil
	for wait := 10 * time.Millisecond; ; wait = min(2*wait, 500*time.Millisecond) {
		n, err := b.Partitions(ctx, topic)
		switch {
		case err == nil && n == partitions:
			return nil
		case err == nil && !created:
			return fmt.Errorf("%w: %q has %d partitions, not %d", brook.ErrTopicExists, topic, n, partitions)
		case err != nil && !errors.Is(err, brook.ErrUnknownTopic):
			return err
		}
		// Created but not yet (fully) in the metadata.
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
	}
}

// Partitions returns topic's partition count from the metadata.
func (b *backend) Partitions(ctx context.Context, topic string) (int, error) {
	if err := b.check(); err != nil {
		return 0, err
	}
	ts, err := b.adm.ListTopics(ctx, topic)
	if err != nil {
		return 0, mapErr(err, topic)
	}
	d, ok := ts[topic]
	if !ok {
		return 0, mapErr(kerr.UnknownTopicOrPartition, topic)
	}
	if d.Err != nil {
		return 0, mapErr(d.Err, topic)
	}
	return len(d.Partitions), nil
}

// EndOffsets returns the high watermarks of topic's partitions.
func (b *backend) EndOffsets(ctx context.Context, topic string) ([]int64, error) {
	n, err := b.Partitions(ctx, topic)
	if err != nil {
		return nil, err
	}
	lo, err := b.adm.ListEndOffsets(ctx, topic)
	if err != nil {
		return nil, mapErr(err, topic)
	}
	ends := make([]int64, n)
	for p := range ends {
		o, ok := lo.Lookup(topic, int32(p))
		switch {
		case !ok:
			return nil, mapErr(kerr.UnknownTopicOrPartition, topic)
		case o.Err != nil:
			return nil, mapErr(o.Err, topic)
		}
		ends[p] = o.Offset
	}
	return ends, nil
}

// DeleteGroup deletes group's committed offsets; Kafka refuses it while the
// group has members (brook.ErrGroupActive).
func (b *backend) DeleteGroup(ctx context.Context, group string) error {
	if err := b.check(); err != nil {
		return err
	}
	_, err := b.adm.DeleteGroup(ctx, group)
	return mapGroupErr(err, group)
}

// As sets a **kgo.Client target to the backend's client (the one given to
// New, or the one Open built).
func (b *backend) As(target any) bool {
	if p, ok := target.(**kgo.Client); ok {
		*p = b.cl
		return true
	}
	return false
}

// Close closes the subscriptions the backend opened, the publishing client
// it made, and the client Open built. It is idempotent.
func (b *backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := slices.Collect(maps.Keys(b.subs))
	producer := b.producer
	b.mu.Unlock()

	var errs []error
	for _, s := range subs {
		errs = append(errs, s.Close())
	}
	if producer != nil && producer != b.cl {
		producer.Close()
	}
	if b.owned {
		b.cl.Close()
	}
	return errors.Join(errs...)
}

// publisher returns the client to produce through, making the sibling one
// at the first call when cl does not use Partitioner.
func (b *backend) publisher() (*kgo.Client, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, brook.ErrClosed
	}
	if b.producer != nil {
		return b.producer, nil
	}
	if b.owned || b.cl.OptValue(kgo.RecordPartitioner) == any(partitioner) {
		b.producer = b.cl
		return b.producer, nil
	}
	opts := make([]kgo.Opt, 0, len(b.base)+2)
	for _, o := range b.base {
		if _, ok := o.(kgo.ConsumerOpt); ok {
			continue
		}
		if _, ok := o.(kgo.GroupOpt); ok {
			continue
		}
		opts = append(opts, o)
	}
	opts = append(opts, kgo.RecordPartitioner(partitioner), kgo.UnknownTopicRetries(1))
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return nil, fmt.Errorf("kafka: publishing client: %w", err)
	}
	b.producer = cl
	return cl, nil
}

// track records s, so that Close closes it, or refuses it once closed.
func (b *backend) track(s *subscription) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return brook.ErrClosed
	}
	b.subs[s] = struct{}{}
	return nil
}

func (b *backend) forget(s *subscription) {
	b.mu.Lock()
	delete(b.subs, s)
	b.mu.Unlock()
}
