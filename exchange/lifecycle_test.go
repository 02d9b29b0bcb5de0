package exchange

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A queue gets exactly what was published while it was bound, whether its
// consumer runs along or starts afterwards.
func TestBindWindows(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		conn := openConn(t, c)
		ctx := t.Context()
		require.NoError(t, conn.ExchangeDeclare(ctx, "d", Direct, ExchangeOptions{}))
		declareQueue(t, conn, "live")
		declareQueue(t, conn, "late")
		declareQueue(t, conn, "keeper", [2]string{"d", "k"})
		live := consume(t, conn, "live")

		publish(t, conn, "d", "k", "before")
		for _, q := range []string{"live", "late"} {
			require.NoError(t, conn.QueueBind(ctx, q, "k", "d"))
		}
		publish(t, conn, "d", "k", "bound1")
		for _, q := range []string{"live", "late"} {
			require.NoError(t, conn.QueueUnbind(ctx, q, "k", "d"))
			require.NoError(t, conn.QueueUnbind(ctx, q, "k", "d"), "unbinding again does nothing")
		}
		publish(t, conn, "d", "k", "unbound")
		for _, q := range []string{"live", "late"} {
			require.NoError(t, conn.QueueBind(ctx, q, "k", "d"))
		}
		publish(t, conn, "d", "k", "bound2")

		want := []string{"bound1", "bound2"}
		assert.Equal(t, want, live.waitLast(t, "bound2"))
		assert.Equal(t, want, consume(t, conn, "late").waitLast(t, "bound2"))
		assert.Equal(t, []string{"before", "bound1", "unbound", "bound2"}, consume(t, conn, "keeper").waitLast(t, "bound2"))

		b := conn.Bindings("late")
		require.Len(t, b, 2)
		assert.Equal(t, Binding{Exchange: "d", Key: "k", Since: []int64{1}, Until: []int64{2}}, b[0])
		assert.Equal(t, Binding{Exchange: "d", Key: "k", Since: []int64{3}}, b[1])
	})
}

// A consumer running before its queue is bound to a new exchange joins the
// group again with that exchange's topic.
func TestConsumeFollowsNewExchange(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		conn := openConn(t, c)
		declareQueue(t, conn, "q")
		q := consume(t, conn, "q")
		publish(t, conn, "", "q", "default")
		q.waitLast(t, "default")
		require.NoError(t, conn.ExchangeDeclare(t.Context(), "later", Fanout, ExchangeOptions{}))
		require.NoError(t, conn.QueueBind(t.Context(), "q", "", "later"))
		publish(t, conn, "later", "x", "from later")
		assert.Equal(t, []string{"default", "from later"}, q.waitLast(t, "from later"))
	})
}

func TestPersistenceAcrossReopen(t *testing.T) {
	url := "brook://" + t.TempDir()
	ctx := t.Context()
	c1, err := pubsub.Open(ctx, url)
	require.NoError(t, err)
	conn, err := Open(ctx, c1)
	require.NoError(t, err)
	require.NoError(t, conn.ExchangeDeclare(ctx, "t", Topic, ExchangeOptions{Partitions: 2}))
	declareQueue(t, conn, "q", [2]string{"t", "a.#"})
	require.NoError(t, conn.QueueBind(ctx, "q", "gone", "t"))
	require.NoError(t, conn.QueueUnbind(ctx, "q", "gone", "t"))
	publish(t, conn, "t", "a.1", "first")
	before := conn.Bindings("q")

	// Consume the first message only, so the queue's offset is committed.
	got := make(chan string, 10)
	cctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- conn.Consume(cctx, "q", "one", func(_ context.Context, m *brook.Message) error {
			got <- string(m.Value)
			return nil
		})
	}()
	select {
	case v := <-got:
		require.Equal(t, "first", v)
	case <-time.After(waitFor):
		t.Fatal("first message not delivered")
	}
	cancel()
	require.NoError(t, <-done)
	publish(t, conn, "t", "b", "unmatched")
	publish(t, conn, "t", "a.2", "second")
	require.NoError(t, conn.Close())
	require.NoError(t, c1.Close())

	c2 := openClient(t, url)
	conn2 := openConn(t, c2)
	assert.Equal(t, before, conn2.Bindings("q"))
	assert.NoError(t, conn2.ExchangeDeclare(ctx, "t", Topic, ExchangeOptions{Partitions: 2}), "same declaration again")
	assert.ErrorIs(t, conn2.ExchangeDeclare(ctx, "t", Direct, ExchangeOptions{Partitions: 2}), ErrExchangeExists)
	assert.Equal(t, []string{"second"}, consume(t, conn2, "q").waitLast(t, "second"), "the queue kept its position")

	var b *brook.Broker
	require.True(t, c2.As(&b))
	topic, err := b.Topic("__brook_exchanges")
	require.NoError(t, err)
	assert.Equal(t, int64(metaRetentionBytes), topic.Config().RetentionBytes, "the declarations log is bounded")
}

// Open replays from the latest snapshot: many declarations later, a new
// Conn sees the same state, and the log holds snapshots.
func TestSnapshots(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		conn := openConn(t, c)
		ctx := t.Context()
		require.NoError(t, conn.ExchangeDeclare(ctx, "d", Direct, ExchangeOptions{}))
		declareQueue(t, conn, "q")
		for i := range snapshotEvery {
			key := fmt.Sprintf("k%d", i)
			require.NoError(t, conn.QueueBind(ctx, "q", key, "d"))
			if i%2 == 0 {
				require.NoError(t, conn.QueueUnbind(ctx, "q", key, "d"))
			}
		}
		var snaps int
		var b *brook.Broker
		require.True(t, c.As(&b))
		msgs, err := b.Fetch(ctx, metaTopic, 0, 0, 10000)
		require.NoError(t, err)
		for _, m := range msgs {
			if r, err := decodeRecord(m.Value); err == nil && r.Op == opSnapshot {
				snaps++
			}
		}
		assert.GreaterOrEqual(t, snaps, 1)
		other := openConn(t, c)
		assert.Equal(t, conn.Bindings("q"), other.Bindings("q"))
		conn.mu.Lock()
		want := conn.rep.st.snapshot()
		conn.mu.Unlock()
		other.mu.Lock()
		assert.Equal(t, want, other.rep.st.snapshot())
		assert.Less(t, other.rep.sinceSnap, snapshotEvery)
		other.mu.Unlock()
	})
}

// Two processes' worth of consumers of one queue share its messages: each
// is delivered once.
func TestCompetingConsumers(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		ctx := t.Context()
		setup := openConn(t, c)
		require.NoError(t, setup.ExchangeDeclare(ctx, "work", Fanout, ExchangeOptions{Partitions: 4}))
		declareQueue(t, setup, "jobs", [2]string{"work", ""})

		var mu sync.Mutex
		seen := map[string][]string{}
		assigned := make(chan string, 16)
		run := func(name string) {
			conn := openConn(t, c)
			require.NoError(t, conn.QueueDeclare(ctx, "jobs", QueueOptions{Consumer: pubsub.SubscribeOptions{
				OnAssigned: func(tps []brook.TopicPartition) {
					if len(tps) > 0 {
						assigned <- name
					}
				},
			}}))
			cctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() {
				done <- conn.Consume(cctx, "jobs", name, func(_ context.Context, m *brook.Message) error {
					mu.Lock()
					seen[string(m.Value)] = append(seen[string(m.Value)], name)
					mu.Unlock()
					return nil
				})
			}()
			t.Cleanup(func() { cancel(); <-done })
		}
		run("c1")
		run("c2")
		waitAssigned(t, assigned, "c1", "c2")

		const n = 200
		for i := range n {
			require.NoError(t, setup.Publish(ctx, "work", fmt.Sprintf("key-%d", i), Publishing{Body: fmt.Appendf(nil, "m%d", i)}))
		}
		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(seen) == n
		}, waitFor, 5*time.Millisecond)
		mu.Lock()
		defer mu.Unlock()
		per := map[string]int{}
		for body, by := range seen {
			assert.Len(t, by, 1, "%s delivered to %v", body, by)
			per[by[0]]++
		}
		assert.Positive(t, per["c1"], "c1 had a share")
		assert.Positive(t, per["c2"], "c2 had a share")
	})
}

func waitAssigned(t *testing.T, ch chan string, names ...string) {
	t.Helper()
	want := map[string]bool{}
	for _, n := range names {
		want[n] = true
	}
	deadline := time.After(waitFor)
	for len(want) > 0 {
		select {
		case n := <-ch:
			delete(want, n)
		case <-deadline:
			t.Fatalf("not assigned: %v", want)
		}
	}
}

func TestQueueDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		ctx := t.Context()
		conn := openConn(t, c)
		require.NoError(t, conn.ExchangeDeclare(ctx, "f", Fanout, ExchangeOptions{}))
		declareQueue(t, conn, "q", [2]string{"f", ""})
		q := consume(t, conn, "q")
		publish(t, conn, "f", "", "m")
		q.waitLast(t, "m")

		// A consumer on another Conn (another process) keeps the group live.
		other := openConn(t, c)
		o := consume(t, other, "q")
		assert.Eventually(t, func() bool {
			return errors.Is(conn.QueueDelete(ctx, "q"), brook.ErrGroupActive)
		}, waitFor, 10*time.Millisecond, "refused while the other Conn consumes")
		assert.ErrorIs(t, q.waitDone(t), ErrUnknownQueue, "this Conn's own consumer was stopped")
		o.stop()
		require.NoError(t, o.waitDone(t))

		require.NoError(t, conn.QueueDelete(ctx, "q"))
		assert.Nil(t, conn.Bindings("q"))
		assert.ErrorIs(t, conn.QueueDelete(ctx, "q"), ErrUnknownQueue)
		assert.ErrorIs(t, conn.Publish(ctx, "f", "", Publishing{Mandatory: true}), ErrUnroutable)
		require.NoError(t, other.Sync(ctx))
		assert.ErrorIs(t, other.Consume(ctx, "q", "c", func(context.Context, *brook.Message) error { return nil }), ErrUnknownQueue)

		// Declared again, the queue starts afresh: its old offsets are gone
		// and it gets only what is published from now on.
		declareQueue(t, conn, "q", [2]string{"f", ""})
		publish(t, conn, "f", "", "new")
		assert.Equal(t, []string{"new"}, consume(t, conn, "q").waitLast(t, "new"))
	})
}

// A queue deleted by another Conn stops this one's consumers. QueueDelete
// refuses while they run, so the delete record is written directly, as a
// process on a backend without group liveness would.
func TestQueueDeletedElsewhere(t *testing.T) {
	c := openClient(t, "mem://")
	a, b := openConn(t, c), openConn(t, c)
	declareQueue(t, a, "q")
	require.NoError(t, b.Sync(t.Context()))
	r := consume(t, b, "q")
	publish(t, a, "", "q", "m")
	r.waitLast(t, "m")
	require.NoError(t, a.write(t.Context(), record{Op: opQueueDelete, Queue: "q"}))
	assert.ErrorIs(t, r.waitDone(t), ErrUnknownQueue)
}

func TestExchangeDelete(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		ctx := t.Context()
		conn := openConn(t, c)
		require.NoError(t, conn.ExchangeDeclare(ctx, "d", Direct, ExchangeOptions{}))
		declareQueue(t, conn, "q", [2]string{"d", "k"})
		publish(t, conn, "d", "k", "kept")
		require.NoError(t, conn.ExchangeDelete(ctx, "d"))
		assert.ErrorIs(t, conn.Publish(ctx, "d", "k", Publishing{}), ErrUnknownExchange)
		require.NoError(t, conn.ExchangeDeclare(ctx, "d", Fanout, ExchangeOptions{}), "a deleted exchange may come back as another kind")
		publish(t, conn, "d", "k", "after")
		publish(t, conn, "", "q", "end")
		q := consume(t, conn, "q")
		got := q.waitCount(t, 2)
		assert.ElementsMatch(t, []string{"kept", "end"}, got, "what the queue held stays; the new exchange has no binding")
		assert.Equal(t, []int64{1}, conn.Bindings("q")[0].Until)
	})
}

func TestErrors(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		ctx := t.Context()
		conn := openConn(t, c)
		require.NoError(t, conn.ExchangeDeclare(ctx, "d", Direct, ExchangeOptions{}))
		declareQueue(t, conn, "q")
		nop := func(context.Context, *brook.Message) error { return nil }
		tests := []struct {
			name string
			err  error
			want error
		}{
			{"declare empty name", conn.ExchangeDeclare(ctx, "", Direct, ExchangeOptions{}), ErrInvalidName},
			{"declare reserved name", conn.ExchangeDeclare(ctx, "_x", Direct, ExchangeOptions{}), ErrInvalidName},
			{"declare bad characters", conn.ExchangeDeclare(ctx, "a b", Direct, ExchangeOptions{}), ErrInvalidName},
			{"declare headers kind", conn.ExchangeDeclare(ctx, "h", "headers", ExchangeOptions{}), errors.ErrUnsupported},
			{"declare negative partitions", conn.ExchangeDeclare(ctx, "p", Direct, ExchangeOptions{Partitions: -1}), brook.ErrInvalidPartition},
			{"declare another kind", conn.ExchangeDeclare(ctx, "d", Fanout, ExchangeOptions{}), ErrExchangeExists},
			{"declare another count", conn.ExchangeDeclare(ctx, "d", Direct, ExchangeOptions{Partitions: 3}), ErrExchangeExists},
			{"delete unknown exchange", conn.ExchangeDelete(ctx, "nope"), ErrUnknownExchange},
			{"delete default exchange", conn.ExchangeDelete(ctx, ""), ErrInvalidName},
			{"queue empty name", conn.QueueDeclare(ctx, "", QueueOptions{}), ErrInvalidName},
			{"queue reserved name", conn.QueueDeclare(ctx, "_q", QueueOptions{}), ErrInvalidName},
			{"bind unknown queue", conn.QueueBind(ctx, "nope", "k", "d"), ErrUnknownQueue},
			{"bind unknown exchange", conn.QueueBind(ctx, "q", "k", "nope"), ErrUnknownExchange},
			{"bind default exchange", conn.QueueBind(ctx, "q", "k", ""), ErrInvalidName},
			{"unbind unknown queue", conn.QueueUnbind(ctx, "nope", "k", "d"), ErrUnknownQueue},
			{"unbind unknown exchange", conn.QueueUnbind(ctx, "q", "k", "nope"), ErrUnknownExchange},
			{"delete unknown queue", conn.QueueDelete(ctx, "nope"), ErrUnknownQueue},
			{"publish unknown exchange", conn.Publish(ctx, "nope", "k", Publishing{}), ErrUnknownExchange},
			{"publish bad exchange name", conn.Publish(ctx, "_x", "k", Publishing{}), ErrInvalidName},
			{"publish unroutable", conn.Publish(ctx, "d", "k", Publishing{Mandatory: true}), ErrUnroutable},
			{"consume unknown queue", conn.Consume(ctx, "nope", "c", nop), ErrUnknownQueue},
			{"consume bad name", conn.Consume(ctx, "", "c", nop), ErrInvalidName},
			{"consume nil handler", conn.Consume(ctx, "q", "c", nil), brook.ErrNilHandler},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) { assert.ErrorIs(t, tt.err, tt.want) })
		}
		assert.Nil(t, conn.Bindings("nope"))

		require.NoError(t, conn.Close())
		require.NoError(t, conn.Close(), "idempotent")
		for name, err := range map[string]error{
			"Sync":            conn.Sync(ctx),
			"ExchangeDeclare": conn.ExchangeDeclare(ctx, "x", Direct, ExchangeOptions{}),
			"QueueDeclare":    conn.QueueDeclare(ctx, "x", QueueOptions{}),
			"QueueBind":       conn.QueueBind(ctx, "q", "k", "d"),
			"Publish":         conn.Publish(ctx, "d", "k", Publishing{}),
			"Consume":         conn.Consume(ctx, "q", "c", nop),
		} {
			assert.ErrorIs(t, err, brook.ErrClosed, name)
		}
	})
}

// Close stops running consumers: their Consume returns nil.
func TestCloseStopsConsumers(t *testing.T) {
	c := openClient(t, "mem://")
	conn := openConn(t, c)
	declareQueue(t, conn, "q")
	r := consume(t, conn, "q")
	publish(t, conn, "", "q", "m")
	r.waitLast(t, "m")
	require.NoError(t, conn.Close())
	assert.NoError(t, r.waitDone(t))
}

// Declarations made on one Conn reach another after Sync.
func TestSyncAcrossConns(t *testing.T) {
	c := openClient(t, "mem://")
	a, b := openConn(t, c), openConn(t, c)
	require.NoError(t, a.ExchangeDeclare(t.Context(), "t", Topic, ExchangeOptions{}))
	declareQueue(t, a, "q", [2]string{"t", "x.#"})
	require.NoError(t, b.Sync(t.Context()))
	assert.Equal(t, a.Bindings("q"), b.Bindings("q"))
	publish(t, b, "t", "x.y", "via b")
	assert.Equal(t, []string{"via b"}, consume(t, a, "q").waitLast(t, "via b"))
}

// noOffsets is a backend that declares no end offsets.
type noOffsets struct{ driver.Backend }

func (noOffsets) Capabilities() driver.Capabilities {
	caps := driver.All()
	caps.EndOffsets = false
	return caps
}

func TestOpenUnsupported(t *testing.T) {
	b, err := brook.Open(t.TempDir(), &brook.Options{Sync: brook.SyncNever})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	c := pubsub.NewClient(noOffsets{pubsub.NewEmbedded(b)}, pubsub.Options{})
	t.Cleanup(func() { c.Close() })
	_, err = Open(t.Context(), c)
	assert.ErrorIs(t, err, errors.ErrUnsupported)
}

// A binding made by another Conn (another process) just before a publish
// is seen by a consumer that was already running: it syncs before judging
// a message newer than its view.
func TestLiveBindFromAnotherConn(t *testing.T) {
	eachBackend(t, func(t *testing.T, c *pubsub.Client) {
		ctx := t.Context()
		a, b := openConn(t, c), openConn(t, c)
		require.NoError(t, a.ExchangeDeclare(ctx, "d", Direct, ExchangeOptions{}))
		declareQueue(t, a, "q", [2]string{"d", "first"})
		r := consume(t, a, "q")
		require.NoError(t, b.Sync(ctx))
		for i := range 20 {
			key := fmt.Sprintf("k%d", i)
			require.NoError(t, b.QueueBind(ctx, "q", key, "d"))
			publish(t, b, "d", key, key)
		}
		got := r.waitCount(t, 20)
		assert.Len(t, got, 20)
		assert.Equal(t, "k19", got[19])
	})
}

// A consumer whose view lags (its tail is held) does not skip a message
// published after a binding it has not read yet: it waits for the Sync.
func TestConsumerWaitsForLaggingView(t *testing.T) {
	c := openClient(t, "mem://")
	ctx := t.Context()
	a, b := openConn(t, c), openConn(t, c)
	require.NoError(t, a.ExchangeDeclare(ctx, "d", Direct, ExchangeOptions{}))
	declareQueue(t, a, "q", [2]string{"d", "first"})
	r := consume(t, a, "q")
	publish(t, a, "d", "first", "first")
	r.waitLast(t, "first")

	hold := make(chan struct{})
	a.gate.Store(&hold)
	require.NoError(t, b.Sync(ctx))
	require.NoError(t, b.QueueBind(ctx, "q", "late", "d"))
	publish(t, b, "d", "late", "late")
	require.Eventually(t, func() bool {
		a.mu.Lock()
		defer a.mu.Unlock()
		return a.flight != nil
	}, waitFor, time.Millisecond, "the consumer syncs before judging the message")
	close(hold)
	assert.Equal(t, []string{"first", "late"}, r.waitLast(t, "late"))
}

// A failing handler stops Consume with the *brook.HandlerError, as
// pubsub's default policy says; SkipOnError goes on past the message.
func TestHandlerErrors(t *testing.T) {
	c := openClient(t, "mem://")
	ctx := t.Context()
	conn := openConn(t, c)
	boom := errors.New("boom")
	require.NoError(t, conn.QueueDeclare(ctx, "strict", QueueOptions{Consumer: pubsub.SubscribeOptions{MaxAttempts: 1}}))
	publish(t, conn, "", "strict", "m")
	err := conn.Consume(ctx, "strict", "c", func(context.Context, *brook.Message) error { return boom })
	var herr *brook.HandlerError
	require.ErrorAs(t, err, &herr)
	assert.ErrorIs(t, err, boom)

	require.NoError(t, conn.QueueDeclare(ctx, "lenient", QueueOptions{Consumer: pubsub.SubscribeOptions{
		MaxAttempts: 1, ErrorPolicy: brook.SkipOnError}}))
	publish(t, conn, "", "lenient", "bad")
	publish(t, conn, "", "lenient", "good")
	got := make(chan string, 2)
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		_ = conn.Consume(cctx, "lenient", "c", func(_ context.Context, m *brook.Message) error {
			if string(m.Value) == "bad" {
				return boom
			}
			got <- string(m.Value)
			return nil
		})
	}()
	select {
	case v := <-got:
		assert.Equal(t, "good", v)
	case <-time.After(waitFor):
		t.Fatal("the message after the failed one was not delivered")
	}
}

// With retention on the declarations topic, the records that snapshots
// replaced are dropped, and a new Conn rebuilds the same state from what is
// left.
func TestRetentionKeepsLatestSnapshot(t *testing.T) {
	b, err := brook.Open(t.TempDir(), &brook.Options{Sync: brook.SyncNever, SegmentSize: 16 << 10, RetentionCheckInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	_, err = b.CreateTopic(metaTopic, brook.TopicConfig{Partitions: 1, RetentionBytes: 64 << 10})
	require.NoError(t, err)
	c := pubsub.NewClient(pubsub.NewEmbedded(b), pubsub.Options{})
	t.Cleanup(func() { c.Close() })
	ctx := t.Context()
	conn := openConn(t, c)
	require.NoError(t, conn.ExchangeDeclare(ctx, "d", Direct, ExchangeOptions{}))
	declareQueue(t, conn, "kept", [2]string{"d", "k"})
	for i := range 1500 {
		q := fmt.Sprintf("tmp%d", i%5)
		require.NoError(t, conn.QueueDeclare(ctx, q, QueueOptions{}))
		require.NoError(t, conn.QueueDelete(ctx, q))
	}
	topic, err := b.Topic(metaTopic)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return topic.Stats().Partitions[0].FirstOffset > 0 }, waitFor, 5*time.Millisecond,
		"retention dropped the oldest segments")

	other := openConn(t, c)
	conn.mu.Lock()
	want := conn.rep.st.snapshot()
	conn.mu.Unlock()
	other.mu.Lock()
	defer other.mu.Unlock()
	assert.Equal(t, want, other.rep.st.snapshot())
	assert.Zero(t, other.rep.bad)
	assert.Contains(t, other.rep.st.queues, "kept")
}

// Two Conns declaring one exchange at once with different kinds: the first
// record wins and the other gets ErrExchangeExists; both then agree.
func TestConcurrentDeclare(t *testing.T) {
	c := openClient(t, "mem://")
	ctx := t.Context()
	a, b := openConn(t, c), openConn(t, c)
	for i := range 10 {
		name := fmt.Sprintf("e%d", i)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for j, conn := range []*Conn{a, b} {
			kind := []Kind{Direct, Fanout}[j]
			wg.Go(func() { errs[j] = conn.ExchangeDeclare(ctx, name, kind, ExchangeOptions{}) })
		}
		wg.Wait()
		failed := 0
		for _, err := range errs {
			if err != nil {
				assert.ErrorIs(t, err, ErrExchangeExists)
				failed++
			}
		}
		assert.Equal(t, 1, failed, "exactly one declaration wins")
		require.NoError(t, a.Sync(ctx))
		require.NoError(t, b.Sync(ctx))
		a.mu.Lock()
		ka := a.rep.st.exchanges[name]
		a.mu.Unlock()
		b.mu.Lock()
		kb := b.rep.st.exchanges[name]
		b.mu.Unlock()
		assert.Equal(t, ka, kb)
	}
}

// Publishing, binding and consuming at once, from several goroutines, is
// free of data races and loses nothing published to a standing binding.
func TestConcurrentUse(t *testing.T) {
	c := openClient(t, "mem://")
	ctx := t.Context()
	conn := openConn(t, c)
	require.NoError(t, conn.ExchangeDeclare(ctx, "t", Topic, ExchangeOptions{Partitions: 3}))
	declareQueue(t, conn, "all", [2]string{"t", "#"})
	r := consume(t, conn, "all")
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			q := fmt.Sprintf("churn%d", g)
			assert.NoError(t, conn.QueueDeclare(ctx, q, QueueOptions{}))
			for i := range 25 {
				assert.NoError(t, conn.Publish(ctx, "t", fmt.Sprintf("g%d.m%d", g, i), Publishing{Body: []byte("x")}))
				if i%5 == 0 {
					assert.NoError(t, conn.QueueBind(ctx, q, fmt.Sprintf("g%d.*", g), "t"))
					_ = conn.Bindings(q)
					assert.NoError(t, conn.QueueUnbind(ctx, q, fmt.Sprintf("g%d.*", g), "t"))
				}
			}
		})
	}
	wg.Wait()
	assert.Len(t, r.waitCount(t, 100), 100)
}
