package storage

import (
	"fmt"
	"log/slog"
	"time"
)

// SyncPolicy says when appended records are fsynced. See the package
// documentation for exactly what each policy can lose.
type SyncPolicy uint8

const (
	// SyncAlways fsyncs every group commit before acknowledging it. It is
	// the default.
	SyncAlways SyncPolicy = iota
	// SyncInterval acknowledges a group commit once it is written (write(2))
	// and fsyncs in the background every Options.SyncInterval.
	SyncInterval
	// SyncNever acknowledges once written and never fsyncs on its own; the
	// operating system decides when data reaches the disk. Sync and Close
	// still fsync.
	SyncNever
)

// String returns "always", "interval" or "never".
func (p SyncPolicy) String() string {
	switch p {
	case SyncAlways:
		return "always"
	case SyncInterval:
		return "interval"
	case SyncNever:
		return "never"
	}
	return fmt.Sprintf("SyncPolicy(%d)", uint8(p))
}

// Options configure a Log. The zero value of every field means its default,
// so a nil *Options is valid. Negative sizes or durations are an error.
type Options struct {
	// SegmentSize is the size at which a segment file is sealed and a new
	// one started. Retention (TruncateFront) removes whole segments, and an
	// open log keeps up to about two segments in memory (see the package
	// documentation), so this trades memory per partition against the
	// granularity of retention. Default: 4 MiB.
	SegmentSize int

	// Sync is the durability policy. Default: SyncAlways.
	Sync SyncPolicy

	// SyncInterval is how often the background fsync runs under the
	// SyncInterval policy; ignored otherwise. Default: 100ms.
	SyncInterval time.Duration

	// MaxRecordSize is the largest encoded size of one record (key, value,
	// headers and about 20 bytes of framing). Larger records are refused
	// with ErrRecordTooLarge. It does not limit what Open accepts from
	// disk. Default: 1 MiB.
	MaxRecordSize int

	// CacheBytes is the memory, in encoded bytes, kept for the most recent
	// records so that readers at the tail do not touch the file. Records
	// are cached one group commit at a time, so a tiny value (say 1)
	// effectively disables the cache; readers then pread the segment file.
	// Default: 1 MiB.
	CacheBytes int

	// OpenDamaged makes Open open a log whose last segment is damaged in
	// the middle (not a torn tail) instead of failing: the log opens with
	// that damage as its Damage, serves the records before the damage,
	// refuses appends, and waits for Repair. Default: false (Open
	// returns the *CorruptError).
	OpenDamaged bool

	// Logger receives recovery reports (Warn) and write failures (Error).
	// The library never prints. Default: discard.
	Logger *slog.Logger

	// FS is the file system the log uses. It is a seam for fault injection
	// in tests; see FS for what it covers. Default: the operating system's.
	FS FS

	// Observer, when set, receives the duration of every group commit and
	// fsync (see Observer). Default: nil, nothing is measured.
	Observer Observer

	// ReadOnly opens the log for reading only, as bbolt's ReadOnly does: no
	// lock is taken (another process may hold the directory and keep
	// appending), nothing is created, repaired or written, and Append,
	// Sync, SetSync and TruncateFront are refused (see ErrReadOnly). A torn
	// or incomplete tail, such as a batch a live writer is still writing,
	// is not cut: the log ends at the last complete batch. Refresh, and
	// the Notify channels (polled every PollInterval), see what the writer
	// adds later. Default: false.
	ReadOnly bool

	// PollInterval is how often a read-only log looks for new records once
	// Notify has been called. Ignored unless ReadOnly. Default: 200ms.
	PollInterval time.Duration
}

const (
	defaultSegmentSize   = 4 << 20
	defaultSyncInterval  = 100 * time.Millisecond
	defaultMaxRecordSize = 1 << 20
	defaultCacheBytes    = 1 << 20
	defaultPollInterval  = 200 * time.Millisecond
)

// resolve returns a copy of o with defaults filled in.
func (o *Options) resolve() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	if r.SegmentSize < 0 || r.SyncInterval < 0 || r.MaxRecordSize < 0 || r.CacheBytes < 0 || r.PollInterval < 0 {
		return r, fmt.Errorf("storage: invalid options: negative size or interval")
	}
	if r.Sync > SyncNever {
		return r, fmt.Errorf("storage: invalid options: unknown sync policy %d", r.Sync)
	}
	if r.SegmentSize == 0 {
		r.SegmentSize = defaultSegmentSize
	}
	if r.SyncInterval == 0 {
		r.SyncInterval = defaultSyncInterval
	}
	if r.MaxRecordSize == 0 {
		r.MaxRecordSize = defaultMaxRecordSize
	}
	if r.PollInterval == 0 {
		r.PollInterval = defaultPollInterval
	}
	if r.CacheBytes == 0 {
		r.CacheBytes = defaultCacheBytes
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	if r.FS == nil {
		r.FS = OSFS()
	}
	return r, nil
}
