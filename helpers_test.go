package brook

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// openTest opens a broker on a fresh directory, closed at the test's end.
func openTest(t *testing.T, opts *Options) *Broker {
	t.Helper()
	b, err := Open(t.TempDir(), opts)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, b.Close()) })
	return b
}

func mustTopic(t *testing.T, b *Broker, name string, partitions int) *Topic {
	t.Helper()
	tp, err := b.CreateNewTopic(name, partitions)
	require.NoError(t, err)
	return tp
}

// publishN publishes n messages "<prefix>-<i>" round the partitions.
func publishN(t *testing.T, b *Broker, topic string, partitions, n int, prefix string) {
	t.Helper()
	p := b.CreateProducer("test")
	defer p.Close()
	for i := 0; i < n; i++ {
		require.NoError(t, p.Publish(topic, CreateMessage(topic, fmt.Appendf(nil, "%s-%d", prefix, i), i%partitions)))
	}
}

// tally records which messages were handled and by whom, and checks that
// no partition is handled by two consumers at the same moment.
type tally struct {
	mu       sync.Mutex
	seen     map[string]int            // value -> times handled
	byMember map[string]int            // consumer -> messages
	inHand   map[TopicPartition]string // partition -> consumer handling it now
	overlap  []string
	lastOff  map[TopicPartition]int64
	reorder  []string
}

func newTally() *tally {
	return &tally{seen: map[string]int{}, byMember: map[string]int{}, inHand: map[TopicPartition]string{}, lastOff: map[TopicPartition]int64{}}
}

func (ta *tally) handler(name string, next Handler) Handler {
	return func(ctx context.Context, m *Message) error {
		tp := TopicPartition{Topic: m.Topic, Partition: m.Partition}
		ta.mu.Lock()
		if other, busy := ta.inHand[tp]; busy {
			ta.overlap = append(ta.overlap, fmt.Sprintf("%v held by %s and %s", tp, other, name))
		}
		ta.inHand[tp] = name
		ta.mu.Unlock()
		var err error
		if next != nil {
			err = next(ctx, m)
		}
		ta.mu.Lock()
		delete(ta.inHand, tp)
		if err == nil {
			ta.seen[string(m.Value)]++
			ta.byMember[name]++
			if last, ok := ta.lastOff[tp]; ok && m.Offset <= last {
				ta.reorder = append(ta.reorder, fmt.Sprintf("%v: %d after %d", tp, m.Offset, last))
			}
			ta.lastOff[tp] = m.Offset
		}
		ta.mu.Unlock()
		return err
	}
}

func (ta *tally) count() int {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	return len(ta.seen)
}

func (ta *tally) duplicates() []string {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	var d []string
	for v, n := range ta.seen {
		if n > 1 {
			d = append(d, fmt.Sprintf("%s x%d", v, n))
		}
	}
	return d
}

// runConsumer runs c in the background; the returned func stops it and
// returns Run's result.
func runConsumer(t *testing.T, c *Consumer, h Handler) func() error {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	stopped := false
	var result error
	stop := func() error {
		if !stopped {
			stopped = true
			cancel()
			select {
			case result = <-done:
			case <-time.After(20 * time.Second):
				t.Fatalf("consumer %s did not stop", c.Name())
			}
		}
		return result
	}
	t.Cleanup(func() { stop() })
	return stop
}

// eventually waits for cond with a deadline, reporting msg on failure.
func eventually(t *testing.T, cond func() bool, msg string, args ...any) {
	t.Helper()
	require.Eventually(t, cond, 15*time.Second, 2*time.Millisecond, append([]any{msg}, args...)...)
}

// shares returns the assignment sizes of the consumers.
func shares(cs ...*Consumer) []int {
	n := make([]int, len(cs))
	for i, c := range cs {
		n[i] = len(c.Assignment())
	}
	return n
}
