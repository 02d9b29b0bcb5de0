package drivertest

import (
	"context"
	"strings"
	"testing"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// withoutProbes drops the probe messages of env.probe.
func withoutProbes(msgs []*brook.Message) []*brook.Message {
	var out []*brook.Message
	for _, m := range msgs {
		if !strings.HasPrefix(string(m.Value), "probe-") {
			out = append(out, m)
		}
	}
	return out
}

// testTwoGroups: two groups each get every message once.
func testTwoGroups(t *testing.T, e *env) {
	topic, _ := e.topic("twogroups", 3)
	a, b := newSink(), newSink()
	subA := e.subscribe(e.name("ga"), topic, pubsub.SubscribeOptions{})
	subB := e.subscribe(e.name("gb"), topic, pubsub.SubscribeOptions{})
	want := values("m", 12)
	e.publish(topic, brook.PartitionRoundRobin, want...)
	e.run(subA, a.handle)
	e.run(subB, b.handle)
	assert.ElementsMatch(t, want, valuesOf(a.wait(t, len(want), "group a")), "group a")
	assert.ElementsMatch(t, want, valuesOf(b.wait(t, len(want), "group b")), "group b")
}

// testOneMemberPerMessage: inside one group, each message goes to one
// member. The members first see probes until the group is settled (both
// have partitions, when there are several), so that no rebalance happens
// while the checked messages flow.
func testOneMemberPerMessage(t *testing.T, e *env) {
	topic, n := e.topic("members", 4)
	group := e.name("g")
	a, b := newSink(), newSink()
	e.run(e.subscribe(group, topic, pubsub.SubscribeOptions{}), a.handle)
	e.run(e.subscribe(group, topic, pubsub.SubscribeOptions{}), b.handle)
	e.probe(topic, func() bool {
		if n > 1 {
			return a.len() > 0 && b.len() > 0
		}
		return a.len()+b.len() > 0
	})
	want := values("m", 20)
	e.publish(topic, brook.PartitionRoundRobin, want...)
	var got []string
	deadlineWait(t, func() bool {
		got = valuesOf(append(withoutProbes(a.all()), withoutProbes(b.all())...))
		return len(got) >= len(want)
	}, a.seen, b.seen)
	assert.ElementsMatch(t, want, got, "each message to exactly one member of the group")
}

// testNoRedelivery: after a member handled everything and closed cleanly,
// the next member of the group gets nothing of it again.
func testNoRedelivery(t *testing.T, e *env) {
	topic, _ := e.topic("redeliver", 2)
	group := e.name("g")
	first := newSink()
	sub := e.subscribe(group, topic, pubsub.SubscribeOptions{})
	e.publish(topic, brook.PartitionRoundRobin, values("old", 8)...)
	stop := e.run(sub, first.handle)
	first.wait(t, 8, "first member")
	require.NoError(t, stop(), "Run after Close")

	again := newSink()
	e.run(e.subscribe(group, topic, pubsub.SubscribeOptions{}), again.handle)
	e.probe(topic, func() bool { return again.len() > 0 })
	for _, m := range again.all() {
		assert.True(t, strings.HasPrefix(string(m.Value), "probe-"), "delivered again after a clean close: %q", m.Value)
	}
}

// testNoGroup: group "" reads every partition and commits nothing, so a
// second reader gets everything again (where the backend has History);
// with StartLatest it starts at the end offsets of Subscribe.
func testNoGroup(t *testing.T, e *env) {
	skipUnless(t, e.caps.NoGroup, "NoGroup")
	topic, _ := e.topic("nogroup", 3)
	first := e.subscribe("", topic, pubsub.SubscribeOptions{})
	want := values("m", 9)
	e.publish(topic, brook.PartitionRoundRobin, want...)
	s := newSink()
	stop := e.run(first, s.handle)
	assert.ElementsMatch(t, want, valuesOf(s.wait(t, len(want), "group \"\"")), "the first reader")
	require.NoError(t, stop())
	if e.caps.History {
		s := newSink()
		stop := e.run(e.subscribe("", topic, pubsub.SubscribeOptions{}), s.handle)
		assert.ElementsMatch(t, want, valuesOf(s.wait(t, len(want), "group \"\" again")), "a second reader: nothing was committed")
		require.NoError(t, stop())
	}
	s = newSink()
	latest := e.subscribe("", topic, pubsub.SubscribeOptions{Start: brook.StartLatest})
	e.publish(topic, 0, "after")
	e.run(latest, s.handle)
	assert.Equal(t, []string{"after"}, valuesOf(s.wait(t, 1, "group \"\" from the latest offsets")))
}

// testResume: Receive three, close, re-subscribe: the fourth comes first.
func testResume(t *testing.T, e *env) {
	topic, _ := e.topic("resume", 1)
	group := e.name("g")
	sub := e.subscribe(group, topic, pubsub.SubscribeOptions{})
	e.publish(topic, 0, values("r", 6)...)
	ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
	defer cancel()
	for i, want := range values("r", 3) {
		m, err := sub.Receive(ctx)
		require.NoError(t, err, "Receive %d", i)
		assert.Equal(t, want, string(m.Value))
	}
	require.NoError(t, sub.Close())
	_, err := sub.Receive(ctx)
	assert.ErrorIs(t, err, brook.ErrClosed, "Receive after Close")

	again := e.subscribe(group, topic, pubsub.SubscribeOptions{})
	var got []string
	for m, err := range again.Messages(ctx) {
		require.NoError(t, err)
		got = append(got, string(m.Value))
		if len(got) == 3 {
			break
		}
	}
	assert.Equal(t, values("r", 6)[3:], got, "after re-subscribing, Messages resumes at the fourth")
}

// testManualCommit: with ManualCommit only Commit commits.
func testManualCommit(t *testing.T, e *env) {
	topic, _ := e.topic("manual", 1)
	group := e.name("g")
	o := pubsub.SubscribeOptions{ManualCommit: true}
	sub := e.subscribe(group, topic, o)
	e.publish(topic, 0, values("c", 4)...)
	ctx, cancel := context.WithTimeout(e.ctx, waitTimeout)
	defer cancel()
	m0, err := sub.Receive(ctx)
	require.NoError(t, err)
	require.Equal(t, "c-0", string(m0.Value))
	require.NoError(t, sub.Commit(ctx, m0))
	m1, err := sub.Receive(ctx)
	require.NoError(t, err)
	require.Equal(t, "c-1", string(m1.Value))
	require.NoError(t, sub.Close()) // c-1 was received, not committed

	again := e.subscribe(group, topic, o)
	m, err := again.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "c-1", string(m.Value), "the first message not committed comes again")
}

// testDeleteGroup: DeleteGroup is refused while a member is live, and a
// deleted group starts afresh.
func testDeleteGroup(t *testing.T, e *env) {
	topic, _ := e.topic("delete", 1)
	group := e.name("g")
	s := newSink()
	sub := e.subscribe(group, topic, pubsub.SubscribeOptions{})
	e.publish(topic, 0, values("d", 3)...)
	stop := e.run(sub, s.handle)
	s.wait(t, 3, "before DeleteGroup")
	assert.ErrorIs(t, e.c.DeleteGroup(e.ctx, group), brook.ErrGroupActive, "DeleteGroup with a live member")
	require.NoError(t, stop())
	require.NoError(t, e.c.DeleteGroup(e.ctx, group), "DeleteGroup after the member closed")
	assert.ErrorIs(t, e.c.DeleteGroup(e.ctx, ""), brook.ErrInvalidGroupID)
	if !e.caps.History {
		return
	}
	again := newSink()
	e.run(e.subscribe(group, topic, pubsub.SubscribeOptions{}), again.handle)
	assert.Equal(t, values("d", 3), valuesOf(again.wait(t, 3, "a deleted group starts afresh")))
}

// testSubscriptionClose: Close makes a running Run return nil, is
// idempotent, and a closed subscription refuses Run and Receive.
func testSubscriptionClose(t *testing.T, e *env) {
	topic, _ := e.topic("subclose", 1)
	sub := e.subscribe(e.name("g"), topic, pubsub.SubscribeOptions{})
	s := newSink()
	stop := e.run(sub, s.handle)
	e.probe(topic, func() bool { return s.len() > 0 })
	assert.ErrorIs(t, sub.Run(e.ctx, s.handle), brook.ErrRunning, "a second Run")
	_, err := sub.Receive(e.ctx)
	assert.ErrorIs(t, err, brook.ErrRunning, "Receive while Run runs")
	assert.NoError(t, stop(), "Run after Close")
	assert.NoError(t, sub.Close(), "a second Close")
	assert.ErrorIs(t, sub.Run(e.ctx, s.handle), brook.ErrClosed, "Run after Close")
	_, err = sub.Receive(e.ctx)
	assert.ErrorIs(t, err, brook.ErrClosed, "Receive after Close")
}
