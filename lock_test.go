package brook

import (
	"fmt"
	"os"
	"testing"

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
