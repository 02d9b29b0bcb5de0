package storage

import "fmt"

// SetSync changes the log's durability policy while it is open, for every
// group commit from the next one on (a commit in progress finishes under
// the old policy). Changing to SyncAlways also fsyncs what was written
// before, so that when SetSync returns everything acknowledged is durable.
// Changing to SyncInterval starts the background fsync every
// Options.SyncInterval; changing away from it stops it. The policy is not
// stored: the next Open uses its Options again. It returns ErrClosed after
// Close, an ErrFailed error when the log has failed, or an error for an
// unknown policy.
func (l *Log) SetSync(p SyncPolicy) error {
	if p > SyncNever {
		return fmt.Errorf("storage: unknown sync policy %d", p)
	}
	if l.closing.Load() {
		return ErrClosed
	}
	if l.readOnly != nil {
		return ErrReadOnly
	}
	if SyncPolicy(l.syncA.Swap(uint32(p))) == p {
		return nil
	}
	select {
	case l.retick <- struct{}{}:
	default: // a change is already waiting for the writer: it reads the latest
	}
	if p == SyncAlways {
		return l.Sync()
	}
	return nil
}

// SetMaxRecordSize changes Options.MaxRecordSize for later appends; 0 means
// the default (1 MiB). Appends in progress were checked against the old
// limit. Like Options.MaxRecordSize, it does not limit what is read. It
// returns an error for a negative size.
func (l *Log) SetMaxRecordSize(n int) error {
	if n < 0 {
		return fmt.Errorf("storage: negative MaxRecordSize %d", n)
	}
	if n == 0 {
		n = defaultMaxRecordSize
	}
	l.maxRecA.Store(int64(n))
	return nil
}

// syncPolicy returns the policy in force.
func (l *Log) syncPolicy() SyncPolicy { return SyncPolicy(l.syncA.Load()) }

// maxRecordSize returns the record size limit in force.
func (l *Log) maxRecordSize() int { return int(l.maxRecA.Load()) }
