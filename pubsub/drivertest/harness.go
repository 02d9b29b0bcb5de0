package drivertest

import (
	"context"
	"crypto/rand"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// waitTimeout bounds every wait for a delivery. It is only reached when a
// check fails, so it is generous: a loaded two-core machine under -race
// (or a group join on a Kafka cluster) can take seconds.
const waitTimeout = 30 * time.Second

// probeInterval is how often a test re-publishes a probe while it waits
// for a subscription to be ready.
const probeInterval = 20 * time.Millisecond

// env is one subtest's client over a fresh backend.
type env struct {
	t    *testing.T
	c    *pubsub.Client
	caps driver.Capabilities
	ctx  context.Context
	id   string // unique per env, in every name it makes
}

func newEnv(t *testing.T, newBackend func(*testing.T) driver.Backend) *env {
	t.Helper()
	b := newBackend(t)
	require.NotNil(t, b, "newBackend returned nil")
	c := pubsub.NewClient(b, pubsub.Options{Name: "drivertest"})
	t.Cleanup(func() { assert.NoError(t, c.Close(), "Client.Close") })
	return &env{t: t, c: c, caps: c.Capabilities(), ctx: t.Context(), id: rand.Text()[:8]}
}

// name returns a name unique to this env, so that backends which share one
// cluster between subtests see no collision.
func (e *env) name(kind string) string { return fmt.Sprintf("dt-%s-%s", kind, e.id) }

// partitions is n when the backend has explicit partitions, else 1.
func (e *env) partitions(n int) int {
	if e.caps.ExplicitPartitions {
		return n
	}
	return 1
}

// topic creates a topic named after kind with n partitions (1 without
// ExplicitPartitions) and returns its name and partition count.
func (e *env) topic(kind string, n int) (string, int) {
	e.t.Helper()
	name, n := e.name(kind), e.partitions(n)
	require.NoError(e.t, e.c.CreateTopic(e.ctx, name, n), "CreateTopic %s", name)
	return name, n
}

// subscribe subscribes and closes the subscription at the end of the test.
func (e *env) subscribe(group string, topic string, o pubsub.SubscribeOptions) *pubsub.Subscription {
	e.t.Helper()
	s, err := e.c.Subscribe(e.ctx, group, []string{topic}, o)
	require.NoError(e.t, err, "Subscribe group %q to %s", group, topic)
	e.t.Cleanup(func() { _ = s.Close() })
	return s
}

// run starts s.Run(h) on a goroutine; the returned function closes s and
// returns Run's result. The test's cleanup calls it too.
func (e *env) run(s *pubsub.Subscription, h brook.Handler) (stop func() error) {
	done := make(chan error, 1)
	go func() { done <- s.Run(e.ctx, h) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			_ = s.Close()
			select {
			case err = <-done:
			case <-time.After(waitTimeout):
				err = fmt.Errorf("drivertest: Run did not return %v after Close", waitTimeout)
			}
		})
		return err
	}
	e.t.Cleanup(func() { _ = stop() })
	return stop
}

// publish publishes values to topic on partition p (or a placement
// constant) and returns the messages as Publish left them. Messages to an
// explicit partition share one key, so that a backend whose order holds
// per key (Google Pub/Sub's ordering keys) keeps their order too.
func (e *env) publish(topic string, p int, values ...string) []*brook.Message {
	e.t.Helper()
	msgs := make([]*brook.Message, len(values))
	for i, v := range values {
		msgs[i] = &brook.Message{Topic: topic, Partition: p, Value: []byte(v)}
		if p >= 0 {
			msgs[i].Key = []byte("order")
		}
	}
	require.NoError(e.t, e.c.Publish(e.ctx, topic, msgs...), "Publish to %s", topic)
	for _, m := range msgs {
		assert.GreaterOrEqual(e.t, m.Partition, 0, "Partition set by Publish")
		assert.False(e.t, m.Timestamp.IsZero(), "Timestamp set by Publish")
	}
	return msgs
}

// values returns "prefix-0" ... "prefix-(n-1)".
func values(prefix string, n int) []string {
	v := make([]string, n)
	for i := range v {
		v[i] = fmt.Sprintf("%s-%d", prefix, i)
	}
	return v
}

// sink collects the messages a handler receives.
type sink struct {
	mu   sync.Mutex
	msgs []*brook.Message
	seen chan struct{} // capacity 1: a message arrived
}

func newSink() *sink { return &sink{seen: make(chan struct{}, 1)} }

// handle is a brook.Handler that records m.
func (s *sink) handle(_ context.Context, m *brook.Message) error {
	s.add(m)
	return nil
}

func (s *sink) add(m *brook.Message) {
	s.mu.Lock()
	s.msgs = append(s.msgs, m)
	s.mu.Unlock()
	select {
	case s.seen <- struct{}{}:
	default:
	}
}

func (s *sink) all() []*brook.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.msgs)
}

func (s *sink) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

// wait waits until the sink holds at least n messages and returns them;
// it fails the test after waitTimeout.
func (s *sink) wait(t *testing.T, n int, what string) []*brook.Message {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for s.len() < n {
		select {
		case <-s.seen:
		case <-deadline.C:
			require.FailNowf(t, "timeout", "%s: %d of %d messages after %v", what, s.len(), n, waitTimeout)
		}
	}
	return s.all()
}

// valuesOf returns the messages' values as strings.
func valuesOf(msgs []*brook.Message) []string {
	v := make([]string, len(msgs))
	for i, m := range msgs {
		v[i] = string(m.Value)
	}
	return v
}

// probe publishes a probe message to topic every probeInterval until
// ready reports true, and fails the test after waitTimeout. It is how a
// test waits for a subscription to be positioned without knowing how the
// backend joins groups.
func (e *env) probe(topic string, ready func() bool) {
	e.t.Helper()
	tick := time.NewTicker(probeInterval)
	defer tick.Stop()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	for i := 0; !ready(); i++ {
		require.NoError(e.t, e.c.Publish(e.ctx, topic, &brook.Message{Partition: brook.PartitionRoundRobin,
			Value: fmt.Appendf(nil, "probe-%d", i)}), "Publish probe")
		select {
		case <-tick.C:
		case <-deadline.C:
			require.FailNow(e.t, "timeout", "the subscription received no probe after %v", waitTimeout)
		}
	}
}

// skipUnless skips the test when the backend lacks a capability.
func skipUnless(t *testing.T, have bool, capability string) {
	t.Helper()
	if !have {
		t.Skipf("the backend does not declare Capabilities.%s", capability)
	}
}

// deadlineWait waits until done reports true, waking on any of the
// channels, and fails the test after waitTimeout.
func deadlineWait(t *testing.T, done func() bool, wake ...chan struct{}) {
	t.Helper()
	deadline := time.NewTimer(waitTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(probeInterval) // a wake-up may have gone to another waiter
	defer tick.Stop()
	for !done() {
		select {
		case <-wake[0]:
		case <-wake[len(wake)-1]:
		case <-tick.C:
		case <-deadline.C:
			require.FailNow(t, "timeout", "condition not met after %v", waitTimeout)
		}
	}
}
