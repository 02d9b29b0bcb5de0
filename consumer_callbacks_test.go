package brook

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// callbackLog records a consumer's OnAssigned, OnRevoked and OnLost calls.
type callbackLog struct {
	mu                      sync.Mutex
	assigned, revoked, lost []TopicPartition
}

func (cl *callbackLog) options() ConsumerOptions {
	add := func(to *[]TopicPartition) func([]TopicPartition) {
		return func(tps []TopicPartition) {
			cl.mu.Lock()
			defer cl.mu.Unlock()
			*to = append(*to, tps...)
		}
	}
	return ConsumerOptions{OnAssigned: add(&cl.assigned), OnRevoked: add(&cl.revoked), OnLost: add(&cl.lost)}
}

// snapshot returns copies of the three lists, sorted.
func (cl *callbackLog) snapshot() (assigned, revoked, lost []TopicPartition) {
	cl.mu.Lock()
	defer cl.mu.Unlock()
	sorted := func(tps []TopicPartition) []TopicPartition {
		out := slices.Clone(tps)
		slices.SortFunc(out, compareTopicPartition)
		return out
	}
	return sorted(cl.assigned), sorted(cl.revoked), sorted(cl.lost)
}

// TestOnRevokedOnCloseAndLeave: a clean Close, and the end of Run's
// context, report every partition given up to OnRevoked, after committing.
func TestOnRevokedOnCloseAndLeave(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 3)
	publishN(t, b, "t", 3, 6, "m")

	t.Run("Close", func(t *testing.T) {
		var cl callbackLog
		c := b.CreateConsumerWith("c", "g1", cl.options())
		require.NoError(t, c.Subscribe("t"))
		ta := newTally()
		done := make(chan error, 1)
		go func() { done <- c.Run(context.Background(), ta.handler("c", nil)) }()
		eventually(t, func() bool { return ta.count() == 6 }, "consumed")
		require.NoError(t, c.Close())
		require.NoError(t, <-done)
		assigned, revoked, lost := cl.snapshot()
		assert.Equal(t, tps("t", 0, 1, 2), assigned)
		assert.Equal(t, tps("t", 0, 1, 2), revoked, "Close gives every partition up cleanly")
		assert.Empty(t, lost)
		assert.Equal(t, map[int]int64{0: 2, 1: 2, 2: 2}, committedOf(t, b, "g1", "t"), "committed before OnRevoked")
	})

	t.Run("Run's context ends", func(t *testing.T) {
		var cl callbackLog
		c := b.CreateConsumerWith("c", "g2", cl.options())
		require.NoError(t, c.Subscribe("t"))
		ta := newTally()
		stop := runConsumer(t, c, ta.handler("c", nil))
		eventually(t, func() bool { return ta.count() == 6 }, "consumed")
		require.NoError(t, stop())
		_, revoked, lost := cl.snapshot()
		assert.Equal(t, tps("t", 0, 1, 2), revoked)
		assert.Empty(t, lost)
	})

	t.Run("Poll and Close", func(t *testing.T) {
		var cl callbackLog
		c := b.CreateConsumerWith("c", "g3", cl.options())
		require.NoError(t, c.Subscribe("t"))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err := c.Poll(ctx)
		require.NoError(t, err)
		require.NoError(t, c.Close())
		// The first Poll may return before the session has started every
		// partition: what was assigned is what Close gives back.
		assigned, revoked, lost := cl.snapshot()
		assert.NotEmpty(t, revoked, "reported before Close returns")
		assert.Equal(t, assigned, revoked, "every partition assigned is revoked by Close")
		assert.Empty(t, lost)
	})
}

// TestOnRevokedOnRebalance: partitions moved to a joining member go to the
// old owner's OnRevoked, the others stay; then leaving revokes the rest.
func TestOnRevokedOnRebalance(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 4)
	var cl1 callbackLog
	c1 := b.CreateConsumerWith("c1", "g", cl1.options())
	require.NoError(t, c1.Subscribe("t"))
	stop1 := runConsumer(t, c1, func(context.Context, *Message) error { return nil })
	eventually(t, func() bool { return len(c1.Assignment()) == 4 }, "c1 holds all")

	c2 := b.CreateConsumer("c2", "g")
	require.NoError(t, c2.Subscribe("t"))
	stop2 := runConsumer(t, c2, func(context.Context, *Message) error { return nil })
	eventually(t, func() bool { return len(c1.Assignment()) == 2 && len(c2.Assignment()) == 2 }, "2/2")
	eventually(t, func() bool { _, r, _ := cl1.snapshot(); return len(r) == 2 }, "two revoked from c1")
	_, revoked, _ := cl1.snapshot()
	kept := c1.Assignment()
	assert.ElementsMatch(t, tps("t", 0, 1, 2, 3), append(slices.Clone(revoked), kept...))

	require.NoError(t, stop1())
	assigned, revoked, lost := cl1.snapshot()
	assert.Equal(t, tps("t", 0, 1, 2, 3), assigned)
	assert.Equal(t, tps("t", 0, 1, 2, 3), revoked, "each assigned partition revoked once")
	assert.Empty(t, lost)
	require.NoError(t, stop2())
}

// Close called from the consumer's own handler, or from one of its
// callbacks, deadlocked: it waited for the run, which waited for the
// handler. It now stops the consumer and returns at once; Run returns
// nil once the handler has returned, and what it handled is committed.
func TestCloseFromInside(t *testing.T) {
	within := func(t *testing.T, ch <-chan error, what string) {
		t.Helper()
		select {
		case err := <-ch:
			assert.NoError(t, err, what)
		case <-time.After(10 * time.Second):
			t.Fatal(what + " did not return")
		}
	}
	for _, where := range []string{"handler", "OnAssigned", "OnPartitionFailed"} {
		t.Run(where, func(t *testing.T) {
			dir := t.TempDir()
			b, err := Open(dir, nil)
			require.NoError(t, err)
			mustTopic(t, b, "t", 2)
			publishN(t, b, "t", 2, 4, "m")
			if where == "OnPartitionFailed" { // partition 1 fails at Open
				require.NoError(t, b.Close())
				require.NoError(t, os.RemoveAll(filepath.Join(dir, "topics", "t", "1")))
				b, err = Open(dir, nil)
				require.NoError(t, err)
			}
			closed := make(chan error, 1)
			var c *Consumer
			closeOnce := sync.OnceFunc(func() { closed <- c.Close() })
			var opts ConsumerOptions
			switch where {
			case "OnAssigned":
				opts.OnAssigned = func([]TopicPartition) { closeOnce() }
			case "OnPartitionFailed":
				opts.OnPartitionFailed = func(TopicPartition, error) { closeOnce() }
			}
			c = b.CreateConsumerWith("c", "g", opts)
			require.NoError(t, c.Subscribe("t"))
			ran := make(chan error, 1)
			go func() {
				ran <- c.Run(context.Background(), func(ctx context.Context, m *Message) error {
					if where == "handler" {
						closeOnce()
						assert.Error(t, ctx.Err(), "the handler's context ended with Close")
					}
					return nil
				})
			}()
			within(t, closed, "Close called from "+where)
			within(t, ran, "Run, after a Close from "+where+",")
			later := make(chan error, 1)
			go func() { later <- errors.Join(c.Close(), b.Close()) }()
			within(t, later, "a later Close, and the broker's,")
			if where != "handler" {
				return
			}
			b, err = Open(dir, nil)
			require.NoError(t, err)
			defer b.Close()
			gs, err := b.GroupStats("g")
			require.NoError(t, err)
			var committed int64
			for _, ps := range gs.Partitions {
				committed += max(ps.Committed, 0)
			}
			assert.Positive(t, committed, "the message the handler returned nil for is committed")
		})
	}
}

// A session whose context had ended could still start a partition loop
// when a loop's exit woke it first: the new loop ended at once and its
// partition went to OnRevoked a second time. reconcile starts nothing
// once the session is ending.
func TestSessionEndingStartsNoLoop(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	g, err := b.group("g")
	require.NoError(t, err)
	c := b.CreateConsumer("c", "g")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	s := &session{c: c, b: b, opts: &c.opts, log: b.log, g: g, member: "m", ctx: ctx,
		h:     func(context.Context, *Message) error { return nil },
		exits: make(chan *partLoop, 1), failed: make(map[TopicPartition]int64)}
	c.mu.Lock()
	c.loops = make(map[TopicPartition]*partLoop)
	c.mu.Unlock()
	s.reconcile(memberView{owned: map[TopicPartition]int64{{Topic: "t", Partition: 0}: 1}, revoke: map[TopicPartition]bool{}})
	c.mu.Lock()
	defer c.mu.Unlock()
	assert.Empty(t, c.loops, "no loop starts in a session that is ending")
}
