package brook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/brookmq/brook/storage"
)

// Topic returns the topic of that name, or ErrUnknownTopic, ErrClosed.
func (b *Broker) Topic(name string) (*Topic, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := b.topics[name]
	if !ok {
		return nil, &TopicError{Topic: name, Err: ErrUnknownTopic}
	}
	return t, nil
}

// Topics returns the names of all topics, sorted.
func (b *Broker) Topics() ([]string, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	ts := b.topicList()
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.name
	}
	return names, nil
}

// DeleteTopic deletes a topic with all its data, and the committed offsets
// of every group for it. Producers publishing to it get ErrUnknownTopic;
// consumer groups rebalance without it. It returns ErrUnknownTopic or
// ErrClosed.
func (b *Broker) DeleteTopic(name string) error {
	if err := b.checkWritable(); err != nil {
		return err
	}
	b.mu.Lock()
	t, ok := b.topics[name]
	if ok {
		delete(b.topics, name)
	}
	b.mu.Unlock()
	if !ok {
		return &TopicError{Topic: name, Err: ErrUnknownTopic}
	}
	// The deletion's intent is recorded first, so that a crash before the
	// groups' offsets are all dropped is finished by the next Open, before
	// the topic can be created again (see finishDeletions).
	marker := filepath.Join(b.dir, "deleting", name)
	if err := b.markDeletion(marker); err != nil {
		b.mu.Lock()
		b.topics[name] = t
		b.mu.Unlock()
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	t.mu.Lock()
	t.deleted = true
	t.mu.Unlock()
	b.topicsChanged() // members stop reading it before its logs close
	dropErr := b.dropTopicOffsets(name)
	keepMarker := dropErr != nil
	if b.dropDeferred(name, dropErr) {
		dropErr = nil // a full disk: the next Open drops them
	}
	closeErr := errors.Join(withoutFailedPartitions(t.close()), dropErr)
	// Move the directory out of the way atomically, then remove it.
	trash := filepath.Join(b.dir, "tmp", "deleted-"+name+"-"+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := b.opts.meta.Rename(t.dir, trash); err != nil {
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	if err := b.opts.meta.SyncDir(filepath.Join(b.dir, "topics")); err != nil {
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	if !keepMarker { // else the next Open drops the offsets again
		if err := os.Remove(marker); err != nil {
			return fmt.Errorf("brook: delete topic %q: %w", name, err)
		}
	}
	return closeErr
}

// markDeletion durably writes a DeleteTopic marker, creating its
// directory on first use.
func (b *Broker) markDeletion(marker string) error {
	dir := filepath.Dir(marker)
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
			return err
		}
		if err := b.opts.meta.SyncDir(b.dir); err != nil {
			return err
		}
	}
	return writeFileAtomic(b.opts.meta, marker, nil)
}

// finishDeletions completes, at Open, the topic deletions a crash
// interrupted: for each marker of DeleteTopic whose topic is gone, it drops
// the topic's offsets from every group, then removes the marker. A marker
// whose topic still exists is from a deletion that never removed it (the
// topic stays; its offsets may have been dropped, so groups read it again
// from the start: at-least-once).
func (b *Broker) finishDeletions() error {
	dir := filepath.Join(b.dir, "deleting")
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil // no topic was ever deleted here
	}
	if err != nil {
		return fmt.Errorf("brook: list interrupted topic deletions: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !validName(name) {
			continue // a temporary file of writeFileAtomic
		}
		if _, exists := b.topics[name]; !exists {
			if err := b.dropTopicOffsets(name); b.dropDeferred(name, err) {
				continue // the marker stays for the next Open
			} else if err != nil {
				return err
			}
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("brook: finish deletion of topic %q: %w", name, err)
		}
	}
	return b.opts.meta.SyncDir(dir)
}

// dropTopicOffsets drops topic's committed offsets from every group on
// disk, durably: the loaded ones, and the others opened for it (a group
// loaded later also drops the offsets of topics that do not exist, which
// covers a crash in the middle).
func (b *Broker) dropTopicOffsets(topic string) error {
	var errs []error
	dir := filepath.Join(b.dir, "groups")
	b.mu.Lock() // no group is loaded or deleted while its offsets are open here
	entries, err := os.ReadDir(dir)
	if err != nil {
		errs = append(errs, fmt.Errorf("brook: delete topic %q: list groups: %w", topic, err))
	}
	for _, e := range entries {
		if _, loaded := b.groups[e.Name()]; loaded || !e.IsDir() || !validName(e.Name()) {
			continue
		}
		off, err := openOffsets(filepath.Join(dir, e.Name()), b.log.With("group", e.Name()), b.opts.fs)
		if err == nil {
			err = errors.Join(off.dropTopic(topic), off.log.Close())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("brook: delete topic %q: offsets of group %q: %w", topic, e.Name(), err))
		}
	}
	b.mu.Unlock()
	for _, g := range b.groupList() {
		if err := g.offsets.dropTopic(topic); err != nil {
			errs = append(errs, fmt.Errorf("brook: delete topic %q: offsets of group %q: %w", topic, g.id, err))
		}
	}
	return errors.Join(errs...)
}

// AddPartitions grows a topic to total partitions. Partitions can only be
// added, as in Kafka; keys hashed with PartitionByKey may map elsewhere
// afterwards. Groups subscribed to the topic rebalance. It returns
// ErrUnknownTopic, ErrInvalidPartition (total not above the current count or
// above MaxPartitions) or ErrClosed.
func (b *Broker) AddPartitions(name string, total int) error {
	if err := b.checkWritable(); err != nil {
		return err
	}
	t, err := b.Topic(name)
	if err != nil {
		return err
	}
	if err := t.grow(total); err != nil {
		return err
	}
	b.topicsChanged()
	return nil
}

func (t *Topic) grow(total int) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	cur := len(t.parts)
	if t.deleted {
		return &TopicError{Topic: t.name, Err: ErrUnknownTopic}
	}
	if total <= cur || total > MaxPartitions {
		return &PartitionError{Topic: t.name, Partition: total, Err: fmt.Errorf(
			"%w: cannot grow from %d to %d partitions (max %d)", ErrInvalidPartition, cur, total, MaxPartitions)}
	}
	// Open the new partitions first and record them in the metadata last:
	// a failure, or a crash, at any step leaves the topic as it was. The
	// directories of partitions beyond the metadata's count are never read
	// (a later grow reopens them, empty).
	logs, err := t.openPartitions(cur, total)
	if err != nil {
		return err
	}
	meta := t.meta
	meta.Partitions = total
	if err := writeMeta(t.b.opts.meta, t.dir, meta); err != nil {
		closeLogs(logs)
		return fmt.Errorf("brook: add partitions to %q: %w", t.name, err)
	}
	t.meta = meta
	t.parts = append(t.parts, logs...)
	return nil
}

// enforceRetention drops whole segments that are past the topic's age or
// size limit. It runs from the broker's housekeeping goroutine.
func (t *Topic) enforceRetention() {
	cfg := t.Config()
	if cfg.RetentionAge == 0 && cfg.RetentionBytes == 0 {
		return
	}
	t.mu.RLock()
	parts := append([]*storage.Log(nil), t.parts...)
	t.mu.RUnlock()
	for p, l := range parts {
		if err := applyRetention(l, cfg); err != nil && !errors.Is(err, storage.ErrClosed) {
			t.b.log.Error("brook: retention", "topic", t.name, "partition", p, "err", err)
		}
	}
}

// applyRetention drops the sealed segments of l that are past cfg's age
// limit (every record older than RetentionAge) or beyond its size limit
// (what the log holds without them is still RetentionBytes or more).
func applyRetention(l *storage.Log, cfg TopicConfig) error {
	if cfg.RetentionAge > 0 {
		before, err := l.OffsetForTime(time.Now().Add(-cfg.RetentionAge))
		if err == nil && before > l.FirstOffset() {
			_, err = l.TruncateFront(before)
		}
		if err != nil {
			return err
		}
	}
	if cfg.RetentionBytes > 0 && l.Size() > cfg.RetentionBytes {
		_, err := l.TruncateFrontToSize(cfg.RetentionBytes)
		return err
	}
	return nil
}

// liveStorageError is storageError for a publish or fetch on a topic that
// was open when the call began: its log closed while the broker is still
// open means DeleteTopic closed it, and the call reports ErrUnknownTopic as
// it would have a moment later.
func (b *Broker) liveStorageError(topic string, p int, err error) error {
	if errors.Is(err, storage.ErrClosed) && b.check() == nil {
		return &TopicError{Topic: topic, Err: ErrUnknownTopic}
	}
	return storageError(topic, p, err)
}

// storageError maps an error of partition p's log to the public errors.
func storageError(topic string, p int, err error) error {
	var oe *storage.OffsetError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrClosed):
		return &PartitionError{Topic: topic, Partition: p, Err: ErrClosed}
	case errors.Is(err, storage.ErrFailed):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w", ErrPartitionFailed, err)}
	case errors.Is(err, storage.ErrCorrupt):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w: %w", ErrPartitionFailed, ErrCorrupt, err)}
	case errors.Is(err, storage.ErrRecordTooLarge):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w", ErrMessageTooLarge, err)}
	case errors.Is(err, storage.ErrUnexpectedFile):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w", ErrUnexpectedFile, err)}
	case errors.As(err, &oe):
		return &OffsetError{Topic: topic, Partition: p, Offset: oe.Offset, First: oe.First, Next: oe.Next}
	}
	return &PartitionError{Topic: topic, Partition: p, Err: err}
}
