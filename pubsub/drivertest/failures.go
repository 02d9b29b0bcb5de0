package drivertest

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("drivertest: boom")

// failing returns a handler that fails (an error, or a panic every other
// attempt) on the message "bad", counting its attempts, and records the
// others in s.
func failing(s *sink, attempts *atomic.Int32) brook.Handler {
	return func(ctx context.Context, m *brook.Message) error {
		if string(m.Value) != "bad" {
			return s.handle(ctx, m)
		}
		if attempts.Add(1)%2 == 0 {
			panic("drivertest: panic on bad")
		}
		return errBoom
	}
}

// failureOptions retry a failed message once, quickly.
func failureOptions(p brook.ErrorPolicy) pubsub.SubscribeOptions {
	return pubsub.SubscribeOptions{MaxAttempts: 2, RetryBackoff: time.Millisecond, ErrorPolicy: p}
}

// testStopOnError: after MaxAttempts failures Run returns a
// *brook.HandlerError, and the message is not committed: the group gets
// it again.
func testStopOnError(t *testing.T, e *env) {
	topic, _ := e.topic("stop", 1)
	group := e.name("g")
	sub := e.subscribe(group, topic, failureOptions(brook.StopOnError))
	sent := e.publish(topic, 0, "ok", "bad", "after")
	s := newSink()
	var attempts atomic.Int32
	done := make(chan error, 1)
	go func() { done <- sub.Run(e.ctx, failing(s, &attempts)) }()
	var err error
	select {
	case err = <-done:
	case <-time.After(waitTimeout):
		require.FailNow(t, "timeout", "Run did not stop on the failing message")
	}
	var herr *brook.HandlerError
	require.ErrorAs(t, err, &herr)
	assert.Equal(t, 2, herr.Attempts, "HandlerError.Attempts")
	assert.Equal(t, topic, herr.Topic)
	if e.caps.EndOffsets {
		assert.Equal(t, sent[1].Offset, herr.Offset, "HandlerError.Offset")
	}
	assert.Equal(t, int32(2), attempts.Load(), "handler calls on the failing message")
	assert.Equal(t, []string{"ok"}, valuesOf(s.all()))
	require.NoError(t, sub.Close())

	again := e.subscribe(group, topic, pubsub.SubscribeOptions{})
	ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
	defer cancel()
	m, err := again.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "bad", string(m.Value), "the failed message was not committed")
}

// testSkipOnError: the failing message is skipped and the rest handled.
func testSkipOnError(t *testing.T, e *env) {
	topic, _ := e.topic("skip", 1)
	sub := e.subscribe(e.name("g"), topic, failureOptions(brook.SkipOnError))
	e.publish(topic, 0, "ok", "bad", "after")
	s := newSink()
	var attempts atomic.Int32
	e.run(sub, failing(s, &attempts))
	assert.Equal(t, []string{"ok", "after"}, valuesOf(s.wait(t, 2, "skip")))
	assert.Equal(t, int32(2), attempts.Load(), "handler calls on the failing message")
}

// testDeadLetter: the failing message goes to <group>.dlq with its key,
// value and headers plus brook.dlq.topic, .partition, .offset and .error.
func testDeadLetter(t *testing.T, e *env) {
	topic, _ := e.topic("dlq", 1)
	group := e.name("g")
	dlq := group + ".dlq"
	require.NoError(t, e.c.CreateTopic(e.ctx, dlq, 1))
	dead := newSink()
	e.run(e.subscribe(e.name("dlqreader"), dlq, pubsub.SubscribeOptions{}), dead.handle)
	sub := e.subscribe(group, topic, failureOptions(brook.DeadLetterOnError))
	msgs := []*brook.Message{
		{Value: []byte("ok"), Key: []byte("k")},
		{Value: []byte("bad"), Key: []byte("k"), Headers: []brook.Header{{Key: "origin", Value: []byte("test")}}},
		{Value: []byte("after"), Key: []byte("k")},
	}
	require.NoError(t, e.c.Publish(e.ctx, topic, msgs...))
	s := newSink()
	var attempts atomic.Int32
	e.run(sub, failing(s, &attempts))
	assert.Equal(t, []string{"ok", "after"}, valuesOf(s.wait(t, 2, "dead-letter policy")))

	m := dead.wait(t, 1, "the dead-letter topic")[0]
	assert.Equal(t, "bad", string(m.Value))
	assert.Equal(t, "k", string(m.Key))
	header := func(k string) string {
		v, ok := m.Header(k)
		assert.True(t, ok, "header %s", k)
		return string(v)
	}
	assert.Equal(t, "test", header("origin"))
	assert.Equal(t, topic, header(pubsub.HeaderDLQTopic))
	assert.Equal(t, "0", header(pubsub.HeaderDLQPartition))
	off := header(pubsub.HeaderDLQOffset)
	if e.caps.EndOffsets {
		assert.Equal(t, strconv.FormatInt(msgs[1].Offset, 10), off)
	}
	assert.Contains(t, header(pubsub.HeaderDLQError), "panic", "the last attempt panicked")
}
