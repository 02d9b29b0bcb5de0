package storage

import (
	"errors"
	"fmt"
	"io/fs"
)

// TruncateFront removes, oldest first, the sealed segments whose records
// all have offsets below before, and returns the new FirstOffset. It never
// removes the tail segment, so it works at segment granularity: records
// below before may remain.
//
// It does not stop appends: it holds the log's lock only to unlink the
// segments from its in-memory list (microseconds), then closes and
// removes the files and fsyncs the directory without blocking the writer.
// Readers in the removed segments get an *OffsetError. Cost: one unlink
// per segment plus one directory fsync.
//
// Crash safety: files are removed oldest first, so the files left always
// form a contiguous log; after a crash in the middle some removed records
// may reappear, never a hole. tidwall/wal (v1.2.1) touches sealed segment
// files only in Read, TruncateFront and TruncateBack, which this package
// never calls, so removing them behind its back is safe.
//
// Errors: ErrClosed; a removal or directory fsync error (the log stays
// usable, and the segments concerned are no longer served).
func (l *Log) TruncateFront(before int64) (newFirst int64, err error) {
	l.retMu.Lock()
	defer l.retMu.Unlock()
	l.mu.Lock()
	if l.closed || l.closing.Load() {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	k := 0
	for k < len(l.segs)-1 && l.segs[k+1].base <= before {
		k++
	}
	if k == 0 {
		first := l.first
		l.mu.Unlock()
		return first, nil
	}
	dropped := append([]*segment(nil), l.segs[:k]...)
	l.segs = append([]*segment(nil), l.segs[k:]...)
	l.first = l.segs[0].base
	for _, s := range dropped {
		l.size -= s.size
	}
	newFirst = l.first
	l.mu.Unlock()

	for _, s := range dropped {
		s.closeFile()
		if err := l.fs.Remove(s.path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return newFirst, fmt.Errorf("storage: remove segment: %w", err)
		}
	}
	if err := l.fs.SyncDir(l.dir); err != nil {
		return newFirst, fmt.Errorf("storage: sync dir after retention: %w", err)
	}
	l.log.Debug("storage: removed segments", "dir", l.dir, "count", len(dropped), "first", newFirst)
	return newFirst, nil
}
