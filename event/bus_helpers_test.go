package event

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// memClient opens a mem:// client closed at cleanup, with topics created.
func memClient(t testing.TB, topics map[string]int) *pubsub.Client {
	t.Helper()
	ctx := context.Background()
	c, err := pubsub.Open(ctx, "mem://")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	for name, n := range topics {
		require.NoError(t, c.CreateTopic(ctx, name, n))
	}
	return c
}

// newBus opens a bus closed at cleanup (before the client: cleanups run in
// reverse).
func newBus(t testing.TB, c *pubsub.Client, o Options) *Bus {
	t.Helper()
	b, err := NewBus(context.Background(), c, o)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

// listen runs b.Listen in the background; the returned stop cancels it and
// returns Listen's error. Cleanup stops it too.
func listen(t testing.TB, b *Bus, group string, topics []string, h Handler) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- b.Listen(ctx, group, topics, h) }()
	var err error
	stopped := false
	stop = func() error {
		if !stopped {
			cancel()
			select {
			case err = <-done:
			case <-time.After(10 * time.Second):
				err = errors.New("Listen did not return within 10 s of its cancel")
			}
			stopped = true
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// within returns a context that ends after d, cancelled at cleanup.
func within(t testing.TB, d time.Duration) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// capsBackend is a backend that declares no end offsets, as Google
// Pub/Sub's does.
type capsBackend struct{ driver.Backend }

func (capsBackend) Capabilities() driver.Capabilities {
	c := driver.All()
	c.EndOffsets = false
	return c
}

func noOffsetsClient(t *testing.T) *pubsub.Client {
	b, err := brook.Open(t.TempDir(), &brook.Options{Sync: brook.SyncNever})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return pubsub.NewClient(capsBackend{pubsub.NewEmbedded(b)}, pubsub.Options{})
}
