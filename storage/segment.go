package storage

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
)

// indexEvery is the sparse index stride: the file position of every
// indexEvery-th entry of a segment is kept in memory.
const indexEvery = 64

// errRemoved is returned internally when a segment was removed by
// retention while a reader was using it.
var errRemoved = errors.New("storage: segment removed")

// segment is one segment file. Offsets base..base+count-1 live in it.
type segment struct {
	base int64  // offset of the first entry (WAL index - 1)
	path string // file path

	// Guarded by Log.mu. For the tail segment the writer updates them when
	// it publishes a group commit; for sealed segments found at Open they
	// are filled by ensureIndexed on first use.
	size    int64   // acknowledged bytes
	count   int64   // acknowledged entries
	index   []int64 // index[i] = file position of entry base+i*indexEvery
	maxTS   int64   // largest timestamp held (math.MinInt64 when empty)
	indexed bool    // index and maxTS are complete
	bad     error   // *CorruptError found while indexing (sticky)

	buildMu sync.Mutex // serializes the lazy index build

	fmu     sync.Mutex
	f       File // read-only handle, opened on first read, closed when evicted and idle
	refs    int  // readers using f now
	evicted bool // close f when the last reader releases it
	removed bool // retention removed the file
}

func newSegment(dir string, base int64) *segment {
	return &segment{
		base:  base,
		path:  filepath.Join(dir, segmentName(base)),
		maxTS: math.MinInt64,
	}
}

// segmentName is tidwall/wal's file name for a segment whose first offset
// is base: the 20-digit WAL index base+1.
func segmentName(base int64) string { return fmt.Sprintf("%020d", base+1) }

// parseSegmentName returns the base offset of a segment file name, or
// false when name is not one.
func parseSegmentName(name string) (int64, bool) {
	if len(name) != 20 {
		return 0, false
	}
	idx, err := strconv.ParseUint(name, 10, 64)
	if err != nil || idx == 0 || idx > math.MaxInt64 {
		return 0, false
	}
	return int64(idx - 1), true
}

// acquire returns the read handle, opening it when needed, for one reader
// who must call release when done with it.
func (s *segment) acquire(fsys FS) (File, error) {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.removed {
		return nil, errRemoved
	}
	if s.f == nil {
		f, err := fsys.OpenFile(s.path, os.O_RDONLY, 0)
		if err != nil {
			return nil, err
		}
		s.f = f
	}
	s.evicted = false
	s.refs++
	return s.f, nil
}

// release ends one reader's use of the handle; the last one closes it if
// it was evicted meanwhile.
func (s *segment) release() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.refs--
	if s.refs == 0 && s.evicted {
		s.closeLocked()
	}
}

// evict closes the read handle now if no reader uses it, or when the last
// one releases it. The next reader opens it again.
func (s *segment) evict() {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	if s.refs == 0 {
		s.closeLocked()
	} else {
		s.evicted = true
	}
}

func (s *segment) closeLocked() error {
	s.evicted = false
	if s.f == nil {
		return nil
	}
	err := s.f.Close()
	s.f = nil
	return err
}

// closeFile closes the read handle for good. Concurrent ReadAt calls on it
// fail (an *os.File is safe to close while in use).
func (s *segment) closeFile() error {
	s.fmu.Lock()
	defer s.fmu.Unlock()
	s.removed = true
	return s.closeLocked()
}

// scanFrames calls fn for each frame of the first size bytes of f, in
// order, with the frame's file position and its entry (valid only during
// the call). A truncated frame is a *CorruptError; fn's error stops the scan.
func scanFrames(f File, path string, base, size int64, fn func(pos int64, e []byte) error) error {
	br := bufio.NewReaderSize(io.NewSectionReader(f, 0, size), 256<<10)
	var buf []byte
	pos := int64(0)
	for n := base; pos < size; n++ {
		ln, err := readUvarint(br)
		if err == nil && ln > uint64(size-pos) {
			err = io.ErrUnexpectedEOF
		}
		if err == nil {
			if uint64(cap(buf)) < ln {
				buf = make([]byte, ln)
			}
			buf = buf[:ln]
			_, err = io.ReadFull(br, buf)
		}
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, errBadVarint) {
				return &CorruptError{Segment: path, Offset: n, Reason: fmt.Sprintf("truncated or invalid frame at byte %d", pos)}
			}
			return err
		}
		if err := fn(pos, buf); err != nil {
			return err
		}
		pos += int64(uvarintLen(ln)) + int64(ln)
	}
	return nil
}

var errBadVarint = errors.New("invalid uvarint")

// readUvarint is binary.ReadUvarint with an error that is not io.EOF for
// an overflow.
func readUvarint(br io.ByteReader) (uint64, error) {
	var x uint64
	var s uint
	for i := 0; i < 10; i++ {
		b, err := br.ReadByte()
		if err != nil {
			if i > 0 && err == io.EOF {
				err = io.ErrUnexpectedEOF
			}
			return 0, err
		}
		if b < 0x80 {
			if i == 9 && b > 1 {
				return 0, errBadVarint
			}
			return x | uint64(b)<<s, nil
		}
		x |= uint64(b&0x7f) << s
		s += 7
	}
	return 0, errBadVarint
}

// buildIndex scans a whole sealed segment that holds want entries and
// returns its sparse index and largest timestamp, verifying every entry.
func buildIndex(f File, s *segment, size, want int64) (index []int64, maxTS int64, err error) {
	maxTS = math.MinInt64
	n := int64(0)
	err = scanFrames(f, s.path, s.base, size, func(pos int64, e []byte) error {
		ts, reason := decodeEntry(e, nil)
		if reason != "" {
			return &CorruptError{Segment: s.path, Offset: s.base + n, Reason: reason}
		}
		if n%indexEvery == 0 {
			index = append(index, pos)
		}
		maxTS = max(maxTS, ts)
		n++
		return nil
	})
	if err == nil && n != want {
		err = &CorruptError{Segment: s.path, Offset: s.base + min(n, want),
			Reason: fmt.Sprintf("segment holds %d entries, the next segment's name implies %d", n, want)}
	}
	return index, maxTS, err
}

// readReq accumulates the result of one Read call.
type readReq struct {
	from       int64
	maxRecords int
	maxBytes   int
	out        []Record
	nbytes     int
}

// grow makes room in q.out for n more records.
func (q *readReq) grow(n int) {
	if n > cap(q.out)-len(q.out) {
		q.out = slices.Grow(q.out, n)
	}
}

func (q *readReq) full() bool {
	return len(q.out) >= q.maxRecords || (len(q.out) > 0 && q.nbytes >= q.maxBytes)
}

// add decodes entry e, the record at offset off, into q.out. The record's
// slices alias e.
func (q *readReq) add(e []byte, off int64, path string) error {
	return q.addEntry(e, off, path, true)
}

// addEntry is add, checking e's checksum only when verify is set.
func (q *readReq) addEntry(e []byte, off int64, path string, verify bool) error {
	n := len(q.out)
	q.out = append(q.out, Record{}) // decode in place: fewer write barriers
	r := &q.out[n]
	if _, _, reason := decode(e, r, verify); reason != "" {
		q.out = q.out[:n]
		return &CorruptError{Segment: path, Offset: off, Reason: reason}
	}
	r.Offset = off
	q.nbytes += len(e)
	return nil
}

// segRead is a snapshot of what a reader needs from a segment.
type segRead struct {
	f      File
	path   string
	pos    int64 // file position of entry off
	off    int64 // an indexed offset <= q.from
	end    int64 // acknowledged size
	avg    int64 // average frame size
	offEnd int64 // offset after the segment's last acknowledged entry
}

// readSegment preads forward from sr.pos, skipping entries before q.from,
// and appends records to q until q is full or the segment ends. It returns
// the offset after the last entry consumed. The buffers it reads into are
// fresh, so the records may alias them.
func readSegment(sr segRead, q *readReq) (int64, error) {
	pos, off := sr.pos, sr.off
	want := int64(0)
	for pos < sr.end && off < sr.offEnd && !q.full() {
		if want == 0 {
			want = chunkSize(sr, q, off)
		}
		want = min(want, sr.end-pos)
		buf := make([]byte, want)
		if _, err := sr.f.ReadAt(buf, pos); err != nil {
			return off, err
		}
		// Size the result for the chunk: growing it record by record costs
		// copies and write barriers. A reused dst (ReadInto) has room.
		q.grow(int(min(int64(q.maxRecords-len(q.out)), want/sr.avg+1)))
		p, need, err := decodeChunk(buf, sr, q, &off)
		if err != nil {
			return off, err
		}
		pos += int64(p)
		want = 0
		if p == 0 { // the next frame does not fit in buf
			if want = max(need, 2*int64(len(buf))); int64(len(buf)) >= sr.end-pos {
				return off, &CorruptError{Segment: sr.path, Offset: off,
					Reason: fmt.Sprintf("entry at byte %d runs past the end of the segment", pos)}
			}
		}
	}
	return off, nil
}

// chunkSize estimates how many bytes to read to fill q from off.
func chunkSize(sr segRead, q *readReq, off int64) int64 {
	skip := max(q.from-off, 0)
	byCount := sr.avg * (skip + int64(q.maxRecords-len(q.out)) + 1)
	byBytes := int64(q.maxBytes-q.nbytes) + sr.avg*(skip+1)
	return max(min(byCount, byBytes), 4096)
}

// decodeChunk consumes the complete frames of buf into q. It returns the
// bytes consumed and, when it stopped at an incomplete frame, that frame's
// size if known.
func decodeChunk(buf []byte, sr segRead, q *readReq, off *int64) (int, int64, error) {
	p := 0
	for p < len(buf) && !q.full() && *off < sr.offEnd {
		e, size, complete, need, bad := nextFrame(buf[p:])
		if bad {
			return p, 0, &CorruptError{Segment: sr.path, Offset: *off,
				Reason: fmt.Sprintf("invalid frame length at byte %d", sr.pos+int64(p))}
		}
		if !complete {
			return p, need, nil
		}
		if *off >= q.from {
			if err := q.add(e, *off, sr.path); err != nil {
				return p, 0, err
			}
		}
		*off++
		p += size
	}
	return p, 0, nil
}
