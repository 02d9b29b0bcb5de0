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
	t.mu.Lock()
	t.deleted = true
	t.mu.Unlock()
	b.topicsChanged() // members stop reading it before its logs close
	for _, g := range b.groupList() {
		g.offsets.dropTopic(name)
	}
	closeErr := t.close()
	// Move the directory out of the way atomically, then remove it.
	trash := filepath.Join(b.dir, "tmp", "deleted-"+name+"-"+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := os.Rename(t.dir, trash); err != nil {
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	if err := syncDir(filepath.Join(b.dir, "topics")); err != nil {
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	return closeErr
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
	if err := writeMeta(t.dir, meta); err != nil {
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
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w", ErrCorrupt, err)}
	case errors.Is(err, storage.ErrRecordTooLarge):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w", ErrMessageTooLarge, err)}
	case errors.Is(err, storage.ErrUnexpectedFile):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w", ErrUnexpectedFile, err)}
	case errors.As(err, &oe):
		return &OffsetError{Topic: topic, Partition: p, Offset: oe.Offset, First: oe.First, Next: oe.Next}
	}
	return &PartitionError{Topic: topic, Partition: p, Err: err}
}
