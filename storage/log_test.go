package storage

import (
	"context"
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
