package event

import (
	"context"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sendBadThenGood sends a message that is not an event, then one that is,
// to the topic "in".
func sendBadThenGood(t *testing.T, c *pubsub.Client) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, c.Publish(ctx, "in", &brook.Message{Partition: 0, Key: []byte("k"), Value: []byte("not json"),
		Headers: []brook.Header{{Key: "origin", Value: []byte("legacy")}}}))
	good, err := New("order.placed", map[string]int{"n": 1})
	require.NoError(t, err)
	m, err := good.message("in", nil)
	require.NoError(t, err)
	require.NoError(t, c.Publish(ctx, "in", m))
}

// handled returns a handler that sends each event's name on a channel.
func handled() (Handler, chan string) {
	names := make(chan string, 8)
	return HandlerFunc(func(_ context.Context, e *Event) (*Event, error) {
		names <- e.Name
		return nil, nil
	}), names
}

func nextName(t *testing.T, names chan string) string {
	t.Helper()
	select {
	case n := <-names:
		return n
	case <-time.After(10 * time.Second):
		require.FailNow(t, "no event handled within 10 s")
		return ""
	}
}

// By default a message that is not an event goes to the group's
// dead-letter topic at once (no retries: it would not decode the next
// time either), unchanged, with the dead-letter headers, and Listen goes
// on with the next event.
func TestListenDeadLettersUndecodable(t *testing.T) {
	c := memClient(t, map[string]int{"in": 1})
	b := newBus(t, c, Options{Service: "s", Consumer: pubsub.SubscribeOptions{RetryBackoff: time.Hour}})
	h, names := handled()
	stop := listen(t, b, "g", []string{"in"}, h)
	sendBadThenGood(t, c)
	assert.Equal(t, "order.placed", nextName(t, names))
	require.NoError(t, stop(), "Listen went on")

	ends, err := c.EndOffsets(context.Background(), "g.dlq")
	require.NoError(t, err)
	assert.Equal(t, []int64{1}, ends, "one dead letter: no retry")
	sub, err := c.Subscribe(context.Background(), "", []string{"g.dlq"}, pubsub.SubscribeOptions{})
	require.NoError(t, err)
	defer sub.Close()
	dl, err := sub.Receive(within(t, 10*time.Second))
	require.NoError(t, err)
	assert.Equal(t, "not json", string(dl.Value))
	assert.Equal(t, "k", string(dl.Key))
	for k, want := range map[string]string{"origin": "legacy", pubsub.HeaderDLQTopic: "in", pubsub.HeaderDLQPartition: "0", pubsub.HeaderDLQOffset: "0"} {
		v, ok := dl.Header(k)
		assert.True(t, ok, k)
		assert.Equal(t, want, string(v), k)
	}
	v, _ := dl.Header(pubsub.HeaderDLQError)
	assert.Contains(t, string(v), "is not an event")
}

// Options.Consumer.DeadLetterTopic names the dead-letter topic, and a
// group-less Listen dead-letters there too.
func TestListenDeadLettersToTheConsumersTopic(t *testing.T) {
	c := memClient(t, map[string]int{"in": 1})
	b := newBus(t, c, Options{Service: "s", Consumer: pubsub.SubscribeOptions{DeadLetterTopic: "poison"}})
	h, names := handled()
	stop := listen(t, b, "", []string{"in"}, h)
	sendBadThenGood(t, c)
	assert.Equal(t, "order.placed", nextName(t, names))
	require.NoError(t, stop())
	ends, err := c.EndOffsets(context.Background(), "poison")
	require.NoError(t, err)
	assert.Equal(t, []int64{1}, ends)
}

// UndecodableSkip commits past the message, writing it nowhere; so does
// the default on a group-less Listen with no dead-letter topic.
func TestListenSkipsUndecodable(t *testing.T) {
	for name, tt := range map[string]struct {
		group  string
		policy UndecodablePolicy
	}{
		"skip":                       {"g", UndecodableSkip},
		"dead letter without a name": {"", UndecodableDeadLetter},
	} {
		t.Run(name, func(t *testing.T) {
			c := memClient(t, map[string]int{"in": 1})
			b := newBus(t, c, Options{Service: "s", Undecodable: tt.policy})
			h, names := handled()
			stop := listen(t, b, tt.group, []string{"in"}, h)
			sendBadThenGood(t, c)
			assert.Equal(t, "order.placed", nextName(t, names))
			require.NoError(t, stop())
			var br *brook.Broker
			require.True(t, c.As(&br), "mem:// is an embedded broker")
			topics, err := br.Topics()
			require.NoError(t, err)
			assert.Equal(t, []string{"in", "s.replies"}, topics, "no dead-letter topic (s.replies is the bus's own reply topic)")
		})
	}
}

// UndecodableFail keeps the behaviour before the option: the decode error
// is a handler error, and under StopOnError Listen returns it.
func TestListenStopsOnUndecodable(t *testing.T) {
	c := memClient(t, map[string]int{"in": 1})
	b := newBus(t, c, Options{Service: "s", Undecodable: UndecodableFail, Consumer: pubsub.SubscribeOptions{MaxAttempts: 1}})
	require.NoError(t, c.Send(context.Background(), "in", []byte("not json")))
	err := b.Listen(within(t, 10*time.Second), "g", []string{"in"}, HandlerFunc(func(context.Context, *Event) (*Event, error) {
		return nil, nil
	}))
	var he *brook.HandlerError
	require.ErrorAs(t, err, &he)
	var de *DecodeError
	assert.ErrorAs(t, err, &de)
}
