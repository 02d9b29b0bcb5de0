package brook

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRemoteMemberSharesAGroupWithAConsumer(t *testing.T) {
	b := openTest(t, nil)
	_, err := b.CreateNewTopic("rm", 4)
	require.NoError(t, err)
	r, err := b.JoinRemote("mixed", "remote", []string{"rm"}, time.Minute)
	require.NoError(t, err)
	a, ok := r.Assignment()
	require.True(t, ok)
	require.Len(t, a.Owned, 4, "alone, the remote member owns every partition")

	c := b.CreateConsumer("local", "mixed")
	require.NoError(t, c.Subscribe("rm"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, func(context.Context, *Message) error { return nil }) }()
	defer func() { cancel(); require.NoError(t, <-done) }()

	select {
	case <-r.Changes():
	case <-time.After(10 * time.Second):
		t.Fatal("no change signal after a member joined")
	}
	require.Eventually(t, func() bool { a, _ = r.Assignment(); return len(a.Revoke) == 2 },
		10*time.Second, 5*time.Millisecond, "half the partitions are wanted back")
	for tp := range a.Revoke {
		require.NoError(t, r.Commit(tp, a.Owned[tp], 0))
		r.Release(tp, a.Owned[tp])
		assert.ErrorIs(t, r.Commit(tp, a.Owned[tp], 1), ErrFenced, "a released partition is fenced")
	}
	require.Eventually(t, func() bool { return len(c.Assignment()) == 2 }, 10*time.Second, 5*time.Millisecond)
	a, _ = r.Assignment()
	assert.Len(t, a.Owned, 2)
	assert.Empty(t, a.Revoke)
	require.NoError(t, r.Flush())

	assert.ErrorIs(t, b.SetCommittedOffsets("mixed", nil), ErrGroupActive)
	r.Leave()
	r.Leave()
	require.Eventually(t, func() bool { return len(c.Assignment()) == 4 }, 10*time.Second, 5*time.Millisecond)
	_, ok = r.Assignment()
	assert.False(t, ok)
}

func TestRemoteMemberEvictedWithoutHeartbeats(t *testing.T) {
	b := openTest(t, nil)
	_, err := b.CreateNewTopic("hb", 1)
	require.NoError(t, err)
	_, err = b.JoinRemote("g", "r", []string{"hb"}, 0)
	require.ErrorIs(t, err, ErrInvalidConfig)
	r, err := b.JoinRemote("g", "r", []string{"hb"}, 50*time.Millisecond)
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, ok := r.Assignment(); return !ok }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, b.SetCommittedOffsets("g", map[TopicPartition]int64{{Topic: "hb"}: 3}))
	offs, err := b.CommittedOffsets("g")
	require.NoError(t, err)
	assert.Equal(t, int64(3), offs[TopicPartition{Topic: "hb"}])
}
