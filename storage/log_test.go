package storage

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAppendReadReopen(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, &Options{SegmentSize: 4096})
	require.NoError(t, err)
	appendN(t, l, 0, 10)
	for i := 10; i < 1000; i += 30 {
		appendN(t, l, i, 30)
	}
	assert.Equal(t, int64(1000), l.NextOffset())
	requireRecs(t, readAll(t, l, 0), 0)
	requireRecs(t, readAll(t, l, 517), 517)
	require.NoError(t, l.Close())

	l = openT(t, dir, &Options{SegmentSize: 4096})
	assert.Equal(t, Recovery{}, l.Recovery())
	assert.Equal(t, int64(0), l.FirstOffset())
	assert.Equal(t, int64(1000), l.NextOffset())
	requireRecs(t, readAll(t, l, 0), 0)
	requireRecs(t, readAll(t, l, 999), 999)
	appendN(t, l, 1000, 5)
	requireRecs(t, readAll(t, l, 990), 990)
	first, err := l.Append(context.Background(), nil)
	require.NoError(t, err)
	assert.Equal(t, int64(1005), first)
}

// dirSyncFS records the directories fsynced.
type dirSyncFS struct {
	FS
	mu     sync.Mutex
	synced []string
}

func (f *dirSyncFS) SyncDir(dir string) error {
	f.mu.Lock()
	f.synced = append(f.synced, dir)
	f.mu.Unlock()
	return f.FS.SyncDir(dir)
}

// A log directory that Open creates is durable before Open returns: its
// parent is fsynced too, else a power loss could take away a new log
// (a new group's committed offsets, found by TestReliabilityPowerLoss)
// whose appends were all acknowledged. Reopening syncs no parent.
func TestOpenCreatesDirDurably(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "log")
	fsys := &dirSyncFS{FS: OSFS()}
	l, err := Open(dir, &Options{FS: fsys})
	require.NoError(t, err)
	assert.Contains(t, fsys.synced, parent, "the parent of a created log directory is fsynced")
	assert.Contains(t, fsys.synced, dir, "the new segment file's entry is fsynced")
	require.NoError(t, l.Close())

	fsys.synced = nil
	l, err = Open(dir, &Options{FS: fsys})
	require.NoError(t, err)
	assert.NotContains(t, fsys.synced, parent, "an existing log directory needs no parent fsync")
	require.NoError(t, l.Close())
}
