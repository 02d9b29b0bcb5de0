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
}

// scanTail verifies the entries of data, the contents of a segment, and
// stops at the first invalid one.
func scanTail(data []byte) tailScan {
	sc := tailScan{bad: -1, maxTS: math.MinInt64}
	p := 0
	for p < len(data) {
		e, size, complete, _, badLen := nextFrame(data[p:])
		reason := ""
		switch {
		case badLen:
			reason = "invalid frame length"
		case !complete:
			reason = "truncated entry"
		default:
			var ts int64
			if ts, reason = decodeEntry(e, nil); reason == "" {
				if sc.count%indexEvery == 0 {
					sc.index = append(sc.index, int64(p))
				}
				sc.maxTS = max(sc.maxTS, ts)
			}
		}
		if reason != "" {
			sc.bad, sc.reason = int64(p), reason
			break
		}
		sc.count++
		p += size
	}
	sc.size = int64(p)
	return sc
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

// repairTail verifies every entry of the last segment and cuts it back to
// its last valid entry when what follows is a torn or damaged tail. When a
// valid entry follows the damage, the damage is not at the tail: it
// returns a *CorruptError and changes nothing. Long because the steps must
// happen in this order for crash safety: save the cut bytes durably, then
// truncate and fsync.
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
	if sc.bad < 0 {
		return sc, nil
	}
	if p, ok := resync(data, int(sc.bad)+1); ok {
		return sc, &CorruptError{Segment: s.path, Offset: s.base + sc.count,
			Reason: fmt.Sprintf("%s at byte %d, and a valid entry follows at byte %d", sc.reason, sc.bad, p)}
	}
	cut := data[sc.bad:]
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
	if err := f.Truncate(sc.bad); err != nil {
		return sc, fmt.Errorf("storage: truncate torn tail: %w", err)
	}
	if err := f.Sync(); err != nil {
		return sc, fmt.Errorf("storage: sync truncated tail: %w", err)
	}
	l.recovery = Recovery{
		TruncatedRecords: countFrames(cut),
		TruncatedBytes:   int64(len(cut)),
		SavedTo:          saved,
		Reason: fmt.Sprintf("%s at offset %d (byte %d of %s)%s",
			sc.reason, s.base+sc.count, sc.bad, filepath.Base(s.path), unsaved),
	}
	l.log.Warn("storage: cut a torn tail", "dir", l.dir, "segment", s.path,
		"offset", s.base+sc.count, "bytes", len(cut), "reason", sc.reason, "saved_to", saved)
	s.size = sc.size
	return sc, nil
}

// saveCut writes bytes cut from the log to a new file beside it, durably.
// On failure it removes what it created, so that no empty or partial file
// is left behind.
func (l *Log) saveCut(cut []byte) (string, error) {
	name := filepath.Join(l.dir, fmt.Sprintf("corrupt-%d.bin", time.Now().UnixNano()))
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
