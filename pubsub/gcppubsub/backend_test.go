package gcppubsub

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"cloud.google.com/go/pubsub/v2/apiv1/pubsubpb"
	"github.com/brookmq/brook"
	brookpubsub "github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSubscriptionID(t *testing.T) {
	assert.Equal(t, "b~orders~billing.v1", SubscriptionID("orders", "billing.v1"))
	long := strings.Repeat("g", 249)
	a, b := SubscriptionID(long, strings.Repeat("t", 249)), SubscriptionID(long, strings.Repeat("t", 248))
	assert.Len(t, a, maxSubscriptionID)
	assert.Len(t, b, maxSubscriptionID)
	assert.NotEqual(t, a, b, "the hash tells long IDs apart")
	assert.Contains(t, a, "+")
	assert.NotContains(t, SubscriptionID(strings.Repeat("g", 126), strings.Repeat("t", 126)), "+", "255 characters fit")
}

func TestURL(t *testing.T) {
	for _, bad := range []string{"gcppubsub://", "gcppubsub://p?x=1", "gcppubsub://p/path", "gcppubsub://u@p"} {
		u, err := url.Parse(bad)
		require.NoError(t, err)
		_, err = Opener{}.Open(context.Background(), u)
		assert.ErrorIs(t, err, brookpubsub.ErrBadURL, bad)
	}
}

func TestUnsupported(t *testing.T) {
	b := openBackend(t, "")
	ctx := testCtx(t)
	assert.ErrorIs(t, b.EnsureTopic(ctx, "two", 2), errors.ErrUnsupported)
	require.NoError(t, b.EnsureTopic(ctx, "one", 1))
	require.NoError(t, b.EnsureTopic(ctx, "one", 1), "again: nothing to do")
	n, err := b.Partitions(ctx, "one")
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	_, err = b.EndOffsets(ctx, "one")
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	_, err = b.Subscribe(ctx, "", []string{"one"}, driver.SubscribeOptions{})
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	assert.Equal(t, driver.Capabilities{}, driver.CapabilitiesOf(b))

	for name, h := range map[string][]brook.Header{
		"repeated key": {{Key: "k", Value: []byte("1")}, {Key: "k", Value: []byte("2")}},
		"binary value": {{Key: "k", Value: []byte{0xff, 0xfe}}},
		"reserved":     {{Key: "brook.gcp.ts", Value: []byte("1")}},
	} {
		err := b.Publish(ctx, "one", []*brook.Message{{Value: []byte("v"), Headers: h}})
		assert.ErrorIs(t, err, errors.ErrUnsupported, name)
	}
	err = b.Publish(ctx, "one", []*brook.Message{{Partition: 1}})
	var pe *brook.PartitionError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 1, pe.Partitions)
	assert.ErrorIs(t, b.Publish(ctx, "missing", []*brook.Message{{Value: []byte("v")}}), brook.ErrUnknownTopic)
	_, err = b.Partitions(ctx, "missing")
	assert.ErrorIs(t, err, brook.ErrUnknownTopic)
	_, err = b.Subscribe(ctx, "g", []string{"missing"}, driver.SubscribeOptions{})
	assert.ErrorIs(t, err, brook.ErrUnknownTopic)
}

// collect runs s until n messages arrived and returns them in arrival order.
func collect(t *testing.T, s driver.Subscription, n int) []*brook.Message {
	t.Helper()
	var mu sync.Mutex
	var got []*brook.Message
	enough := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.Run(testCtx(t), func(_ context.Context, m *brook.Message) error {
			mu.Lock()
			defer mu.Unlock()
			got = append(got, m)
			if len(got) == n {
				close(enough)
			}
			return nil
		})
	}()
	select {
	case <-enough:
	case <-time.After(20 * time.Second):
		t.Fatalf("got %d of %d messages", len(got), n)
	}
	require.NoError(t, s.Close())
	require.NoError(t, <-errc)
	mu.Lock()
	defer mu.Unlock()
	return got
}

func TestKeysOrderAndHeaders(t *testing.T) {
	b := openBackend(t, "")
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "keyed", 1))
	s, err := b.Subscribe(ctx, "g", []string{"keyed"}, driver.SubscribeOptions{})
	require.NoError(t, err)
	binKey := []byte{0, 0xff, 'k'}
	var msgs []*brook.Message
	for i := range 20 {
		key := []byte("text-key")
		if i%2 == 1 {
			key = binKey
		}
		msgs = append(msgs, &brook.Message{Partition: brook.PartitionByKey, Key: key, Value: fmt.Appendf(nil, "%02d", i),
			Headers: []brook.Header{{Key: "b", Value: []byte("2")}, {Key: "a", Value: []byte("1")}}})
	}
	require.NoError(t, b.Publish(ctx, "keyed", msgs))
	for _, m := range msgs {
		assert.Equal(t, 0, m.Partition)
		assert.Equal(t, int64(-1), m.Offset)
		assert.False(t, m.Timestamp.IsZero())
	}
	last := map[string]string{}
	for _, m := range collect(t, s, len(msgs)) {
		k := string(m.Key)
		assert.Contains(t, []string{"text-key", string(binKey)}, k, "the key comes back, a binary one too")
		assert.Greater(t, string(m.Value), last[k], "messages of one key arrive in order")
		last[k] = string(m.Value)
		assert.Equal(t, []brook.Header{{Key: "a", Value: []byte("1")}, {Key: "b", Value: []byte("2")}}, m.Headers, "sorted by key")
		assert.Equal(t, int64(-1), m.Offset)
	}
}

func TestDeleteGroup(t *testing.T) {
	b := openBackend(t, "")
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "t1", 1))
	require.NoError(t, b.EnsureTopic(ctx, "t2", 1))
	s, err := b.Subscribe(ctx, "grp", []string{"t1", "t2"}, driver.SubscribeOptions{})
	require.NoError(t, err)
	other, err := b.Subscribe(ctx, "grp2", []string{"t1"}, driver.SubscribeOptions{})
	require.NoError(t, err)
	require.NoError(t, other.Close())
	assert.ErrorIs(t, b.DeleteGroup(ctx, "grp"), brook.ErrGroupActive)
	require.NoError(t, s.Close())
	require.NoError(t, b.DeleteGroup(ctx, "grp"))
	assert.ErrorIs(t, b.DeleteGroup(ctx, "grp"), brook.ErrUnknownGroup)

	var c *pubsub.Client
	require.True(t, b.As(&c))
	_, err = c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: "projects/test/subscriptions/" + SubscriptionID("grp2", "t1")})
	assert.NoError(t, err, "another group's subscription stays")
	_, err = c.SubscriptionAdminClient.GetSubscription(ctx, &pubsubpb.GetSubscriptionRequest{Subscription: "projects/test/subscriptions/" + SubscriptionID("grp", "t2")})
	assert.Error(t, err)
}

func TestNewDoesNotOwnTheClient(t *testing.T) {
	addr := newServer(t)
	c, err := pubsub.NewClient(testCtx(t), "test", dial(t, addr)...)
	require.NoError(t, err)
	defer func() { _ = c.Close() }()
	b := New(c)
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "mine", 1))
	var got *pubsub.Client
	require.True(t, b.As(&got))
	assert.Same(t, c, got)
	assert.False(t, b.As(new(*brook.Broker)))
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "idempotent")
	assert.ErrorIs(t, b.EnsureTopic(ctx, "other", 1), brook.ErrClosed)
	_, err = c.TopicAdminClient.GetTopic(ctx, &pubsubpb.GetTopicRequest{Topic: "projects/test/topics/mine"})
	assert.NoError(t, err, "the caller's client stays open")
}
