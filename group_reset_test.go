package brook

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// committedOf returns the committed offsets of group for topic, by
// partition, as GroupStats reports them.
func committedOf(t *testing.T, b *Broker, group, topic string) map[int]int64 {
	t.Helper()
	gs, err := b.GroupStats(group)
	require.NoError(t, err)
	m := map[int]int64{}
	for _, p := range gs.Partitions {
		if p.Topic == topic {
			m[p.Partition] = p.Committed
		}
	}
	return m
}

func TestResetOffsets(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "orders", 2)
	publishN(t, b, "orders", 2, 10, "m") // 5 per partition
	mid := time.Now()
	require.Eventually(t, func() bool { return time.Now().After(mid) }, time.Second, time.Millisecond)
	publishN(t, b, "orders", 2, 4, "late") // offsets 5 and 6 of each partition
	readN(t, b, "g", "orders", 14)
	assert.Equal(t, map[int]int64{0: 7, 1: 7}, committedOf(t, b, "g", "orders"))

	res, err := b.ResetOffsets("g", "orders", ToEarliest())
	require.NoError(t, err)
	assert.Equal(t, []OffsetReset{{0, 7, 0}, {1, 7, 0}}, res)
	assert.Equal(t, map[int]int64{0: 0, 1: 0}, committedOf(t, b, "g", "orders"))

	res, err = b.ResetOffsets("g", "orders", ToLatest(), 1)
	require.NoError(t, err)
	assert.Equal(t, []OffsetReset{{1, 0, 7}}, res, "only the partitions named")

	res, err = b.ResetOffsets("g", "orders", ToOffset(3))
	require.NoError(t, err)
	assert.Equal(t, []OffsetReset{{0, 0, 3}, {1, 7, 3}}, res)
	res, err = b.ResetOffsets("g", "orders", ToOffset(99), 0)
	require.NoError(t, err)
	assert.Equal(t, int64(7), res[0].Offset, "an offset past the end is moved to the end, as Kafka does")
	res, err = b.ResetOffsets("g", "orders", ToOffset(OffsetOldest), 0)
	require.NoError(t, err)
	assert.Equal(t, int64(0), res[0].Offset, "OffsetOldest means the earliest")

	res, err = b.ResetOffsets("g", "orders", ToTime(mid))
	require.NoError(t, err)
	assert.Equal(t, []OffsetReset{{0, 0, 5}, {1, 3, 5}}, res, "the first message at or after the time")

	// The group's next consumer starts there, and so after a reopen.
	assert.Equal(t, []int64{5, 5, 6, 6}, slices.Sorted(slices.Values(readN(t, b, "g", "orders", 4))))
	_, err = b.ResetOffsets("g", "orders", ToTime(mid))
	require.NoError(t, err)
	require.NoError(t, b.Close())
	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	assert.Equal(t, map[int]int64{0: 5, 1: 5}, committedOf(t, b, "g", "orders"), "the reset is durable")

	// A group that does not exist yet is created at the offsets.
	_, err = b.ResetOffsets("fresh", "orders", ToLatest())
	require.NoError(t, err)
	assert.Equal(t, map[int]int64{0: 7, 1: 7}, committedOf(t, b, "fresh", "orders"))

	_, err = b.ResetOffsets("bad name", "orders", ToEarliest())
	assert.ErrorIs(t, err, ErrInvalidGroupID)
	_, err = b.ResetOffsets("g", "nope", ToEarliest())
	assert.ErrorIs(t, err, ErrUnknownTopic)
	_, err = b.ResetOffsets("g", "orders", ToEarliest(), 2)
	assert.ErrorIs(t, err, ErrInvalidPartition)
}

// TestResetOffsetsRefusedWhileActive: like kafka-consumer-groups.sh, a
// reset is refused while the group has a member, and allowed once it left.
func TestResetOffsetsRefusedWhileActive(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 3, "m")
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	var mu sync.Mutex
	n := 0
	stop := runConsumer(t, c, func(context.Context, *Message) error { mu.Lock(); n++; mu.Unlock(); return nil })
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return n == 3 }, "consumed")
	_, err := b.ResetOffsets("g", "t", ToEarliest())
	assert.ErrorIs(t, err, ErrGroupActive)
	assert.Contains(t, err.Error(), "1 members")
	require.NoError(t, stop())
	assert.Equal(t, map[int]int64{0: 3}, committedOf(t, b, "g", "t"), "the refused reset changed nothing")
	_, err = b.ResetOffsets("g", "t", ToEarliest())
	require.NoError(t, err)
	assert.Equal(t, []int64{0, 1, 2}, readN(t, b, "g", "t", 3), "read again from the start")
	require.NoError(t, b.Close())
	_, err = b.ResetOffsets("g", "t", ToEarliest())
	assert.ErrorIs(t, err, ErrClosed)
}

func TestOffsetSpecString(t *testing.T) {
	assert.Equal(t, "earliest", OffsetSpec{}.String())
	assert.Equal(t, "earliest", ToOffset(OffsetOldest).String())
	assert.Equal(t, "latest", ToOffset(OffsetNewest).String())
	assert.Equal(t, "offset 42", ToOffset(42).String())
	assert.Equal(t, "time 2026-01-02T15:04:05Z", ToTime(time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)).String())
}

func TestSeekAndFetchSentinels(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 5, "m")

	msgs, err := b.Fetch(context.Background(), "t", 0, OffsetOldest, 2)
	require.NoError(t, err)
	assert.Equal(t, int64(0), msgs[0].Offset)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err = b.Fetch(ctx, "t", 0, OffsetNewest, 1)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "OffsetNewest waits for the next message")
	_, err = b.Fetch(context.Background(), "t", 0, 9, 1)
	var oe *OffsetError
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, OffsetError{Topic: "t", Partition: 0, Offset: 9, First: 0, Next: 5}, *oe)
	assert.Equal(t, "brook: offset out of range: t/0: offset 9, the partition holds 0..4 (next 5)", err.Error())
	assert.NotContains(t, err.Error(), "storage:", "Fetch does not leak the storage layer")

	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	delivered := make(chan int64, 100)
	runConsumer(t, c, func(_ context.Context, m *Message) error { delivered <- m.Offset; return nil })
	next := func(want ...int64) {
		t.Helper()
		for _, w := range want {
			select {
			case got := <-delivered:
				require.Equal(t, w, got)
			case <-time.After(10 * time.Second):
				t.Fatalf("offset %d not delivered", w)
			}
		}
	}
	next(0, 1, 2, 3, 4)
	err = c.Seek("t", 0, 9)
	require.ErrorAs(t, err, &oe)
	assert.Equal(t, "brook: offset out of range: t/0: offset 9, the partition holds 0..4 (next 5)", err.Error(),
		"Seek says it as Fetch does")
	require.NoError(t, c.Seek("t", 0, OffsetOldest))
	next(0, 1, 2, 3, 4)
	require.NoError(t, c.Seek("t", 0, OffsetNewest))
	publishN(t, b, "t", 1, 1, "new")
	next(5)
}

func TestOffsetErrorOfAnEmptyPartition(t *testing.T) {
	err := &OffsetError{Topic: "t", Partition: 2, Offset: 7, First: 3, Next: 3}
	assert.Equal(t, "brook: offset out of range: t/2: offset 7, the partition holds nothing (next 3)", err.Error())
	assert.ErrorIs(t, err, ErrOffsetOutOfRange)
}
