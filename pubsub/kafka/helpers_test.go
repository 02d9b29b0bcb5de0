package kafka

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/kafkaserver"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// testOpts make groups settle fast on kfake: a member learns of a
// rebalance at its next heartbeat.
var testOpts = []kgo.Opt{
	kgo.HeartbeatInterval(100 * time.Millisecond),
	kgo.FetchMaxWait(500 * time.Millisecond),
}

// newCluster starts a one-broker kfake cluster on 127.0.0.1, closed at the
// end of the test, and returns its kafka:// URL.
func newCluster(t testing.TB) string {
	t.Helper()
	c, err := kfake.NewCluster(
		kfake.NumBrokers(1),
		kfake.DefaultNumPartitions(4),
		kfake.AllowAutoTopicCreation(),
	)
	require.NoError(t, err)
	t.Cleanup(c.Close)
	return "kafka://" + strings.Join(c.ListenAddrs(), ",")
}

// openBackend opens a backend on a new kfake cluster, closed at the end of
// the test.
func openBackend(t testing.TB) driver.Backend {
	t.Helper()
	return openURL(t, newCluster(t))
}

func openURL(t testing.TB, raw string) driver.Backend {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	b, err := Opener{Opts: testOpts}.Open(testCtx(t), u)
	require.NoError(t, err)
	t.Cleanup(func() { _ = b.Close() })
	return b
}

// testCtx is a context ending with the test or after 30 s.
func testCtx(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// runSub runs s.Run(ctx, h) in a goroutine and returns a function that
// closes s and returns Run's result.
func runSub(t testing.TB, ctx context.Context, s driver.Subscription, h brook.Handler) func() error {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- s.Run(ctx, h) }()
	return func() error {
		require.NoError(t, s.Close())
		select {
		case err := <-errc:
			return err
		case <-time.After(20 * time.Second):
			t.Fatal("Run did not return after Close")
			return nil
		}
	}
}

// collector is a handler that sends what it gets on a channel.
type collector struct{ c chan *brook.Message }

func newCollector() *collector { return &collector{c: make(chan *brook.Message, 1024)} }

func (c *collector) handle(ctx context.Context, m *brook.Message) error {
	select {
	case c.c <- m:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// take waits for n messages.
func (c *collector) take(t testing.TB, n int) []*brook.Message {
	t.Helper()
	out := make([]*brook.Message, 0, n)
	deadline := time.After(20 * time.Second)
	for len(out) < n {
		select {
		case m := <-c.c:
			out = append(out, m)
		case <-deadline:
			t.Fatalf("got %d of %d messages", len(out), n)
		}
	}
	return out
}

func values(n int, prefix string) []*brook.Message {
	msgs := make([]*brook.Message, n)
	for i := range msgs {
		msgs[i] = &brook.Message{Partition: brook.PartitionRoundRobin, Value: []byte(prefix + string(rune('a'+i%26)))}
	}
	return msgs
}

func driverOpts() driver.SubscribeOptions { return driver.SubscribeOptions{} }

// newBrookListener starts a kafkaserver over a broker on a temporary
// directory, listening on 127.0.0.1, stopped at the end of the test, and
// returns its kafka:// URL. Topics are created on demand with 4 partitions,
// as the kfake cluster does.
func newBrookListener(t testing.TB) string {
	t.Helper()
	b, err := brook.Open(t.TempDir(), &brook.Options{Sync: brook.SyncNever})
	require.NoError(t, err)
	srv := kafkaserver.New(b, &kafkaserver.Options{AutoCreateTopics: true, DefaultPartitions: 4})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, srv.Close())
		require.ErrorIs(t, <-served, kafkaserver.ErrServerClosed)
		require.NoError(t, b.Close())
	})
	return "kafka://" + ln.Addr().String()
}
