package storage

import (
	"errors"
	"fmt"
)

// Sentinel errors. Compare with errors.Is: most are returned wrapped, with
// details, and the structured ones (*OffsetError, *CorruptError) match them.
var (
	// ErrClosed is returned by every method of a Log that has been closed
	// (Append, AppendAsync's done, Read, Sync, TruncateFront,
	// OffsetForTime). Close itself never returns it.
	ErrClosed = errors.New("storage: log closed")

	// ErrOffsetOutOfRange is matched by *OffsetError, returned by Read when
	// from is before FirstOffset or after NextOffset (from == NextOffset is
	// not an error: Read returns no records).
	ErrOffsetOutOfRange = errors.New("storage: offset out of range")

	// ErrRecordTooLarge is returned by Append and passed to AppendAsync's
	// done when a record's encoded size exceeds Options.MaxRecordSize. No
	// record of that batch is written.
	ErrRecordTooLarge = errors.New("storage: record too large")

	// ErrCorrupt is matched by *CorruptError, returned by Open when the log
	// is damaged somewhere other than its torn tail, and by Read and
	// OffsetForTime when they meet an entry whose checksum or framing is
	// wrong. Corrupt data is never served and never silently discarded.
	ErrCorrupt = errors.New("storage: log corrupt")

	// ErrFailed is returned by Append, AppendAsync's done and Sync after a
	// write or fsync has failed. The error also wraps the cause (for
	// example syscall.ENOSPC). It is sticky: the Log refuses every later
	// append and sync until it is closed and opened again, which repairs
	// whatever the failed write left behind. Records acknowledged before
	// the failure are not affected.
	ErrFailed = errors.New("storage: log failed")

	// ErrLocked is returned by Open when another open Log, in this process
	// or another one, holds the directory.
	ErrLocked = errors.New("storage: log directory in use")

	// ErrUnexpectedFile is returned, wrapped with the path, by Open when a
	// segment of the log directory is a symbolic link or not a regular file
	// (a FIFO, a device, a socket). The log never follows a link inside its
	// directory, so that a planted link cannot make recovery truncate a
	// file elsewhere, and never opens a special file, which could block.
	ErrUnexpectedFile = errors.New("storage: not a regular file")

	// ErrReadOnly is returned by Sync, SetSync, TruncateFront and
	// TruncateFrontToSize on a log opened with Options.ReadOnly. (Append
	// and AppendAsync on such a log return ErrClosed: it has no writer.)
	ErrReadOnly = errors.New("storage: log opened read-only")
)

// OffsetError reports an offset outside the log. It matches
// ErrOffsetOutOfRange. Valid offsets for Read are First..Next inclusive
// (Next reads nothing).
type OffsetError struct {
	Offset int64 // the offset asked for
	First  int64 // FirstOffset at the time of the call
	Next   int64 // NextOffset at the time of the call
}

// Error implements error.
func (e *OffsetError) Error() string {
	return fmt.Sprintf("storage: offset %d out of range: the log holds %d..%d (next offset %d)",
		e.Offset, e.First, e.Next-1, e.Next)
}

// Is reports whether target is ErrOffsetOutOfRange.
func (e *OffsetError) Is(target error) bool { return target == ErrOffsetOutOfRange }

// CorruptError reports a damaged entry. It matches ErrCorrupt.
type CorruptError struct {
	Segment string // path of the segment file
	Offset  int64  // offset of the first damaged entry
	Reason  string // what is wrong
}

// Error implements error.
func (e *CorruptError) Error() string {
	return fmt.Sprintf("storage: log corrupt: segment %s, offset %d: %s", e.Segment, e.Offset, e.Reason)
}

// Is reports whether target is ErrCorrupt.
func (e *CorruptError) Is(target error) bool { return target == ErrCorrupt }

// failure builds the sticky error of a failed write or sync: it matches
// ErrFailed and the cause.
func failure(op string, cause error) error {
	return fmt.Errorf("%w: %s: %w", ErrFailed, op, cause)
}
