package gcppubsub

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sync"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub/driver"
	"google.golang.org/api/iterator"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// backend is a driver.Backend over one Pub/Sub client.
type backend struct {
	c     *pubsub.Client
	owned bool // Open made c, so Close closes it

	mu         sync.Mutex
	closed     bool
	publishers map[string]*pubsub.Publisher // by topic ID
	subs       map[*subscription]struct{}
}

// New returns a backend over c, in c's project. The backend does not own
// c: Close stops the publishers and subscriptions it made and leaves c open.
func New(c *pubsub.Client) driver.Backend { return newBackend(c, false) }

func newBackend(c *pubsub.Client, owned bool) *backend {
	return &backend{c: c, owned: owned, publishers: make(map[string]*pubsub.Publisher), subs: make(map[*subscription]struct{})}
}

// Capabilities declares none: one partition, no offsets, no history for a
// new subscription, no group "", string attributes, millisecond timestamps.
func (b *backend) Capabilities() driver.Capabilities { return driver.Capabilities{} }

func (b *backend) check() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return brook.ErrClosed
	}
	return nil
}

func (b *backend) topicPath(topic string) string {
	return "projects/" + b.c.Project() + "/topics/" + topic
}

func (b *backend) subscriptionPath(id string) string {
	return "projects/" + b.c.Project() + "/subscriptions/" + id
}

// EnsureTopic creates the Pub/Sub topic. Pub/Sub topics have no partitions:
// a count other than 1 is errors.ErrUnsupported.
func (b *backend) EnsureTopic(ctx context.Context, topic string, partitions int) error {
	if err := b.check(); err != nil {
		return err
	}
	if partitions != 1 {
		return &brook.TopicError{Topic: topic, Err: errUnsupported("%d partitions: Pub/Sub topics have one", partitions)}
	}
	_, err := b.c.TopicAdminClient.CreateTopic(ctx, &pubsubpb.Topic{Name: b.topicPath(topic)})
	if status.Code(err) == codes.AlreadyExists {
		return nil
	}
	return b.adminErr(err, topic)
}

// adminErr maps an admin call's error; InvalidArgument there is a name
// Pub/Sub refuses (its topic IDs must start with a letter and have 3 to
// 255 characters).
func (b *backend) adminErr(err error, topic string) error {
	if status.Code(err) == codes.InvalidArgument {
		return &brook.TopicError{Topic: topic, Err: fmt.Errorf("%w: %v", brook.ErrInvalidTopicName, err)}
	}
	return mapErr(err, topic)
}

// Partitions is 1 for a topic that exists.
func (b *backend) Partitions(ctx context.Context, topic string) (int, error) {
	if err := b.check(); err != nil {
		return 0, err
	}
	if _, err := b.c.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: b.topicPath(topic)}); err != nil {
		return 0, b.adminErr(err, topic)
	}
	return 1, nil
}

// EndOffsets is errors.ErrUnsupported: Pub/Sub has no offsets.
func (b *backend) EndOffsets(context.Context, string) ([]int64, error) {
	return nil, errUnsupported("end offsets: Pub/Sub has no offsets")
}

// DeleteGroup deletes the group's subscriptions, one per topic it was
// subscribed to. Pub/Sub does not know who is connected: only live
// subscriptions of this backend make it brook.ErrGroupActive.
func (b *backend) DeleteGroup(ctx context.Context, group string) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return brook.ErrClosed
	}
	for s := range b.subs {
		if s.group == group {
			b.mu.Unlock()
			return fmt.Errorf("%w: %q has a live subscription in this process", brook.ErrGroupActive, group)
		}
	}
	b.mu.Unlock()

	it := b.c.SubscriptionAdminClient.ListSubscriptions(ctx, &pubsubpb.ListSubscriptionsRequest{Project: "projects/" + b.c.Project()})
	found := 0
	for {
		sub, err := it.Next()
		if errors.Is(err, iterator.Done) {
			break
		}
		if err != nil {
			return mapErr(err, "")
		}
		topic := sub.GetTopic()[len(b.topicPath("")):]
		if sub.GetName() != b.subscriptionPath(SubscriptionID(group, topic)) {
			continue
		}
		err = b.c.SubscriptionAdminClient.DeleteSubscription(ctx, &pubsubpb.DeleteSubscriptionRequest{Subscription: sub.GetName()})
		if err != nil && status.Code(err) != codes.NotFound {
			return fmt.Errorf("gcppubsub: delete group %q: %w", group, err)
		}
		found++
	}
	if found == 0 {
		return fmt.Errorf("%w: %q", brook.ErrUnknownGroup, group)
	}
	return nil
}

// As sets a **pubsub.Client target to the backend's client.
func (b *backend) As(target any) bool {
	if p, ok := target.(**pubsub.Client); ok {
		*p = b.c
		return true
	}
	return false
}

// Close closes the backend's subscriptions, flushes and stops its
// publishers, and closes the client Open made. It is idempotent.
func (b *backend) Close() error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return nil
	}
	b.closed = true
	subs := slices.Collect(maps.Keys(b.subs))
	pubs := slices.Collect(maps.Values(b.publishers))
	b.mu.Unlock()

	var errs []error
	for _, s := range subs {
		errs = append(errs, s.Close())
	}
	for _, p := range pubs {
		p.Stop()
	}
	if b.owned {
		errs = append(errs, b.c.Close())
	}
	return errors.Join(errs...)
}

// publisher returns topic's publisher, made at the first Publish with
// message ordering on (so keys keep their order) and a short delay, since
// Publish waits for its messages anyway.
func (b *backend) publisher(topic string) (*pubsub.Publisher, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, brook.ErrClosed
	}
	p := b.publishers[topic]
	if p == nil {
		p = b.c.Publisher(topic)
		p.EnableMessageOrdering = true
		p.PublishSettings.DelayThreshold = time.Millisecond
		p.PublishSettings.CountThreshold = pubsub.MaxPublishRequestCount
		b.publishers[topic] = p
	}
	return p, nil
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
