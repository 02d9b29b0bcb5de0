package brook

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReliabilityChurn runs producers and four consumer groups (one with
// ManualCommit, committing each message in its handler) whose members
// join, leave (their Run ends), rejoin and close (also with two Close
// calls at once) at random about every 100 ms, while a third topic is
// deleted and created again under a group reading it, and checks, per group: every message is handled; no
// partition is in two members' handlers at the same moment; each member's
// tenure of a partition sees increasing offsets; and, since every
// rebalance here is clean (no eviction), the group handles each partition
// exactly as 0, 1, 2, ... with nothing twice and nothing skipped.
//
//	go test -race -run '^TestReliabilityChurn$' .                         # 5 s
//	BROOK_CHURN_SECONDS=60 go test -race -run '^TestReliabilityChurn$' .
func TestReliabilityChurn(t *testing.T) {
	seconds := envInt(t, "BROOK_CHURN_SECONDS", 5)
	seed := reliabilitySeed(t)
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	b := openTest(t, &Options{CommitInterval: 20 * time.Millisecond})
	mustTopic(t, b, "churn", 8)
	mustTopic(t, b, "churn2", 3)
	manual := newChurnGroup(t, b, "g3", "churn2")
	manual.manual = true // commits every message itself with Commit
	groups := []*churnGroup{
		newChurnGroup(t, b, "g0", "churn"),
		newChurnGroup(t, b, "g1", "churn"),
		newChurnGroup(t, b, "g2", "churn", "churn2"),
		manual,
	}
	recreated := newRecreatedTopic(t, b, "churn3")
	for _, g := range groups {
		g.join(rng)
	}

	deadline := time.Now().Add(time.Duration(seconds) * time.Second)
	var published atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			churnProduce(t, b, rand.New(rand.NewPCG(uint64(seed), uint64(w)+1)), deadline, w == 1, &published)
		}()
	}
	actions := 0
	for time.Now().Before(deadline) {
		time.Sleep(time.Duration(50+rng.IntN(100)) * time.Millisecond) // the churn's pace, not a wait for an event
		if rng.IntN(8) == 0 {
			recreated.recreate(rng)
		} else {
			groups[rng.IntN(len(groups))].churn(rng)
		}
		actions++
	}
	waitGroup(t, &wg, "the producers")

	// Drain: every group gets a member and handles everything.
	for _, g := range groups {
		if g.running() == 0 {
			g.join(rng)
		}
	}
	ends := map[TopicPartition]int64{}
	for _, name := range []string{"churn", "churn2"} {
		tp, err := b.Topic(name)
		require.NoError(t, err)
		for _, ps := range tp.Stats().Partitions {
			ends[TopicPartition{Topic: name, Partition: ps.Partition}] = ps.NextOffset
		}
	}
	for _, g := range groups {
		eventually(t, func() bool { return g.caughtUp(ends) }, "group %s handles every message", g.id)
	}
	recreated.check()
	for _, g := range groups {
		g.closeAll()
	}
	var joins, leaves, closes, dups int
	for _, g := range groups {
		g.check(t, ends)
		joins, leaves, closes, dups = joins+g.joins, leaves+g.leaves, closes+g.closes, dups+g.dups
	}
	t.Logf("%ds, %d churn actions (%d runs started, %d left, %d closed), %d messages published, %d handled twice",
		seconds, actions, joins, leaves, closes, published.Load(), dups)
}

// churnProduce publishes until the deadline, synchronously or (async) with
// PublishAsync, at random partitions of both topics.
func churnProduce(t *testing.T, b *Broker, rng *rand.Rand, deadline time.Time, async bool, n *atomic.Int64) {
	p := b.CreateProducer("producer")
	defer p.Close()
	for i := 0; time.Now().Before(deadline); i++ {
		topic := "churn"
		if rng.IntN(4) == 0 {
			topic = "churn2"
		}
		m := &Message{Topic: topic, Partition: PartitionRoundRobin, Value: fmt.Appendf(nil, "%d", i)}
		if !async {
			assert.NoError(t, p.Publish(topic, m))
			n.Add(1)
			continue
		}
		done := make(chan struct{})
		for j := 0; j < 16; j++ {
			m := &Message{Topic: topic, Partition: PartitionRoundRobin, Value: fmt.Appendf(nil, "%d.%d", i, j)}
			p.PublishAsync(topic, m, func(_ *Message, err error) {
				assert.NoError(t, err)
				if n.Add(1); j == 15 {
					close(done)
				}
			})
		}
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Error("PublishAsync callbacks never came")
			return
		}
	}
}

type tenureKey struct {
	run int
	tp  TopicPartition
}

// churnGroup is one consumer group of the churn test and what its
// handlers saw.
type churnGroup struct {
	t      *testing.T
	b      *Broker
	id     string
	topics []string

	manual                bool           // ManualCommit: the handler commits each message
	members               []*churnMember // live consumers, running or not
	nextRun, named        int
	joins, leaves, closes int

	mu       sync.Mutex
	inHand   map[TopicPartition]string
	next     map[TopicPartition]int64 // the group's next expected offset
	seen     map[TopicPartition]map[int64]int
	tenure   map[tenureKey]int64
	problems []string
	dups     int
}

type churnMember struct {
	c      *Consumer
	cancel context.CancelFunc // nil when not running
	done   chan error
}

func newChurnGroup(t *testing.T, b *Broker, id string, topics ...string) *churnGroup {
	return &churnGroup{t: t, b: b, id: id, topics: topics,
		inHand: map[TopicPartition]string{}, next: map[TopicPartition]int64{},
		seen: map[TopicPartition]map[int64]int{}, tenure: map[tenureKey]int64{}}
}

func (g *churnGroup) problem(format string, args ...any) {
	if len(g.problems) < 20 {
		g.problems = append(g.problems, fmt.Sprintf(format, args...))
	}
}

func (g *churnGroup) handler(run int, name string, c *Consumer) Handler {
	return func(ctx context.Context, m *Message) error {
		if g.manual {
			// Some work, so that revocations find messages in hand.
			// Committed before it counts as handled: a commit refused
			// would make the message come again.
			time.Sleep(200 * time.Microsecond)
			if err := c.Commit(ctx, m); err != nil && !errors.Is(err, context.Canceled) {
				g.mu.Lock()
				g.problem("%s: Commit of %s/%d@%d: %v", name, m.Topic, m.Partition, m.Offset, err)
				g.mu.Unlock()
				return nil
			}
		}
		tp := TopicPartition{Topic: m.Topic, Partition: m.Partition}
		g.mu.Lock()
		if other, busy := g.inHand[tp]; busy {
			g.problem("%v@%d: in the handlers of %s and %s at once", tp, m.Offset, other, name)
		}
		g.inHand[tp] = name
		k := tenureKey{run, tp}
		if last, ok := g.tenure[k]; ok && m.Offset <= last {
			g.problem("%v: %s handled %d after %d", tp, name, m.Offset, last)
		}
		g.tenure[k] = m.Offset
		switch want := g.next[tp]; {
		case m.Offset < want:
			g.dups++
			g.problem("%v@%d handled again by %s (next was %d)", tp, m.Offset, name, want)
		case m.Offset > want:
			g.problem("%v: %s got %d, skipping from %d", tp, name, m.Offset, want)
		}
		g.next[tp] = max(g.next[tp], m.Offset+1)
		if g.seen[tp] == nil {
			g.seen[tp] = map[int64]int{}
		}
		g.seen[tp][m.Offset]++
		g.mu.Unlock()

		g.mu.Lock()
		delete(g.inHand, tp)
		g.mu.Unlock()
		return nil
	}
}

func (g *churnGroup) running() int {
	n := 0
	for _, m := range g.members {
		if m.cancel != nil {
			n++
		}
	}
	return n
}

// join adds a new member and runs it.
func (g *churnGroup) join(rng *rand.Rand) {
	g.named++ // a name per consumer: memberOf finds a consumer by it
	c := g.b.CreateConsumerWith(fmt.Sprintf("%s-m%d", g.id, g.named), g.id, ConsumerOptions{ManualCommit: g.manual})
	require.NoError(g.t, c.Subscribe(g.topics...))
	m := &churnMember{c: c}
	g.members = append(g.members, m)
	g.run(m)
}

// run starts a Run of m: one tenure.
func (g *churnGroup) run(m *churnMember) {
	g.nextRun++
	g.joins++
	ctx, cancel := context.WithCancel(context.Background())
	m.cancel, m.done = cancel, make(chan error, 1)
	h := g.handler(g.nextRun, fmt.Sprintf("%s/run%d", m.c.Name(), g.nextRun), m.c)
	go func() { m.done <- m.c.Run(ctx, h) }()
}

// stop ends m's Run and waits for it.
func (g *churnGroup) stop(m *churnMember) {
	m.cancel()
	m.cancel = nil
	select {
	case err := <-m.done:
		assert.NoError(g.t, err, "Run of %s", m.c.Name())
	case <-time.After(20 * time.Second):
		g.t.Fatalf("Run of %s did not return after its context ended", m.c.Name())
	}
}

// churn applies one random membership change.
func (g *churnGroup) churn(rng *rand.Rand) {
	var running, idle []*churnMember
	for _, m := range g.members {
		if m.cancel != nil {
			running = append(running, m)
		} else {
			idle = append(idle, m)
		}
	}
	switch r := rng.IntN(10); {
	case len(running) == 0 || r < 3 && len(running) < 4:
		g.join(rng)
	case r < 6: // leave: Run ends, the consumer may run again later
		g.stop(running[rng.IntN(len(running))])
		g.leaves++
	case r < 7: // close while running
		m := running[rng.IntN(len(running))]
		require.NoError(g.t, m.c.Close())
		g.stop(m)
		g.remove(m)
		g.closes++
	case r < 8: // two Close calls at once: each returns only once the member left
		m := running[rng.IntN(len(running))]
		var wg sync.WaitGroup
		for i := 0; i < 2; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(g.t, m.c.Close())
				if id, ok := g.memberOf(m.c); ok {
					g.mu.Lock()
					g.problem("%s: Close returned while %s was still in the group", m.c.Name(), id)
					g.mu.Unlock()
				}
			}()
		}
		wg.Wait()
		g.stop(m)
		g.remove(m)
		g.closes++
	case len(idle) > 0 && r < 9: // a member that left comes back
		g.run(idle[rng.IntN(len(idle))])
	case len(idle) > 0: // a member that left closes
		m := idle[rng.IntN(len(idle))]
		require.NoError(g.t, m.c.Close())
		g.remove(m)
		g.closes++
	default:
		g.join(rng)
	}
}

// memberOf returns the group member ID of c, if c is in the group.
func (g *churnGroup) memberOf(c *Consumer) (string, bool) {
	gs, err := g.b.GroupStats(g.id)
	require.NoError(g.t, err)
	for _, ms := range gs.Members {
		if strings.HasPrefix(ms.ID, c.Name()+"-") {
			return ms.ID, true
		}
	}
	return "", false
}

func (g *churnGroup) remove(m *churnMember) {
	for i, x := range g.members {
		if x == m {
			g.members = append(g.members[:i], g.members[i+1:]...)
			return
		}
	}
}

func (g *churnGroup) closeAll() {
	for _, m := range g.members {
		require.NoError(g.t, m.c.Close())
		if m.cancel != nil {
			g.stop(m)
		}
	}
	g.members = nil
}

func (g *churnGroup) caughtUp(ends map[TopicPartition]int64) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for tp, end := range ends {
		if g.subscribed(tp.Topic) && g.next[tp] < end {
			return false
		}
	}
	return true
}

func (g *churnGroup) subscribed(topic string) bool { return contains(g.topics, topic) }

func (g *churnGroup) check(t *testing.T, ends map[TopicPartition]int64) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for tp, end := range ends {
		if !g.subscribed(tp.Topic) {
			continue
		}
		for off := int64(0); off < end; off++ {
			if g.seen[tp][off] == 0 {
				t.Errorf("group %s: %v@%d never handled", g.id, tp, off)
				break
			}
		}
	}
	assert.Empty(t, g.problems, "group %s", g.id)
	assert.Zero(t, g.dups, "group %s: nothing handled twice across clean rebalances", g.id)
}

// recreatedTopic is a topic that the churn deletes and creates again, with
// a group of two members reading it all along. Each incarnation gets
// fresh messages; the group must read every message of the last one (an
// offset left over from an earlier incarnation would skip them).
type recreatedTopic struct {
	t     *testing.T
	b     *Broker
	name  string
	inc   int
	parts int

	mu   sync.Mutex
	seen map[string]bool
}

func newRecreatedTopic(t *testing.T, b *Broker, name string) *recreatedTopic {
	r := &recreatedTopic{t: t, b: b, name: name, seen: map[string]bool{}}
	r.create(2)
	for i := 0; i < 2; i++ {
		c := b.CreateConsumer(fmt.Sprintf("r%d", i), "g-"+name)
		require.NoError(t, c.Subscribe(name))
		runConsumer(t, c, func(_ context.Context, m *Message) error {
			r.mu.Lock()
			r.seen[string(m.Value)] = true
			r.mu.Unlock()
			return nil
		})
	}
	return r
}

func (r *recreatedTopic) create(parts int) {
	r.inc++
	r.parts = parts
	mustTopic(r.t, r.b, r.name, parts)
	publishN(r.t, r.b, r.name, parts, 10, fmt.Sprintf("inc%d", r.inc))
}

func (r *recreatedTopic) recreate(rng *rand.Rand) {
	require.NoError(r.t, r.b.DeleteTopic(r.name))
	r.create(1 + rng.IntN(3))
}

func (r *recreatedTopic) check() {
	eventually(r.t, func() bool {
		r.mu.Lock()
		defer r.mu.Unlock()
		for i := 0; i < 10; i++ {
			if !r.seen[fmt.Sprintf("inc%d-%d", r.inc, i)] {
				return false
			}
		}
		return true
	}, "the group reads every message of %s's incarnation %d", r.name, r.inc)
}
