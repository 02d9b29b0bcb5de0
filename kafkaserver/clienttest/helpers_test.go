package clienttest

import (
	"context"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/kafkaserver"
	"github.com/stretchr/testify/require"
)

// env is a broker served over Kafka on 127.0.0.1.
type env struct {
	b    *brook.Broker
	s    *kafkaserver.Server
	addr string
}

func start(t *testing.T) *env {
	t.Helper()
	b, err := brook.Open(t.TempDir(), nil)
	require.NoError(t, err)
	s := kafkaserver.New(b, nil)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- s.Serve(ln) }()
	t.Cleanup(func() {
		require.NoError(t, s.Close())
		require.ErrorIs(t, <-served, kafkaserver.ErrServerClosed)
		require.NoError(t, b.Close())
	})
	return &env{b: b, s: s, addr: ln.Addr().String()}
}

func (e *env) topic(t *testing.T, name string, partitions int) {
	t.Helper()
	_, err := e.b.CreateNewTopic(name, partitions)
	require.NoError(t, err)
}

// committed returns the group's committed offsets as Brook stores them.
func (e *env) committed(t *testing.T, group string) map[brook.TopicPartition]int64 {
	t.Helper()
	m, err := e.b.CommittedOffsets(group)
	require.NoError(t, err)
	return m
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// values is a set of message values seen, safe for concurrent use.
type values struct {
	mu   sync.Mutex
	seen map[string]int
	ch   chan struct{}
}

func newValues() *values { return &values{seen: make(map[string]int), ch: make(chan struct{}, 1)} }

func (v *values) add(s string) {
	v.mu.Lock()
	v.seen[s]++
	v.mu.Unlock()
	select {
	case v.ch <- struct{}{}:
	default:
	}
}

func (v *values) len() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.seen)
}

// waitFor waits until n distinct values were seen, or fails at ctx's end.
func (v *values) waitFor(ctx context.Context, t *testing.T, n int) {
	t.Helper()
	for v.len() < n {
		select {
		case <-v.ch:
		case <-ctx.Done():
			t.Fatalf("saw %d of %d values", v.len(), n)
		}
	}
}

func numbered(prefix string, n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return out
}

// killableDialer dials 127.0.0.1 until kill, which cuts every connection
// and refuses new ones: the client vanishes without leaving its group.
type killableDialer struct {
	mu     sync.Mutex
	killed bool
	conns  []net.Conn
}

func (d *killableDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.killed {
		return nil, fmt.Errorf("killed")
	}
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, addr)
	if err == nil {
		d.conns = append(d.conns, c)
	}
	return c, err
}

func (d *killableDialer) kill() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.killed = true
	for _, c := range d.conns {
		c.Close()
	}
}
