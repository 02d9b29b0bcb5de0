package drivertest

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testLateGroup: a group that subscribes after the messages were published
// still gets every one of them (the default StartEarliest).
func testLateGroup(t *testing.T, e *env) {
	skipUnless(t, e.caps.History, "History")
	topic, _ := e.topic("late", 3)
	want := values("late", 9)
	e.publish(topic, brook.PartitionRoundRobin, want...)
	s := newSink()
	e.run(e.subscribe(e.name("g"), topic, pubsub.SubscribeOptions{}), s.handle)
	assert.ElementsMatch(t, want, valuesOf(s.wait(t, len(want), "late group")))
}

// testStartLatest: a group with StartLatest gets nothing published before
// it joined.
func testStartLatest(t *testing.T, e *env) {
	topic, _ := e.topic("latest", 2)
	old := values("old", 4)
	e.publish(topic, brook.PartitionRoundRobin, old...)
	s := newSink()
	e.run(e.subscribe(e.name("g"), topic, pubsub.SubscribeOptions{Start: brook.StartLatest}), s.handle)
	e.probe(topic, func() bool { return s.len() > 0 })
	for _, m := range s.all() {
		assert.True(t, strings.HasPrefix(string(m.Value), "probe-"), "a StartLatest group got %q, published before it joined", m.Value)
	}
}

// testRoundTrip: partition, key, value, headers and timestamp come back as
// published; Publish sets Partition, Offset (consecutive, from the end
// offset) and Timestamp.
func testRoundTrip(t *testing.T, e *env) {
	topic, n := e.topic("roundtrip", 3)
	part := n - 1
	s := newSink()
	sub := e.subscribe(e.name("g"), topic, pubsub.SubscribeOptions{})
	var before []int64
	if e.caps.EndOffsets {
		var err error
		before, err = e.c.EndOffsets(e.ctx, topic)
		require.NoError(t, err)
		require.Len(t, before, n)
	}
	ts := time.Date(2024, 2, 29, 12, 34, 56, 123456789, time.UTC)
	headers := []brook.Header{{Key: "h1", Value: []byte("one")}, {Key: "h2", Value: []byte("two")}}
	if e.caps.BinaryHeaders {
		headers = append(headers, brook.Header{Key: "h1", Value: []byte{0, 1, 0xfe, 0xff}})
	}
	msgs := make([]*brook.Message, 3)
	for i := range msgs {
		msgs[i] = &brook.Message{Topic: topic, Partition: part, Key: fmt.Appendf(nil, "key-%d", i),
			Value: fmt.Appendf(nil, "value-%d", i), Headers: headers, Timestamp: ts.Add(time.Duration(i) * time.Millisecond)}
	}
	require.NoError(t, e.c.Publish(e.ctx, topic, msgs...))
	for i, m := range msgs {
		assert.Equal(t, part, m.Partition, "Partition after Publish")
		if e.caps.EndOffsets {
			assert.Equal(t, before[part]+int64(i), m.Offset, "Offset after Publish: consecutive from the end offset")
		}
	}
	if e.caps.EndOffsets {
		after, err := e.c.EndOffsets(e.ctx, topic)
		require.NoError(t, err)
		assert.Equal(t, before[part]+3, after[part], "EndOffsets after Publish")
	}
	e.run(sub, s.handle)
	got := s.wait(t, len(msgs), "round trip")
	byValue := map[string]*brook.Message{}
	for _, m := range got {
		byValue[string(m.Value)] = m
	}
	for i, sent := range msgs {
		m := byValue[string(sent.Value)]
		require.NotNil(t, m, "message %d not delivered", i)
		assert.Equal(t, topic, m.Topic)
		assert.Equal(t, part, m.Partition)
		assert.Equal(t, sent.Key, m.Key)
		if e.caps.BinaryHeaders {
			assert.Equal(t, headers, m.Headers, "headers, in order")
		} else {
			assert.ElementsMatch(t, headers, m.Headers, "headers")
		}
		if e.caps.EndOffsets {
			assert.Equal(t, sent.Offset, m.Offset)
		}
		want := sent.Timestamp
		if !e.caps.ExactTimestamps {
			want, m.Timestamp = want.Truncate(time.Millisecond), m.Timestamp.Truncate(time.Millisecond)
		}
		assert.True(t, want.Equal(m.Timestamp), "Timestamp %v, want %v", m.Timestamp, want)
	}
}

// testKeyPlacement: PartitionByKey places a key where brook.KeyPartition
// (Kafka's murmur2) does, on Publish and on delivery.
func testKeyPlacement(t *testing.T, e *env) {
	skipUnless(t, e.caps.ExplicitPartitions, "ExplicitPartitions")
	topic, n := e.topic("keys", 4)
	sub := e.subscribe(e.name("g"), topic, pubsub.SubscribeOptions{})
	msgs := make([]*brook.Message, 16)
	for i := range msgs {
		msgs[i] = &brook.Message{Partition: brook.PartitionByKey, Key: fmt.Appendf(nil, "user-%d", i), Value: fmt.Appendf(nil, "v-%d", i)}
	}
	require.NoError(t, e.c.Publish(e.ctx, topic, msgs...))
	want := map[string]int{}
	for _, m := range msgs {
		p := brook.KeyPartition(m.Key, n)
		assert.Equal(t, p, m.Partition, "Publish placed key %q", m.Key)
		want[string(m.Key)] = p
	}
	s := newSink()
	e.run(sub, s.handle)
	for _, m := range s.wait(t, len(msgs), "keyed messages") {
		assert.Equal(t, want[string(m.Key)], m.Partition, "key %q delivered from", m.Key)
	}
}

// testRoundRobin: Send spreads messages over every partition.
func testRoundRobin(t *testing.T, e *env) {
	skipUnless(t, e.caps.ExplicitPartitions, "ExplicitPartitions")
	topic, n := e.topic("rr", 4)
	s := newSink()
	sub := e.subscribe(e.name("g"), topic, pubsub.SubscribeOptions{})
	for i := range 2 * n {
		require.NoError(t, e.c.Send(e.ctx, topic, fmt.Appendf(nil, "rr-%d", i)))
	}
	e.run(sub, s.handle)
	seen := map[int]int{}
	for _, m := range s.wait(t, 2*n, "round-robin messages") {
		seen[m.Partition]++
	}
	assert.Len(t, seen, n, "partitions reached by Send: %v", seen)
}

// testErrors: the same sentinel errors on every backend.
func testErrors(t *testing.T, e *env) {
	ctx := e.ctx
	missing := e.name("missing")
	_, err := e.c.Partitions(ctx, missing)
	assert.ErrorIs(t, err, brook.ErrUnknownTopic, "Partitions of a missing topic")
	assert.ErrorIs(t, e.c.Send(ctx, missing, []byte("x")), brook.ErrUnknownTopic, "Send to a missing topic")
	_, err = e.c.Subscribe(ctx, e.name("g"), []string{missing}, pubsub.SubscribeOptions{})
	assert.ErrorIs(t, err, brook.ErrUnknownTopic, "Subscribe to a missing topic")

	for _, bad := range []string{"", ".", "..", "has space", "slash/name", strings.Repeat("x", 250)} {
		assert.ErrorIs(t, e.c.CreateTopic(ctx, bad, 1), brook.ErrInvalidTopicName, "CreateTopic %q", bad)
		assert.ErrorIs(t, e.c.Send(ctx, bad, []byte("x")), brook.ErrInvalidTopicName, "Send to %q", bad)
		_, err := e.c.Subscribe(ctx, e.name("g"), []string{bad}, pubsub.SubscribeOptions{})
		assert.ErrorIs(t, err, brook.ErrInvalidTopicName, "Subscribe to %q", bad)
	}
	topic, n := e.topic("errors", 2)
	_, err = e.c.Subscribe(ctx, "bad group", []string{topic}, pubsub.SubscribeOptions{})
	assert.ErrorIs(t, err, brook.ErrInvalidGroupID)
	assert.ErrorIs(t, e.c.Publish(ctx, topic, &brook.Message{Partition: -7}), brook.ErrInvalidPartition)
	assert.ErrorIs(t, e.c.Publish(ctx, topic, nil), brook.ErrNilMessage)
	assert.ErrorIs(t, e.c.Publish(ctx, topic, &brook.Message{Topic: "other"}), brook.ErrTopicMismatch)
	assert.NoError(t, e.c.CreateTopic(ctx, topic, n), "CreateTopic again with the same count")

	big := &brook.Message{Partition: 0, Value: bytes.Repeat([]byte("x"), 11<<20)}
	assert.ErrorIs(t, e.c.Publish(ctx, topic, big), brook.ErrMessageTooLarge, "an 11 MiB message")

	if !e.caps.ExplicitPartitions {
		return
	}
	assert.ErrorIs(t, e.c.CreateTopic(ctx, topic, n+1), brook.ErrTopicExists, "CreateTopic with another count")
	err = e.c.Publish(ctx, topic, &brook.Message{Partition: n, Value: []byte("x")})
	var perr *brook.PartitionError
	if assert.ErrorAs(t, err, &perr, "Publish to partition %d of %d", n, n) {
		assert.ErrorIs(t, err, brook.ErrInvalidPartition)
		assert.Equal(t, n, perr.Partitions, "PartitionError.Partitions")
		assert.Equal(t, n, perr.Partition, "PartitionError.Partition")
	}
}

// testClosed: after Close, every call returns brook.ErrClosed, and Close
// is idempotent.
func testClosed(t *testing.T, e *env) {
	topic, _ := e.topic("closed", 1)
	sub := e.subscribe(e.name("g"), topic, pubsub.SubscribeOptions{})
	pull := e.subscribe(e.name("g2"), topic, pubsub.SubscribeOptions{})
	require.NoError(t, e.c.Close())
	assert.NoError(t, e.c.Close(), "a second Close")
	ctx := e.ctx
	assert.ErrorIs(t, e.c.Send(ctx, topic, []byte("x")), brook.ErrClosed, "Send")
	assert.ErrorIs(t, e.c.CreateTopic(ctx, e.name("new"), 1), brook.ErrClosed, "CreateTopic")
	_, err := e.c.Partitions(ctx, topic)
	assert.ErrorIs(t, err, brook.ErrClosed, "Partitions")
	_, err = e.c.Subscribe(ctx, e.name("g"), []string{topic}, pubsub.SubscribeOptions{})
	assert.ErrorIs(t, err, brook.ErrClosed, "Subscribe")
	assert.ErrorIs(t, sub.Run(ctx, newSink().handle), brook.ErrClosed, "Run on a subscription of a closed client")
	_, err = pull.Receive(ctx)
	assert.ErrorIs(t, err, brook.ErrClosed, "Receive on a subscription of a closed client")
	assert.NoError(t, sub.Close(), "Subscription.Close after Client.Close")
}
