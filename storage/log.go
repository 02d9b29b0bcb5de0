package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tidwall/wal"
)

// Log is a durable, append-only log of records for one partition. All
// methods are safe for concurrent use.
type Log struct {
	dir      string
	opts     Options
	fs       FS
	log      *slog.Logger
	lock     io.Closer
	recovery Recovery // set by Open, then read-only

	// walMu serializes every call on w (tidwall/wal is not safe for
	// concurrent use, see upstream issue #34): the writer goroutine, Sync
	// and Close.
	walMu     sync.Mutex
	w         *wal.Log
	batch     wal.Batch // reused by the writer
	unsynced  bool      // written since the last fsync
	dirDirty  bool      // a segment file was created since the last directory fsync
	walClosed bool

	q          queue
	stop       chan struct{}
	writerDone chan struct{}
	wtail      *segment // the tail segment as the writer sees it (writer-owned)
	plan       plan     // reused by the writer
	spare      *block   // a recycled cache block for the next commit (under walMu)
	gatherSt   gatherState
	pending    observation // for opts.Observer (under walMu)

	mu     sync.RWMutex
	segs   []*segment // oldest first; the last is the tail
	first  int64
	next   int64
	size   int64
	cache  tailCache
	notify chan struct{}
	closed bool

	handles handleCache // the segments with an open read handle

	readOnly *roState // set when opened with Options.ReadOnly

	// The settings SetSync and SetMaxRecordSize change while the log is
	// open; opts.Sync and opts.MaxRecordSize hold their values at Open.
	syncA   atomic.Uint32 // the SyncPolicy
	maxRecA atomic.Int64  // MaxRecordSize
	retick  chan struct{} // capacity 1: the writer re-reads the policy

	nextA     atomic.Int64                 // mirror of next for NextOffset
	damage    atomic.Pointer[CorruptError] // the first damage a reader met (sticky, see Damage)
	closing   atomic.Bool                  // Close has begun
	retMu     sync.Mutex                   // serializes TruncateFront with Close
	closeOnce sync.Once
	closeErr  error
}

// Open opens the log in dir, creating dir (mode 0700, files 0600) if
// needed (unless Options.ReadOnly, see there), durably (its parent
// directory is fsynced; parents that MkdirAll creates above it are not),
// and recovers it: a torn or damaged tail of the last segment is cut back
// to the last valid entry (the cut bytes are saved beside the log and
// reported by Recovery). Damage anywhere else is not repaired: Open
// returns a *CorruptError when it finds it in the last segment (or, with
// Options.OpenDamaged, opens the log with it as its Damage), and Read
// returns one when it meets it in an older segment; Repair cuts it. A nil opts means
// defaults. Open fails with an error matching ErrLocked when the directory
// is already open. Open starts one writer goroutine, stopped by Close.
func Open(dir string, opts *Options) (*Log, error) {
	o, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	if o.ReadOnly {
		return openReadOnly(dir, o)
	}
	// A directory that Open creates is durable only once its parent is
	// fsynced: without that, a power loss could take away a new log whose
	// appends were all acknowledged as durable.
	_, statErr := o.FS.ReadDir(dir)
	if err := o.FS.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("storage: create dir: %w", err)
	}
	if errors.Is(statErr, fs.ErrNotExist) {
		if err := o.FS.SyncDir(filepath.Dir(dir)); err != nil {
			return nil, fmt.Errorf("storage: sync parent of new dir: %w", err)
		}
	}
	lock, err := lockDir(o.FS, dir)
	if err != nil {
		return nil, err
	}
	l := &Log{
		dir: dir, opts: o, fs: o.FS, log: o.Logger, lock: lock,
		stop:       make(chan struct{}),
		writerDone: make(chan struct{}),
		notify:     make(chan struct{}),
		retick:     make(chan struct{}, 1),
	}
	l.syncA.Store(uint32(o.Sync))
	l.maxRecA.Store(int64(o.MaxRecordSize))
	l.q.wake = make(chan struct{}, 1)
	l.cache.limit = o.CacheBytes
	if err := l.load(); err != nil {
		lock.Close()
		return nil, err
	}
	go l.run()
	return l, nil
}

// load lists the segments, repairs the tail and opens the wal. Sealed
// segments are only checked when first read (see ensureIndexed): Open
// costs one read of the last segment, whatever the size of the log.
func (l *Log) load() error {
	segs, err := listSegments(l.fs, l.dir)
	if err != nil {
		return err
	}
	var tail *segment
	if len(segs) == 0 { // a new log: wal.Open creates the first segment
		tail = newSegment(l.dir, 0)
		tail.indexed = true
		segs = []*segment{tail}
		l.dirDirty = true
	} else {
		all := segs
		if segs, err = l.repairEnd(segs); err != nil {
			return l.loadDamaged(all, err)
		}
		tail = segs[len(segs)-1]
	}
	w, err := l.openWAL(tail.base + tail.count)
	if err != nil {
		return err
	}
	if l.dirDirty {
		if err := l.fs.SyncDir(l.dir); err != nil {
			w.Close()
			return fmt.Errorf("storage: sync dir: %w", err)
		}
		l.dirDirty = false
	}
	l.w, l.segs, l.wtail = w, segs, tail
	l.first, l.next = segs[0].base, tail.base+tail.count
	l.nextA.Store(l.next)
	for _, s := range segs {
		l.size += s.size
	}
	return nil
}

// loadDamaged opens the log read-only when repairEnd found damage in the
// middle of the last segment and opts.OpenDamaged is set: no wal (appends
// are refused by Damage), the entries of the last segment before the
// damage served (repairEnd indexed them), and a read at the damage
// reporting it. Otherwise it returns err.
func (l *Log) loadDamaged(segs []*segment, err error) error {
	var ce *CorruptError
	tail := segs[len(segs)-1]
	if !l.opts.OpenDamaged || !errors.As(err, &ce) || ce.Segment != tail.path {
		return err
	}
	for i, s := range segs[:len(segs)-1] {
		s.count = segs[i+1].base - s.base
	}
	tail.count = ce.Offset - tail.base
	l.damage.Store(ce)
	l.walClosed = true
	l.segs, l.wtail = segs, tail
	l.first, l.next = segs[0].base, tail.base+tail.count
	l.nextA.Store(l.next)
	for _, s := range segs {
		l.size += s.size
	}
	l.log.Error("storage: log damaged at open; appends are refused until it is repaired",
		"dir", l.dir, "segment", ce.Segment, "offset", ce.Offset, "reason", ce.Reason)
	return nil
}

// repairEnd repairs the end of the log: the tail segment, and, while the
// tail is left empty, the segment before it, whose last batch may be
// incomplete (a batch can span a segment roll). A segment emptied by
// cutting a batch that began before it is removed; its bytes were saved
// by repairTail. It returns the segments that remain, the last one
// indexed as the tail.
func (l *Log) repairEnd(segs []*segment) ([]*segment, error) {
	tail := segs[len(segs)-1]
	sc, err := l.repairTail(tail)
	for err == nil && sc.count == 0 && len(segs) > 1 {
		prev := segs[len(segs)-2]
		var psc tailScan
		if psc, err = l.repairTail(prev); err != nil || !psc.cut {
			break // prev ends with a whole batch: the empty tail follows it
		}
		if err = l.fs.Remove(tail.path); err != nil {
			err = fmt.Errorf("storage: remove segment after an incomplete batch: %w", err)
			break
		}
		l.dirDirty = true
		segs, tail, sc = segs[:len(segs)-1], prev, psc
	}
	var ce *CorruptError
	if err != nil && (!errors.As(err, &ce) || ce.Segment != tail.path) {
		return nil, err
	}
	// Damage in the middle of the tail leaves sc describing the entries
	// before it, which loadDamaged serves.
	tail.size, tail.count, tail.index, tail.maxTS = sc.size, sc.count, sc.index, sc.maxTS
	tail.indexed = true
	if err != nil {
		return nil, err
	}
	for i, s := range segs[:len(segs)-1] {
		s.count = segs[i+1].base - s.base
	}
	return segs, nil
}

// openWAL opens the wal (which loads the tail segment) and checks that it
// agrees with the scan on where the log ends.
func (l *Log) openWAL(next int64) (*wal.Log, error) {
	w, err := wal.Open(l.dir, &wal.Options{
		NoSync:           true, // storage fsyncs itself
		SegmentSize:      l.opts.SegmentSize,
		SegmentCacheSize: 1,
		AllowEmpty:       true,
		DirPerms:         0o700,
		FilePerms:        0o600,
	})
	if err != nil {
		return nil, fmt.Errorf("storage: open wal: %w", err)
	}
	if last, err := w.LastIndex(); err != nil || int64(last) != next {
		w.Close()
		return nil, fmt.Errorf("storage: open wal: last index %d, want %d (%v)", last, next, err)
	}
	return w, nil
}

// FirstOffset returns the first offset the log still holds, or NextOffset
// when it is empty.
func (l *Log) FirstOffset() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.first
}

// NextOffset returns the offset the next record will get. It advances only
// when a group commit is acknowledged (durable per the SyncPolicy), so
// readers never see unacknowledged records.
func (l *Log) NextOffset() int64 { return l.nextA.Load() }

// Notify returns a channel that is closed at the next acknowledged append,
// or at Close. A tail reader does:
//
//	ch := l.Notify()
//	if l.NextOffset() > pos { read } else { select { case <-ch: case <-ctx.Done(): } }
func (l *Log) Notify() <-chan struct{} {
	if l.readOnly != nil {
		l.startPolling()
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.notify
}

// Size returns the bytes on disk of all segments (acknowledged entries).
func (l *Log) Size() int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.size
}

// Recovery reports what Open repaired; the zero value means nothing.
func (l *Log) Recovery() Recovery { return l.recovery }

// Dir returns the directory of the log.
func (l *Log) Dir() string { return l.dir }

// Sync fsyncs everything acknowledged so far (useful under SyncInterval
// and SyncNever). It blocks behind a group commit in progress. It returns
// ErrClosed after Close and an ErrFailed error when the log has failed; a
// failing fsync makes the log failed.
func (l *Log) Sync() error {
	if l.readOnly != nil {
		return ErrReadOnly
	}
	l.walMu.Lock()
	if l.w == nil && !l.closing.Load() { // opened damaged
		l.walMu.Unlock()
		return l.Damage()
	}
	if l.walClosed || l.closing.Load() {
		l.walMu.Unlock()
		return ErrClosed
	}
	if err := l.q.failed(); err != nil {
		l.walMu.Unlock()
		return err
	}
	err := l.syncLocked()
	o := l.takeObservation()
	l.walMu.Unlock()
	l.report(o)
	return err
}

// syncLocked fsyncs the tail segment and, if a segment was created, the
// directory. Called with walMu held.
func (l *Log) syncLocked() error {
	var start time.Time
	if l.opts.Observer != nil {
		start = time.Now()
	}
	if err := l.fs.WALSync(l.dir, l.w.Sync); err != nil {
		return l.fail("sync", err)
	}
	if l.dirDirty {
		if err := l.fs.SyncDir(l.dir); err != nil {
			return l.fail("sync dir", err)
		}
	}
	l.unsynced, l.dirDirty = false, false
	if l.opts.Observer != nil {
		l.pending.synced, l.pending.syncDur = true, time.Since(start)
	}
	return nil
}

// fail makes the log failed (sticky) and returns the error appenders get.
func (l *Log) fail(op string, cause error) error {
	err := l.q.setFailed(failure(op, cause))
	l.log.Error("storage: log failed; appends are refused until it is reopened",
		"dir", l.dir, "op", op, "err", cause)
	return err
}

// Close stops accepting appends, waits for the writer goroutine to write
// the appends already accepted, fsyncs (unless the log has failed), and
// releases the directory. Later calls on the log return ErrClosed; Notify
// channels are closed. Close is idempotent: later calls return nil.
func (l *Log) Close() error {
	first := false
	l.closeOnce.Do(func() {
		first = true
		l.closeErr = l.close()
	})
	if !first {
		return nil
	}
	return l.closeErr
}

func (l *Log) close() error {
	if l.readOnly != nil {
		return l.closeReadOnly()
	}
	l.closing.Store(true)
	l.q.close()
	close(l.stop)
	<-l.writerDone

	var errs []error
	l.walMu.Lock()
	ferr := l.q.failed()
	failed := ferr != nil
	if failed {
		errs = append(errs, ferr) // what was acknowledged since may not be durable
	} else if l.w != nil {
		if err := l.syncLocked(); err != nil {
			errs = append(errs, err)
		}
	}
	if l.w != nil { // nil: opened damaged, without a wal
		if err := l.w.Close(); err != nil && !failed {
			errs = append(errs, fmt.Errorf("storage: close wal: %w", err))
		}
	}
	l.walClosed = true
	o := l.takeObservation()
	l.walMu.Unlock()
	l.report(o)

	l.retMu.Lock()
	l.mu.Lock()
	l.closed = true
	close(l.notify)
	segs := l.segs
	l.cache = tailCache{}
	l.mu.Unlock()
	for _, s := range segs {
		s.closeFile()
	}
	l.retMu.Unlock()
	if err := l.lock.Close(); err != nil {
		errs = append(errs, fmt.Errorf("storage: unlock: %w", err))
	}
	return errors.Join(errs...)
}
