package kafka

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/brookmq/brook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublishPlacement(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "placed", 8))
	require.NoError(t, b.EnsureTopic(ctx, "placed", 8), "same count: nothing to do")
	assert.ErrorIs(t, b.EnsureTopic(ctx, "placed", 3), brook.ErrTopicExists)

	var msgs []*brook.Message
	for i := range 32 {
		msgs = append(msgs, &brook.Message{Partition: brook.PartitionByKey, Key: fmt.Appendf(nil, "key-%d", i), Value: []byte("v")})
	}
	for range 8 {
		msgs = append(msgs, &brook.Message{Partition: brook.PartitionRoundRobin, Key: []byte("ignored"), Value: []byte("rr")})
	}
	msgs = append(msgs, &brook.Message{Partition: 5, Value: []byte("explicit"),
		Headers: []brook.Header{{Key: "h", Value: []byte{0, 1}}, {Key: "h", Value: []byte("again")}}})
	require.NoError(t, b.Publish(ctx, "placed", msgs))

	rr := map[int]bool{}
	for i, m := range msgs {
		switch {
		case i < 32:
			assert.Equal(t, brook.KeyPartition(m.Key, 8), m.Partition, "key %s", m.Key)
		case i < 40:
			rr[m.Partition] = true
		default:
			assert.Equal(t, 5, m.Partition)
		}
		assert.False(t, m.Timestamp.IsZero())
	}
	assert.Len(t, rr, 8, "round-robin reaches every partition")

	ends, err := b.EndOffsets(ctx, "placed")
	require.NoError(t, err)
	require.Len(t, ends, 8)
	var total int64
	for _, e := range ends {
		total += e
	}
	assert.Equal(t, int64(len(msgs)), total)
	assert.Equal(t, ends[5]-1, msgs[len(msgs)-1].Offset, "the offset set on return is the last of its partition")

	// The headers come back as bytes, repeated keys included.
	s, err := b.Subscribe(ctx, "", []string{"placed"}, driverOpts())
	require.NoError(t, err)
	col := newCollector()
	stop := runSub(t, ctx, s, col.handle)
	for _, m := range col.take(t, len(msgs)) {
		if m.Partition == 5 && bytes.Equal(m.Value, []byte("explicit")) {
			assert.Equal(t, []brook.Header{{Key: "h", Value: []byte{0, 1}}, {Key: "h", Value: []byte("again")}}, m.Headers)
			assert.Equal(t, msgs[len(msgs)-1].Offset, m.Offset)
			assert.True(t, msgs[len(msgs)-1].Timestamp.Equal(m.Timestamp), "the publish timestamp is what consumers see")
		}
	}
	assert.NoError(t, stop())
}

func TestPublishErrors(t *testing.T) {
	b := openBackend(t)
	ctx := testCtx(t)
	require.NoError(t, b.EnsureTopic(ctx, "four", 4))

	err := b.Publish(ctx, "four", []*brook.Message{{Partition: 4, Value: []byte("x")}})
	var pe *brook.PartitionError
	require.ErrorAs(t, err, &pe)
	assert.ErrorIs(t, err, brook.ErrInvalidPartition)
	assert.Equal(t, 4, pe.Partitions)
	assert.Equal(t, 4, pe.Partition)

	assert.ErrorIs(t, b.Publish(ctx, "four", []*brook.Message{{Partition: -3}}), brook.ErrInvalidPartition)
	assert.ErrorIs(t, b.Publish(ctx, "four", []*brook.Message{nil}), brook.ErrNilMessage)
	assert.ErrorIs(t, b.Publish(ctx, "missing", values(1, "m")), brook.ErrUnknownTopic)
	_, err = b.Partitions(ctx, "missing")
	assert.ErrorIs(t, err, brook.ErrUnknownTopic)
	_, err = b.EndOffsets(ctx, "missing")
	assert.ErrorIs(t, err, brook.ErrUnknownTopic)
	_, err = b.Subscribe(ctx, "g", []string{"missing"}, driverOpts())
	assert.ErrorIs(t, err, brook.ErrUnknownTopic)

	big := &brook.Message{Partition: 0, Value: make([]byte, 2<<20)}
	assert.ErrorIs(t, b.Publish(ctx, "four", []*brook.Message{big}), brook.ErrMessageTooLarge)

	require.NoError(t, b.Close())
	require.NoError(t, b.Close(), "Close is idempotent")
	assert.ErrorIs(t, b.Publish(ctx, "four", values(1, "c")), brook.ErrClosed)
	assert.ErrorIs(t, b.EnsureTopic(ctx, "other", 1), brook.ErrClosed)
	_, err = b.Subscribe(ctx, "g", []string{"four"}, driverOpts())
	assert.ErrorIs(t, err, brook.ErrClosed)
	assert.ErrorIs(t, b.DeleteGroup(ctx, "g"), brook.ErrClosed)
}
