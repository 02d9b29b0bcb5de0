package storage

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// RepairResult describes what Repair did. The zero value means it found
// nothing to repair.
type RepairResult struct {
	// Damage is what was wrong where the log was cut; nil when nothing was.
	Damage *CorruptError
	// CutAt is the offset the log now ends at (its NextOffset after the
	// repair); the records from there on were removed.
	CutAt int64
	// DroppedRecords is how many offsets the log no longer holds: from
	// CutAt to where the log ended before, including records a missing
	// segment file had already lost and the records of a batch the cut
	// left incomplete.
	DroppedRecords int64
	// SavedTo lists the files, inside the log directory, that hold the
	// bytes removed (corrupt-*.bin). The log never reads or removes them.
	SavedTo []string
}

// Repair cuts the log in dir at its first damage, the explicit operator
// action for a log whose Damage (or Open) reports a *CorruptError: it is
// the only place where the log drops records that are not a torn tail.
// It verifies every segment in order, finds the first damaged entry (a
// checksum or framing error, or a segment holding fewer entries than the
// next segment's name implies, which is what a missing segment file
// leaves), and removes that entry and everything after it: the rest of
// that segment and every later segment. Every byte removed is first
// written, durably, to a corrupt-*.bin file beside the log. A batch left
// incomplete by the cut is cut whole, as Open's recovery does. Afterwards
// the log opens, ends at CutAt and takes appends again; consumers whose
// committed offsets lie past CutAt are moved back to it.
//
// The directory must not be open (Repair takes the log's lock and returns
// an ErrLocked error otherwise). A log without damage is left unchanged
// and the zero RepairResult returned. A nil opts means defaults; only FS
// and Logger are used.
func Repair(dir string, opts *Options) (RepairResult, error) {
	o, err := opts.resolve()
	if err != nil {
		return RepairResult{}, err
	}
	lock, err := lockDir(o.FS, dir)
	if err != nil {
		return RepairResult{}, err
	}
	res, err := repairLocked(&Log{dir: dir, opts: o, fs: o.FS, log: o.Logger}, dir)
	if cerr := lock.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("storage: unlock: %w", cerr)
	}
	if err != nil || res.Damage == nil {
		return res, err
	}
	// Open's recovery cuts a batch the cut left incomplete, and checks
	// that the log opens.
	l, err := Open(dir, &o)
	if err != nil {
		return res, fmt.Errorf("storage: open after repair: %w", err)
	}
	res.CutAt = l.NextOffset()
	res.DroppedRecords += res.Damage.Offset - res.CutAt
	if rec := l.Recovery(); rec.SavedTo != "" {
		res.SavedTo = append(res.SavedTo, rec.SavedTo)
	}
	if err := l.Close(); err != nil {
		return res, err
	}
	o.Logger.Warn("storage: repaired a damaged log", "dir", dir, "cut_at", res.CutAt,
		"dropped_records", res.DroppedRecords, "damage", res.Damage.Error(), "saved_to", res.SavedTo)
	return res, nil
}

// repairLocked finds the first damage and removes it and what follows.
// res.DroppedRecords counts the offsets from the damage to the old end.
func repairLocked(l *Log, dir string) (RepairResult, error) {
	var res RepairResult
	segs, err := listSegments(l.fs, dir)
	if err != nil {
		return res, err
	}
	for i, s := range segs {
		data, err := readSegmentFile(l.fs, s)
		if err != nil {
			return res, err
		}
		sc := scanTail(data)
		last := i == len(segs)-1
		switch {
		case sc.bad >= 0:
			res.Damage = &CorruptError{Segment: s.path, Offset: s.base + sc.count,
				Reason: fmt.Sprintf("%s at byte %d", sc.reason, sc.bad)}
		case !last && s.base+sc.count != segs[i+1].base:
			res.Damage = &CorruptError{Segment: s.path, Offset: s.base + sc.count,
				Reason: fmt.Sprintf("segment holds %d entries, the next segment's name implies %d", sc.count, segs[i+1].base-s.base)}
		default:
			continue
		}
		end, err := logEnd(l.fs, segs, i, data, sc)
		if err != nil {
			return res, err
		}
		res.DroppedRecords = end - res.Damage.Offset
		return res, l.cutAt(&res, segs[i:], data, sc.size)
	}
	return res, nil
}

// logEnd returns where the log ended before the repair: the last
// segment's base plus the frames it holds, valid or not.
func logEnd(fsys FS, segs []*segment, i int, data []byte, sc tailScan) (int64, error) {
	last := segs[len(segs)-1]
	if i < len(segs)-1 {
		var err error
		if data, err = readSegmentFile(fsys, last); err != nil {
			return 0, err
		}
		sc = scanTail(data)
	}
	return last.base + sc.count + int64(countFrames(data[sc.size:])), nil
}

// cutAt removes segs[1:] and the bytes of segs[0] (whose contents are
// data) from size on, saving each first. The later segments go first, so
// that a crash in between leaves a log that is still damaged at the same
// place, and a second Repair finishes the work.
func (l *Log) cutAt(res *RepairResult, segs []*segment, data []byte, size int64) error {
	stamp := time.Now().UnixNano()
	for j := len(segs) - 1; j >= 1; j-- {
		s := segs[j]
		later, err := readSegmentFile(l.fs, s)
		if err != nil {
			return err
		}
		saved, err := l.saveFile(filepath.Join(l.dir, fmt.Sprintf("corrupt-%d-%s.bin", stamp, filepath.Base(s.path))), later)
		if err != nil {
			return err
		}
		res.SavedTo = append(res.SavedTo, saved)
		if err := l.fs.Remove(s.path); err != nil {
			return fmt.Errorf("storage: remove segment after the damage: %w", err)
		}
		if err := l.fs.SyncDir(l.dir); err != nil {
			return fmt.Errorf("storage: sync dir: %w", err)
		}
	}
	s := segs[0]
	if size == int64(len(data)) {
		return nil
	}
	saved, err := l.saveFile(filepath.Join(l.dir, fmt.Sprintf("corrupt-%d-%s.bin", stamp, filepath.Base(s.path))), data[size:])
	if err != nil {
		return err
	}
	res.SavedTo = append(res.SavedTo, saved)
	f, err := l.fs.OpenFile(s.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("storage: open damaged segment: %w", err)
	}
	err = f.Truncate(size)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("storage: cut damaged segment: %w", err)
	}
	return nil
}

// readSegmentFile reads the whole file of s.
func readSegmentFile(fsys FS, s *segment) ([]byte, error) {
	f, err := fsys.OpenFile(s.path, os.O_RDONLY, 0)
	if err != nil {
		return nil, fmt.Errorf("storage: open segment: %w", err)
	}
	defer f.Close()
	data := make([]byte, s.size)
	if n, err := f.ReadAt(data, 0); n != len(data) {
		return nil, fmt.Errorf("storage: read segment %s: %w", s.path, err)
	}
	return data, nil
}
