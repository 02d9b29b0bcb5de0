package brook

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression tests of issue 10: committed offsets and fencing. Each one
// failed before its fix.

// committedAt returns group's committed offset for topic/partition as
// GroupStats reports it, -1 when nothing is committed.
func committedAt(t *testing.T, b *Broker, group, topic string, partition int) int64 {
	t.Helper()
	gs, err := b.GroupStats(group)
	require.NoError(t, err)
	for _, ps := range gs.Partitions {
		if ps.Topic == topic && ps.Partition == partition {
			return ps.Committed
		}
	}
	return -1
}

// collect is a handler that records the values it handled and keeps the
// last message of each partition.
type collect struct {
	mu   sync.Mutex
	vals []string
	last map[int]*Message
}

func (c *collect) handle(_ context.Context, m *Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.vals = append(c.vals, string(m.Value))
	if c.last == nil {
		c.last = map[int]*Message{}
	}
	c.last[m.Partition] = m
	return nil
}

func (c *collect) n() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.vals)
}

func (c *collect) lastOf(p int) *Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.last[p]
}

// Item 1: deleting a topic drops its offsets in groups not loaded since Open.
func TestDeleteTopicDropsOffsetsOfUnloadedGroups(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "orders", 1)
	publishN(t, b, "orders", 1, 20, "old")
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("orders"))
	var got collect
	stop := runConsumer(t, c, got.handle)
	eventually(t, func() bool { return got.n() == 20 }, "the group reads the 20 messages")
	require.NoError(t, stop())
	require.NoError(t, b.Close())

	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	require.NoError(t, b.DeleteTopic("orders"))
	mustTopic(t, b, "orders", 1)
	publishN(t, b, "orders", 1, 5, "new")
	c = b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("orders"))
	var fresh collect
	stop = runConsumer(t, c, fresh.handle)
	eventually(t, func() bool { return fresh.n() == 5 }, "the group reads the re-created topic from its start")
	require.NoError(t, stop())
}

// Item 3: Commit refuses an offset that is negative or past the partition,
// and the group stays readable after a reopen.
func TestCommitRefusesBadOffsets(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 3, "m")
	c := b.CreateConsumerWith("c", "g", ConsumerOptions{ManualCommit: true})
	require.NoError(t, c.Subscribe("t"))
	var got collect
	stop := runConsumer(t, c, got.handle)
	eventually(t, func() bool { return got.n() == 3 }, "3 delivered")
	ctx := context.Background()
	for _, off := range []int64{-5, -2, 3, 1 << 40, math.MaxInt64} {
		m := *got.lastOf(0)
		m.Offset = off
		err := c.Commit(ctx, &m)
		assert.ErrorIs(t, err, ErrOffsetOutOfRange, "offset %d", off)
		var oe *OffsetError // one shape for an offset out of range, as Seek and Fetch give
		if assert.ErrorAs(t, err, &oe, "offset %d", off) {
			assert.Equal(t, OffsetError{Topic: "t", Partition: 0, Offset: off, First: 0, Next: 3}, *oe)
		}
		u := &Message{Topic: "t", Partition: 0, Offset: off}
		assert.ErrorIs(t, c.Commit(ctx, u), ErrOffsetOutOfRange, "offset %d, message not delivered", off)
	}
	require.NoError(t, c.Commit(ctx, got.lastOf(0)))
	require.NoError(t, stop())
	require.NoError(t, b.Close())
	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	assert.Equal(t, int64(3), committedAt(t, b, "g", "t", 0))
}

// Item 4: with ManualCommit and StartLatest, what the first owner did not
// commit is delivered again to the next owner.
func TestManualCommitStartLatestRedelivers(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 3, "before") // before the group: skipped by StartLatest
	opts := ConsumerOptions{ManualCommit: true, StartOffset: StartLatest}
	c1 := b.CreateConsumerWith("c1", "g", opts)
	require.NoError(t, c1.Subscribe("t"))
	var first collect
	stop := runConsumer(t, c1, first.handle)
	p := b.CreateProducer("p")
	// The loop's start position is taken when it starts: publish until the
	// first message arrives, then a few more.
	for i := 0; first.n() == 0; i++ {
		require.NoError(t, p.Publish("t", CreateMessage("t", fmt.Appendf(nil, "live-%d", i), 0)))
		if first.n() == 0 {
			eventuallyShort(first.n)
		}
	}
	for i := 0; i < 4; i++ {
		require.NoError(t, p.Publish("t", CreateMessage("t", fmt.Appendf(nil, "more-%d", i), 0)))
	}
	eventually(t, func() bool { return first.lastOf(0) != nil && string(first.lastOf(0).Value) == "more-3" }, "c1 handles everything")
	require.NoError(t, stop())
	require.NoError(t, c1.Close())

	c2 := b.CreateConsumerWith("c2", "g", opts)
	require.NoError(t, c2.Subscribe("t"))
	var second collect
	runConsumer(t, c2, second.handle)
	first.mu.Lock()
	want := append([]string(nil), first.vals...)
	first.mu.Unlock()
	eventually(t, func() bool { return second.n() >= len(want) }, "c2 gets the %d uncommitted messages again", len(want))
	second.mu.Lock()
	defer second.mu.Unlock()
	assert.Equal(t, want, second.vals[:len(want)])
}

// eventuallyShort waits up to 50 ms for n to become non-zero.
func eventuallyShort(n func() int) {
	deadline := time.Now().Add(50 * time.Millisecond)
	for n() == 0 && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond) // polling a counter, with a deadline
	}
}

// Item 5a: a message delivered before its topic was deleted and created
// again cannot be committed on the new topic.
func TestCommitFencedAcrossTopicRecreate(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "jobs", 1)
	publishN(t, b, "jobs", 1, 30, "old")
	c := b.CreateConsumerWith("c", "g", ConsumerOptions{ManualCommit: true})
	require.NoError(t, c.Subscribe("jobs"))
	var got collect
	runConsumer(t, c, got.handle)
	eventually(t, func() bool { return got.n() == 30 }, "30 delivered")
	old := got.lastOf(0)
	require.Equal(t, int64(29), old.Offset)

	require.NoError(t, b.DeleteTopic("jobs"))
	mustTopic(t, b, "jobs", 1)
	publishN(t, b, "jobs", 1, 5, "new")
	eventually(t, func() bool { return got.n() == 35 }, "the new topic's messages are delivered")
	assert.ErrorIs(t, c.Commit(context.Background(), old), ErrFenced)
	assert.NotEqual(t, int64(30), committedAt(t, b, "g", "jobs", 0))
}

// Item 5b: a message delivered under an earlier grant of the same member is
// fenced after the partition went away and came back.
func TestCommitFencedAfterPartitionReturns(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 10, "m")
	opts := ConsumerOptions{ManualCommit: true}
	a := b.CreateConsumerWith("a", "g", opts)
	require.NoError(t, a.Subscribe("t"))
	var ga collect
	var early *Message
	runConsumer(t, a, func(ctx context.Context, m *Message) error {
		if m.Offset == 1 {
			ga.mu.Lock()
			early = m
			ga.mu.Unlock()
		}
		return ga.handle(ctx, m)
	})
	eventually(t, func() bool { return ga.n() >= 2 }, "a reads")
	bc := b.CreateConsumerWith("b", "g", opts)
	require.NoError(t, bc.Subscribe("t"))
	var gb collect
	runConsumer(t, bc, gb.handle)
	eventually(t, func() bool { return len(bc.Assignment()) == 0 && len(a.Assignment()) == 1 }, "a keeps the partition")
	require.NoError(t, a.Unsubscribe("t"))
	eventually(t, func() bool { m := gb.lastOf(0); return m != nil && m.Offset >= 4 }, "b reads")
	require.NoError(t, bc.Commit(context.Background(), &Message{Topic: "t", Partition: 0, Offset: 4}))
	require.NoError(t, a.Subscribe("t"))
	require.NoError(t, bc.Unsubscribe("t"))
	eventually(t, func() bool { return len(a.Assignment()) == 1 }, "the partition comes back to a")
	ga.mu.Lock()
	m := early
	ga.mu.Unlock()
	require.NotNil(t, m)
	assert.ErrorIs(t, a.Commit(context.Background(), m), ErrFenced)
	assert.Equal(t, int64(5), committedAt(t, b, "g", "t", 0), "the committed offset never goes back")
}

// Item 2: one group's offsets are saved far past one record's size limit
// (100,000 partitions with 249-character topic names), and a flush after a
// small change writes a small record.
func TestOffsetsStoreLargeGroup(t *testing.T) {
	n := envInt(t, "BROOK_OFFSETS_PARTITIONS", 100_000)
	dir := t.TempDir()
	s, err := openOffsets(dir, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	topics := make([]string, 10)
	for i := range topics {
		topics[i] = fmt.Sprintf("%03d%s", i, string(make249()[3:]))
	}
	for i := 0; i < n; i++ {
		s.set(TopicPartition{Topic: topics[i%10], Partition: i / 10}, int64(i))
	}
	require.NoError(t, s.flush())
	require.NoError(t, s.snapshot())
	before := s.log.Size()
	s.set(TopicPartition{Topic: topics[3], Partition: 7}, 1_000_000)
	require.NoError(t, s.flush())
	delta := s.log.Size() - before
	assert.Less(t, delta, int64(4096), "a one-offset flush writes a small record")
	t.Logf("%d partitions: snapshot %d bytes in %d records; a one-offset flush appends %d bytes",
		n, s.snapBytes, s.log.NextOffset()-s.log.FirstOffset()-1, delta)
	require.NoError(t, s.close())

	s, err = openOffsets(dir, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	defer s.close()
	all := s.all()
	require.Len(t, all, n)
	assert.Equal(t, int64(1_000_000), all[TopicPartition{Topic: topics[3], Partition: 7}])
	assert.Equal(t, int64(n-1), all[TopicPartition{Topic: topics[(n-1)%10], Partition: (n - 1) / 10}])
}

func make249() []byte {
	b := make([]byte, maxTopicNameLen)
	for i := range b {
		b[i] = 'a' + byte(i%26)
	}
	return b
}

// Issue 12, "Group generations survive a restart": a member fenced before
// the broker restarted (a remote client that kept its member ID and
// generation) is still refused afterwards, even when a new member gets the
// same name.
func TestGenerationSurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 2, "m") // the offset committed below lies within the data
	tp := TopicPartition{Topic: "t", Partition: 0}
	g, err := b.group("g")
	require.NoError(t, err)
	a, ok := g.join("a", []string{"t"}, time.Minute, nopConn{})
	require.True(t, ok)
	va, _ := g.view(a)
	genA := va.owned[tp]
	require.NoError(t, g.commit(a, genA, tp, 1))
	g.leave(a) // a rebalance: a is fenced from here on
	require.NoError(t, b.Close())

	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	g, err = b.group("g")
	require.NoError(t, err)
	a2, ok := g.join("a", []string{"t"}, time.Minute, nopConn{})
	require.True(t, ok)
	v2, _ := g.view(a2)
	assert.Greater(t, v2.owned[tp], genA, "generations go on from before the restart")
	assert.ErrorIs(t, g.commit(a, genA, tp, 0), ErrFenced, "the stale commit is refused")
	off, _ := g.committed(tp)
	assert.Equal(t, int64(1), off)
}

// The offsets store still reads logs of the first format, and goes on
// writing the current one on top of them.
func TestOffsetsStoreReadsFirstFormat(t *testing.T) {
	dir := t.TempDir()
	l, err := storage.Open(dir, &storage.Options{Sync: storage.SyncAlways})
	require.NoError(t, err)
	a, b := TopicPartition{Topic: "a", Partition: 0}, TopicPartition{Topic: "b", Partition: 3}
	_, err = l.Append(context.Background(), []storage.Record{
		{Value: encodeOffsetsV1(offsetsDeltaV1, map[TopicPartition]int64{a: 5})},
		{Value: encodeOffsetsV1(offsetsSnapshotV1, map[TopicPartition]int64{a: 7, b: 2})},
		{Value: encodeOffsetsV1(offsetsDeltaV1, map[TopicPartition]int64{b: 9})},
	})
	require.NoError(t, err)
	require.NoError(t, l.Close())
	s, err := openOffsets(dir, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	assert.Equal(t, map[TopicPartition]int64{a: 7, b: 9}, s.all())
	s.set(a, 8)
	require.NoError(t, s.close())
	s, err = openOffsets(dir, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	defer s.close()
	assert.Equal(t, map[TopicPartition]int64{a: 8, b: 9}, s.all())
}

// A snapshot torn by a crash (no last record) is ignored on replay: the
// state before it, from the earlier snapshot and deltas, stands.
func TestOffsetsStoreTornSnapshot(t *testing.T) {
	dir := t.TempDir()
	s, err := openOffsets(dir, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	tp := TopicPartition{Topic: "t", Partition: 0}
	s.set(tp, 4)
	require.NoError(t, s.flush())
	torn := map[TopicPartition]int64{}
	for p := 0; p < 100_000; p++ { // more than one record's worth
		torn[TopicPartition{Topic: fmt.Sprintf("t%d", p/MaxPartitions), Partition: p % MaxPartitions}] = 99
	}
	recs := encodeRecords(offsetsSnapshot, 1, 1, torn)
	require.Greater(t, len(recs), 1)
	require.NoError(t, s.append(recs[:len(recs)-1])) // the crash cut the batch
	require.NoError(t, s.log.Close())
	s, err = openOffsets(dir, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	defer s.close()
	assert.Equal(t, map[TopicPartition]int64{tp: 4}, s.all())
}

// Many small flushes compact the log: it stays within a few snapshots'
// size, and the state survives the compactions.
func TestOffsetsStoreCompacts(t *testing.T) {
	dir := t.TempDir()
	s, err := openOffsets(dir, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	topic := string(make249())
	for round := 1; round <= 150; round++ { // 1.5 MB of deltas, past one segment
		for p := 0; p < 2000; p++ {
			s.set(TopicPartition{Topic: fmt.Sprintf("%d%s", p%2, topic[1:]), Partition: p / 2}, int64(round))
		}
		require.NoError(t, s.flush())
	}
	assert.Positive(t, s.log.FirstOffset(), "compaction dropped the oldest records")
	assert.Less(t, s.log.Size(), int64(3<<20))
	want := s.all()
	require.NoError(t, s.close())
	s, err = openOffsets(dir, slog.New(slog.DiscardHandler), nil)
	require.NoError(t, err)
	defer s.close()
	assert.Equal(t, want, s.all())
}
