package storage

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Recovery describes what Open repaired. The zero value means the log was
// intact.
type Recovery struct {
	// TruncatedRecords estimates how many records were cut: the frames
	// with a nonzero length prefix in the cut bytes. A torn record counts
	// one; zero fill (what a power loss tends to leave) counts none.
	TruncatedRecords int
	// TruncatedBytes is how many bytes were cut from the last segment.
	TruncatedBytes int64
	// SavedTo is the file, inside the log directory, that holds the cut
	// bytes. The log never reads or removes it.
	SavedTo string
	// Reason says what was wrong, for example "checksum mismatch at
	// offset 41 (byte 4100 of 00000000000000000001)".
	Reason string
}

// tailScan is what scanning the last segment found.
type tailScan struct {
	size   int64   // bytes of valid entries
	count  int64   // valid entries
	index  []int64 // sparse index
	maxTS  int64
	bad    int64 // byte position of the first invalid frame, or -1
	reason string

	// The last batch of the valid entries, when its last record is
	// missing (a crash in the middle of its write): where it starts, and
	// size, count, len(index) and maxTS before it. carried: it began in an
	// earlier segment (it starts at byte 0 here).
	open               bool
	carried            bool
	openPos, openCount int64
	openIndex          int
	openMaxTS          int64
	cut                bool // repairTail cut bytes
}

// scanTail verifies the entries of data, the contents of a segment, and
// stops at the first invalid one. It follows the batches (format 2): each
// record says how many records of its batch follow, so the scan knows
// whether the valid entries end on a batch boundary.
func scanTail(data []byte) tailScan {
	return resumeScan(data, tailScan{maxTS: math.MinInt64, openMaxTS: math.MinInt64})
}

// resumeScan is scanTail continued: data are the bytes of the segment
// that follow the sc.size bytes already scanned into sc, which end on a
// batch boundary. Positions in the result are those of the whole segment.
// A read-only log scans a growing tail this way, reading only what a
// writer added.
func resumeScan(data []byte, sc tailScan) tailScan {
	base := sc.size
	sc.bad, sc.reason, sc.open, sc.cut = -1, "", false, false
	p := 0
	follow := uint64(0) // records still due in the current batch
	for p < len(data) {
		e, size, complete, _, badLen := nextFrame(data[p:])
		reason := ""
		var bp batchPos
		var ts int64
		switch {
		case badLen:
			reason = "invalid frame length"
		case !complete:
			reason = "truncated entry"
		default:
			ts, bp, reason = decode(e, nil, true)
		}
		if reason == "" {
			reason = sc.follows(bp, follow)
		}
		if reason != "" {
			sc.bad, sc.reason = base+int64(p), reason
			break
		}
		if bp.first {
			sc.openPos, sc.openCount, sc.openIndex, sc.openMaxTS = base+int64(p), sc.count, len(sc.index), sc.maxTS
			sc.carried = false
		}
		if sc.count%indexEvery == 0 {
			sc.index = append(sc.index, base+int64(p))
		}
		sc.maxTS = max(sc.maxTS, ts)
		follow = bp.follow
		sc.count++
		p += size
	}
	sc.size = base + int64(p)
	sc.open = follow > 0
	return sc
}

// follows checks that a record in place bp may follow the previous one,
// which left follow records due in its batch, and returns a reason when it
// may not. The first record of a segment may continue a batch begun in the
// segment before (sc.carried).
func (sc *tailScan) follows(bp batchPos, follow uint64) string {
	switch {
	case sc.count == 0 && !bp.first:
		sc.carried = true
	case follow > 0 && (bp.first || bp.follow != follow-1):
		return "broken batch: a record is missing inside a batch"
	case follow == 0 && sc.count > 0 && !bp.first:
		return "broken batch: a record continues a batch that had ended"
	}
	return ""
}

// cutOpenBatch moves the end of the valid entries back to the start of an
// incomplete last batch.
func (sc *tailScan) cutOpenBatch() {
	sc.size, sc.count, sc.index, sc.maxTS = sc.openPos, sc.openCount, sc.index[:sc.openIndex], sc.openMaxTS
}

// resync reports the position of the first valid entry that starts at or
// after from, if any. It is what tells a torn tail (nothing valid follows)
// from damage in the middle of the log.
func resync(data []byte, from int) (int, bool) {
	for q := from; q < len(data); q++ {
		e, _, complete, _, bad := nextFrame(data[q:])
		if bad || !complete || !plausibleEntry(e) {
			continue
		}
		if _, reason := decodeEntry(e, nil); reason == "" {
			return q, true
		}
	}
	return 0, false
}

// countFrames estimates the records in cut bytes (see Recovery).
func countFrames(cut []byte) int {
	n, p := 0, 0
	for p < len(cut) {
		if cut[p] == 0 {
			p++
			continue
		}
		n++
		_, size, complete, _, bad := nextFrame(cut[p:])
		if bad || !complete {
			break
		}
		p += size
	}
	return n
}

// listSegments returns the segments in dir, oldest first, with their
// on-disk sizes.
func listSegments(fsys FS, dir string) ([]*segment, error) {
	ents, err := fsys.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("storage: read dir: %w", err)
	}
	var segs []*segment
	for _, de := range ents {
		name := de.Name()
		if strings.HasSuffix(name, ".START") || strings.HasSuffix(name, ".END") || strings.HasSuffix(name, ".TEMP") {
			return nil, fmt.Errorf("storage: %s: unexpected tidwall/wal truncation file %s", dir, name)
		}
		base, ok := parseSegmentName(name)
		if !ok || de.IsDir() {
			continue
		}
		if !de.Type().IsRegular() {
			return nil, fmt.Errorf("%w: segment %s is a %s", ErrUnexpectedFile, filepath.Join(dir, name), fileKind(de.Type()))
		}
		info, err := de.Info()
		if err != nil {
			return nil, fmt.Errorf("storage: stat segment: %w", err)
		}
		s := newSegment(dir, base)
		s.size = info.Size()
		segs = append(segs, s)
	}
	// ReadDir sorts by name, and zero-padded names sort by index.
	return segs, nil
}

// fileKind names a file type for an error message.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "symbolic link (links inside a log directory are not followed)"
	case m&fs.ModeNamedPipe != 0:
		return "named pipe"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeDevice != 0:
		return "device"
	}
	return "non-regular file"
}

// repairTail verifies every entry of a segment (the last, or one that a
// cut of the last has made the last) and cuts it back to its last valid
// entry when what follows is a torn or damaged tail, and further back to
// the start of the last batch when that batch is incomplete: a batch is
// kept whole or not at all. When a valid entry follows the damage, the
// damage is not at the tail: it returns a *CorruptError and changes
// nothing. Long because the steps must happen in this order for crash
// safety: save the cut bytes durably, then truncate and fsync.
func (l *Log) repairTail(s *segment) (tailScan, error) {
	f, err := l.fs.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return tailScan{}, fmt.Errorf("storage: open tail segment: %w", err)
	}
	defer f.Close()
	data := make([]byte, s.size)
	if n, err := f.ReadAt(data, 0); n != len(data) {
		return tailScan{}, fmt.Errorf("storage: read tail segment %s: %w", s.path, err)
	}
	sc := scanTail(data)
	if sc.bad >= 0 {
		if p, ok := resync(data, int(sc.bad)+1); ok {
			return sc, &CorruptError{Segment: s.path, Offset: s.base + sc.count,
				Reason: fmt.Sprintf("%s at byte %d, and a valid entry follows at byte %d", sc.reason, sc.bad, p)}
		}
	}
	if sc.bad < 0 && !sc.open {
		return sc, nil
	}
	reason := sc.reason
	if sc.open {
		reason = fmt.Sprintf("incomplete batch from offset %d (%d of its records written)", s.base+sc.openCount, sc.count-sc.openCount)
		if sc.carried {
			reason = fmt.Sprintf("incomplete batch begun in an earlier segment (%d of its records here)", sc.count)
		}
		if sc.bad >= 0 {
			reason = sc.reason + ", then " + reason
		}
		sc.cutOpenBatch()
	}
	cut := data[sc.size:]
	saved, err := l.saveCut(cut)
	unsaved := ""
	if errors.Is(err, syscall.ENOSPC) {
		// On a full disk the cut bytes cannot be kept, and refusing to open
		// would leave the operator no way to free space (delete a topic,
		// let retention run). The tail is torn, so cut it all the same and
		// say so.
		unsaved = "; the cut bytes were not saved: no space left on device"
		l.log.Warn("storage: no space to save the cut tail; cutting it unsaved", "dir", l.dir, "bytes", len(cut))
	} else if err != nil {
		return sc, err
	}
	if err := f.Truncate(sc.size); err != nil {
		return sc, fmt.Errorf("storage: truncate torn tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return sc, fmt.Errorf("storage: sync truncated tail: %w", err)
	}
	sc.cut = true
	l.recovery.TruncatedRecords += countFrames(cut)
	l.recovery.TruncatedBytes += int64(len(cut))
	if saved != "" || l.recovery.SavedTo == "" {
		l.recovery.SavedTo = saved
	}
	l.recovery.Reason = joinReason(l.recovery.Reason, fmt.Sprintf("%s at offset %d (byte %d of %s)%s",
		reason, s.base+sc.count, sc.size, filepath.Base(s.path), unsaved))
	l.log.Warn("storage: cut a torn tail", "dir", l.dir, "segment", s.path,
		"offset", s.base+sc.count, "bytes", len(cut), "reason", reason, "saved_to", saved)
	s.size = sc.size
	return sc, nil
}

func joinReason(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}

// saveCut writes bytes cut from the log to a new file beside it, durably.
// On failure it removes what it created, so that no empty or partial file
// is left behind.
func (l *Log) saveCut(cut []byte) (string, error) {
	return l.saveFile(filepath.Join(l.dir, fmt.Sprintf("corrupt-%d.bin", time.Now().UnixNano())), cut)
}

// saveFile is saveCut to the file name, which must not exist.
func (l *Log) saveFile(name string, cut []byte) (string, error) {
	f, err := l.fs.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return "", fmt.Errorf("storage: save cut tail: %w", err)
	}
	_, err = f.Write(cut)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = l.fs.SyncDir(l.dir)
	}
	if err != nil {
		l.fs.Remove(name) // best effort: the error reported is the write's
		return "", fmt.Errorf("storage: save cut tail: %w", err)
	}
	return name, nil
}
