package brook

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// memberConn is how the coordinator reaches a member. A local Consumer
// implements it; a network listener can implement it for a remote member
// (notify sends on the member's heartbeat response, stalled measures the time
// since its last heartbeat or poll). Both are called with the group's mu
// held: lock order is group.mu, then the member's own locks (a Consumer's
// mu, then its poller's mu); a member never calls into its group while
// holding its own locks.
type memberConn interface {
	// notify tells the member that its assignment changed: partitions to
	// start, to hand back, or lost. It must not block.
	notify()
	// stalled reports for how long the member has not made progress: a
	// handler that has not returned, a polled message not acknowledged by
	// the next poll, a missing heartbeat. Zero when it is healthy.
	stalled(now time.Time) time.Duration
}

type groupMember struct {
	id          string
	topics      []string
	pollTimeout time.Duration
	conn        memberConn
}

// grant is one member's ownership of a partition, stamped with the group
// generation in which it was granted. Commits must carry the same stamp.
type grant struct {
	member string
	gen    int64
}

// group is the coordinator of one consumer group: membership, generations,
// the cooperative two-phase hand-over of partitions, liveness, and commit
// fencing. The assignment itself comes from assign, a pure function.
//
// A partition changes owner in two steps: the rebalance sets its target
// owner; the current owner sees it among its revocations, finishes the
// message in hand, commits, and calls release; only then is it granted to
// the target. Partitions that keep their owner are never interrupted.
type group struct {
	b       *Broker
	id      string
	offsets *offsetStore
	log     *slog.Logger
	kick    chan struct{} // wakes the watchdog when members change
	stop    chan struct{} // closed by DeleteGroup: the watchdog returns

	// mu guards the fields below. Lock order (docs/consumer-groups.md,
	// "Lock order"): the broker's mu, then mu, then a member's own locks,
	// then the offsets' locks. The group calls its members only through
	// memberConn, with mu held: notify never blocks, and stalled takes a
	// Consumer's mu and then its poller's mu briefly (a RemoteMember's,
	// none). A member never calls into its group while holding its own
	// locks, and no lock of the group is held while user code runs
	// (handlers, rebalance callbacks, OnPartitionFailed). The offsets are
	// written (flush) with or without mu held; their locks are taken last.
	mu      sync.Mutex
	gen     int64
	genMax  int64 // generations up to genMax are reserved durably (see reserveGenerations)
	nextID  int
	members map[string]*groupMember
	owners  map[TopicPartition]grant  // who holds each partition now
	target  map[TopicPartition]string // who should hold it
	counts  map[string]int            // topic -> partitions, as last seen
	seq     int64                     // the sequence number of counts' snapshot
	deleted bool                      // set by DeleteGroup; join refuses
	clamped map[TopicPartition]int64  // committed offsets moved back to the end at load (see clampCommitted)
}

// memberView is what one member must do: the partitions it owns (with their
// grant generation) and, among them, those it must hand back.
type memberView struct {
	owned  map[TopicPartition]int64
	revoke map[TopicPartition]bool
}

// group returns the coordinator of group id, loading it on first use.
func (b *Broker) group(id string) (*group, error) {
	if !validName(id) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidGroupID, id)
	}
	if err := b.check(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.waitScanLocked(id) // a DeleteTopic is changing its offsets on disk
	if b.closing {
		return nil, ErrClosed
	}
	if g, ok := b.groups[id]; ok {
		return g, nil
	}
	logger := b.log.With("group", id)
	dir := filepath.Join(b.dir, "groups", id)
	if err := checkEntry(dir, true); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, err // a link or a file: never followed, never replaced
	}
	off, err := b.openGroupOffsets(dir, logger)
	if err != nil {
		return nil, err
	}
	// Offsets of topics that no longer exist are stale: a topic deleted
	// before a crash, or while the group was not loaded, may be created
	// again and must then start from its beginning.
	if err := off.dropTopics(func(t string) bool { return b.topics[t] == nil }); err != nil && !b.loadedOnFullDisk(id, off, err) {
		_ = off.log.Close()
		return nil, fmt.Errorf("brook: group %q: drop offsets of deleted topics: %w", id, err)
	}
	clamped := b.clampCommitted(id, off)
	counts, seq := b.partitionCountsLocked()
	gen, nextID := off.generation()
	g := &group{
		b: b, id: id, offsets: off, log: logger, kick: make(chan struct{}, 1), stop: make(chan struct{}),
		members: make(map[string]*groupMember),
		owners:  make(map[TopicPartition]grant),
		target:  make(map[TopicPartition]string),
		counts:  counts, seq: seq, clamped: clamped,
		gen: gen, genMax: gen, nextID: int(nextID),
	}
	b.groups[id] = g
	b.wg.Add(1)
	go g.watch()
	return g, nil
}

// join adds a member and rebalances; it returns the member's ID, or false
// when the group was deleted meanwhile (the caller looks the group up again).
func (g *group) join(name string, topics []string, pollTimeout time.Duration, conn memberConn) (string, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted {
		return "", false
	}
	g.nextID++
	g.offsets.noteGeneration(g.genMax, int64(g.nextID))
	id := name + "-" + strconv.Itoa(g.nextID)
	g.members[id] = &groupMember{id: id, topics: append([]string(nil), topics...), pollTimeout: pollTimeout, conn: conn}
	g.rebalanceLocked("join " + id)
	g.kickWatchdog()
	return id, true
}

// leave writes the committed offsets, then removes a member that has
// released its partitions (anything it still holds is treated as lost) and
// rebalances. A member already gone (evicted) only gets its offsets
// written.
func (g *group) leave(member string) {
	g.flushOrLog()
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.members[member]; !ok {
		return
	}
	g.removeLocked(member)
	g.rebalanceLocked("leave " + member)
}

func (g *group) removeLocked(member string) {
	delete(g.members, member)
	for tp, gr := range g.owners {
		if gr.member == member {
			delete(g.owners, tp)
		}
	}
}

// subscribe changes a member's topics and rebalances.
func (g *group) subscribe(member string, topics []string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if m, ok := g.members[member]; ok {
		m.topics = append([]string(nil), topics...)
		g.rebalanceLocked("subscription of " + member)
	}
}

// rebalance records new partition counts, snapshot number seq, and
// recomputes the assignment. A snapshot older than the one the group holds
// arrived late and is ignored: the newer one was applied already.
func (g *group) rebalance(counts map[string]int, seq int64, reason string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if seq <= g.seq {
		return
	}
	g.counts, g.seq = counts, seq
	g.rebalanceLocked(reason)
}

func (g *group) rebalanceLocked(reason string) {
	subs := make(map[string][]string, len(g.members))
	for id, m := range g.members {
		subs[id] = m.topics
	}
	cur := make(map[TopicPartition]string, len(g.owners))
	for tp, gr := range g.owners {
		cur[tp] = gr.member
	}
	for tp, m := range g.target { // a move in flight counts as done
		cur[tp] = m
	}
	target := assign(assignInput{Members: subs, Topics: g.counts, Current: cur})
	g.gen++
	if g.gen > g.genMax {
		g.reserveGenerations()
	}
	clear(g.target)
	for m, tps := range target {
		for _, tp := range tps {
			g.target[tp] = m
		}
	}
	for tp, gr := range g.owners { // partitions that no longer exist are lost
		if tp.Partition >= g.counts[tp.Topic] {
			delete(g.owners, tp)
			if m, ok := g.members[gr.member]; ok {
				m.conn.notify()
			}
		}
	}
	for tp, m := range g.target {
		if _, held := g.owners[tp]; !held {
			g.owners[tp] = grant{member: m, gen: g.gen}
		}
	}
	g.log.Debug("brook: rebalance", "reason", reason, "generation", g.gen, "members", len(g.members))
	for _, m := range g.members {
		m.conn.notify()
	}
}

// genLease is how many generations reserveGenerations reserves at a time.
const genLease = 1000

// reserveGenerations durably records that generations up to g.gen+genLease
// may be handed out, before any grant of g.gen is. After a restart the
// group starts above every generation it ever used, so a commit of a member
// fenced before the restart (a remote client that kept its generation) is
// still refused. It costs one fsync every genLease rebalances, and the first
// rebalance after a load. The caller holds g.mu; the offsets' locks are
// taken after it, never before.
func (g *group) reserveGenerations() {
	g.genMax = g.gen + genLease
	g.offsets.noteGeneration(g.genMax, int64(g.nextID))
	if err := g.flush(); err != nil {
		g.log.Error("brook: write group generation", "err", err)
	}
}

// view returns what member must do, or false if it is no longer in the group
// (it left or was evicted).
func (g *group) view(member string) (memberView, bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if _, ok := g.members[member]; !ok {
		return memberView{}, false
	}
	v := memberView{owned: make(map[TopicPartition]int64), revoke: make(map[TopicPartition]bool)}
	for tp, gr := range g.owners {
		if gr.member == member {
			v.owned[tp] = gr.gen
			if g.target[tp] != member {
				v.revoke[tp] = true
			}
		}
	}
	return v, true
}

// owns reports whether member still holds tp under the grant of generation gen.
func (g *group) owns(member string, gen int64, tp TopicPartition) bool {
	return g.owners[tp] == grant{member: member, gen: gen}
}

// commit records offset as tp's committed offset if member still holds tp
// under generation gen; otherwise it returns ErrFenced.
func (g *group) commit(member string, gen int64, tp TopicPartition, offset int64) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.owns(member, gen, tp) {
		return &PartitionError{Topic: tp.Topic, Partition: tp.Partition, Err: ErrFenced}
	}
	if offset < 0 {
		return &PartitionError{Topic: tp.Topic, Partition: tp.Partition, Err: fmt.Errorf("%w: %d", ErrOffsetOutOfRange, offset)}
	}
	g.offsets.set(tp, offset)
	return nil
}

// commitSync is commit followed by a write of the group's offsets, unless
// ctx ended first: the offset is on disk when it returns nil.
func (g *group) commitSync(ctx context.Context, member string, gen int64, tp TopicPartition, offset int64) error {
	if err := g.commit(member, gen, tp, offset); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return g.flush()
}

// flush writes the committed offsets changed since the last flush to disk.
// It is the group's only door to its offsets' flush: the members (a
// Consumer's loops and session, a RemoteMember) and the broker's
// periodic commit all come through it. It takes the offsets' locks, never
// g.mu, so it may be called with or without g.mu held.
func (g *group) flush() error { return g.offsets.flush() }

// flushOrLog is flush for the callers that have no one to return its error
// to (a hand-over, a leave): the error is logged, and the offsets stay
// dirty for the next flush.
func (g *group) flushOrLog() {
	if err := g.flush(); err != nil {
		g.log.Error("brook: write committed offsets", "err", err)
	}
}

// handOver is release for a member that read tp: it writes the committed
// offsets first, so that the next owner starts where this one's last
// commit left off, also after a crash.
func (g *group) handOver(member string, gen int64, tp TopicPartition) {
	g.flushOrLog()
	g.release(member, gen, tp)
}

// release hands tp back after a revocation and grants it to its target.
func (g *group) release(member string, gen int64, tp TopicPartition) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.owns(member, gen, tp) {
		return
	}
	delete(g.owners, tp)
	if next, ok := g.target[tp]; ok && next != member {
		if m, ok := g.members[next]; ok {
			g.owners[tp] = grant{member: next, gen: g.gen}
			m.conn.notify()
		}
	} else if ok {
		g.owners[tp] = grant{member: member, gen: g.gen}
		g.members[member].conn.notify()
	}
}

// committed returns tp's committed offset, if any.
func (g *group) committed(tp TopicPartition) (int64, bool) { return g.offsets.get(tp) }

// watch evicts members that have stalled for longer than their poll
// timeout, until the broker closes.
func (g *group) watch() {
	defer g.b.wg.Done()
	for {
		t := time.NewTimer(g.watchInterval())
		select {
		case <-g.b.done:
			t.Stop()
			return
		case <-g.stop:
			t.Stop()
			return
		case <-g.kick:
			t.Stop()
		case now := <-t.C:
			g.evictStalled(now)
		}
	}
}

func (g *group) kickWatchdog() {
	select {
	case g.kick <- struct{}{}:
	default:
	}
}

// watchInterval is an eighth of the shortest poll timeout of the members,
// at most 1 s and at least 5 ms. A stall is measured from the watchdog's
// previous sample, short by up to one interval (see partLoop.stalledFor),
// and seen at the next sample, up to one more: so an eviction comes at most
// two intervals, a quarter of the poll timeout, late.
func (g *group) watchInterval() time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	d := time.Second
	for _, m := range g.members {
		d = min(d, m.pollTimeout/8)
	}
	return max(d, 5*time.Millisecond)
}

func (g *group) evictStalled(now time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	var evicted []*groupMember
	for _, m := range g.members {
		if s := m.conn.stalled(now); s > m.pollTimeout {
			g.log.Warn("brook: evicting member past its poll timeout", "member", m.id, "stalled", s, "poll_timeout", m.pollTimeout)
			g.removeLocked(m.id)
			evicted = append(evicted, m)
		}
	}
	if len(evicted) > 0 {
		g.rebalanceLocked("eviction")
		for _, m := range evicted {
			m.conn.notify()
		}
	}
}

func (g *group) close() error { return g.offsets.close() }
