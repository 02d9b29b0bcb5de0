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
	return l.dropFront(func(segs []*segment, _ int64) int {
		k := 0
		for k < len(segs)-1 && segs[k+1].base <= before {
			k++
		}
		return k
	})
}

// TruncateFrontToSize removes, oldest first, sealed segments as long as
// the segments left hold at least maxBytes (Kafka's retention.bytes rule:
// the log keeps at least maxBytes, and less than maxBytes plus one
// segment once it is trimmed). It returns the new FirstOffset. Like
// TruncateFront it never removes the tail segment and does not stop
// appends; its errors are TruncateFront's.
func (l *Log) TruncateFrontToSize(maxBytes int64) (newFirst int64, err error) {
	return l.dropFront(func(segs []*segment, size int64) int {
		k := 0
		for k < len(segs)-1 && size-segs[k].size >= maxBytes {
			size -= segs[k].size
			k++
		}
		return k
	})
}

// dropFront removes the k oldest segments, k chosen by count from the
// segments and the log's size (k < len(segs): never the tail).
func (l *Log) dropFront(count func(segs []*segment, size int64) int) (newFirst int64, err error) {
	if l.readOnly != nil {
		return 0, ErrReadOnly
	}
	l.retMu.Lock()
	defer l.retMu.Unlock()
	l.mu.Lock()
	if l.closed || l.closing.Load() {
		l.mu.Unlock()
		return 0, ErrClosed
	}
	k := count(l.segs, l.size)
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
