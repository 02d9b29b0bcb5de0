package storage

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncCount returns how many wal fsyncs f has seen.
func (f *faultFS) syncCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.syncs
}

// TestSetSync changes the policy of an open log and checks, by counting
// fsyncs, that each policy is in force from the next commit on.
func TestSetSync(t *testing.T) {
	f := &faultFS{FS: OSFS()}
	l := openT(t, t.TempDir(), &Options{FS: f, Sync: SyncNever, SyncInterval: 5 * time.Millisecond})
	appendN(t, l, 0, 3)
	assert.Zero(t, f.syncCount(), "SyncNever does not fsync")

	require.NoError(t, l.SetSync(SyncAlways))
	assert.Equal(t, 1, f.syncCount(), "changing to SyncAlways fsyncs what was written")
	appendN(t, l, 3, 1)
	appendN(t, l, 4, 1)
	assert.Equal(t, 3, f.syncCount(), "one fsync per commit under SyncAlways")

	require.NoError(t, l.SetSync(SyncInterval))
	before := f.syncCount()
	appendN(t, l, 5, 1)
	require.Eventually(t, func() bool { return f.syncCount() > before }, 5*time.Second, time.Millisecond,
		"the background fsync runs under SyncInterval")

	require.NoError(t, l.SetSync(SyncNever))
	require.NoError(t, l.SetSync(SyncNever), "the same policy again")
	assert.Error(t, l.SetSync(SyncNever+1))
	requireRecs(t, readAll(t, l, 0), 0)
	require.NoError(t, l.Close())
	assert.ErrorIs(t, l.SetSync(SyncAlways), ErrClosed)
}

func TestSetMaxRecordSize(t *testing.T) {
	l := openT(t, t.TempDir(), &Options{MaxRecordSize: 100})
	big := []Record{{Value: make([]byte, 200)}}
	_, err := l.Append(context.Background(), big)
	assert.ErrorIs(t, err, ErrRecordTooLarge)
	require.NoError(t, l.SetMaxRecordSize(1000))
	_, err = l.Append(context.Background(), big)
	require.NoError(t, err, "a larger limit applies to the next append")
	require.NoError(t, l.SetMaxRecordSize(50))
	_, err = l.Append(context.Background(), big)
	assert.ErrorIs(t, err, ErrRecordTooLarge)
	assert.Error(t, l.SetMaxRecordSize(-1))
	require.NoError(t, l.SetMaxRecordSize(0))
	assert.Equal(t, defaultMaxRecordSize, l.maxRecordSize())
}
