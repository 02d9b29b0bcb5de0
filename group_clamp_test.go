package brook

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// onlySegment returns the path of the single segment file of a log dir.
func onlySegment(t *testing.T, dir string) string {
	t.Helper()
	segs, err := filepath.Glob(filepath.Join(dir, "0000000000000000000*"))
	require.NoError(t, err)
	require.Len(t, segs, 1)
	return segs[0]
}

// After an unsynced tail is lost, the group's committed offset pointed past
// the data and the group skipped everything published after the restart
// (COMMITTED 10 END 2 LAG 0). Now the offset is moved back to the end found
// at open, and GroupStats says so.
func TestCommittedPastTheEndIsClamped(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 2, "synced")
	require.NoError(t, b.Close())
	seg := onlySegment(t, filepath.Join(dir, "topics", "t", "0"))
	synced, err := os.ReadFile(seg)
	require.NoError(t, err)

	b, err = Open(dir, nil)
	require.NoError(t, err)
	publishN(t, b, "t", 1, 8, "lost")
	assert.Len(t, readN(t, b, "g", "t", 10), 10)
	require.NoError(t, b.Close())
	// The power loss: the segment is back to what was synced, the
	// committed offsets (fsynced) say 10.
	require.NoError(t, os.WriteFile(seg, synced, 0o600))

	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	publishN(t, b, "t", 1, 3, "after") // offsets 2, 3, 4: published before the group is loaded
	gs, err := b.GroupStats("g")
	require.NoError(t, err)
	require.Len(t, gs.Partitions, 1)
	assert.Equal(t, int64(10), gs.Partitions[0].ClampedFrom)
	assert.Equal(t, int64(2), gs.Partitions[0].Committed)
	assert.Equal(t, int64(3), gs.Partitions[0].Lag)

	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for want := int64(2); want < 5; want++ {
		m, err := c.Poll(ctx)
		require.NoError(t, err)
		assert.Equal(t, want, m.Offset, "nothing published after the restart is skipped")
	}
	require.NoError(t, c.Close())
}

// A damaged committed-offsets log did not match ErrCorrupt (storage's
// sentinel leaked), so the CLI printed no hint.
func TestDamagedOffsetsMatchErrCorrupt(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 4, "m")
	readN(t, b, "g", "t", 2)
	readN(t, b, "g", "t", 2)
	require.NoError(t, b.Close())
	seg := onlySegment(t, filepath.Join(dir, "groups", "g"))
	data, err := os.ReadFile(seg)
	require.NoError(t, err)
	data[8] ^= 0xff // inside the first record: a valid one follows, so this is damage, not a torn tail
	require.NoError(t, os.WriteFile(seg, data, 0o600))

	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	_, err = b.GroupStats("g")
	require.Error(t, err)
	assert.ErrorIs(t, err, ErrCorrupt)
	assert.Contains(t, err.Error(), filepath.Join(dir, "groups", "g"))
}
