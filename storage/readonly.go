package storage

import (
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"sync"
	"time"
)

// roState is what a read-only log keeps between scans of its end.
type roState struct {
	mu      sync.Mutex // serializes Refresh
	base    int64      // the segment that sc describes, or -1
	sc      tailScan   // where its scan stopped: on a batch boundary
	once    sync.Once  // starts the poller
	pollers sync.WaitGroup
}

// openReadOnly is Open for Options.ReadOnly: no lock, nothing created or
// written, no writer goroutine.
func openReadOnly(dir string, o Options) (*Log, error) {
	l := &Log{
		dir: dir, opts: o, fs: o.FS, log: o.Logger, lock: io.NopCloser(nil),
		stop:       make(chan struct{}),
		writerDone: make(chan struct{}),
		notify:     make(chan struct{}),
		retick:     make(chan struct{}, 1),
		readOnly:   &roState{base: -1},
		walClosed:  true,
	}
	close(l.writerDone)
	l.q.wake = make(chan struct{}, 1)
	l.q.close() // no writer: appends are refused as on a closed log
	l.syncA.Store(uint32(o.Sync))
	l.maxRecA.Store(int64(o.MaxRecordSize))
	if _, err := l.Refresh(); err != nil {
		// With OpenDamaged, a read-only log opens damaged as a writable
		// one does (see loadDamaged), so that its partition fails alone.
		// What a read-only scan could not get past is not served.
		var ce *CorruptError
		if !o.OpenDamaged || !errors.As(err, &ce) {
			return nil, err
		}
		l.damage.Store(ce)
		l.log.Error("storage: log damaged at open", "dir", l.dir, "segment", ce.Segment, "offset", ce.Offset, "reason", ce.Reason)
	}
	return l, nil
}

// Refresh makes a read-only log see what the process writing it has added
// (or retention has removed) since Open or the last Refresh: it lists the
// segments again and scans only the bytes added to the tail. It reports
// whether NextOffset advanced, and closes the Notify channel when it did.
// The new end is, as at Open, the last complete batch of valid entries;
// damage followed by a valid entry is a *CorruptError, as Open reports it.
// On a log that is not read-only, Refresh does nothing: the log sees its
// own appends. Errors: ErrClosed, *CorruptError, a file system error.
func (l *Log) Refresh() (bool, error) {
	ro := l.readOnly
	if ro == nil {
		return false, nil
	}
	ro.mu.Lock()
	defer ro.mu.Unlock()
	listed, err := listSegments(l.fs, l.dir)
	if err != nil {
		return false, err
	}
	l.mu.RLock()
	closed, old := l.closed, l.segs
	l.mu.RUnlock()
	if closed {
		return false, ErrClosed
	}
	segs := reuseSegments(old, listed)
	if len(segs) == 0 { // a log not written yet: empty until its first segment
		s := newSegment(l.dir, 0)
		s.indexed = true
		segs = []*segment{s}
	}
	sizes := make([]int64, len(listed))
	for i, s := range listed {
		sizes[i] = s.size
	}
	view, sc, err := l.viewEnd(segs, sizes)
	if err != nil {
		var ce *CorruptError
		if l.opts.OpenDamaged && errors.As(err, &ce) && ce.Segment == segs[view-1].path {
			// Damage in the tail: serve what precedes it, as a writable
			// log opened damaged does, and report it.
			return l.install(old, segs, view, sizes, sc), err
		}
		return false, err
	}
	return l.install(old, segs, view, sizes, sc), nil
}

// reuseSegments returns the listed segments, keeping the segment values
// (their indexes and read handles) of those already known.
func reuseSegments(old, listed []*segment) []*segment {
	known := make(map[int64]*segment, len(old))
	for _, s := range old {
		known[s.base] = s
	}
	segs := make([]*segment, len(listed))
	for i, s := range listed {
		if k, ok := known[s.base]; ok {
			segs[i] = k
		} else {
			segs[i] = s
		}
	}
	return segs
}

// viewEnd finds where the log ends, as repairEnd does but changing
// nothing: the tail segment's last complete batch, or, while the tail holds
// only part of a batch begun before it, that batch's start in the segment
// before. It returns how many segments the view holds and the scan of its
// last one.
func (l *Log) viewEnd(segs []*segment, sizes []int64) (int, tailScan, error) {
	n := len(segs)
	sc, err := l.scanEnd(segs[n-1], sizeAt(sizes, n-1))
	for err == nil && sc.count == 0 && n > 1 {
		psc, perr := l.scanEnd(segs[n-2], sizeAt(sizes, n-2))
		if err = perr; err != nil || !psc.cut {
			break
		}
		n, sc = n-1, psc
	}
	return n, sc, err
}

func sizeAt(sizes []int64, i int) int64 {
	if i < len(sizes) {
		return sizes[i]
	}
	return 0
}

// scanEnd scans segment s, size bytes long, to its last complete batch,
// resuming the previous scan when it was of the same segment. sc.cut says
// that bytes after the end were left out (an incomplete batch or a torn
// entry).
func (l *Log) scanEnd(s *segment, size int64) (tailScan, error) {
	ro := l.readOnly
	start := tailScan{maxTS: math.MinInt64, openMaxTS: math.MinInt64}
	if ro.base == s.base && ro.sc.size <= size {
		start = ro.sc
		start.index = slices.Clip(start.index)
	}
	if size == start.size {
		return start, nil
	}
	data := make([]byte, size-start.size)
	if err := l.readAt(s.path, data, start.size); err != nil {
		return tailScan{}, err
	}
	sc := resumeScan(data, start)
	if sc.bad >= 0 {
		if p, ok := resync(data, int(sc.bad-start.size)+1); ok {
			// The scan stands up to the damage, as loadDamaged serves a
			// writable log opened damaged; it is not kept for the next
			// Refresh, which meets the same damage again.
			return sc, &CorruptError{Segment: s.path, Offset: s.base + sc.count,
				Reason: fmt.Sprintf("%s at byte %d, and a valid entry follows at byte %d", sc.reason, sc.bad, start.size+int64(p))}
		}
		sc.cut = true
	}
	if sc.open {
		sc.cutOpenBatch()
		sc.cut = true
	}
	ro.base, ro.sc = s.base, sc
	return sc, nil
}

// readAt reads len(data) bytes of the file at path from position pos.
func (l *Log) readAt(path string, data []byte, pos int64) error {
	f, err := l.fs.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return fmt.Errorf("storage: open segment: %w", err)
	}
	defer f.Close()
	if n, err := f.ReadAt(data, pos); n != len(data) {
		return fmt.Errorf("storage: read segment %s: %w", path, err)
	}
	return nil
}

// install makes the view of n segments, the last one scanned into sc, the
// log's, and reports whether NextOffset advanced. Segments that retention
// removed are closed.
func (l *Log) install(old, segs []*segment, n int, sizes []int64, sc tailScan) bool {
	view := segs[:n]
	tail := view[n-1]
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, s := range view[:n-1] {
		if size := sizeAt(sizes, i); s.size != size || s.count != view[i+1].base-s.base {
			// Sealed since it was last seen (or first seen): index it afresh
			// on first read, over its whole length.
			s.size, s.count, s.index, s.indexed, s.bad = size, view[i+1].base-s.base, nil, false, nil
			s.maxTS = math.MinInt64
		}
	}
	tail.size, tail.count, tail.index, tail.maxTS = sc.size, sc.count, slices.Clone(sc.index), sc.maxTS
	tail.indexed, tail.bad = true, nil
	for _, s := range old {
		if !slices.Contains(segs, s) {
			s.closeFile() // removed by the writer's retention
		}
	}
	l.segs = view
	l.first, l.size = view[0].base, 0
	for _, s := range view {
		l.size += s.size
	}
	next := tail.base + tail.count
	advanced := next > l.next
	l.next = next
	l.nextA.Store(next)
	if advanced {
		close(l.notify)
		l.notify = make(chan struct{})
	}
	return advanced
}

// startPolling starts, once, the goroutine that refreshes a read-only log
// every PollInterval so that Notify channels close when records arrive.
// Close stops it.
func (l *Log) startPolling() {
	ro := l.readOnly
	ro.once.Do(func() {
		ro.pollers.Add(1)
		go l.poll()
	})
}

func (l *Log) poll() {
	defer l.readOnly.pollers.Done()
	t := time.NewTicker(l.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-l.stop:
			return
		case <-t.C:
			if _, err := l.Refresh(); err != nil && !errors.Is(err, ErrClosed) && !l.knownDamage(err) {
				l.log.Warn("storage: refresh read-only log", "dir", l.dir, "err", err)
			}
		}
	}
}

// knownDamage reports whether err is the damage the log already reports
// (Damage), which every Refresh of a log opened damaged meets again.
func (l *Log) knownDamage(err error) bool {
	var ce *CorruptError
	d := l.damage.Load()
	return d != nil && errors.As(err, &ce) && ce.Segment == d.Segment && ce.Offset == d.Offset
}

// closeReadOnly is Close for a read-only log: it stops the poller and
// closes the read handles.
func (l *Log) closeReadOnly() error {
	l.closing.Store(true)
	close(l.stop)
	l.readOnly.pollers.Wait()
	l.readOnly.mu.Lock() // no Refresh in progress
	defer l.readOnly.mu.Unlock()
	l.mu.Lock()
	l.closed = true
	close(l.notify)
	segs := l.segs
	l.mu.Unlock()
	for _, s := range segs {
		s.closeFile()
	}
	return nil
}
