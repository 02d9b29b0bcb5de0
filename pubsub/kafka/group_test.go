package kafka

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// committed returns the group's committed offsets for topic, by partition.
func committed(t *testing.T, b driver.Backend, group, topic string) map[int]int64 {
	t.Helper()
	var cl *kgo.Client
	require.True(t, b.As(&cl))
	resp, err := kadm.NewClient(cl).FetchOffsets(testCtx(t), group)
	if errors.Is(err, kerr.GroupIDNotFound) {
		return map[int]int64{}
	}
	require.NoError(t, err)
	out := map[int]int64{}
	resp.Each(func(o kadm.OffsetResponse) {
		if o.Topic == topic && o.Err == nil && o.At >= 0 {
			out[int(o.Partition)] = o.At
		}
	})
	return out
}

func TestHandlerErrorCommitsWhatWasHandled(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "work", 4))
	msgs := values(40, "w")
	msgs[25].Value = []byte("fail")
	require.NoError(t, b.Publish(ctx, "work", msgs))
	bad := msgs[25]

	s, err := b.Subscribe(ctx, "g", []string{"work"}, driverOpts())
	require.NoError(t, err)
	var mu sync.Mutex
	next := map[int]int64{} // per partition, the offset after the last handled
	err = s.Run(ctx, func(_ context.Context, m *brook.Message) error {
		if string(m.Value) == "fail" {
			return errors.New("boom")
		}
		mu.Lock()
		next[m.Partition] = m.Offset + 1
		mu.Unlock()
		return nil
	})
	var he *brook.HandlerError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, bad.Partition, he.Partition)
	assert.Equal(t, bad.Offset, he.Offset)
	require.NoError(t, s.Close())
	assert.NoError(t, s.Close(), "Close is idempotent")
	assert.ErrorIs(t, s.Run(ctx, func(context.Context, *brook.Message) error { return nil }), brook.ErrClosed)

	got := committed(t, b, "g", "work")
	mu.Lock()
	for p := range 4 {
		// A partition where nothing was handled may have its start committed.
		assert.Equal(t, next[p], got[p], "partition %d: exactly what the handlers finished is committed", p)
	}
	mu.Unlock()
	assert.Equal(t, bad.Offset, got[bad.Partition], "the failed message is not committed")

	// A new member starts at the failed message on its partition.
	s2, err := b.Subscribe(ctx, "g", []string{"work"}, driverOpts())
	require.NoError(t, err)
	col := newCollector()
	stop := runSub(t, ctx, s2, col.handle)
	for {
		m := col.take(t, 1)[0]
		if m.Partition == bad.Partition {
			assert.Equal(t, bad.Offset, m.Offset)
			break
		}
	}
	assert.NoError(t, stop())
}

func TestRevokeCommitsBeforeHandOver(t *testing.T) {
	u, err := url.Parse(newCluster(t))
	require.NoError(t, err)
	// No periodic commit: only the revoke can commit in time.
	opts := append(append([]kgo.Opt(nil), testOpts...), kgo.AutoCommitInterval(time.Hour))
	bk, err := Opener{Opts: opts}.Open(testCtx(t), u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = bk.Close() })
	ctx := testCtx(t)
	require.NoError(t, bk.EnsureTopic(ctx, "hand", 4))
	require.NoError(t, bk.Publish(ctx, "hand", values(40, "a")))

	var mu sync.Mutex
	var revoked, assignedB []brook.TopicPartition
	sa, err := bk.Subscribe(ctx, "g", []string{"hand"}, driver.SubscribeOptions{
		OnRevoked: func(tps []brook.TopicPartition) { mu.Lock(); revoked = append(revoked, tps...); mu.Unlock() },
	})
	require.NoError(t, err)
	seen := map[string]int{}
	count := func(name string, col *collector) brook.Handler {
		return func(ctx context.Context, m *brook.Message) error {
			mu.Lock()
			seen[fmt.Sprintf("%d/%d", m.Partition, m.Offset)]++
			mu.Unlock()
			return col.handle(ctx, m)
		}
	}
	colA, colB := newCollector(), newCollector()
	stopA := runSub(t, ctx, sa, count("a", colA))
	colA.take(t, 40)

	sb, err := bk.Subscribe(ctx, "g", []string{"hand"}, driver.SubscribeOptions{
		OnAssigned: func(tps []brook.TopicPartition) { mu.Lock(); assignedB = append(assignedB, tps...); mu.Unlock() },
	})
	require.NoError(t, err)
	stopB := runSub(t, ctx, sb, count("b", colB))
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(assignedB) > 0 && len(revoked) > 0
	}, 20*time.Second, 10*time.Millisecond, "B joins and A gives partitions up")

	mu.Lock()
	handedOver := append([]brook.TopicPartition(nil), revoked...)
	assert.ElementsMatch(t, handedOver, assignedB, "what A gave up is what B got")
	mu.Unlock()

	require.NoError(t, bk.Publish(ctx, "hand", values(40, "b")))
	deadline := time.After(20 * time.Second)
	for n := 0; n < 40; {
		select {
		case <-colA.c:
		case <-colB.c:
		case <-deadline:
			t.Fatalf("got %d of the 40 later messages", n)
		}
		n++
	}
	assert.NoError(t, stopA())
	assert.NoError(t, stopB())
	mu.Lock()
	defer mu.Unlock()
	assert.Len(t, seen, 80)
	for k, n := range seen {
		assert.Equal(t, 1, n, "message %s handled %d times", k, n)
	}
}

func TestStartLatest(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "late", 4))
	require.NoError(t, b.Publish(ctx, "late", values(12, "old")))
	for _, group := range []string{"", "latest"} {
		t.Run("group="+group, func(t *testing.T) {
			s, err := b.Subscribe(ctx, group, []string{"late"}, driver.SubscribeOptions{Start: brook.StartLatest})
			require.NoError(t, err)
			// Published before the member has joined: still after Subscribe.
			require.NoError(t, b.Publish(ctx, "late", values(8, "new"+group)))
			col := newCollector()
			stop := runSub(t, ctx, s, col.handle)
			for _, m := range col.take(t, 8) {
				assert.Equal(t, "new"+group, string(m.Value[:len(m.Value)-1]))
			}
			select {
			case m := <-col.c:
				t.Fatalf("unexpected %s", m.Value)
			case <-time.After(200 * time.Millisecond):
			}
			assert.NoError(t, stop())
		})
	}
}

func TestNoGroupReadsAllCommitsNothing(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "all", 4))
	require.NoError(t, b.Publish(ctx, "all", values(20, "x")))
	for range 2 { // twice: nothing was committed, nothing is skipped
		s, err := b.Subscribe(ctx, "", []string{"all"}, driverOpts())
		require.NoError(t, err)
		col := newCollector()
		stop := runSub(t, ctx, s, col.handle)
		got := col.take(t, 20)
		assert.NoError(t, s.Commit(ctx, got[0]), "group \"\" commits nothing, without error")
		assert.NoError(t, stop())
	}
	assert.ErrorIs(t, b.DeleteGroup(ctx, "never"), brook.ErrUnknownGroup)
}

func TestManualCommitAndDeleteGroup(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "one", 1))
	require.NoError(t, b.Publish(ctx, "one", values(5, "m")))
	s, err := b.Subscribe(ctx, "mg", []string{"one"}, driver.SubscribeOptions{ManualCommit: true})
	require.NoError(t, err)
	col := newCollector()
	stop := runSub(t, ctx, s, col.handle)
	got := col.take(t, 5)
	require.NoError(t, s.Commit(ctx, got[1]))
	assert.Equal(t, map[int]int64{0: 2}, committed(t, b, "mg", "one"), "Commit is synchronous")
	err = s.Commit(ctx, &brook.Message{Topic: "one", Partition: 3, Offset: 1})
	assert.ErrorIs(t, err, brook.ErrNotAssigned)
	assert.ErrorIs(t, b.DeleteGroup(ctx, "mg"), brook.ErrGroupActive)
	assert.NoError(t, stop())
	assert.Equal(t, map[int]int64{0: 2}, committed(t, b, "mg", "one"), "Close commits nothing the handler did not")
	assert.ErrorIs(t, s.Commit(ctx, got[2]), brook.ErrClosed)

	require.NoError(t, b.DeleteGroup(ctx, "mg"))
	assert.Empty(t, committed(t, b, "mg", "one"))
	assert.ErrorIs(t, b.DeleteGroup(ctx, "mg"), brook.ErrUnknownGroup)
}

func TestNewDoesNotOwnTheClient(t *testing.T) {
	u, err := url.Parse(newCluster(t))
	require.NoError(t, err)
	// A client without the package's partitioner: Publish still honours
	// explicit partitions and key placement.
	cl, err := kgo.NewClient(append([]kgo.Opt{kgo.SeedBrokers(u.Host)}, testOpts...)...)
	require.NoError(t, err)
	defer cl.Close()
	b := New(cl)
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "mine", 4))
	msgs := []*brook.Message{{Partition: 3, Value: []byte("x")}, {Partition: brook.PartitionByKey, Key: []byte("k"), Value: []byte("y")}}
	require.NoError(t, b.Publish(ctx, "mine", msgs))
	assert.Equal(t, 3, msgs[0].Partition)
	assert.Equal(t, brook.KeyPartition([]byte("k"), 4), msgs[1].Partition)
	var got *kgo.Client
	require.True(t, b.As(&got))
	assert.Same(t, cl, got)
	var other *brook.Broker
	assert.False(t, b.As(&other))

	s, err := b.Subscribe(ctx, "g", []string{"mine"}, driverOpts())
	require.NoError(t, err)
	col := newCollector()
	go func() { _ = s.Run(ctx, col.handle) }()
	col.take(t, 2)
	require.NoError(t, b.Close(), "closes the subscription it opened")
	assert.ErrorIs(t, s.Run(ctx, col.handle), brook.ErrClosed)
	require.NoError(t, cl.Ping(ctx), "the caller's client stays open")
}

func TestRunAgainResumesAtTheFailedMessage(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "again", 1))
	require.NoError(t, b.Publish(ctx, "again", []*brook.Message{
		{Value: []byte("a")}, {Value: []byte("bad")}, {Value: []byte("c")}, {Value: []byte("d")},
	}))
	for _, manual := range []bool{false, true} {
		group := fmt.Sprintf("again-%v", manual)
		s, err := b.Subscribe(ctx, group, []string{"again"}, driver.SubscribeOptions{ManualCommit: manual})
		require.NoError(t, err)
		var got []string
		err = s.Run(ctx, func(_ context.Context, m *brook.Message) error {
			if string(m.Value) == "bad" {
				return errors.New("boom")
			}
			got = append(got, string(m.Value))
			return nil
		})
		require.ErrorAs(t, err, new(*brook.HandlerError))
		col := newCollector()
		stop := runSub(t, ctx, s, col.handle)
		for _, m := range col.take(t, 3) {
			got = append(got, string(m.Value))
		}
		require.NoError(t, stop())
		assert.Equal(t, []string{"a", "bad", "c", "d"}, got, "manual=%v: the second Run starts at the failed message", manual)
		if manual {
			assert.Empty(t, committed(t, b, group, "again"), "with ManualCommit nothing is committed without Commit")
		} else {
			assert.Equal(t, map[int]int64{0: 4}, committed(t, b, group, "again"))
		}
	}
}
