package fsutil

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLockExcludesASecondHolder(t *testing.T) {
	name := filepath.Join(t.TempDir(), "LOCK")
	f, err := Lock(name)
	require.NoError(t, err)
	_, err = Lock(name)
	assert.ErrorIs(t, err, ErrLocked, "a second lock in the same process conflicts")
	require.NoError(t, f.Close())
	f, err = Lock(name)
	require.NoError(t, err, "closing releases the lock")
	require.NoError(t, f.Close())

	_, err = Lock(filepath.Join(t.TempDir(), "missing", "LOCK"))
	assert.Error(t, err)
	assert.NotErrorIs(t, err, ErrLocked)
}

func TestSyncDir(t *testing.T) {
	assert.NoError(t, SyncDir(t.TempDir()))
	assert.Error(t, SyncDir(filepath.Join(t.TempDir(), "missing")))
}
