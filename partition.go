package brook

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook/storage"
)

// partition is one partition of a topic: its index and its log, or the
// failure that kept the log from opening. It is the only part of the
// package that handles a partition's *storage.Log: publishes, reads,
// retention and stats go through its methods, which map the storage's
// errors to the public ones (*PartitionError, *OffsetError, or
// ErrUnknownTopic for a topic deleted meanwhile).
//
// Its fields are set when it is opened and never change, so it is safe for
// concurrent use without a lock of its own (the log has its own).
type partition struct {
	t     *Topic
	index int
	// log is nil when the partition could not be opened (its directory
	// is missing); failed then says why, and every call returns it.
	log    *storage.Log
	failed error // a *PartitionError matching ErrPartitionFailed and ErrCorrupt
}

// openPartitions opens partitions [from, to) of t. When onlyExisting is
// set, as it is for a topic loaded from disk, a partition directory that is
// missing gives a failed partition (see missing), never a new empty one,
// and one that is a link or not a directory is an error (ErrUnexpectedFile);
// otherwise the directories are created as needed. On an error it closes
// the partitions it opened and returns none. The caller holds t.mu or is
// the only user of t.
func (t *Topic) openPartitions(from, to int, onlyExisting bool) ([]*partition, error) {
	sync := t.meta.Sync
	if sync == SyncDefault {
		sync = t.b.opts.Sync
	}
	so := &storage.Options{
		SegmentSize:   t.b.opts.SegmentSize,
		Sync:          sync.storage(),
		SyncInterval:  t.b.opts.SyncInterval,
		MaxRecordSize: maxRecordSize(t.maxMessageBytes()),
		Logger:        t.b.log.With("topic", t.name),
		FS:            t.b.opts.fs,
		ReadOnly:      t.b.opts.ReadOnly,
		OpenDamaged:   true, // a damaged partition fails alone (ErrPartitionFailed)
	}
	parts := make([]*partition, 0, to-from)
	for i := from; i < to; i++ {
		p := &partition{t: t, index: i}
		dir := filepath.Join(t.dir, strconv.Itoa(i))
		if onlyExisting {
			if err := checkEntry(dir, true); errors.Is(err, fs.ErrNotExist) {
				p.failed = p.missing(err)
				t.b.log.Error("brook: partition directory is missing; the partition fails alone",
					"topic", t.name, "partition", i, "dir", dir)
				parts = append(parts, p)
				continue
			} else if err != nil {
				closePartitions(parts)
				return nil, err
			}
		}
		so.Observer = t.b.storageObserver(t.name, i)
		l, err := storage.Open(dir, so)
		if err != nil {
			closePartitions(parts)
			return nil, p.err(err)
		}
		if rec := l.Recovery(); rec.TruncatedRecords > 0 || rec.TruncatedBytes > 0 {
			t.b.log.Warn("brook: repaired partition tail", "topic", t.name, "partition", i,
				"records", rec.TruncatedRecords, "bytes", rec.TruncatedBytes, "saved_to", rec.SavedTo, "reason", rec.Reason)
		}
		p.log = l
		parts = append(parts, p)
	}
	return parts, nil
}

// missing is the failure of a partition whose directory is gone (cause is
// Lstat's *fs.PathError, which names it): damage (ErrCorrupt, with
// ErrPartitionFailed), never repaired by making it again empty, which
// would hide the loss behind committed offsets past its end.
func (p *partition) missing(cause error) error {
	return &PartitionError{Topic: p.t.name, Partition: p.index, Err: fmt.Errorf(
		"%w: %w: partition directory is missing: %w", ErrPartitionFailed, ErrCorrupt, cause)}
}

// closePartitions closes partitions that were never published to, after a
// failure that already has its own error.
func closePartitions(parts []*partition) {
	for _, p := range parts {
		_ = p.close()
	}
}

// close closes the partition's log.
func (p *partition) close() error {
	if p.log == nil {
		return nil
	}
	return p.err(p.log.Close())
}

// err maps an error of the partition's log to the public errors; the
// partition's own failure is public already.
func (p *partition) err(err error) error {
	if err == nil || err == p.failed {
		return err
	}
	return storageError(p.t.name, p.index, err)
}

// liveErr is err for a publish or read that began while the topic was
// open: its log closed while the broker is still open means DeleteTopic
// closed it, and the call reports ErrUnknownTopic as it would have a
// moment later.
func (p *partition) liveErr(err error) error {
	if err == nil || err == p.failed {
		return err
	}
	return p.t.b.liveStorageError(p.t.name, p.index, err)
}

// append appends recs as one batch and returns the first one's offset.
func (p *partition) append(ctx context.Context, recs []storage.Record) (int64, error) {
	if p.log == nil {
		return -1, p.failed
	}
	first, err := p.log.Append(ctx, recs)
	if err != nil {
		return first, p.liveErr(err)
	}
	return first, nil
}

// appendAsync queues recs as one batch; done gets the storage's result,
// which the caller maps with liveErr (so that a callback bound once, as
// the producer's batches have, costs no closure per call).
func (p *partition) appendAsync(recs []storage.Record, done func(first int64, err error)) {
	if p.log == nil {
		done(-1, p.failed)
		return
	}
	p.log.AppendAsync(recs, done)
}

// readInto reads records from offset into buf's storage (see
// storage.Log.ReadInto). The error is the storage's own, so that a
// consumer can tell an offset out of range; map it with err.
func (p *partition) readInto(buf []storage.Record, offset int64, maxRecords, maxBytes int) ([]storage.Record, error) {
	if p.log == nil {
		return buf[:0], p.failed
	}
	return p.log.ReadInto(buf, offset, maxRecords, maxBytes)
}

// read returns the messages from offset on (see storage.Log.Read).
func (p *partition) read(offset int64, maxRecords, maxBytes int) ([]Message, error) {
	if p.log == nil {
		return nil, p.failed
	}
	recs, err := p.log.Read(offset, maxRecords, maxBytes)
	if err != nil {
		return nil, p.liveErr(err)
	}
	return messagesFromRecords(p.t.name, p.index, recs), nil
}

// offsets returns the first offset held and the next one to be written
// (0, 0 for a failed partition that has no log).
func (p *partition) offsets() (first, next int64) {
	if p.log == nil {
		return 0, 0
	}
	return p.log.FirstOffset(), p.log.NextOffset()
}

// next returns the offset the next record will get.
func (p *partition) next() int64 {
	if p.log == nil {
		return 0
	}
	return p.log.NextOffset()
}

// notify returns a channel closed at the next append, or the failure.
func (p *partition) notify() (<-chan struct{}, error) {
	if p.log == nil {
		return nil, p.failed
	}
	return p.log.Notify(), nil
}

// offsetForTime returns the offset of the first record at or after ts.
func (p *partition) offsetForTime(ts time.Time) (int64, error) {
	if p.log == nil {
		return 0, p.failed
	}
	off, err := p.log.OffsetForTime(ts)
	if err != nil {
		return 0, p.liveErr(err)
	}
	return off, nil
}

// stats returns the partition's PartitionStats.
func (p *partition) stats() PartitionStats {
	if p.log == nil {
		return PartitionStats{Partition: p.index, Failure: failureText(errors.Unwrap(p.failed))}
	}
	return PartitionStats{
		Partition: p.index, FirstOffset: p.log.FirstOffset(), NextOffset: p.log.NextOffset(),
		Bytes: p.log.Size(), Failure: failureText(p.log.Failure()),
	}
}

// configure applies a topic's altered settings to the log. A failed
// partition has no log to change: it takes them from the metadata when it
// is opened again.
func (p *partition) configure(cfg TopicConfig) error {
	if p.log == nil {
		return nil
	}
	return errors.Join(p.err(p.log.SetMaxRecordSize(maxRecordSize(cfg.MaxMessageBytes))),
		p.err(p.log.SetSync(cfg.Sync.storage())))
}

// retain drops the sealed segments that are past cfg's age limit (every
// record older than RetentionAge) or beyond its size limit (what the log
// holds without them is still RetentionBytes or more). A closed log (the
// topic was deleted meanwhile) is not an error.
func (p *partition) retain(cfg TopicConfig) error {
	if p.log == nil {
		return nil
	}
	l := p.log
	var err error
	if cfg.RetentionAge > 0 {
		var before int64
		before, err = l.OffsetForTime(time.Now().Add(-cfg.RetentionAge))
		if err == nil && before > l.FirstOffset() {
			_, err = l.TruncateFront(before)
		}
	}
	if err == nil && cfg.RetentionBytes > 0 && l.Size() > cfg.RetentionBytes {
		_, err = l.TruncateFrontToSize(cfg.RetentionBytes)
	}
	if errors.Is(err, storage.ErrClosed) {
		return nil
	}
	return p.err(err)
}

// route returns the partition of parts that m goes to. A partition Brook
// chooses is set in m.Partition: by key (PartitionByKey with a key, the
// Kafka placement), else round-robin (rr counts the choices). An index out
// of range, or a negative one other than those two, is a *PartitionError
// wrapping ErrInvalidPartition.
func route(topic string, parts []*partition, m *Message, rr *atomic.Uint64) (*partition, error) {
	n := len(parts)
	switch {
	case m.Partition >= 0:
	case m.Partition == PartitionByKey && m.Key != nil:
		m.Partition = KeyPartition(m.Key, n)
	case m.Partition == PartitionByKey || m.Partition == PartitionRoundRobin:
		m.Partition = int((rr.Add(1) - 1) % uint64(n))
	default:
		return nil, &PartitionError{Topic: topic, Partition: m.Partition, Partitions: n, Err: ErrInvalidPartition}
	}
	if m.Partition >= n {
		return nil, &PartitionError{Topic: topic, Partition: m.Partition, Partitions: n, Err: ErrInvalidPartition}
	}
	return parts[m.Partition], nil
}

// partition returns partition p, or a *PartitionError.
func (t *Topic) partition(p int) (*partition, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.deleted {
		return nil, &TopicError{Topic: t.name, Err: ErrUnknownTopic}
	}
	if p < 0 || p >= len(t.parts) {
		return nil, &PartitionError{Topic: t.name, Partition: p, Partitions: len(t.parts), Err: ErrInvalidPartition}
	}
	return t.parts[p], nil
}

// publishView returns, in one read of the topic's state, what a publish
// needs: the partitions (shared: the caller must not modify the slice),
// the message size limit, and whether the topic was deleted.
func (t *Topic) publishView() (parts []*partition, maxMessageBytes int, deleted bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.parts, t.maxMessageBytes(), t.deleted
}
