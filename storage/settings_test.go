package storage

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
