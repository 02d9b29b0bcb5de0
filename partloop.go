package brook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook/storage"
)

// partLoop reads one partition for one grant and calls the handler for each
// message in order. It ends in one of three ways: stop (revoked: finish the
// message in hand, commit, release the partition to its next owner), cancel
// (the run ends: commit what was handled, keep ownership until the member
// leaves) or lose (evicted or the partition is gone: commit nothing).
type partLoop struct {
	// What the loop is given by its session, never changed.
	c      *Consumer        // the owner: its error policy, and who may Commit what the loop delivered
	opts   *ConsumerOptions // the owner's options
	log    *slog.Logger     // the broker's
	obs    Observer         // the broker's Observer, or nil
	h      Handler
	exits  chan<- *partLoop // the session's: the loop sends itself there when it ends
	g      *group
	member string
	tp     TopicPartition
	gen    int64
	part   *partition

	ctx      context.Context // handler context: ends on cancel and lose
	cancelFn context.CancelFunc
	stopCh   chan struct{}
	stopOnce sync.Once
	seekCh   chan struct{} // capacity 1: wakes a waiting loop for a Seek
	lost     atomic.Bool
	seekTo   atomic.Int64 // a pending Seek, or -1
	goid     atomic.Int64 // the loop's goroutine, for Close (see Consumer.ownGoroutineLocked)

	// progress counts handler calls started and ended (under Poll too,
	// where the handler waits for Poll to take and acknowledge the
	// message): it is odd while a handler runs. It costs
	// two atomic adds per message, where reading the clock cost more.
	progress atomic.Uint64
	// The watchdog's last sample of progress and its time, used only by
	// stalledFor (under the consumer's mu).
	sampled   uint64
	sampledAt time.Time

	// recs is the slice of the last read, passed back to the next one so
	// that a fetch does not allocate it again; its first dirty entries
	// still point at records already handed out as messages.
	recs  []storage.Record
	dirty int

	// Set by the loop before it reports its exit.
	err      error
	released bool
	failed   bool // the partition is damaged: not started again for this grant
}

func newPartLoop(s *session, tp TopicPartition, gen int64) (*partLoop, error) {
	t, err := s.b.Topic(tp.Topic)
	if err != nil {
		return nil, err
	}
	part, err := t.partition(tp.Partition)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(s.ctx)
	l := &partLoop{c: s.c, opts: s.opts, log: s.log, obs: s.b.opts.Observer, h: s.h, exits: s.exits,
		g: s.g, member: s.member, tp: tp, gen: gen, part: part,
		ctx: ctx, cancelFn: cancel, stopCh: make(chan struct{}), seekCh: make(chan struct{}, 1)}
	l.seekTo.Store(-1)
	return l, nil
}

func (l *partLoop) stop()   { l.stopOnce.Do(func() { close(l.stopCh) }) }
func (l *partLoop) cancel() { l.cancelFn() }
func (l *partLoop) lose()   { l.lost.Store(true); l.cancelFn() }
func (l *partLoop) seek(offset int64) {
	l.seekTo.Store(offset)
	select {
	case l.seekCh <- struct{}{}:
	default:
	}
}

// revoked reports whether the loop was told to hand its partition back.
func (l *partLoop) revoked() bool {
	select {
	case <-l.stopCh:
		return true
	default:
		return false
	}
}

func (l *partLoop) stopping() bool { return l.revoked() || l.ctx.Err() != nil }

// stalledFor reports how long the loop's handler has been running on one
// message, as the watchdog's samples see it: a handler found running at
// two samples with no call started or ended in between has been running at
// least since the first of them. The estimate is short by less than one
// sampling interval (group.watchInterval: an eighth of the shortest
// PollTimeout, at most 1 s), so with the watchdog's own period an eviction
// comes at most two intervals (a quarter of PollTimeout) after the timeout.
// It is called by Consumer.stalled only, with the consumer's mu held.
func (l *partLoop) stalledFor(now time.Time) time.Duration {
	p := l.progress.Load()
	if p%2 == 0 || p != l.sampled {
		l.sampled, l.sampledAt = p, now
		return 0
	}
	return now.Sub(l.sampledAt)
}

func (l *partLoop) run() {
	l.goid.Store(goid()) // before any handler call: a Close from the handler must not wait for itself
	defer func() { l.exits <- l }()
	defer l.cancelFn()
	pos, err := l.start()
	if err != nil {
		l.fail(err)
		return
	}
	committed := pos
	for !l.stopping() {
		if off := l.seekTo.Swap(-1); off >= 0 {
			pos = off
		}
		next, err := l.fetchAndHandle(pos)
		if next != committed && !l.opts.ManualCommit {
			if l.g.commit(l.member, l.gen, l.tp, next) != nil {
				return // fenced: the partition is no longer ours
			}
			committed = next
		}
		pos = next
		if err != nil {
			l.fail(err)
			break
		}
	}
	l.finish()
}

// start returns the offset to begin at: the group's committed offset, else
// the StartOffset policy's. That position is committed at once, also under
// ManualCommit, so that a later owner starts at the same place: a reset to
// the latest offset happens once, when the group first reads the
// partition, and what the first owner did not commit is delivered again.
// A start at the latest offset is flushed before the first message, since
// computing it again after a crash would skip what was published since.
func (l *partLoop) start() (int64, error) {
	if l.part.failed != nil {
		return 0, l.part.failed // nothing to read, and no position to commit
	}
	if off, ok := l.g.committed(l.tp); ok {
		return off, nil
	}
	off, next := l.part.offsets()
	if l.opts.StartOffset == StartLatest {
		return next, l.g.commitSync(context.Background(), l.member, l.gen, l.tp, next)
	}
	return off, l.g.commit(l.member, l.gen, l.tp, off)
}

// fetchAndHandle reads a batch at pos, waiting for data if there is none,
// handles it, and returns the position after the last handled message.
func (l *partLoop) fetchAndHandle(pos int64) (int64, error) {
	recs, err := l.read(pos)
	if errors.Is(err, storage.ErrOffsetOutOfRange) {
		return l.reset(pos), nil
	}
	if err != nil {
		return pos, l.part.err(err)
	}
	if len(recs) == 0 {
		l.wait(pos)
		return pos, nil
	}
	msgs := messagesFromRecords(l.tp.Topic, l.tp.Partition, recs)
	handled := 0
	defer func() { l.observe(handled) }()
	for i := range msgs {
		msgs[i].delivery = l
	}
	for i := range msgs {
		if l.stopping() || l.seekTo.Load() >= 0 {
			break
		}
		m := &msgs[i]
		done, err := l.handle(m)
		if err != nil || !done {
			return pos, err
		}
		pos = m.Offset + 1
		handled++
	}
	return pos, nil
}

// observe reports n handled messages to the broker's Observer, if any.
func (l *partLoop) observe(n int) {
	if l.obs != nil && n > 0 {
		l.obs.ObserveConsume(l.g.id, l.tp.Topic, l.tp.Partition, n)
	}
}

// read reads the next batch at pos into the loop's record slice. The
// messages made from the previous batch do not share it: they hold copies
// of its records' fields. When the partition has nothing more, the stale
// entries are cleared, so that a caught-up loop does not keep the last
// batch's bytes alive.
func (l *partLoop) read(pos int64) ([]storage.Record, error) {
	recs, err := l.part.readInto(l.recs, pos, l.opts.FetchMaxRecords, 1<<20)
	l.recs, l.dirty = recs, max(l.dirty, len(recs))
	if len(recs) == 0 && l.dirty > 0 {
		clear(recs[:l.dirty])
		l.dirty = 0
	}
	return recs, err
}

// reset moves a position that fell outside the partition (retention removed
// it, or data was lost in a crash under a non-durable policy) to the nearest
// valid offset, and reports it.
func (l *partLoop) reset(pos int64) int64 {
	first, next := l.part.offsets()
	to := min(max(pos, first), next)
	l.log.Warn("brook: committed offset out of range; reset", "group", l.g.id,
		"partition", l.tp, "offset", pos, "reset_to", to)
	return to
}

// wait blocks until the partition grows past pos or the loop must end.
func (l *partLoop) wait(pos int64) {
	ch, err := l.part.notify()
	if err != nil || l.part.next() > pos {
		return
	}
	select {
	case <-ch:
	case <-l.stopCh:
	case <-l.ctx.Done():
	case <-l.seekCh:
	}
}

// fail records a loop error: handler failures stop the run; storage errors
// are reported and end this partition's loop.
func (l *partLoop) fail(err error) {
	var herr *HandlerError
	switch {
	case errors.As(err, &herr):
		l.err = err
	case errors.Is(err, ErrClosed), errors.Is(err, ErrFenced), errors.Is(err, ErrUnknownTopic), l.lost.Load():
	case errors.Is(err, ErrCorrupt):
		// One damaged partition does not stop the others: report it, and
		// keep it assigned, unread (see session.exited).
		l.failed = true
		l.log.Error("brook: partition failed; the consumer's other partitions go on",
			"consumer", l.c.name, "group", l.g.id, "partition", l.tp, "err", err)
		if f := l.opts.OnPartitionFailed; f != nil {
			f(l.tp, err)
		}
	default:
		l.err = fmt.Errorf("brook: consumer %q: %w", l.c.name, err)
	}
}

// finish, after a revocation, hands the partition over (the group writes
// the committed offsets first).
func (l *partLoop) finish() {
	if l.lost.Load() || !l.revoked() {
		return // lost: commit nothing; cancelled: the member leaves with its offsets written
	}
	l.g.handOver(l.member, l.gen, l.tp)
	l.released = true
}
