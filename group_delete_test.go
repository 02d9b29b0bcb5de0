package brook

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readN consumes n messages of topic in group with a fresh consumer, then
// closes it (which commits).
func readN(t *testing.T, b *Broker, group, topic string, n int) []int64 {
	t.Helper()
	c := b.CreateConsumer("reader", group)
	require.NoError(t, c.Subscribe(topic))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var offsets []int64
	for len(offsets) < n {
		m, err := c.Poll(ctx)
		require.NoError(t, err)
		offsets = append(offsets, m.Offset)
	}
	require.NoError(t, c.Close())
	return offsets
}

func TestDeleteGroup(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "orders", 1)
	publishN(t, b, "orders", 1, 5, "m")
	assert.Equal(t, []int64{0, 1, 2}, readN(t, b, "g", "orders", 3))

	live := b.CreateConsumer("live", "g")
	require.NoError(t, live.Subscribe("orders"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = live.Poll(ctx)
	require.NoError(t, err)
	assert.ErrorIs(t, b.DeleteGroup("g"), ErrGroupActive)
	require.NoError(t, live.Close())

	require.NoError(t, b.DeleteGroup("g"))
	ids, err := b.Groups()
	require.NoError(t, err)
	assert.NotContains(t, ids, "g")
	assert.ErrorIs(t, b.DeleteGroup("g"), ErrUnknownGroup)
	assert.ErrorIs(t, b.DeleteGroup("bad name"), ErrInvalidGroupID)
	_, err = b.GroupStats("g")
	assert.ErrorIs(t, err, ErrUnknownGroup)

	// A new consumer of the deleted group starts afresh.
	assert.Equal(t, []int64{0}, readN(t, b, "g", "orders", 1))
	require.NoError(t, b.Close())

	// Deleting a group that is on disk but not loaded since Open.
	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	require.NoError(t, b.DeleteGroup("g"))
	assert.Equal(t, []int64{0}, readN(t, b, "g", "orders", 1))
	require.NoError(t, b.Close())
	assert.ErrorIs(t, b.DeleteGroup("g"), ErrClosed)
}
