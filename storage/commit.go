package storage

import (
	"math"
	"runtime"
	"time"

	"github.com/tidwall/wal"
)

// run is the writer goroutine: it group-commits queued appends, calls
// AppendAsync callbacks and, under SyncInterval, fsyncs in the background.
// On stop it drains the queue.
//
// Callbacks run as soon as their commit is done, before the writer takes
// the next one: an acknowledged batch's done never waits behind later
// commits (under a steady load the queue is rarely empty). That holds for
// commits made by Append itself too (see commitOnce).
func (l *Log) run() {
	defer close(l.writerDone)
	var ticker *time.Ticker
	var tick <-chan time.Time
	setTicker := func() { // the background fsync runs under SyncInterval only
		if ticker != nil {
			ticker.Stop()
			ticker, tick = nil, nil
		}
		if l.syncPolicy() == SyncInterval {
			ticker = time.NewTicker(l.opts.SyncInterval)
			tick = ticker.C
		}
	}
	setTicker()
	defer func() {
		if ticker != nil {
			ticker.Stop()
		}
	}()
	for {
		select {
		case <-l.q.wake:
		case <-l.retick:
			setTicker()
			continue
		case <-tick:
			l.backgroundSync()
			continue
		case <-l.stop:
			for {
				l.runCallbacks()
				if !l.commitOnce(false) {
					break
				}
			}
			l.runCallbacks()
			return
		}
		for {
			l.runCallbacks()
			if !l.commitOnce(false) {
				break
			}
			select {
			case <-tick:
				l.backgroundSync()
			default:
			}
		}
	}
}

func (l *Log) backgroundSync() {
	l.walMu.Lock()
	if (l.unsynced || l.dirDirty) && l.q.failed() == nil && !l.walClosed {
		l.syncLocked()
	}
	o := l.takeObservation()
	l.walMu.Unlock()
	l.report(o)
}

// commitOnce takes one group commit from the queue, writes it and
// acknowledges the synchronous appends in it; AppendAsync callbacks are
// queued for the writer goroutine (runCallbacks). It reports false when
// there was nothing to do, or, when try is set, when another goroutine is
// committing.
//
// The writer goroutine calls it, and so does a synchronous Append that
// finds no commit in progress (try): it then commits its own batch and
// whatever else is queued, sparing two goroutine switches per commit.
// When the writer had to wait for such a commit and it left callbacks,
// commitOnce returns true at once, without committing, so that the writer
// runs them before it commits (and fsyncs) anything more.
func (l *Log) commitOnce(try bool) bool {
	if try {
		if !l.walMu.TryLock() {
			return false
		}
	} else {
		l.walMu.Lock()
		if l.q.hasCompleted() {
			l.walMu.Unlock()
			return true
		}
	}
	var reqs []*appendReq
	if !l.walClosed {
		l.gather()
		reqs = l.q.take()
	}
	n := len(reqs)
	if n > 0 {
		l.commit(reqs)
		var async bool
		reqs, async = l.q.complete(reqs)
		if async && try {
			l.q.signal() // callbacks for the writer goroutine
		}
		g := &l.gatherSt
		g.lastReqs, g.lastSyncs = n, len(reqs)
		g.commits++
		g.reqs += uint64(n)
	}
	o := l.takeObservation()
	l.walMu.Unlock()
	l.report(o)
	for _, r := range reqs { // acknowledge, with no lock held
		r.ch <- struct{}{}
	}
	l.q.recycle(reqs)
	return n > 0
}

// Group-commit gathering under SyncAlways (see gather).
const maxGatherWait = 200 * time.Microsecond

// gatherState is what gather learns from the previous commits. Guarded by
// walMu.
type gatherState struct {
	lastReqs  int           // requests in the previous commit
	lastSyncs int           // synchronous callers it acknowledged
	lastSync  time.Duration // duration of the previous commit's fsync

	commits, reqs uint64 // totals, for tests and benchmarks
}

// gather is called by the committer, with walMu held, before it takes a
// commit from the queue. Under SyncAlways, when the previous commit
// acknowledged several synchronous callers, those callers are probably
// about to append again, and a commit taken before they do costs them a
// whole extra fsync. So gather waits until the queue holds as many
// requests as the previous commit did, for at most min(200µs, half the
// previous fsync). It never waits under the other policies, after a
// commit of a single caller (a lone appender gains nothing), with an
// empty queue, or once Close has begun.
//
// The wait yields the processor (runtime.Gosched) between checks of the
// queue instead of sleeping: Go's timers can fire a millisecond late on
// an idle Linux machine, several times the bound.
func (l *Log) gather() {
	g := &l.gatherSt
	if l.syncPolicy() != SyncAlways || g.lastSyncs < 2 || l.closing.Load() {
		return
	}
	wait := min(maxGatherWait, g.lastSync/2)
	if n := l.q.length(); wait <= 0 || n == 0 || n >= g.lastReqs {
		return
	}
	start := time.Now()
	for {
		runtime.Gosched()
		n := l.q.length()
		if n == 0 || n >= g.lastReqs || time.Since(start) >= wait || l.closing.Load() {
			return
		}
	}
}

// runCallbacks calls the done functions of committed AppendAsync calls, in
// commit order, with no lock held.
func (l *Log) runCallbacks() {
	for {
		reqs := l.q.takeCompleted()
		if len(reqs) == 0 {
			return
		}
		for i, r := range reqs {
			if r.done != nil {
				r.done(r.first, r.err)
			}
			putReq(r)
			reqs[i] = nil
		}
		l.q.recycleCompleted(reqs)
	}
}

// commit encodes reqs into one wal.Batch, writes it, fsyncs per policy and
// publishes the new records. It sets each request's first and err. Called
// with walMu held.
func (l *Log) commit(reqs []*appendReq) {
	if err := l.q.failed(); err != nil {
		failAll(reqs, err)
		return
	}
	next := l.next // only the committer changes next
	blk := l.blockFor(reqs, next)
	off := l.encode(reqs, blk)
	if off == next {
		l.spare = blk
		return
	}
	var start time.Time
	if l.opts.Observer != nil {
		start = time.Now()
	}
	if err := l.writeAndSync(len(blk.buf), l.plan.rolled); err != nil {
		failAll(reqs, err)
		return
	}
	if l.opts.Observer != nil {
		l.pending.appended, l.pending.records, l.pending.bytes = true, int(off-next), int(l.plan.bytes)
		l.pending.appendDur = time.Since(start)
	}
	if len(blk.buf) > 2*maxBatchBytes {
		l.batch = wal.Batch{} // do not keep a huge buffer
	}
	l.publish(&l.plan, blk, off)
}

func failAll(reqs []*appendReq, err error) {
	for _, r := range reqs {
		r.first, r.err = -1, err
	}
}

// blockFor returns an empty block for a group commit starting at next,
// recycled if one large enough is at hand.
func (l *Log) blockFor(reqs []*appendReq, next int64) *block {
	total := 0
	for _, r := range reqs {
		if r.err == nil {
			total += r.bytes
		}
	}
	blk := l.spare
	l.spare = nil
	if blk == nil || cap(blk.buf) < total {
		blk = &block{buf: make([]byte, 0, total)}
	}
	blk.base, blk.buf, blk.ends = next, blk.buf[:0], blk.ends[:0]
	return blk
}

// encode assigns offsets from blk.base, sets zero timestamps to now (one
// clock read per commit), encodes the records of reqs into blk and
// l.batch, and plans their placement in segments. It returns the offset
// after the last record.
func (l *Log) encode(reqs []*appendReq, blk *block) int64 {
	p := &l.plan
	p.begin(l.wtail, l.opts.SegmentSize, l.dir)
	l.batch.Clear()
	off := blk.base
	var now time.Time
	for _, r := range reqs {
		if r.err != nil {
			r.first = -1
			continue
		}
		r.first = off
		for i := range r.recs {
			rec := &r.recs[i]
			rec.Offset = off
			if rec.Timestamp.IsZero() {
				if now.IsZero() {
					now = time.Now()
				}
				rec.Timestamp = now
			}
			ts := rec.Timestamp.UnixNano()
			start := len(blk.buf)
			bp := batchPos{follow: uint64(len(r.recs) - 1 - i), first: i == 0}
			blk.buf = appendEntryTS(blk.buf, rec, ts, bp)
			e := blk.buf[start:]
			l.batch.Write(uint64(off)+1, e)
			p.place(off, frameSize(len(e)), ts)
			blk.ends = append(blk.ends, len(blk.buf))
			off++
		}
	}
	return off
}

// writeAndSync writes l.batch and fsyncs per policy. Called with walMu held.
func (l *Log) writeAndSync(nbytes int, rolled bool) error {
	if err := l.fs.WALWrite(l.dir, nbytes, func() error { return l.w.WriteBatch(&l.batch) }); err != nil {
		return l.fail("write", err)
	}
	l.unsynced = true
	l.dirDirty = l.dirDirty || rolled
	if l.syncPolicy() == SyncAlways {
		start := time.Now()
		err := l.syncLocked()
		l.gatherSt.lastSync = time.Since(start)
		return err
	}
	return nil
}

// publish makes a written group commit visible: segment sizes and indexes,
// new segments, NextOffset, the cache and Notify.
func (l *Log) publish(p *plan, blk *block, next int64) {
	l.mu.Lock()
	t := l.wtail
	t.size += p.tailSize
	t.count += p.tailCount
	t.index = append(t.index, p.tailIndex...)
	t.maxTS = max(t.maxTS, p.tailMaxTS)
	l.segs = append(l.segs, p.newSegs...)
	l.size += int64(p.bytes)
	l.next = next
	l.nextA.Store(next)
	l.cache.add(blk)
	l.spare = l.cache.takeFree()
	close(l.notify)
	l.notify = make(chan struct{})
	l.mu.Unlock()
	if n := len(p.newSegs); n > 0 {
		l.wtail = p.newSegs[n-1]
	}
}

// plan predicts where tidwall/wal puts each entry of a batch, so that the
// writer can index segments and notice new segment files without asking
// the wal. It mirrors wal.(*Log).writeBatch in v1.2.1: before the batch, a
// tail holding more than SegmentSize bytes is sealed; after each entry, a
// tail holding SegmentSize bytes or more is sealed and a new, empty
// segment file is created for the next index, even at the batch's end.
type plan struct {
	segSize int64
	dir     string
	tail    *segment // the visible tail; its additions are kept apart
	cur     *segment // where the next entry goes: tail or newSegs[last]
	curSize int64    // bytes in cur as the wal sees them
	fresh   bool     // no entry placed yet in this batch
	rolled  bool

	tailSize, tailCount int64
	tailIndex           []int64
	tailMaxTS           int64
	newSegs             []*segment
	bytes               int64
}

func (p *plan) begin(tail *segment, segSize int, dir string) {
	*p = plan{
		segSize: int64(segSize), dir: dir, tail: tail, cur: tail,
		curSize: tail.size, fresh: true,
		tailIndex: p.tailIndex[:0], tailMaxTS: math.MinInt64, newSegs: p.newSegs[:0],
	}
}

func (p *plan) place(off, fsz, ts int64) {
	if p.fresh && p.curSize > p.segSize {
		p.roll(off)
	}
	p.fresh = false
	pos := p.curSize
	p.curSize += fsz
	p.bytes += fsz
	if p.cur == p.tail {
		if (off-p.tail.base)%indexEvery == 0 {
			p.tailIndex = append(p.tailIndex, pos)
		}
		p.tailSize += fsz
		p.tailCount++
		p.tailMaxTS = max(p.tailMaxTS, ts)
	} else { // a new segment, not visible yet: update it directly
		s := p.cur
		if (off-s.base)%indexEvery == 0 {
			s.index = append(s.index, pos)
		}
		s.size += fsz
		s.count++
		s.maxTS = max(s.maxTS, ts)
	}
	if p.curSize >= p.segSize {
		p.roll(off + 1)
	}
}

func (p *plan) roll(base int64) {
	s := newSegment(p.dir, base)
	s.indexed = true
	p.newSegs = append(p.newSegs, s)
	p.cur, p.curSize, p.rolled = s, 0, true
}
