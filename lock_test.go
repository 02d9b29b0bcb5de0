package brook

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/brookmq/brook/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLockedErrorNamesTheHolder: the "locked" error of a second Open says
// which process holds the directory.
func TestLockedErrorNamesTheHolder(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrLocked)
	assert.Contains(t, err.Error(), fmt.Sprintf("%s, held by pid %d (", dir, os.Getpid()))
	assert.Contains(t, err.Error(), "close it or use another directory")
	require.NoError(t, b.Close())
}

// TestPartitionLockedElsewhereIsErrLocked: a partition log held by another
// opener (a storage.Log on it) makes Open fail with ErrLocked, so callers
// need not know the storage package.
func TestPartitionLockedElsewhereIsErrLocked(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	_, err = b.CreateNewTopic("t", 1)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	l, err := storage.Open(filepath.Join(dir, "topics", "t", "0"), nil)
	require.NoError(t, err)
	defer l.Close()
	b, err = Open(dir, nil)
	if err == nil {
		defer b.Close()
		_, err = b.Topic("t")
	}
	assert.ErrorIs(t, err, ErrLocked)
}
