package storage

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Group commit bounds: the writer takes queued appends until one more would
// pass either bound (a single append is never split, so one larger than
// the bounds is written alone).
const (
	maxBatchBytes   = 1 << 20
	maxBatchRecords = 16384
)

// appendReq is one Append or AppendAsync call.
type appendReq struct {
	recs  []Record
	bytes int   // encoded size of recs
	err   error // refused before being written (too large), or the result
	first int64
	taken bool // guarded by queue.mu: handed to the writer
	async bool // AppendAsync: report through done
	done  func(first int64, err error)
	ch    chan struct{} // Append: signalled when the result is set
}

var reqPool = sync.Pool{New: func() any { return &appendReq{ch: make(chan struct{}, 1)} }}

func putReq(r *appendReq) {
	*r = appendReq{ch: r.ch}
	reqPool.Put(r)
}

// queue holds the appends waiting for a commit, and the committed
// AppendAsync calls waiting for their callback.
type queue struct {
	mu        sync.Mutex
	reqs      []*appendReq
	spare     []*appendReq
	completed []*appendReq
	spareDone []*appendReq
	closed    bool
	failErr   error
	wake      chan struct{} // capacity 1: wakes the writer goroutine
}

// push queues r. It returns ErrClosed after close, and the sticky failure
// when checkFailed is set (AppendAsync lets the writer report that
// instead). With wake set it wakes the writer goroutine.
func (q *queue) push(r *appendReq, checkFailed, wake bool) error {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return ErrClosed
	}
	if checkFailed && q.failErr != nil {
		err := q.failErr
		q.mu.Unlock()
		return err
	}
	q.reqs = append(q.reqs, r)
	q.mu.Unlock()
	if wake {
		q.signal()
	}
	return nil
}

// length returns the number of queued requests.
func (q *queue) length() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.reqs)
}

func (q *queue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// complete moves the AppendAsync calls of reqs to the callback queue and
// compacts reqs to the synchronous ones, which it returns. Once complete
// returns, the async requests belong to the writer goroutine: the caller
// must not touch them.
func (q *queue) complete(reqs []*appendReq) (syncs []*appendReq, async bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	k := 0
	for _, r := range reqs {
		if r.async {
			q.completed = append(q.completed, r)
			async = true
		} else {
			reqs[k] = r
			k++
		}
	}
	clear(reqs[k:])
	return reqs[:k], async
}

// hasCompleted reports whether callbacks are waiting to run.
func (q *queue) hasCompleted() bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.completed) > 0
}

func (q *queue) takeCompleted() []*appendReq {
	q.mu.Lock()
	defer q.mu.Unlock()
	out := q.completed
	q.completed = q.spareDone[:0]
	q.spareDone = nil
	return out
}

func (q *queue) recycleCompleted(s []*appendReq) {
	q.mu.Lock()
	q.spareDone = s[:0]
	q.mu.Unlock()
}

// take removes a group commit's worth of requests from the queue.
func (q *queue) take() []*appendReq {
	q.mu.Lock()
	defer q.mu.Unlock()
	n, bytes, recs := 0, 0, 0
	for n < len(q.reqs) {
		r := q.reqs[n]
		if n > 0 && (bytes+r.bytes > maxBatchBytes || recs+len(r.recs) > maxBatchRecords) {
			break
		}
		r.taken = true
		bytes += r.bytes
		recs += len(r.recs)
		n++
	}
	out := append(q.spare[:0], q.reqs[:n]...)
	rest := copy(q.reqs, q.reqs[n:])
	clear(q.reqs[rest:])
	q.reqs = q.reqs[:rest]
	q.spare = nil
	return out
}

// recycle gives back a slice returned by take.
func (q *queue) recycle(s []*appendReq) {
	clear(s)
	q.mu.Lock()
	q.spare = s[:0]
	q.mu.Unlock()
}

// cancel removes r if the writer has not taken it yet.
func (q *queue) cancel(r *appendReq) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	if r.taken {
		return false
	}
	for i, x := range q.reqs {
		if x == r {
			q.reqs = append(q.reqs[:i], q.reqs[i+1:]...)
			return true
		}
	}
	return false
}

func (q *queue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
}

func (q *queue) failed() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.failErr
}

// setFailed records the first failure and returns the sticky error.
func (q *queue) setFailed(err error) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.failErr == nil {
		q.failErr = err
	}
	return q.failErr
}

// newReq prepares recs: sizes are checked. Zero timestamps are left for
// the writer, which sets them to the time of the group commit (one clock
// read per commit rather than per append); until then encodedSize counts
// them at their largest size.
func (l *Log) newReq(recs []Record) *appendReq {
	r := reqPool.Get().(*appendReq)
	r.recs = recs
	limit := l.maxRecordSize()
	for i := range recs {
		rec := &recs[i]
		n := encodedSize(rec)
		if n > limit && rec.Timestamp.IsZero() {
			// Near the limit the timestamp's size matters: set it now, as
			// it will be written, so that the check is exact.
			rec.Timestamp = time.Now()
			n = encodedSize(rec)
		}
		if n > limit {
			r.err = fmt.Errorf("%w: record %d of the batch encodes to %d bytes, the limit is %d",
				ErrRecordTooLarge, i, n, limit)
		}
		r.bytes += n
	}
	return r
}

// Append appends recs as one all-or-nothing batch and returns the offset of
// the first. It blocks until the batch is acknowledged: written, and
// fsynced under SyncAlways. All-or-nothing holds for errors (a batch that
// is refused or fails leaves nothing readable) and across a crash: a batch
// being written when the process or the machine stopped is, after Open's
// recovery, there whole or not at all (see Durability in the package doc). It sets recs[i].Offset, and recs[i].Timestamp
// when zero (to the time of the group commit that writes the batch); recs
// belongs to the log until Append returns.
//
// Concurrent appends are group-committed: one write and one fsync for all
// of them. If ctx is done before the writer has taken the batch, Append
// returns ctx.Err() and nothing is written; once the writer has taken it
// the batch completes regardless of ctx (this takes at most one group
// commit) and Append returns its result.
//
// An empty recs returns (NextOffset(), nil). Errors: ErrClosed,
// ErrRecordTooLarge, the *CorruptError of a damaged log (see Damage), an
// ErrFailed error (the first one wraps the cause of
// the failed write or fsync), ctx.Err(). first is -1 when err is not nil.
func (l *Log) Append(ctx context.Context, recs []Record) (first int64, err error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	if err := l.Damage(); err != nil {
		return -1, err
	}
	if len(recs) == 0 {
		if l.closing.Load() {
			return -1, ErrClosed
		}
		if err := l.q.failed(); err != nil {
			return -1, err
		}
		return l.NextOffset(), nil
	}
	r := l.newReq(recs)
	if err := r.err; err != nil {
		putReq(r)
		if l.closing.Load() {
			return -1, ErrClosed
		}
		return -1, err
	}
	if err := l.q.push(r, true, false); err != nil {
		putReq(r)
		return -1, err
	}
	if !l.commitOnce(true) {
		l.q.signal() // a commit is in progress: the writer takes r next
	}
	select {
	case <-r.ch:
	case <-ctx.Done():
		if l.q.cancel(r) {
			putReq(r)
			return -1, ctx.Err()
		}
		<-r.ch
	}
	first, err = r.first, r.err
	putReq(r)
	if err != nil {
		return -1, err
	}
	return first, nil
}

// AppendAsync is Append without waiting: it returns at once, and done (if
// not nil) is called exactly once with Append's results, from the writer
// goroutine, with no lock held, after the batch is acknowledged or
// refused. Callbacks run in commit order, so the batches of one goroutine
// get increasing offsets and their callbacks in that order. recs belongs
// to the log until done is called. Errors are those of Append (without
// ctx). Only after Close, when there is no writer goroutine any more, is
// done called on the caller's goroutine, with ErrClosed, before
// AppendAsync returns.
//
// done runs on the writer goroutine, so it should be quick, and it must
// not call Append or Close, which may wait for that goroutine (deadlock).
// AppendAsync, Read, Sync and the offset methods are fine.
func (l *Log) AppendAsync(recs []Record, done func(first int64, err error)) {
	if err := l.Damage(); err != nil {
		if done != nil {
			done(-1, err)
		}
		return
	}
	r := l.newReq(recs)
	r.async, r.done = true, done
	if err := l.q.push(r, false, true); err != nil {
		putReq(r)
		if done != nil {
			done(-1, err)
		}
	}
}
