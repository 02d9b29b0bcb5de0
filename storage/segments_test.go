package storage

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSegmentOffsets(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, &Options{SegmentSize: 512})
	for i := range 40 {
		appendN(t, l, i, 1)
	}
	files := segFiles(t, dir)
	require.Greater(t, len(files), 2, "several segments")
	got := l.SegmentOffsets()
	require.Len(t, got, len(files))
	for i, f := range files {
		base, ok := parseSegmentName(filepath.Base(f))
		require.True(t, ok)
		assert.Equal(t, base, got[i], "the first offset of %s", f)
	}
	assert.Equal(t, int64(0), got[0])
}
