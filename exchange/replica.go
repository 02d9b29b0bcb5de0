package exchange

// Snapshot policy: a writer whose record leaves this many records, or
// bytes, after the latest snapshot writes a new one, so that replaying the
// log from its latest snapshot costs at most that much.
const (
	snapshotEvery      = 256
	snapshotEveryBytes = 256 << 10
	// maxSnapshotBytes keeps a snapshot under the default 1 MiB message
	// limit; a larger state is not snapshotted (see the package doc).
	maxSnapshotBytes = 768 << 10
	// recordOverhead is what the log stores per record beyond its value,
	// counted generously, for snapshotEveryBytes and retention.
	recordOverhead = 128
	// maxDeltas bounds the records kept for re-applying on top of a
	// snapshot written by a process that had not read them yet.
	maxDeltas = 4 * snapshotEvery
	// metaRetentionBytes is the retention of the declarations log where
	// Brook can set it (the embedded backend): well above a snapshot and
	// the records that follow it, so the latest snapshot is never dropped.
	metaRetentionBytes = 4 << 20
)

// delta is one applied record with its offset in the declarations log.
type delta struct {
	off int64
	rec record
}

// replica is the state rebuilt from the declarations log, record by
// record: deltas apply to it; a snapshot replaces it. A snapshot covers the
// records before its AsOf (what its writer had read), so the deltas from
// AsOf up to the snapshot itself are applied again on top of it. It is not
// safe for concurrent use: Conn guards it.
type replica struct {
	st        *state
	next      int64 // the offset of the next record to apply
	asOf      int64 // the AsOf of the snapshot installed last
	deltas    []delta
	sinceSnap int // records since the latest snapshot record
	bytesSnap int // and their bytes
	bad       int // malformed records skipped
}

func newReplica() *replica { return &replica{st: newState()} }

// apply applies the record at offset off, whose value is value. Offsets
// already applied are ignored (a redelivery).
func (r *replica) apply(off int64, value []byte) {
	if off < r.next {
		return
	}
	r.next = off + 1
	rec, err := decodeRecord(value)
	if err != nil {
		r.bad++
		return
	}
	if rec.Op == opSnapshot {
		r.install(off, &rec)
		return
	}
	r.st.apply(&rec)
	r.deltas = append(r.deltas, delta{off, rec})
	if len(r.deltas) > maxDeltas {
		r.deltas = append(r.deltas[:0], r.deltas[len(r.deltas)-maxDeltas:]...)
	}
	r.sinceSnap++
	r.bytesSnap += len(value) + recordOverhead
}

// install replaces the state with the snapshot at offset off, then applies
// again the deltas it did not cover. A snapshot older than the installed
// one is ignored.
func (r *replica) install(off int64, rec *record) {
	r.sinceSnap, r.bytesSnap = 0, 0
	if rec.AsOf < r.asOf {
		return
	}
	st := stateFrom(rec.Snapshot)
	keep := r.deltas[:0]
	for _, d := range r.deltas {
		if d.off >= rec.AsOf && d.off < off {
			st.apply(&d.rec)
			keep = append(keep, d)
		}
	}
	r.st, r.asOf, r.deltas = st, rec.AsOf, keep
}

// snapshotDue reports whether the log has grown enough since the latest
// snapshot for a writer to add one.
func (r *replica) snapshotDue() bool {
	return r.sinceSnap >= snapshotEvery || r.bytesSnap >= snapshotEveryBytes
}

// snapshotRecord returns the snapshot of the current state, as of next.
func (r *replica) snapshotRecord() record {
	return record{Op: opSnapshot, AsOf: r.next, Snapshot: r.st.snapshot()}
}
