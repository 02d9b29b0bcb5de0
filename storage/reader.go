package storage

import (
	"errors"
	"os"
	"time"
)

// Read limits used when the caller passes zero or less.
const (
	defaultReadRecords = 10000
	defaultReadBytes   = 1 << 20
)

// Read returns records from offset from onward: at most maxRecords (<= 0
// means 10000) and about maxBytes of encoded records (<= 0 means 1 MiB),
// always at least one record when from < NextOffset. Read(NextOffset())
// returns (nil, nil); use Notify to wait for more. (A log opened with
// Options.OpenDamaged whose damage lies at NextOffset returns the damage
// there instead.)
//
// The returned records and their byte slices belong to the caller: they
// never alias memory the log reuses. (Records of one call may share one
// allocation, so keeping a single record keeps its neighbours' bytes.)
//
// Recent records come from memory; older ones are read from the segment
// files with pread, from the nearest sparse-index position, so readers far
// behind do not disturb the writer or each other. Read may return fewer
// records than allowed (for example at a segment boundary); call again.
//
// Errors: *OffsetError (ErrOffsetOutOfRange) when from is before
// FirstOffset or after NextOffset, including when retention removes the
// segment being read; *CorruptError (ErrCorrupt) when an entry fails its
// checksum; ErrClosed. An error met after some records were read ends the
// call early with those records; the next call, from the offset after
// them, reports it.
func (l *Log) Read(from int64, maxRecords, maxBytes int) ([]Record, error) {
	return l.ReadInto(nil, from, maxRecords, maxBytes)
}

// ReadInto is Read appending to dst[:0]: a consumer that passes back the
// slice of its previous call reuses its capacity instead of allocating
// (and clearing) a new one for every call. Only the Record values in dst
// are overwritten: the byte slices and Headers of the records it held are
// never reused, so a copy of a record kept from an earlier call stays
// intact. Errors are those of Read; when nothing was read the result is
// dst[:0]. A nil dst makes ReadInto exactly Read.
func (l *Log) ReadInto(dst []Record, from int64, maxRecords, maxBytes int) ([]Record, error) {
	if maxRecords <= 0 {
		maxRecords = defaultReadRecords
	}
	if maxBytes <= 0 {
		maxBytes = defaultReadBytes
	}
	q := &readReq{from: from, maxRecords: maxRecords, maxBytes: maxBytes, out: dst[:0]}
	for !q.full() {
		more, err := l.readStep(q)
		if err != nil {
			l.noteDamage(err)
			if len(q.out) > 0 && !errors.Is(err, ErrClosed) {
				break // return what was read; the next call reports the error
			}
			return dst[:0], err
		}
		if !more {
			break
		}
	}
	return q.out, nil
}

// readStep reads from one place (the cache or one segment). It reports
// whether there may be more to read.
func (l *Log) readStep(q *readReq) (bool, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return false, ErrClosed
	}
	if q.from < l.first || q.from > l.next {
		err := &OffsetError{Offset: q.from, First: l.first, Next: l.next}
		l.mu.RUnlock()
		return false, err
	}
	if q.from == l.next {
		l.mu.RUnlock()
		if ce := l.damage.Load(); ce != nil && ce.Offset == q.from {
			return false, ce // opened damaged: the end is the damage, not the tail
		}
		return false, nil
	}
	if cf := l.cache.first(); cf >= 0 && q.from >= cf {
		blocks := l.cache.snapshot(q.from, q.maxBytes-q.nbytes)
		l.mu.RUnlock()
		err := readBlocks(blocks, q)
		for _, b := range blocks {
			b.release()
		}
		return true, err
	}
	s := l.segs[l.findSegment(q.from)]
	if !s.indexed {
		l.mu.RUnlock()
		return true, l.ensureIndexed(s)
	}
	if s.bad != nil {
		l.mu.RUnlock()
		return false, s.bad
	}
	sr, err := l.snapshotSegment(s, q.from)
	l.mu.RUnlock()
	if err != nil {
		return false, l.readError(q.from, err)
	}
	off, err := readSegment(sr, q)
	s.release()
	q.from = off
	if err != nil {
		return false, l.readError(off, err)
	}
	return true, nil
}

// snapshotSegment captures what readSegment needs, holding the segment's
// file for the caller, who releases it. Called with mu held.
func (l *Log) snapshotSegment(s *segment, from int64) (segRead, error) {
	f, err := l.acquire(s)
	if err != nil {
		return segRead{}, err
	}
	i := (from - s.base) / indexEvery
	sr := segRead{
		f: f, path: s.path,
		pos: s.index[i], off: s.base + i*indexEvery,
		end: s.size, offEnd: s.base + s.count, avg: 64,
	}
	if s.count > 0 {
		sr.avg = max(s.size/s.count, 1)
	}
	return sr, nil
}

// readError turns a failure to read a segment that retention removed under
// the reader into an *OffsetError.
func (l *Log) readError(off int64, err error) error {
	l.mu.RLock()
	defer l.mu.RUnlock()
	if l.closed {
		return ErrClosed
	}
	if off < l.first && (errors.Is(err, errRemoved) || errors.Is(err, os.ErrClosed)) {
		return &OffsetError{Offset: off, First: l.first, Next: l.next}
	}
	return err
}

// findSegment returns the index in l.segs of the segment holding off,
// which must be in [first, next). Called with mu held.
func (l *Log) findSegment(off int64) int {
	lo, hi := 0, len(l.segs)
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		if l.segs[m].base <= off {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo - 1
}

// ensureIndexed builds the sparse index of a sealed segment found at Open
// with one sequential scan that also verifies every entry. A corruption
// found is remembered and returned to every later reader.
func (l *Log) ensureIndexed(s *segment) error {
	s.buildMu.Lock()
	defer s.buildMu.Unlock()
	l.mu.RLock()
	done, bad, size, count := s.indexed, s.bad, s.size, s.count
	l.mu.RUnlock()
	if done {
		return bad
	}
	f, err := l.acquire(s)
	if err != nil {
		return l.readError(s.base, err)
	}
	index, maxTS, err := buildIndex(f, s, size, count)
	s.release()
	var ce *CorruptError
	if err != nil && !errors.As(err, &ce) {
		return l.readError(s.base, err)
	}
	l.mu.Lock()
	s.index, s.maxTS, s.bad, s.indexed = index, maxTS, err, true
	l.mu.Unlock()
	if err != nil {
		l.log.Error("storage: corrupt segment", "segment", s.path, "err", err)
	}
	return err
}

// OffsetForTime returns the first offset whose Timestamp is at or after t,
// or NextOffset() when there is none.
//
// Timestamps are not assumed to increase with offsets (producers set their
// own). Each segment keeps its largest timestamp; OffsetForTime skips the
// segments whose largest timestamp is before t and scans the first other
// one from its start, so the answer is exact. Cost: one sequential read of
// that segment, plus, on first use after Open, one read of every older
// segment to learn its largest timestamp (remembered afterwards).
//
// Errors: ErrClosed, *CorruptError.
func (l *Log) OffsetForTime(t time.Time) (int64, error) {
	target := t.UnixNano()
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return 0, ErrClosed
	}
	segs := append([]*segment(nil), l.segs...)
	l.mu.RUnlock()
	for _, s := range segs {
		off, found, err := l.searchSegment(s, target)
		if err != nil {
			l.noteDamage(err)
			if errors.Is(err, ErrOffsetOutOfRange) {
				continue // removed by retention meanwhile
			}
			return 0, err
		}
		if found {
			return off, nil
		}
	}
	return l.NextOffset(), nil
}

// searchSegment finds the first entry of s with a timestamp >= target.
func (l *Log) searchSegment(s *segment, target int64) (int64, bool, error) {
	if err := l.ensureIndexed(s); err != nil {
		return 0, false, err
	}
	l.mu.RLock()
	maxTS, size, count := s.maxTS, s.size, s.count
	l.mu.RUnlock()
	if count == 0 || maxTS < target {
		return 0, false, nil
	}
	f, err := l.acquire(s)
	if err != nil {
		return 0, false, l.readError(s.base, err)
	}
	defer s.release()
	errFound := errors.New("found")
	off := s.base
	err = scanFrames(f, s.path, s.base, size, func(_ int64, e []byte) error {
		ts, reason := decodeEntry(e, nil)
		if reason != "" {
			return &CorruptError{Segment: s.path, Offset: off, Reason: reason}
		}
		if ts >= target {
			return errFound
		}
		off++
		return nil
	})
	if err == errFound {
		return off, true, nil
	}
	if err != nil {
		return 0, false, l.readError(s.base, err)
	}
	return 0, false, nil
}
