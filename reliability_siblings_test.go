package brook

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Siblings of issue 10's findings: the same classes of defect, found while
// fixing them. Each test failed before its fix.

// Commit of the message in hand during a clean revocation succeeds: the
// grant holds until the hand-over, so a manual-commit consumer hands over
// without a duplicate (class of item 5: which grant a commit is checked
// against).
func TestManualCommitDuringRevocation(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 2)
	publishN(t, b, "t", 2, 2, "m")
	a := b.CreateConsumerWith("a", "g", ConsumerOptions{ManualCommit: true})
	require.NoError(t, a.Subscribe("t"))
	release := make(chan struct{})
	var mu sync.Mutex
	var inHand int
	errs := make(chan error, 2)
	runConsumer(t, a, func(ctx context.Context, m *Message) error {
		mu.Lock()
		inHand++
		mu.Unlock()
		<-release
		errs <- a.Commit(ctx, m)
		return nil
	})
	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return inHand == 2 }, "a holds a message of each partition")
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	runConsumer(t, c, func(context.Context, *Message) error { return nil })
	eventually(t, func() bool { return len(a.Assignment()) == 1 }, "one partition is being revoked from a")
	close(release)
	for i := 0; i < 2; i++ {
		assert.NoError(t, <-errs, "a commits the message in hand, revoked or not")
	}
}

// Subscribe calls racing each other leave the group with the consumer's
// last subscription (class of item 6: an older snapshot landing last).
func TestConcurrentSubscribeKeepsEveryTopic(t *testing.T) {
	b := openTest(t, nil)
	const topics = 16
	for i := 0; i < topics; i++ {
		mustTopic(t, b, fmt.Sprintf("t%d", i), 1)
	}
	for round := 0; round < 5; round++ {
		c := b.CreateConsumer("c", fmt.Sprintf("g%d", round))
		require.NoError(t, c.Subscribe("t0"))
		runConsumer(t, c, func(context.Context, *Message) error { return nil })
		eventually(t, func() bool { return len(c.Assignment()) == 1 }, "joined")
		var wg sync.WaitGroup
		for i := 1; i < topics; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, c.Subscribe(fmt.Sprintf("t%d", i)))
			}()
		}
		wg.Wait()
		gs, err := b.GroupStats(fmt.Sprintf("g%d", round))
		require.NoError(t, err)
		require.Len(t, gs.Members, 1)
		assert.Len(t, gs.Members[0].Topics, topics, "round %d: the group knows every subscribed topic", round)
		assert.Len(t, gs.Members[0].Assigned, topics, "round %d: every subscribed partition has an owner", round)
	}
}

// SeekToTime with a time outside the timestamps' range goes to the end
// (after) or the start (before) instead of wrapping around (class of item
// 11: times int64 nanoseconds cannot hold).
func TestSeekToTimeOutOfRange(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 3, "old")
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	var got collect
	runConsumer(t, c, got.handle)
	eventually(t, func() bool { return got.n() == 3 }, "3 delivered")
	require.NoError(t, c.SeekToTime("t", 0, time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC)))
	publishN(t, b, "t", 1, 1, "new")
	eventually(t, func() bool { return got.n() >= 4 }, "the next message comes")
	got.mu.Lock()
	// A wrong seek to the start would bring old-0 before new-0.
	assert.Equal(t, []string{"old-0", "old-1", "old-2", "new-0"}, got.vals[:4], "a seek past the end of time waits for new messages")
	got.mu.Unlock()
	require.NoError(t, c.SeekToTime("t", 0, time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC)))
	eventually(t, func() bool { return got.n() >= 8 }, "a seek before the start of time reads from the start")
}

// A Producer.Close racing another one returns only when every pending
// PublishAsync has completed (class of item 7).
func TestProducerCloseRacingClose(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 4)
	for round := 0; round < 5; round++ {
		p := b.CreateProducer("p")
		const n = 2000
		var done atomic.Int64
		for i := 0; i < n; i++ {
			p.PublishAsync("t", CreateMessage("t", []byte("x"), i%4), func(*Message, error) { done.Add(1) })
		}
		var wg sync.WaitGroup
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, p.Close())
				assert.Equal(t, int64(n), done.Load(), "round %d: Close returned before the pending publishes completed", round)
			}()
		}
		wg.Wait()
	}
}

// Open finishes a DeleteTopic that a crash interrupted (the topic's
// directory gone, the group's offsets not yet dropped), so a topic created
// again right after Open is read from its start (class of item 1).
func TestOpenFinishesInterruptedTopicDeletion(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "x", 1)
	publishN(t, b, "x", 1, 10, "old")
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("x"))
	var got collect
	stop := runConsumer(t, c, got.handle)
	eventually(t, func() bool { return got.n() == 10 }, "10 delivered")
	require.NoError(t, stop())
	require.NoError(t, b.Close())
	// What a crash in DeleteTopic leaves: its marker written, the topic's
	// directory gone, the group's offsets not yet dropped.
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "deleting"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "deleting", "x"), nil, 0o600))
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "topics", "x")))

	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	mustTopic(t, b, "x", 1)
	publishN(t, b, "x", 1, 3, "new")
	c = b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("x"))
	var fresh collect
	runConsumer(t, c, fresh.handle)
	eventually(t, func() bool { return fresh.n() == 3 }, "the topic created again is read from its start")
}
