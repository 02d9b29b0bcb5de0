package pubsub_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memClient opens a mem:// client closed at the end of the test, with a
// one-partition topic.
func memClient(t *testing.T, topic string) *pubsub.Client {
	t.Helper()
	c, err := pubsub.Open(t.Context(), "mem://")
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	require.NoError(t, c.CreateTopic(t.Context(), topic, 1))
	return c
}

func TestSubscribeValidatesOptions(t *testing.T) {
	c := memClient(t, "t")
	ctx := t.Context()
	tests := []struct {
		name   string
		group  string
		topics []string
		o      pubsub.SubscribeOptions
		want   error
	}{
		{"negative attempts", "g", []string{"t"}, pubsub.SubscribeOptions{MaxAttempts: -1}, brook.ErrInvalidConfig},
		{"negative backoff", "g", []string{"t"}, pubsub.SubscribeOptions{RetryBackoff: -time.Second}, brook.ErrInvalidConfig},
		{"unknown policy", "g", []string{"t"}, pubsub.SubscribeOptions{ErrorPolicy: 9}, brook.ErrInvalidConfig},
		{"unknown start", "g", []string{"t"}, pubsub.SubscribeOptions{Start: 9}, brook.ErrInvalidConfig},
		{"dead letters without a group or topic", "", []string{"t"}, pubsub.SubscribeOptions{ErrorPolicy: brook.DeadLetterOnError}, brook.ErrInvalidConfig},
		{"bad dead-letter topic", "g", []string{"t"}, pubsub.SubscribeOptions{ErrorPolicy: brook.DeadLetterOnError, DeadLetterTopic: "a b"}, brook.ErrInvalidTopicName},
		{"no topics", "g", nil, pubsub.SubscribeOptions{}, brook.ErrNoSubscription},
		{"bad group", "a/b", []string{"t"}, pubsub.SubscribeOptions{}, brook.ErrInvalidGroupID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := c.Subscribe(ctx, tt.group, tt.topics, tt.o)
			assert.ErrorIs(t, err, tt.want)
			assert.Nil(t, s)
		})
	}
	s, err := c.Subscribe(ctx, "", []string{"t"}, pubsub.SubscribeOptions{ErrorPolicy: brook.DeadLetterOnError, DeadLetterTopic: "t.dead"})
	require.NoError(t, err, "group \"\" with an explicit dead-letter topic")
	assert.ErrorIs(t, s.Run(ctx, nil), brook.ErrNilHandler)
	assert.NoError(t, s.Close())
	assert.NoError(t, c.Publish(ctx, "t"), "publishing nothing")
}

// The client retries a failing handler with backoff before the policy.
func TestRetriesThenSucceeds(t *testing.T) {
	c := memClient(t, "t")
	ctx := t.Context()
	require.NoError(t, c.Send(ctx, "t", []byte("flaky")))
	s, err := c.Subscribe(ctx, "g", []string{"t"}, pubsub.SubscribeOptions{MaxAttempts: 3, RetryBackoff: time.Millisecond})
	require.NoError(t, err)
	var calls atomic.Int32
	done := make(chan struct{})
	errc := make(chan error, 1)
	go func() {
		errc <- s.Run(ctx, func(context.Context, *brook.Message) error {
			if calls.Add(1) < 3 {
				return errors.New("not yet")
			}
			close(done)
			return nil
		})
	}()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		require.FailNow(t, "the third attempt never came")
	}
	require.NoError(t, s.Close())
	require.NoError(t, <-errc, "Run after Close")
	assert.Equal(t, int32(3), calls.Load())
}

// Consume is Subscribe, Run and Close in one call: it handles messages
// until ctx ends, then returns nil.
func TestConsume(t *testing.T) {
	c := memClient(t, "t")
	require.NoError(t, c.Send(t.Context(), "t", []byte("hello")))
	ctx, cancel := context.WithCancel(t.Context())
	var got atomic.Value
	err := c.Consume(ctx, "g", "t", func(_ context.Context, m *brook.Message) error {
		got.Store(string(m.Value))
		cancel()
		return nil
	})
	assert.NoError(t, err)
	assert.Equal(t, "hello", got.Load())
	assert.ErrorIs(t, c.Consume(t.Context(), "g", "missing", nil), brook.ErrUnknownTopic)
}

// Client.Close closes the client's subscriptions, so their Run returns.
func TestClientCloseEndsRuns(t *testing.T) {
	c, err := pubsub.Open(t.Context(), "mem://")
	require.NoError(t, err)
	ctx := t.Context()
	require.NoError(t, c.CreateTopic(ctx, "t", 2))
	errc := make(chan error, 2)
	running := make(chan struct{}, 2)
	for _, group := range []string{"g", ""} {
		s, err := c.Subscribe(ctx, group, []string{"t"}, pubsub.SubscribeOptions{})
		require.NoError(t, err)
		var once atomic.Bool
		go func() {
			errc <- s.Run(ctx, func(context.Context, *brook.Message) error {
				if !once.Swap(true) {
					running <- struct{}{}
				}
				return nil
			})
		}()
	}
	require.NoError(t, c.Send(ctx, "t", []byte("x")))
	require.NoError(t, c.Send(ctx, "t", []byte("y")))
	for range 2 {
		select {
		case <-running:
		case <-time.After(30 * time.Second):
			require.FailNow(t, "a subscription never ran")
		}
	}
	require.NoError(t, c.CreateTopic(ctx, "empty", 1))
	pull, err := c.Subscribe(ctx, "p", []string{"empty"}, pubsub.SubscribeOptions{})
	require.NoError(t, err)
	receiving := make(chan error, 1)
	go func() {
		_, err := pull.Receive(ctx)
		receiving <- err
	}()
	require.NoError(t, c.Close())
	for range 2 {
		assert.NoError(t, <-errc, "Run after Client.Close")
	}
	assert.ErrorIs(t, <-receiving, brook.ErrClosed, "Receive after Client.Close")
	assert.NoError(t, c.Close(), "Close is idempotent")
}

// Messages stops after the first error, ctx's end included.
func TestMessagesStopsOnError(t *testing.T) {
	c := memClient(t, "t")
	s, err := c.Subscribe(t.Context(), "g", []string{"t"}, pubsub.SubscribeOptions{})
	require.NoError(t, err)
	defer s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	var errs []error
	for m, err := range s.Messages(ctx) {
		assert.Nil(t, m)
		errs = append(errs, err)
	}
	require.Len(t, errs, 1)
	assert.ErrorIs(t, errs[0], context.DeadlineExceeded)
}

// NewEmbedded puts a client over a broker the program opened itself, with
// options of its own; the client leaves it open.
func TestNewEmbeddedLeavesBrokerOpen(t *testing.T) {
	b, err := brook.Open(t.TempDir(), &brook.Options{Sync: brook.SyncNever})
	require.NoError(t, err)
	defer b.Close()
	c := pubsub.NewClient(pubsub.NewEmbedded(b), pubsub.Options{Name: "app"})
	ctx := t.Context()
	require.NoError(t, c.CreateTopic(ctx, "t", 2))
	m := &brook.Message{Partition: 1, Value: []byte("v")}
	require.NoError(t, c.Publish(ctx, "t", m))
	assert.Equal(t, "t", m.Topic, "Publish sets an empty Topic")
	ends, err := c.EndOffsets(ctx, "t")
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 1}, ends)
	require.NoError(t, c.Close())
	var got *brook.Broker
	assert.True(t, c.As(&got))
	assert.Same(t, b, got)
	msgs, err := b.Fetch(ctx, "t", 1, 0, 10)
	require.NoError(t, err, "the broker is still open")
	assert.Equal(t, "v", string(msgs[0].Value))
}

// Receive is built on Run: the handler of the message in hand does not
// return until the next Receive (or Close), so it is not committed before.
func TestReceiveCommitsThePreviousOne(t *testing.T) {
	c := memClient(t, "t")
	ctx := t.Context()
	for _, v := range []string{"a", "b", "c"} {
		require.NoError(t, c.Send(ctx, "t", []byte(v)))
	}
	var b *brook.Broker
	require.True(t, c.As(&b))
	committed := func() int64 {
		st, err := b.GroupStats("g")
		require.NoError(t, err)
		require.Len(t, st.Partitions, 1)
		return st.Partitions[0].Committed
	}
	s, err := c.Subscribe(ctx, "g", []string{"t"}, pubsub.SubscribeOptions{})
	require.NoError(t, err)
	m, err := s.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "a", string(m.Value))
	assert.Equal(t, int64(0), committed(), "the message in hand is not committed")
	require.NoError(t, s.Close())
	assert.Equal(t, int64(1), committed(), "Close counts the message in hand as processed, and only it")
}
