package exchange

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

const waitFor = 10 * time.Second

// backend is one place the tests run: mem://, or a brook:// directory that
// was written, closed and opened again before the test gets it.
type backend struct {
	name string
	open func(t *testing.T) *pubsub.Client
}

func backends() []backend {
	return []backend{
		{"mem", func(t *testing.T) *pubsub.Client { return openClient(t, "mem://") }},
		{"brook-reopened", func(t *testing.T) *pubsub.Client {
			url := "brook://" + t.TempDir() + "?sync=never"
			first, err := pubsub.Open(t.Context(), url)
			require.NoError(t, err)
			conn, err := Open(t.Context(), first)
			require.NoError(t, err)
			require.NoError(t, conn.ExchangeDeclare(t.Context(), "before-reopen", Fanout, ExchangeOptions{}))
			require.NoError(t, conn.Close())
			require.NoError(t, first.Close())
			return openClient(t, url)
		}},
	}
}

// eachBackend runs f as a subtest on every backend.
func eachBackend(t *testing.T, f func(t *testing.T, c *pubsub.Client)) {
	for _, b := range backends() {
		t.Run(b.name, func(t *testing.T) { f(t, b.open(t)) })
	}
}

func openClient(t *testing.T, url string) *pubsub.Client {
	t.Helper()
	c, err := pubsub.Open(t.Context(), url)
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func openConn(t *testing.T, c *pubsub.Client) *Conn {
	t.Helper()
	conn, err := Open(t.Context(), c)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close() })
	return conn
}

// received collects what one Consume delivers.
type received struct {
	mu   sync.Mutex
	msgs []*brook.Message
	more chan struct{}
	done chan error
	stop context.CancelFunc
}

// consume runs Consume in the background until the test ends.
func consume(t *testing.T, conn *Conn, queue string) *received {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	r := &received{more: make(chan struct{}, 1), done: make(chan error, 1), stop: cancel}
	go func() {
		r.done <- conn.Consume(ctx, queue, "test", func(_ context.Context, m *brook.Message) error {
			r.mu.Lock()
			r.msgs = append(r.msgs, m)
			r.mu.Unlock()
			select {
			case r.more <- struct{}{}:
			default:
			}
			return nil
		})
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(waitFor):
			t.Errorf("Consume of %q did not return", queue)
		}
	})
	return r
}

func (r *received) bodies() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]string, len(r.msgs))
	for i, m := range r.msgs {
		out[i] = string(m.Value)
	}
	return out
}

// waitLast waits until the message with body last has arrived and returns
// every body received so far.
func (r *received) waitLast(t *testing.T, last string) []string {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		got := r.bodies()
		for _, b := range got {
			if b == last {
				return got
			}
		}
		select {
		case <-r.more:
		case err := <-r.done:
			r.done <- err
			t.Fatalf("Consume returned %v before %q arrived; got %q", err, last, got)
		case <-deadline:
			t.Fatalf("%q did not arrive; got %q", last, got)
		}
	}
}

// waitCount waits until n messages have arrived.
func (r *received) waitCount(t *testing.T, n int) []string {
	t.Helper()
	deadline := time.After(waitFor)
	for {
		if got := r.bodies(); len(got) >= n {
			return got
		}
		select {
		case <-r.more:
		case <-deadline:
			t.Fatalf("got %d messages, want %d", len(r.bodies()), n)
		}
	}
}

// waitDone waits for Consume to return and returns its error.
func (r *received) waitDone(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(waitFor):
		t.Fatal("Consume did not return")
		return nil
	}
}

func publish(t *testing.T, conn *Conn, exchange, key, body string) {
	t.Helper()
	require.NoError(t, conn.Publish(t.Context(), exchange, key, Publishing{Body: []byte(body)}))
}

func declareQueue(t *testing.T, conn *Conn, queue string, bindings ...[2]string) {
	t.Helper()
	require.NoError(t, conn.QueueDeclare(t.Context(), queue, QueueOptions{}))
	for _, b := range bindings {
		require.NoError(t, conn.QueueBind(t.Context(), queue, b[1], b[0]), fmt.Sprint(b))
	}
}

// TestMain checks that every test leaves no goroutine behind: each Conn,
// Consume and client the tests open is closed by its cleanup.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
