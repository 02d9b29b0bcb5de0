package brook

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Regression tests of issue 10: deletion, close and pull-mode races, and
// input the docs did not cover. Each one failed before its fix.

// Item 6: topics created and grown concurrently leave no subscribed
// partition without an owner.
func TestConcurrentTopicChangesKeepEveryPartitionOwned(t *testing.T) {
	b := openTest(t, &Options{SegmentSize: 64 << 10})
	const grown = 24
	for round := 0; round < 3; round++ {
		name := fmt.Sprintf("t%d", round)
		mustTopic(t, b, name, 1)
		groups := make([]string, 8)
		for i := range groups {
			groups[i] = fmt.Sprintf("g%d-%d", round, i)
			c := b.CreateConsumer("c", groups[i])
			require.NoError(t, c.Subscribe(name))
			runConsumer(t, c, func(context.Context, *Message) error { return nil })
			eventually(t, func() bool { return len(c.Assignment()) == 1 }, "assigned")
		}
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 2; n <= grown; n++ {
				assert.NoError(t, b.AddPartitions(name, n))
			}
		}()
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := 0; j < grown; j++ {
					_, err := b.CreateNewTopic(fmt.Sprintf("x%d-%d-%d", round, w, j), 1)
					assert.NoError(t, err)
				}
			}()
		}
		wg.Wait()
		for _, g := range groups {
			gs, err := b.GroupStats(g)
			require.NoError(t, err)
			require.Len(t, gs.Members, 1)
			assert.Len(t, gs.Members[0].Assigned, grown, "round %d: every partition of %s has an owner in %s", round, name, g)
		}
	}
}

// Item 7: Consumer.Close racing Broker.Close keeps the final commits.
func TestConsumerCloseRacingBrokerClose(t *testing.T) {
	for round := 0; round < 5; round++ {
		dir := t.TempDir()
		b, err := Open(dir, nil)
		require.NoError(t, err)
		mustTopic(t, b, "t", 1)
		publishN(t, b, "t", 1, 50, "m")
		c := b.CreateConsumer("c", "g")
		require.NoError(t, c.Subscribe("t"))
		var handled atomic.Int64
		started := make(chan struct{})
		var once sync.Once
		go c.Run(context.Background(), func(ctx context.Context, m *Message) error {
			once.Do(func() { close(started) })
			time.Sleep(5 * time.Millisecond) // a handler's work; it ignores ctx
			handled.Store(m.Offset + 1)
			return nil
		})
		<-started
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); assert.NoError(t, c.Close()) }()
		go func() { defer wg.Done(); assert.NoError(t, b.Close()) }()
		wg.Wait()
		want := handled.Load()
		b, err = Open(dir, nil)
		require.NoError(t, err)
		assert.Equal(t, want, committedAt(t, b, "g", "t", 0), "round %d: what was handled is committed", round)
		require.NoError(t, b.Close())
	}
}

// Item 8: after Broker.Close begins, new consumers and producers get
// ErrClosed, and Close waits for everything it owns.
func TestNewClientsDuringBrokerClose(t *testing.T) {
	b, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 1, "m")
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	started, cancelled := make(chan struct{}), make(chan struct{})
	release := make(chan struct{})
	go c.Run(context.Background(), func(ctx context.Context, m *Message) error {
		close(started)
		<-ctx.Done()
		close(cancelled)
		<-release // finishing its work after Close began
		return nil
	})
	waitChan(t, started, "the handler starts")
	closed := make(chan error, 1)
	go func() { closed <- b.Close() }()
	waitChan(t, cancelled, "Close cancels the handler")
	late := b.CreateConsumer("late", "g2")
	assert.ErrorIs(t, late.Subscribe("t"), ErrClosed, "a consumer created during Close")
	runErr := make(chan error, 1)
	go func() { runErr <- late.Run(context.Background(), func(context.Context, *Message) error { return nil }) }()
	p := b.CreateProducer("late")
	assert.ErrorIs(t, p.Publish("t", CreateMessage("t", []byte("x"), 0)), ErrClosed, "a producer created during Close")
	close(release)
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Broker.Close does not return")
	}
	select {
	case err := <-runErr:
		assert.ErrorIs(t, err, ErrClosed)
	case <-time.After(10 * time.Second):
		t.Fatal("a consumer run during Close outlives it")
	}
}

// Item 9: Publish and a waiting Fetch that race DeleteTopic report
// ErrUnknownTopic, not ErrClosed.
func TestPublishAndFetchRacingDeleteTopic(t *testing.T) {
	b := openTest(t, nil)
	for round := 0; round < 5; round++ {
		mustTopic(t, b, "t", 2)
		fetched := make(chan error, 1)
		go func() {
			_, err := b.Fetch(context.Background(), "t", 1, 0, 10)
			fetched <- err
		}()
		p := b.CreateProducer("p")
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					err := p.Publish("t", CreateMessage("t", []byte("x"), 0))
					if err != nil && !errors.Is(err, ErrUnknownTopic) {
						t.Errorf("Publish racing DeleteTopic: %v", err)
						return
					}
					batch := []*Message{CreateMessage("t", []byte("y"), 0)}
					if err := p.PublishBatch("t", batch); err != nil && !errors.Is(err, ErrUnknownTopic) {
						t.Errorf("PublishBatch racing DeleteTopic: %v", err)
						return
					}
				}
			}()
		}
		time.Sleep(5 * time.Millisecond) // let the publishers run a little
		require.NoError(t, b.DeleteTopic("t"))
		select {
		case err := <-fetched:
			assert.ErrorIs(t, err, ErrUnknownTopic, "a Fetch waiting on a deleted topic")
		case <-time.After(10 * time.Second):
			t.Fatal("Fetch still waits after DeleteTopic")
		}
		close(stop)
		wg.Wait()
		require.NoError(t, p.Close())
	}
}

// Item 10: many goroutines polling one consumer get every message, and no
// partition stalls.
func TestConcurrentPollers(t *testing.T) {
	b := openTest(t, nil)
	const parts, per, pollers = 8, 200, 8
	mustTopic(t, b, "t", parts)
	publishN(t, b, "t", parts, parts*per, "m")
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var mu sync.Mutex
	seen := map[string]bool{}
	var wg sync.WaitGroup
	for w := 0; w < pollers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				m, err := c.Poll(ctx)
				if err != nil {
					return
				}
				mu.Lock()
				seen[string(m.Value)] = true
				done := len(seen) == parts*per
				mu.Unlock()
				if done {
					cancel()
				}
			}
		}()
	}
	wg.Wait()
	require.NoError(t, c.Close())
	assert.Equal(t, parts*per, len(seen), "every message is polled")
}

// Item 10: a partition in pull mode whose messages nobody takes is under
// the poll timeout too: the member is evicted and its partitions move.
func TestPollStallIsEvicted(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 2)
	publishN(t, b, "t", 2, 20, "m")
	stuck := b.CreateConsumerWith("stuck", "g", ConsumerOptions{PollTimeout: 200 * time.Millisecond})
	require.NoError(t, stuck.Subscribe("t"))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m, err := stuck.Poll(ctx) // joins
	require.NoError(t, err)
	took := map[string]bool{}
	done, cancelDone := context.WithCancel(ctx)
	cancelDone()
	for err == nil { // acknowledges what it took, and then takes no more
		took[string(m.Value)] = true
		m, err = stuck.Poll(done)
	}
	other := b.CreateConsumer("other", "g")
	require.NoError(t, other.Subscribe("t"))
	var got collect
	runConsumer(t, other, got.handle)
	// The stalled member is evicted (and rejoins, and stalls again): its
	// partitions keep moving to the member that reads.
	eventually(t, func() bool {
		got.mu.Lock()
		defer got.mu.Unlock()
		distinct := maps.Clone(took)
		for _, v := range got.vals {
			distinct[v] = true
		}
		return len(distinct) == 20
	}, "the stalled poller's partitions move")
}

// Item 11: timestamps outside what the log can store are refused.
func TestPublishRefusesTimestampOutOfRange(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	p := b.CreateProducer("p")
	for _, ts := range []time.Time{
		time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC),
		time.Date(1500, 1, 1, 0, 0, 0, 0, time.UTC),
	} {
		m := &Message{Topic: "t", Value: []byte("x"), Timestamp: ts}
		assert.ErrorIs(t, p.Publish("t", m), ErrInvalidTimestamp, "%v", ts)
		assert.ErrorIs(t, p.PublishBatch("t", []*Message{m}), ErrInvalidTimestamp, "%v", ts)
		done := make(chan error, 1)
		p.PublishAsync("t", m, func(_ *Message, err error) { done <- err })
		assert.ErrorIs(t, <-done, ErrInvalidTimestamp, "%v", ts)
	}
	ts := time.Date(2262, 1, 1, 0, 0, 0, 0, time.UTC)
	m := &Message{Topic: "t", Value: []byte("x"), Timestamp: ts}
	require.NoError(t, p.Publish("t", m))
	msgs, err := b.Fetch(context.Background(), "t", 0, m.Offset, 1)
	require.NoError(t, err)
	assert.True(t, ts.Equal(msgs[0].Timestamp), "stored exactly")
}

// Item 12: PublishBatch checks every message with the storage's own limit
// first, so a message whose framing is too large publishes nothing.
func TestPublishBatchAllOrNothingOnEncodedSize(t *testing.T) {
	b := openTest(t, &Options{MaxMessageBytes: 1000})
	mustTopic(t, b, "t", 2)
	p := b.CreateProducer("p")
	big := &Message{Topic: "t", Partition: 0, Headers: make([]Header, 4000)}
	assert.ErrorIs(t, p.Publish("t", big), ErrMessageTooLarge)
	ok := &Message{Topic: "t", Partition: 1, Value: []byte("fine")}
	err := p.PublishBatch("t", []*Message{ok, big})
	assert.ErrorIs(t, err, ErrMessageTooLarge)
	tp, err := b.Topic("t")
	require.NoError(t, err)
	for _, ps := range tp.Stats().Partitions {
		assert.Zero(t, ps.NextOffset, "partition %d: nothing published", ps.Partition)
	}
}

// Item 6, deterministically: a snapshot of partition counts taken before a
// growth but applied after it does not shrink the group's view.
func TestLateTopicSnapshotIsIgnored(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	runConsumer(t, c, func(context.Context, *Message) error { return nil })
	eventually(t, func() bool { return len(c.Assignment()) == 1 }, "assigned")
	g, err := b.group("g")
	require.NoError(t, err)
	stale, seq := b.partitionCounts() // a CreateTopic's snapshot, delayed
	require.NoError(t, b.AddPartitions("t", 4))
	g.rebalance(stale, seq, "a late snapshot")
	eventually(t, func() bool { return len(c.Assignment()) == 4 }, "the growth is kept")
}

func waitChan(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(10 * time.Second):
		t.Fatal(what + ": never happened")
	}
}
