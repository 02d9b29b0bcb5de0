package brook

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestOpenLocksDirectory(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	_, err = Open(dir, nil)
	assert.ErrorIs(t, err, ErrLocked)
	assert.Contains(t, err.Error(), dir)
	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "Close twice")
	b2, err := Open(dir, nil)
	require.NoError(t, err, "the lock is released by Close")
	require.NoError(t, b2.Close())
}

func TestTopicsPersistAcrossReopen(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	_, err = b.CreateTopic("orders", TopicConfig{Partitions: 3, RetentionBytes: 1 << 30, MaxMessageBytes: 512, Sync: SyncNever})
	require.NoError(t, err)
	mustTopic(t, b, "prices", 8)
	publishN(t, b, "prices", 8, 80, "m")
	require.NoError(t, b.Close())

	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	names, err := b.Topics()
	require.NoError(t, err)
	assert.Equal(t, []string{"orders", "prices"}, names)
	orders, err := b.Topic("orders")
	require.NoError(t, err)
	assert.Equal(t, TopicConfig{Partitions: 3, RetentionBytes: 1 << 30, MaxMessageBytes: 512, Sync: SyncNever}, orders.Config())
	prices, err := b.Topic("prices")
	require.NoError(t, err)
	for _, ps := range prices.Stats().Partitions {
		assert.Equal(t, int64(10), ps.NextOffset, "partition %d", ps.Partition)
	}
}

func TestCreateNewTopicReusesExisting(t *testing.T) {
	b := openTest(t, nil)
	t1 := mustTopic(t, b, "a", 4)
	t2, err := b.CreateNewTopic("a", 4)
	require.NoError(t, err)
	assert.Same(t, t1, t2)
	_, err = b.CreateNewTopic("a", 5)
	assert.ErrorIs(t, err, ErrTopicExists)
	_, err = b.CreateTopic("a", TopicConfig{Partitions: 4})
	assert.ErrorIs(t, err, ErrTopicExists)
}

func TestTopicNames(t *testing.T) {
	b := openTest(t, nil)
	tests := []struct {
		name  string
		topic string
		ok    bool
	}{
		{"simple", "stock-price-update", true},
		{"all classes", "A.z_0-9", true},
		{"max length", strings.Repeat("x", 249), true},
		{"empty", "", false},
		{"too long", strings.Repeat("x", 250), false},
		{"dot", ".", false},
		{"dotdot", "..", false},
		{"slash", "a/b", false},
		{"escape", "../../etc", false},
		{"backslash", `a\b`, false},
		{"space", "a b", false},
		{"nul", "a\x00b", false},
		{"unicode", "prix€", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := b.CreateNewTopic(tc.topic, 1)
			if tc.ok {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, ErrInvalidTopicName)
		})
	}
	entries, err := os.ReadDir(filepath.Join(b.Dir(), "topics"))
	require.NoError(t, err)
	assert.Len(t, entries, 3, "only the valid names reached the file system")
}

func TestPartitionCountLimits(t *testing.T) {
	b := openTest(t, nil)
	for _, n := range []int{0, -1, MaxPartitions + 1} {
		_, err := b.CreateNewTopic("t", n)
		assert.ErrorIs(t, err, ErrInvalidPartition, "%d partitions", n)
	}
}

func TestDeleteAndGrowTopic(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 2)
	publishN(t, b, "t", 2, 10, "old")
	require.NoError(t, b.AddPartitions("t", 4))
	assert.ErrorIs(t, b.AddPartitions("t", 4), ErrInvalidPartition, "cannot shrink or stay")
	tp, err := b.Topic("t")
	require.NoError(t, err)
	assert.Equal(t, 4, tp.Partitions())
	require.NoError(t, b.CreateProducer("p").Publish("t", CreateMessage("t", []byte("x"), 3)))

	require.NoError(t, b.DeleteTopic("t"))
	assert.ErrorIs(t, b.DeleteTopic("t"), ErrUnknownTopic)
	assert.ErrorIs(t, b.CreateProducer("p").Publish("t", CreateMessage("t", nil, 0)), ErrUnknownTopic)
	_, err = os.Stat(filepath.Join(b.Dir(), "topics", "t"))
	assert.True(t, errors.Is(err, os.ErrNotExist), "the topic's files are gone")

	fresh := mustTopic(t, b, "t", 1)
	assert.Equal(t, int64(0), fresh.Stats().Partitions[0].NextOffset, "a new topic of the same name starts empty")
}

func TestCorruptTopicMetadata(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	require.NoError(t, b.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "topics", "t", "topic.json"), []byte("{garbage"), 0o600))
	_, err = Open(dir, nil)
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), "topic.json")
	b, err = Open(dir, nil)
	assert.ErrorIs(t, err, ErrCorrupt, "a failed Open released the lock")
	assert.Nil(t, b)
}

func TestClosedBroker(t *testing.T) {
	b, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	p := b.CreateProducer("p")
	c := b.CreateConsumer("c", "g")
	require.NoError(t, b.Close())
	assert.ErrorIs(t, p.Publish("t", CreateMessage("t", nil, 0)), ErrClosed)
	_, err = b.CreateNewTopic("u", 1)
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, c.Subscribe("t"), ErrClosed)
	assert.NoError(t, p.Close())
	assert.NoError(t, c.Close())
}

func TestOptionsValidation(t *testing.T) {
	_, err := Open(t.TempDir(), &Options{SegmentSize: -1})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = Open(t.TempDir(), &Options{Sync: SyncPolicy(9)})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = Open("", nil)
	assert.ErrorIs(t, err, ErrInvalidConfig)
}

// TestRetentionBytesKeepsAtLeastTheLimit: large old messages, then small
// new ones, all written before retention first runs. Retention by size
// drops old segments but keeps at least RetentionBytes (an estimate from
// the average message size would keep far less here, the new messages
// being small).
func TestRetentionBytesKeepsAtLeastTheLimit(t *testing.T) {
	const limit, segment = 16 << 10, 4 << 10
	dir := t.TempDir()
	b, err := Open(dir, &Options{SegmentSize: segment, Sync: SyncNever})
	require.NoError(t, err)
	_, err = b.CreateTopic("r", TopicConfig{Partitions: 1, RetentionBytes: limit})
	require.NoError(t, err)
	p := b.CreateProducer("p")
	for i := range 440 { // 40 of 2000 bytes, then 400 of 50: about 80 KiB, then 26 KiB
		size := 50
		if i < 40 {
			size = 2000
		}
		require.NoError(t, p.Publish("r", CreateMessage("r", make([]byte, size), 0)))
	}
	require.NoError(t, b.Close())

	b, err = Open(dir, &Options{SegmentSize: segment, RetentionCheckInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	tp, err := b.Topic("r")
	require.NoError(t, err)
	eventually(t, func() bool { return tp.Stats().Partitions[0].FirstOffset >= 40 }, "the large messages are dropped")
	time.Sleep(50 * time.Millisecond) // a few more rounds of retention
	ps := tp.Stats().Partitions[0]
	assert.GreaterOrEqual(t, ps.Bytes, int64(limit), "at least the limit is kept: %+v", ps)
	assert.Less(t, ps.Bytes, int64(limit+2*segment), "and not much more: %+v", ps)
}
