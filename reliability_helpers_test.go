package brook

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// Helpers shared by the reliability suites (reliability_*_test.go).

// reliabilitySeed returns the seed of a randomized test: BROOK_SEED when
// set, else the clock. It is logged so that a failure can be replayed.
func reliabilitySeed(t testing.TB) int64 {
	t.Helper()
	seed := time.Now().UnixNano()
	if s := os.Getenv("BROOK_SEED"); s != "" {
		v, err := strconv.ParseInt(s, 10, 64)
		require.NoError(t, err, "BROOK_SEED must be an integer")
		seed = v
	}
	t.Logf("seed %d (replay with BROOK_SEED=%d)", seed, seed)
	return seed
}

// envInt returns the integer environment variable name, or def when unset.
func envInt(t testing.TB, name string, def int) int {
	t.Helper()
	s := os.Getenv(name)
	if s == "" {
		return def
	}
	v, err := strconv.Atoi(s)
	require.NoError(t, err, "%s must be an integer", name)
	return v
}

// readAll returns every message of one partition, from its first offset to
// its next offset at the time of the call.
func readAll(t testing.TB, b *Broker, topic string, partition int) []*Message {
	t.Helper()
	tp, err := b.Topic(topic)
	require.NoError(t, err)
	ps := tp.Stats().Partitions[partition]
	out := make([]*Message, 0, ps.NextOffset-ps.FirstOffset)
	for off := ps.FirstOffset; off < ps.NextOffset; {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		msgs, err := b.Fetch(ctx, topic, partition, off, 2000)
		cancel()
		require.NoError(t, err, "read %s/%d at %d", topic, partition, off)
		require.NotEmpty(t, msgs)
		for _, m := range msgs {
			require.Equal(t, off, m.Offset, "%s/%d: offsets are contiguous", topic, partition)
			off++
			out = append(out, m)
		}
	}
	return out
}

// countingHandler is a slog.Handler that counts records by message, so a
// test can see what the broker reported (tail repairs, failures).
type countingHandler struct {
	mu     *sync.Mutex
	counts map[string]int
	total  *atomic.Int64
}

func newCountingHandler() *countingHandler {
	return &countingHandler{mu: new(sync.Mutex), counts: map[string]int{}, total: new(atomic.Int64)}
}

func (h *countingHandler) Enabled(context.Context, slog.Level) bool { return true }

func (h *countingHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	h.counts[r.Message]++
	h.mu.Unlock()
	h.total.Add(1)
	return nil
}

func (h *countingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *countingHandler) WithGroup(string) slog.Handler      { return h }

func (h *countingHandler) count(msg string) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.counts[msg]
}

// waitDone waits for ch to be closed, failing the test after d.
func waitDone(t testing.TB, ch <-chan struct{}, d time.Duration, what string, args ...any) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(d):
		t.Fatalf("timed out after %v waiting for %s", d, fmt.Sprintf(what, args...))
	}
}

// waitUntil waits for cond with a deadline; on failure it reports what
// describe says about the state at that moment.
func waitUntil(t testing.TB, cond func() bool, describe func() string) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met after 15s: %s", describe())
		}
		<-tick.C
	}
}

// flush waits for p's asynchronous publishes, with a deadline.
func flush(t testing.TB, p *Producer) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, p.Flush(ctx), "PublishAsync callbacks")
}

// waitGroup waits for wg, with a deadline.
func waitGroup(t testing.TB, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	waitDone(t, done, 60*time.Second, "%s", what)
}
