package storage

import "errors"

// Damage returns the *CorruptError of the first damage a reader of this
// log met (Read, ReadInto, OffsetForTime, or the index build of a sealed
// segment on first read), or nil while none was met. Damage is sticky for
// the life of the Log: once found, Append and AppendAsync refuse every
// batch with it, since acknowledging records on top of a hole would make
// the log keep growing past data nobody can read. Reads that do not reach
// the damage keep working. Reopening does not clear it (the damage is
// still on disk); Repair does, by cutting the log at the damage.
func (l *Log) Damage() error {
	if ce := l.damage.Load(); ce != nil {
		return ce
	}
	return nil
}

// Failure returns why the log refuses appends: its Damage, else the sticky
// ErrFailed error of a failed write or fsync (cleared by reopening), else
// nil.
func (l *Log) Failure() error {
	if err := l.Damage(); err != nil {
		return err
	}
	return l.q.failed()
}

// noteDamage records err as the log's damage when it is the first
// *CorruptError met.
func (l *Log) noteDamage(err error) {
	var ce *CorruptError
	if !errors.As(err, &ce) {
		return
	}
	if l.damage.CompareAndSwap(nil, ce) {
		l.log.Error("storage: log damaged; appends are refused until it is repaired",
			"dir", l.dir, "segment", ce.Segment, "offset", ce.Offset, "reason", ce.Reason)
	}
}
