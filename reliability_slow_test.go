package brook

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These extend TestStuckHandlerIsEvicted (group_test.go), which checks that
// a stuck member is evicted and its handler's context cancelled. Here the
// stuck handler ignores its context, as a handler blocked in a system call
// would, and the checks are about everyone else.

// TestReliabilityStuckConsumerIsolated blocks one member's handler in
// group "slow" and checks that the producers and group "fast" never wait
// for it, that it is evicted after its poll timeout and its partitions move
// on, that its late commit is fenced (the committed offsets do not go
// back), and that it rejoins once its handler returns.
func TestReliabilityStuckConsumerIsolated(t *testing.T) {
	const parts, n = 4, 400
	b := openTest(t, nil)
	mustTopic(t, b, "t", parts)

	release := make(chan struct{})
	var releaseOnce sync.Once
	releaseFn := func() { releaseOnce.Do(func() { close(release) }) }
	stuckIn := make(chan TopicPartition, 1)
	var lost atomic.Int32
	var stuckDone atomic.Bool
	stuck := b.CreateConsumerWith("stuck", "slow", ConsumerOptions{PollTimeout: 200 * time.Millisecond,
		OnLost: func(tps []TopicPartition) { lost.Add(int32(len(tps))) }})
	require.NoError(t, stuck.Subscribe("t"))
	var once sync.Once
	byStuck := newTally() // what the stuck member handled before its eviction
	runConsumer(t, stuck, byStuck.handler("stuck", func(_ context.Context, m *Message) error {
		first := false
		once.Do(func() { first = true })
		if first {
			stuckIn <- TopicPartition{Topic: m.Topic, Partition: m.Partition}
			<-release // ignores ctx: only the test lets it go
			stuckDone.Store(true)
		}
		return nil
	}))
	t.Cleanup(releaseFn) // runs before the consumer is stopped, even after a failure
	require.NoError(t, b.CreateProducer("p").Publish("t", CreateMessage("t", []byte("first"), 0)))
	var held TopicPartition
	select {
	case held = <-stuckIn:
	case <-time.After(15 * time.Second):
		t.Fatal("the stuck handler never started")
	}

	slow, fast := newTally(), newTally()
	healthy := b.CreateConsumer("healthy", "slow")
	require.NoError(t, healthy.Subscribe("t"))
	runConsumer(t, healthy, slow.handler("healthy", nil))
	f := b.CreateConsumer("f", "fast")
	require.NoError(t, f.Subscribe("t"))
	runConsumer(t, f, fast.handler("f", nil))

	// Producers and the other group go at full speed while the handler is
	// stuck: all of it completes before the handler is released.
	published := make(chan struct{})
	go func() {
		defer close(published)
		publishN(t, b, "t", parts, n, "m")
	}()
	waitDone(t, published, 30*time.Second, "the producer, while a handler of another group is stuck")
	eventually(t, func() bool { return fast.count() == n+1 }, "group fast handles everything while group slow has a stuck member")

	// The stuck member is evicted; its partitions, the one in hand
	// included, move to the healthy member, which gets every message.
	eventually(t, func() bool {
		gs, err := b.GroupStats("slow")
		return err == nil && len(gs.Members) == 1 && len(healthy.Assignment()) == parts
	}, "the stuck member is evicted and the healthy member takes every partition")
	handled := func() int { return distinct(slow, byStuck) }
	waitUntil(t, func() bool { return handled() == n+1 }, func() string {
		gs, _ := b.GroupStats("slow")
		desc := fmt.Sprintf("group slow handles everything, the stuck message included: %d of %d handled; generation %d, members %+v;", handled(), n+1, gs.Generation, gs.Members)
		for _, ps := range gs.Partitions {
			desc += fmt.Sprintf(" %v owner %s committed %d lag %d;", ps.TopicPartition, ps.Owner, ps.Committed, ps.Lag)
		}
		return desc
	})
	assert.False(t, stuckDone.Load(), "all of this happened while the handler was stuck")
	ends := committedOffsets(t, b, "slow")
	for tp, off := range ends {
		assert.Equal(t, int64(n/parts)+boolInt(tp.Partition == 0), off, "%v fully committed", tp)
	}

	// The handler returns: its commit is fenced; the member rejoins.
	releaseFn()
	eventually(t, func() bool { return lost.Load() > 0 }, "OnLost once the stuck handler returned")
	eventually(t, func() bool { return len(stuck.Assignment()) > 0 }, "the evicted member rejoins and gets a share")
	assert.Equal(t, ends, committedOffsets(t, b, "slow"), "the late commit of %v was fenced: no offset went back", held)
	assert.Empty(t, slow.overlap)
	assert.Empty(t, fast.duplicates())
	publishN(t, b, "t", parts, 40, "after")
	eventually(t, func() bool {
		for tp, off := range committedOffsets(t, b, "slow") {
			if off != ends[tp]+10 {
				return false
			}
		}
		return true
	}, "the group goes on with both members and commits everything")
}

// TestReliabilityStuckPoller is the pull-mode variant: a consumer takes a
// message with Poll and does not come back. It is evicted after its poll
// timeout, the message and its partitions go to the other member, and its
// next Poll, much later, neither commits the old message over the new
// owner's offset nor fails: it rejoins.
func TestReliabilityStuckPoller(t *testing.T) {
	const parts, n = 2, 20
	b := openTest(t, nil)
	mustTopic(t, b, "t", parts)
	publishN(t, b, "t", parts, n, "m")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	poller := b.CreateConsumerWith("poller", "g", ConsumerOptions{PollTimeout: 150 * time.Millisecond})
	require.NoError(t, poller.Subscribe("t"))
	t.Cleanup(func() { poller.Close() })
	held, err := poller.Poll(ctx)
	require.NoError(t, err)

	ta := newTally()
	other := b.CreateConsumer("other", "g")
	require.NoError(t, other.Subscribe("t"))
	runConsumer(t, other, ta.handler("other", nil))
	eventually(t, func() bool { return ta.count() == n }, "the other member gets every message, %s included", held.Value)
	ends := committedOffsets(t, b, "g")
	// The evicted poller rejoins by itself; publish once it owns its share,
	// so that the new messages are not all taken by the other member.
	eventually(t, func() bool { return len(poller.Assignment()) == 1 && len(other.Assignment()) == 1 }, "the poller rejoined")

	for p := 0; p < parts; p++ {
		require.NoError(t, b.CreateProducer("p").Publish("t", CreateMessage("t", []byte("late"), p)))
	}
	next, err := poller.Poll(ctx) // acknowledges the old message: fenced
	require.NoError(t, err, "a poller that was evicted rejoins")
	assert.Equal(t, "late", string(next.Value), "it resumes at the group's committed offset")
	for tp, off := range committedOffsets(t, b, "g") {
		assert.GreaterOrEqual(t, off, ends[tp], "%v: the evicted poller's commit was fenced", tp)
	}
	require.NoError(t, poller.Close())
}

// distinct counts the messages handled successfully in any of the tallies.
func distinct(tallies ...*tally) int {
	seen := map[string]bool{}
	for _, ta := range tallies {
		ta.mu.Lock()
		for v := range ta.seen {
			seen[v] = true
		}
		ta.mu.Unlock()
	}
	return len(seen)
}

func committedOffsets(t *testing.T, b *Broker, group string) map[TopicPartition]int64 {
	t.Helper()
	gs, err := b.GroupStats(group)
	require.NoError(t, err)
	m := map[TopicPartition]int64{}
	for _, ps := range gs.Partitions {
		m[ps.TopicPartition] = ps.Committed
	}
	return m
}

func boolInt(v bool) int64 {
	if v {
		return 1
	}
	return 0
}
