package brook

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEqualShare(t *testing.T) {
	tests := []struct {
		name    string
		members int
		want    []int
	}{
		{"8 over 1", 1, []int{8}},
		{"8 over 3", 3, []int{3, 3, 2}},
		{"8 over 5", 5, []int{2, 2, 2, 1, 1}},
		{"8 over 9", 9, []int{1, 1, 1, 1, 1, 1, 1, 1, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			b := openTest(t, nil)
			mustTopic(t, b, "t", 8)
			var cs []*Consumer
			for i := 0; i < tc.members; i++ {
				c := b.CreateConsumer(fmt.Sprintf("c%d", i), "g")
				require.NoError(t, c.Subscribe("t"))
				runConsumer(t, c, func(context.Context, *Message) error { return nil })
				cs = append(cs, c)
			}
			eventually(t, func() bool {
				got := shares(cs...)
				sort.Sort(sort.Reverse(sort.IntSlice(got)))
				return fmt.Sprint(got) == fmt.Sprint(tc.want)
			}, "shares %v, want %v", func() []int { return shares(cs...) }, tc.want)
		})
	}
}

func TestEqualShareOverTwoTopics(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "a", 8)
	mustTopic(t, b, "b", 8)
	var cs []*Consumer
	for i := 0; i < 3; i++ {
		c := b.CreateConsumer("c", "g")
		require.NoError(t, c.Subscribe("a", "b"))
		runConsumer(t, c, func(context.Context, *Message) error { return nil })
		cs = append(cs, c)
	}
	eventually(t, func() bool {
		got := shares(cs...)
		sort.Ints(got)
		return fmt.Sprint(got) == "[5 5 6]"
	}, "balanced over the union (not Kafka range's 6/6/4)")
}

func TestPublishedBeforeSubscribeIsDelivered(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 3)
	publishN(t, b, "t", 3, 30, "early")
	ta := newTally()
	c := b.CreateConsumer("late", "g")
	require.NoError(t, c.Subscribe("t"))
	runConsumer(t, c, ta.handler("late", nil))
	eventually(t, func() bool { return ta.count() == 30 }, "all early messages delivered")
}

func TestSubscribeTwiceAndUnknownTopic(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 2)
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	require.NoError(t, c.Subscribe("t"))
	assert.Equal(t, []string{"t"}, c.Subscriptions())
	assert.ErrorIs(t, c.Subscribe("missing"), ErrUnknownTopic)
	assert.ErrorIs(t, c.Subscribe("bad/name"), ErrInvalidTopicName)
	assert.ErrorIs(t, b.CreateConsumer("c", "bad/group").Subscribe("t"), ErrInvalidGroupID)
	assert.ErrorIs(t, b.CreateConsumer("c", "g").Run(context.Background(), func(context.Context, *Message) error { return nil }), ErrNoSubscription)
	assert.ErrorIs(t, c.Run(context.Background(), nil), ErrNilHandler)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close())
	assert.ErrorIs(t, c.Subscribe("t"), ErrClosed)
}

func TestLeavingMemberHandsOver(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 8)
	ta := newTally()
	c1 := b.CreateConsumer("c1", "g")
	c2 := b.CreateConsumer("c2", "g")
	require.NoError(t, c1.Subscribe("t"))
	require.NoError(t, c2.Subscribe("t"))
	runConsumer(t, c1, ta.handler("c1", nil))
	runConsumer(t, c2, ta.handler("c2", nil))
	eventually(t, func() bool { return fmt.Sprint(shares(c1, c2)) == "[4 4]" }, "4/4")
	publishN(t, b, "t", 8, 80, "a")
	eventually(t, func() bool { return ta.count() == 80 }, "first batch")
	require.NoError(t, c2.Close())
	eventually(t, func() bool { return len(c1.Assignment()) == 8 }, "c1 takes over all partitions")
	publishN(t, b, "t", 8, 80, "b")
	eventually(t, func() bool { return ta.count() == 160 }, "second batch")
	assert.Empty(t, ta.duplicates())
	assert.Empty(t, ta.overlap)
}

// TestCleanRebalancesDeliverOnce publishes continuously while members join
// and leave; clean rebalances must lose nothing and deliver nothing twice.
func TestCleanRebalancesDeliverOnce(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 12)
	ta := newTally()
	slow := func(ctx context.Context, m *Message) error { time.Sleep(50 * time.Microsecond); return nil }
	const total = 3000
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		p := b.CreateProducer("p")
		for i := 0; i < total; i++ {
			assert.NoError(t, p.Publish("t", CreateMessage("t", fmt.Appendf(nil, "m%d", i), i%12)))
		}
	}()
	var stops []func() error
	for i := 0; i < 6; i++ {
		c := b.CreateConsumer(fmt.Sprintf("c%d", i), "g")
		require.NoError(t, c.Subscribe("t"))
		stops = append(stops, runConsumer(t, c, ta.handler(c.Name(), slow)))
		if i >= 2 {
			require.NoError(t, stops[i-2]()) // a member leaves as another joins
		}
		eventually(t, func() bool { return ta.count() > (i+1)*total/10 }, "progress")
	}
	wg.Wait()
	eventually(t, func() bool { return ta.count() == total }, "every message delivered")
	assert.Empty(t, ta.duplicates(), "nothing delivered twice across clean rebalances")
	assert.Empty(t, ta.overlap, "no partition held by two members at once")
	assert.Empty(t, ta.reorder, "order kept per partition")
}

func TestFanOutAcrossGroups(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 4)
	publishN(t, b, "t", 4, 40, "m")
	t1, t2 := newTally(), newTally()
	for i, ta := range []*tally{t1, t2} {
		c := b.CreateConsumer("c", fmt.Sprintf("group%d", i))
		require.NoError(t, c.Subscribe("t"))
		runConsumer(t, c, ta.handler("c", nil))
	}
	eventually(t, func() bool { return t1.count() == 40 && t2.count() == 40 }, "every group sees every message")
}

func TestDurableResume(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 4)
	publishN(t, b, "t", 4, 400, "m")
	ta := newTally()
	var handled atomic.Int32
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	stop := runConsumer(t, c, ta.handler("c", func(ctx context.Context, _ *Message) error {
		if handled.Add(1) > 150 { // hold the rest until the consumer stops
			<-ctx.Done()
			return ctx.Err()
		}
		return nil
	}))
	eventually(t, func() bool { return handled.Load() >= 150 }, "part consumed")
	require.NoError(t, stop())
	require.NoError(t, b.Close())
	first := ta.count()
	require.Less(t, first, 400, "stopped before the end")

	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	c = b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	runConsumer(t, c, ta.handler("c", nil))
	eventually(t, func() bool { return ta.count() == 400 }, "the rest consumed after reopen")
	assert.Empty(t, ta.duplicates(), "a clean close and reopen delivers nothing twice")
}

func TestStuckHandlerIsEvicted(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 4)
	release := make(chan struct{})
	var lost atomic.Int32
	stuck := b.CreateConsumerWith("stuck", "g", ConsumerOptions{PollTimeout: 150 * time.Millisecond,
		OnLost: func(tps []TopicPartition) { lost.Add(int32(len(tps))) }})
	require.NoError(t, stuck.Subscribe("t"))
	var stuckCtxErr atomic.Bool
	runConsumer(t, stuck, func(ctx context.Context, m *Message) error {
		if m.Partition == 0 && m.Offset == 0 {
			select {
			case <-ctx.Done():
				stuckCtxErr.Store(true)
			case <-release:
			}
			return ctx.Err()
		}
		return nil
	})
	eventually(t, func() bool { return len(stuck.Assignment()) == 4 }, "stuck owns all")
	ta := newTally()
	healthy := b.CreateConsumer("healthy", "g")
	require.NoError(t, healthy.Subscribe("t"))
	runConsumer(t, healthy, ta.handler("healthy", nil))
	publishN(t, b, "t", 4, 40, "m")
	eventually(t, func() bool { return ta.count() == 40 || (lost.Load() > 0 && ta.count() >= 10) }, "the healthy member gets messages")
	eventually(t, func() bool { return stuckCtxErr.Load() }, "the stuck handler's context was cancelled on eviction")
	close(release)
	eventually(t, func() bool { return ta.count() == 40 || len(healthy.Assignment()) >= 2 }, "partitions moved on")
	gs, err := b.GroupStats("g")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, gs.Generation, int64(3))
}

func TestCommitFencing(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 2)
	g, err := b.group("g")
	require.NoError(t, err)
	a, _ := g.join("a", []string{"t"}, time.Minute, nopConn{})
	tp := TopicPartition{Topic: "t", Partition: 0}
	va, ok := g.view(a)
	require.True(t, ok)
	genA := va.owned[tp]
	require.NoError(t, g.commit(a, genA, tp, 5))
	c, _ := g.join("c", []string{"t"}, time.Minute, nopConn{})
	va, _ = g.view(a)
	vc, _ := g.view(c)
	moving := TopicPartition{Topic: "t", Partition: 1}
	if !va.revoke[moving] {
		moving = tp
	}
	require.True(t, va.revoke[moving], "one partition is being revoked from a")
	require.NoError(t, g.commit(a, va.owned[moving], moving, 7), "a still owns it until it releases")
	g.release(a, va.owned[moving], moving)
	assert.ErrorIs(t, g.commit(a, va.owned[moving], moving, 1), ErrFenced, "after release a is fenced")
	vc, _ = g.view(c)
	require.Contains(t, vc.owned, moving)
	require.NoError(t, g.commit(c, vc.owned[moving], moving, 9))
	off, _ := g.committed(moving)
	assert.Equal(t, int64(9), off)
	assert.ErrorIs(t, g.commit(c, vc.owned[moving]-1, moving, 1), ErrFenced, "an older generation is fenced")
}

type nopConn struct{}

func (nopConn) notify()                         {}
func (nopConn) stalled(time.Time) time.Duration { return 0 }

func TestHandlerErrorPolicies(t *testing.T) {
	boom := errors.New("boom")
	t.Run("panic stops Run", func(t *testing.T) {
		b := openTest(t, nil)
		mustTopic(t, b, "t", 1)
		publishN(t, b, "t", 1, 3, "m")
		c := b.CreateConsumerWith("c", "g", ConsumerOptions{MaxAttempts: 2, RetryBackoff: time.Millisecond})
		require.NoError(t, c.Subscribe("t"))
		err := c.Run(context.Background(), func(ctx context.Context, m *Message) error {
			if m.Offset == 1 {
				panic("bad message")
			}
			return nil
		})
		var herr *HandlerError
		require.ErrorAs(t, err, &herr)
		assert.Equal(t, int64(1), herr.Offset)
		assert.Equal(t, 2, herr.Attempts)
		var perr *PanicError
		assert.ErrorAs(t, err, &perr)
		gs, err := b.GroupStats("g")
		require.NoError(t, err)
		assert.Equal(t, int64(1), gs.Partitions[0].Committed, "the failed message is not committed")
	})
	t.Run("skip", func(t *testing.T) {
		b := openTest(t, nil)
		mustTopic(t, b, "t", 1)
		publishN(t, b, "t", 1, 5, "m")
		c := b.CreateConsumerWith("c", "g", ConsumerOptions{MaxAttempts: 1, ErrorPolicy: SkipOnError})
		require.NoError(t, c.Subscribe("t"))
		ta := newTally()
		runConsumer(t, c, ta.handler("c", func(_ context.Context, m *Message) error {
			if m.Offset == 2 {
				return boom
			}
			return nil
		}))
		eventually(t, func() bool { return ta.count() == 4 }, "others handled")
		eventually(t, func() bool {
			gs, _ := b.GroupStats("g")
			return gs.Partitions[0].Committed == 5
		}, "committed past the failure")
	})
	t.Run("dead letter", func(t *testing.T) {
		b := openTest(t, nil)
		mustTopic(t, b, "t", 1)
		publishN(t, b, "t", 1, 5, "m")
		c := b.CreateConsumerWith("c", "g", ConsumerOptions{MaxAttempts: 1, ErrorPolicy: DeadLetterOnError, DeadLetterTopic: "t.dlq"})
		require.NoError(t, c.Subscribe("t"))
		runConsumer(t, c, func(_ context.Context, m *Message) error {
			if m.Offset == 3 {
				return boom
			}
			return nil
		})
		var dl []*Message
		eventually(t, func() bool {
			dl, _ = b.Fetch(context.Background(), "t.dlq", 0, 0, 10)
			return len(dl) == 1
		}, "dead letter written")
		assert.Equal(t, "m-3", string(dl[0].Value))
		assert.Contains(t, dl[0].Headers, Header{Key: "brook.dlq.error", Value: []byte("boom")})
	})
}

func TestPollAndResume(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 3)
	publishN(t, b, "t", 3, 30, "m")
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	seen := map[string]bool{}
	for len(seen) < 10 {
		m, err := c.Poll(ctx)
		require.NoError(t, err)
		seen[string(m.Value)] = true
	}
	assert.ErrorIs(t, c.Run(ctx, func(context.Context, *Message) error { return nil }), ErrRunning)
	require.NoError(t, c.Close()) // acknowledges the 10th
	_, err := c.Poll(ctx)
	assert.ErrorIs(t, err, ErrClosed)

	c2 := b.CreateConsumer("c2", "g")
	require.NoError(t, c2.Subscribe("t"))
	for m, err := range c2.Messages(ctx) {
		require.NoError(t, err)
		require.False(t, seen[string(m.Value)], "%s delivered twice", m.Value)
		seen[string(m.Value)] = true
		if len(seen) == 30 {
			break
		}
	}
	require.NoError(t, c2.Close())
}

func TestSeek(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 10, "m")
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	assert.ErrorIs(t, c.Seek("t", 0, 0), ErrNotAssigned)
	var mu sync.Mutex
	var offsets []int64
	runConsumer(t, c, func(_ context.Context, m *Message) error {
		mu.Lock()
		offsets = append(offsets, m.Offset)
		mu.Unlock()
		return nil
	})
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(offsets) == 10 }, "first pass")
	assert.ErrorIs(t, c.Seek("t", 0, 11), ErrOffsetOutOfRange)
	require.NoError(t, c.Seek("t", 0, 7))
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(offsets) == 13 }, "replayed from 7")
	mu.Lock()
	assert.Equal(t, []int64{7, 8, 9}, offsets[10:])
	mu.Unlock()
	require.NoError(t, c.SeekToTime("t", 0, time.Time{}))
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(offsets) == 23 }, "replayed from the start")
}

func TestRebalanceOnTopicGrowthAndDeletion(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 2)
	mustTopic(t, b, "u", 2)
	c1 := b.CreateConsumer("c1", "g")
	c2 := b.CreateConsumer("c2", "g")
	for _, c := range []*Consumer{c1, c2} {
		require.NoError(t, c.Subscribe("t", "u"))
		runConsumer(t, c, func(context.Context, *Message) error { return nil })
	}
	eventually(t, func() bool { return fmt.Sprint(shares(c1, c2)) == "[2 2]" }, "2/2")
	require.NoError(t, b.AddPartitions("t", 6))
	eventually(t, func() bool { return fmt.Sprint(shares(c1, c2)) == "[4 4]" }, "4/4 after growth")
	require.NoError(t, b.DeleteTopic("t"))
	eventually(t, func() bool { return fmt.Sprint(shares(c1, c2)) == "[1 1]" }, "1/1 after deletion")
}
