package brook

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/brookmq/brook/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// openFDs counts this process's open file descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("no /proc/self/fd: %v", err)
	}
	return len(entries)
}

// checkNoLeaks runs workload and checks that, once it has returned (having
// closed what it opened), no goroutine and no file descriptor is left.
// goleak waits a little for goroutines that are on their way out.
func checkNoLeaks(t *testing.T, workload func(t *testing.T)) {
	t.Helper()
	ignore := goleak.IgnoreCurrent()
	before := openFDs(t)
	workload(t)
	goleak.VerifyNone(t, ignore)
	// Descriptors are closed synchronously by Close: no waiting needed.
	assert.Equal(t, before, openFDs(t), "file descriptors left open")
}

// TestReliabilityNoLeaksAfterClose runs a full workload (producers of both
// kinds, consumers in push and pull mode, rebalances, an evicted member,
// waiting fetches, retention, topic growth and deletion, a failed
// partition) and closes only the broker: it must stop and close everything.
func TestReliabilityNoLeaksAfterClose(t *testing.T) {
	warmUp(t)
	checkNoLeaks(t, func(t *testing.T) {
		dir := t.TempDir()
		ffs := storagetest.New()
		b, err := Open(dir, &Options{fs: ffs, SegmentSize: 4 << 10, CommitInterval: time.Millisecond,
			RetentionCheckInterval: time.Millisecond})
		require.NoError(t, err)
		defer b.Close() // after a failure too, so that later tests are not disturbed
		mustTopic(t, b, "t", 4)
		_, err = b.CreateTopic("r", TopicConfig{Partitions: 1, RetentionBytes: 4 << 10})
		require.NoError(t, err)
		ta := newTally()
		for i := 0; i < 3; i++ {
			c := b.CreateConsumer(fmt.Sprint("c", i), "g")
			require.NoError(t, c.Subscribe("t", "r"))
			go c.Run(context.Background(), ta.handler(c.Name(), nil)) // stopped by the broker's Close
		}
		stuck := b.CreateConsumerWith("stuck", "g2", ConsumerOptions{PollTimeout: 50 * time.Millisecond})
		require.NoError(t, stuck.Subscribe("t"))
		go stuck.Run(context.Background(), func(ctx context.Context, _ *Message) error {
			<-ctx.Done() // stuck until evicted
			return ctx.Err()
		})
		poller := b.CreateConsumer("poller", "g3")
		require.NoError(t, poller.Subscribe("t"))
		go func() {
			for _, err := range poller.Messages(context.Background()) {
				if err != nil {
					return
				}
			}
		}()
		go b.Fetch(context.Background(), "t", 3, 1<<20, 10) // never satisfied; the broker's Close must end it
		p := b.CreateProducer("p")
		for i := 0; i < 200; i++ {
			require.NoError(t, p.Publish("t", CreateMessage("t", fmt.Appendf(nil, "sync-%d", i), i%2)))
			p.PublishAsync("r", CreateMessage("r", make([]byte, 100), 0), nil)
		}
		flush(t, p)
		ffs.Inject(nextFault(storagetest.OpWALWrite, "/topics/t/2", syscall.EIO, false))
		assert.ErrorIs(t, p.Publish("t", CreateMessage("t", nil, 2)), ErrPartitionFailed)
		require.NoError(t, b.AddPartitions("t", 6))
		mustTopic(t, b, "gone", 2)
		require.NoError(t, b.DeleteTopic("gone"))
		eventually(t, func() bool { return ta.count() >= 200 }, "consumed")
		assert.ErrorIs(t, b.Close(), ErrPartitionFailed, "Close reports the failed partition")
	})
}

// TestReliabilityNoLeaksAfterFailedOpen checks that an Open that fails half
// way (one topic loads, the next is corrupt) closes what it had opened and
// releases the lock.
func TestReliabilityNoLeaksAfterFailedOpen(t *testing.T) {
	warmUp(t)
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	for _, name := range []string{"a", "b", "c"} {
		mustTopic(t, b, name, 3)
	}
	require.NoError(t, b.Close())
	require.NoError(t, os.WriteFile(filepath.Join(dir, "topics", "b", "topic.json"), []byte("{"), 0o600))
	checkNoLeaks(t, func(t *testing.T) {
		for i := 0; i < 3; i++ {
			_, err := Open(dir, nil)
			require.ErrorIs(t, err, ErrCorrupt)
		}
		_, err := Open(filepath.Join(dir, "topics", "a", "topic.json", "x"), nil)
		require.Error(t, err)
		_, err = Open(dir, &Options{SegmentSize: -1})
		require.ErrorIs(t, err, ErrInvalidConfig)
	})
}

// TestReliabilityNoLeaksWithClients closes producers and consumers first,
// then the broker, and uses the process-wide broker, whose Close must
// release the same things.
func TestReliabilityNoLeaksWithClients(t *testing.T) {
	warmUp(t)
	dir := t.TempDir()
	checkNoLeaks(t, func(t *testing.T) {
		freshSingleton(t, dir)
		b := GetorSetBrokerInstance()
		mustTopic(t, b, "t", 2)
		c := CreateConsumer("c", "g")
		require.NoError(t, c.Subscribe("t"))
		ta := newTally()
		done := make(chan error, 1)
		go func() { done <- c.Run(context.Background(), ta.handler("c", nil)) }()
		p := CreateProducer("p")
		for i := 0; i < 50; i++ {
			require.NoError(t, p.Publish("t", CreateMessage("t", []byte("x"), i%2)))
		}
		eventually(t, func() bool { return ta.count() >= 1 }, "consumed")
		require.NoError(t, p.Close())
		require.NoError(t, c.Close())
		require.NoError(t, <-done)
		require.NoError(t, b.Close())
		require.NoError(t, GetorSetBrokerInstance().Close(), "closing the singleton twice")
		failed := &Broker{err: errors.New("x")} // the shape of a singleton that failed to open
		require.NoError(t, failed.Close())
	})
}

// warmUp opens and closes a broker once, so that descriptors the runtime
// opens lazily on first use (the poller's epoll) exist before counting.
func warmUp(t *testing.T) {
	t.Helper()
	b, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	mustTopic(t, b, "w", 1)
	require.NoError(t, b.Close())
}
