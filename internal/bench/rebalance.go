package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook"
)

// round watches for every partition to deliver a message published after
// its mark, and, when join is set, for the joining member to deliver from
// join partitions.
type round struct {
	mark     int64 // nanoseconds since the workload's base time
	seen     []atomic.Bool
	joinSeen []atomic.Bool
	pending  atomic.Int64
	done     chan struct{}
	at       atomic.Int64 // when pending reached 0, since base
}

func newRound(mark int64, partitions, join int) *round {
	rd := &round{mark: mark, seen: make([]atomic.Bool, partitions), joinSeen: make([]atomic.Bool, partitions),
		done: make(chan struct{})}
	rd.pending.Store(int64(partitions + join))
	return rd
}

// observe counts partition p's first delivery, in seen, of a message sent
// at or after the mark.
func (rd *round) observe(seen []atomic.Bool, p int, sent, now int64) {
	if sent >= rd.mark && !seen[p].Load() && seen[p].CompareAndSwap(false, true) && rd.pending.Add(-1) == 0 {
		rd.at.Store(now)
		close(rd.done)
	}
}

// rebalance is workload 7: a group of RebalanceMembers members reads a
// topic of RebalancePartitions partitions while a producer publishes one
// message to every partition each RebalancePace. One member joins; the
// figure is the time from its Run call until every partition has
// delivered a message published after that call, and the new member has
// delivered from its whole share (⌊P/(M+1)⌋ partitions). The partitions
// that move are exactly the new member's, so this is when every
// partition is delivering again. The member then leaves, the group
// settles, and the next repetition joins again. The topic is SyncNever so
// that the producer stays light; the group's offset commits on hand-over
// are durable whatever the topic's policy.
func (r *runner) rebalance(ctx context.Context) error {
	c := r.cfg
	b, done, err := r.scratchBroker("rebalance", brook.SyncAlways)
	if err != nil {
		return err
	}
	defer done()
	if _, err := b.CreateTopic("rebalance", brook.TopicConfig{Partitions: c.RebalancePartitions, Sync: brook.SyncNever}); err != nil {
		return err
	}
	rig := &rebalanceRig{b: b, parts: c.RebalancePartitions, base: time.Now()}
	rig.cur.Store(newRound(1<<62, rig.parts, 0)) // nothing counts until the first round
	stop := rig.start(ctx, c)
	defer stop()
	if err := rig.settle(ctx); err != nil {
		return err
	}
	r.logf("  rebalance: %d members reading %d partitions", c.RebalanceMembers, c.RebalancePartitions)
	for rep := 1; rep <= c.Reps; rep++ {
		ms, assigned, err := rig.join(ctx, fmt.Sprintf("joiner-%d", rep), c.RebalancePartitions/(c.RebalanceMembers+1))
		if err != nil {
			return err
		}
		r.res.w7 = append(r.res.w7, ms)
		r.logf("7 rebalance, 1 joins %d over %d partitions rep %d/%d: %.1f ms (joiner took %d partitions)",
			c.RebalanceMembers, c.RebalancePartitions, rep, c.Reps, ms, assigned)
		if err := rig.settle(ctx); err != nil {
			return err
		}
	}
	return nil
}

// rebalanceRig is workload 7's group, producer and current round.
type rebalanceRig struct {
	b     *brook.Broker
	parts int
	base  time.Time
	cur   atomic.Pointer[round]
	run   context.Context // the members' and the producer's
	errc  <-chan error
}

// handler counts deliveries in the current round; join marks the joiner.
func (g *rebalanceRig) handler(join bool) brook.Handler {
	return func(_ context.Context, m *brook.Message) error {
		now := int64(time.Since(g.base))
		sent := int64(binary.LittleEndian.Uint64(m.Value[stampAt:]))
		rd := g.cur.Load()
		rd.observe(rd.seen, m.Partition, sent, now)
		if join {
			rd.observe(rd.joinSeen, m.Partition, sent, now)
		}
		return nil
	}
}

// start runs the group and the producer until the returned stop is called.
func (g *rebalanceRig) start(ctx context.Context, c Config) (stop func()) {
	run, cancel := context.WithCancel(ctx)
	g.run = run
	stopGroup, errc := runGroup(run, g.b, "rebalance", "rebalance", c.RebalanceMembers,
		func(int, *brook.Consumer) brook.Handler { return g.handler(false) })
	g.errc = errc
	var pub sync.WaitGroup
	pub.Add(1)
	go func() {
		defer pub.Done()
		publishRounds(run, g.b, g.parts, c.RecordSize, c.RebalancePace, g.base)
	}()
	return func() {
		cancel()
		pub.Wait()
		_ = stopGroup()
	}
}

// settle waits until every partition delivers a message published now.
func (g *rebalanceRig) settle(ctx context.Context) error {
	rd := newRound(int64(time.Since(g.base)), g.parts, 0)
	g.cur.Store(rd)
	return errors.Join(waitFor(ctx, rd.done, time.Minute, "the group to settle"), drainErr(g.errc))
}

// join starts a new member, measures until every partition delivers again
// and the member has delivered from share partitions, then closes it. It
// returns the time in milliseconds and the member's assignment size.
func (g *rebalanceRig) join(ctx context.Context, name string, share int) (float64, int, error) {
	joiner := g.b.CreateConsumer(name, "rebalance")
	if err := joiner.Subscribe("rebalance"); err != nil {
		return 0, 0, err
	}
	rd := newRound(int64(time.Since(g.base)), g.parts, share)
	g.cur.Store(rd)
	start := time.Since(g.base)
	joinErr := make(chan error, 1)
	go func() { joinErr <- joiner.Run(g.run, g.handler(true)) }()
	err := waitFor(ctx, rd.done, time.Minute, "every partition to deliver after the join")
	ms := float64(time.Duration(rd.at.Load())-start) / 1e6
	assigned := len(joiner.Assignment())
	err = errors.Join(err, joiner.Close(), <-joinErr)
	return ms, assigned, err
}

// publishRounds publishes one message to each of parts partitions every
// pace until ctx ends, stamped with its publish time since base.
func publishRounds(ctx context.Context, b *brook.Broker, parts, size int, pace time.Duration, base time.Time) {
	p := b.CreateProducer("rebalance")
	defer p.Close()
	next := time.Now()
	for ctx.Err() == nil {
		slab := make([]byte, parts*size)
		for i := range parts {
			v := slab[i*size : (i+1)*size : (i+1)*size]
			binary.LittleEndian.PutUint64(v[stampAt:], uint64(time.Since(base)))
			p.PublishAsync("rebalance", &brook.Message{Topic: "rebalance", Partition: i, Value: v}, nil)
		}
		next = next.Add(pace)
		if d := time.Until(next); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		} else {
			next = time.Now()
		}
	}
}
