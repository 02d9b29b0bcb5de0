package brook

import (
	"errors"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/brookmq/brook/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPublishBatch publishes one batch over three partitions, explicit and
// by key: each partition's messages get consecutive offsets in slice
// order, and read back in that order.
func TestPublishBatch(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 3)
	p := b.CreateProducer("p")
	require.NoError(t, p.PublishBatch("t", nil), "an empty batch")
	parts := []int{0, 2, 0, 1, 2, 0}
	var msgs []*Message
	for i, part := range parts {
		msgs = append(msgs, CreateMessage("t", []byte(fmt.Sprint("v", i)), part))
	}
	keyed := CreateMessage("t", []byte("keyed"), PartitionByKey)
	keyed.Key = []byte("AAPL")
	msgs = append(msgs, keyed)
	before := time.Now()
	require.NoError(t, p.PublishBatch("t", msgs))

	want := map[int][]string{}
	for i, m := range msgs {
		assert.Equal(t, int64(len(want[m.Partition])), m.Offset, "message %d", i)
		assert.False(t, m.Timestamp.Before(before.Truncate(time.Millisecond)), "message %d has its timestamp", i)
		want[m.Partition] = append(want[m.Partition], string(m.Value))
	}
	assert.Equal(t, KeyPartition([]byte("AAPL"), 3), keyed.Partition)
	for part := range 3 {
		var got []string
		for _, m := range readAll(t, b, "t", part) {
			got = append(got, string(m.Value))
		}
		assert.Equal(t, want[part], got, "partition %d", part)
	}
}

// TestPublishBatchRefusesInvalidMessage: one bad message anywhere in the
// batch publishes nothing, and the error says which one and why.
func TestPublishBatchRefusesInvalidMessage(t *testing.T) {
	b := openTest(t, &Options{MaxMessageBytes: 100})
	mustTopic(t, b, "t", 2)
	p := b.CreateProducer("p")
	good := func() *Message { return CreateMessage("t", []byte("ok"), 1) }
	cases := []struct {
		bad  *Message
		want error
	}{
		{nil, ErrNilMessage},
		{CreateMessage("t", nil, 2), ErrInvalidPartition},
		{CreateMessage("other", nil, 0), ErrTopicMismatch},
		{CreateMessage("t", make([]byte, 101), 0), ErrMessageTooLarge},
	}
	for _, tc := range cases {
		err := p.PublishBatch("t", []*Message{good(), good(), tc.bad, good()})
		assert.ErrorIs(t, err, tc.want)
		assert.ErrorContains(t, err, "message 2 of the batch")
	}
	assert.ErrorIs(t, p.PublishBatch("nope", []*Message{CreateMessage("nope", nil, 0)}), ErrUnknownTopic)
	tp, err := b.Topic("t")
	require.NoError(t, err)
	for _, ps := range tp.Stats().Partitions {
		assert.Equal(t, int64(0), ps.NextOffset, "nothing was published")
	}
	require.NoError(t, p.Close())
	assert.ErrorIs(t, p.PublishBatch("t", []*Message{good()}), ErrClosed)
}

// TestPublishBatchPartialFailure: the disk refuses partition 1's write.
// Partition 0's messages are published; partition 1's are not and keep
// Offset -1; the error names partition 1 and its cause.
func TestPublishBatchPartialFailure(t *testing.T) {
	ffs := storagetest.New()
	b, err := Open(t.TempDir(), &Options{fs: ffs})
	require.NoError(t, err)
	defer func() { assert.ErrorIs(t, b.Close(), ErrPartitionFailed, "Close reports the failed partition") }()
	mustTopic(t, b, "t", 2)
	ffs.Inject(nextFault(storagetest.OpWALWrite, "/topics/t/1", syscall.ENOSPC, false))
	msgs := []*Message{CreateMessage("t", []byte("a"), 0), CreateMessage("t", []byte("b"), 1), CreateMessage("t", []byte("c"), 0)}
	err = b.CreateProducer("p").PublishBatch("t", msgs)
	assert.ErrorIs(t, err, ErrPartitionFailed)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	var pe *PartitionError
	require.True(t, errors.As(err, &pe))
	assert.Equal(t, 1, pe.Partition)
	assert.Equal(t, []int64{0, -1, 1}, []int64{msgs[0].Offset, msgs[1].Offset, msgs[2].Offset})
	assert.Len(t, readAll(t, b, "t", 0), 2)
}

func TestPublishBatchAsyncKeepsOrder(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "async", 2)
	p := b.CreateProducer("p")
	defer p.Close()
	results := make(chan error, 20)
	var batches [][]*Message
	for i := range 20 {
		batch := []*Message{
			{Topic: "async", Partition: i % 2, Value: []byte{byte(i)}},
			{Topic: "async", Partition: i % 2, Value: []byte{byte(i), 1}},
		}
		batches = append(batches, batch)
		p.PublishBatchAsync("async", batch, func(err error) { results <- err })
	}
	for range 20 {
		require.NoError(t, <-results)
	}
	for i, batch := range batches {
		assert.Equal(t, int64(i/2*2), batch[0].Offset, "batch %d: queued order is offset order", i)
		assert.Equal(t, batch[0].Offset+1, batch[1].Offset)
	}
	done := make(chan error, 1)
	p.PublishBatchAsync("async", []*Message{{Topic: "async", Partition: 9}}, func(err error) { done <- err })
	assert.ErrorIs(t, <-done, ErrInvalidPartition)
}
