package brook

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublishBatchContext(t *testing.T) {
	b := openTest(t, nil)
	tp := mustTopic(t, b, "t", 2)
	p := b.CreateProducer("p")
	batch := func() []*Message {
		return []*Message{CreateMessage("t", []byte("a"), 0), CreateMessage("t", []byte("b"), 1), CreateMessage("t", []byte("c"), 0)}
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	msgs := batch()
	assert.ErrorIs(t, p.PublishBatchContext(ctx, "t", msgs), context.Canceled)
	for _, m := range msgs {
		assert.Equal(t, int64(-1), m.Offset)
	}
	for _, ps := range tp.Stats().Partitions {
		assert.Zero(t, ps.NextOffset, "nothing written after ctx ended")
	}
	assert.ErrorIs(t, p.PublishBatchContext(ctx, "u", batch()), ErrTopicMismatch, "messages are checked first")

	msgs = batch()
	require.NoError(t, p.PublishBatchContext(context.Background(), "t", msgs))
	assert.Equal(t, []int64{0, 0, 1}, []int64{msgs[0].Offset, msgs[1].Offset, msgs[2].Offset})
	got, err := b.Fetch(context.Background(), "t", 0, OffsetOldest, 10)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, "c", string(got[1].Value))
}
