package brook

import (
	"errors"
	"fmt"
	"slices"
	"time"
)

// TopicUpdate names the settings AlterTopic changes. A nil field leaves its
// setting as it is; a pointer to the zero value returns the setting to its
// default, as in TopicConfig (Go 1.26's new(expr) makes the pointers
// short: TopicUpdate{RetentionAge: new(7 * 24 * time.Hour)}). The
// partition count is changed with AddPartitions instead.
type TopicUpdate struct {
	// RetentionAge, when set, replaces TopicConfig.RetentionAge.
	RetentionAge *time.Duration
	// RetentionBytes, when set, replaces TopicConfig.RetentionBytes.
	RetentionBytes *int64
	// MaxMessageBytes, when set, replaces TopicConfig.MaxMessageBytes.
	MaxMessageBytes *int
	// Sync, when set, replaces TopicConfig.Sync (SyncDefault: the broker's).
	Sync *SyncPolicy
}

// AlterTopic changes the configuration of an existing topic, like Kafka's
// kafka-configs.sh --alter, and returns the configuration now in force
// (defaults filled in, as Config gives it). The change is written to the
// topic's metadata (fsynced) before it applies, so it holds after a reopen.
// It applies at once to what comes next: a new MaxMessageBytes to the next
// publish (messages already stored are not checked again), a new Sync to
// the partitions' next group commit (a change to SyncAlways also fsyncs
// what was written before AlterTopic returns). New retention limits apply
// at the next retention run, within Options.RetentionCheckInterval.
//
// It returns ErrUnknownTopic, ErrInvalidConfig (a negative retention or
// size, MaxMessageBytes above 512 MiB, an unknown policy), ErrClosed, or a
// *PartitionError when a partition could not take the new policy (after a
// disk error, ErrPartitionFailed: the metadata is changed and the partition
// takes it when the broker reopens).
func (b *Broker) AlterTopic(name string, u TopicUpdate) (TopicConfig, error) {
	if err := b.checkWritable(); err != nil {
		return TopicConfig{}, err
	}
	t, err := b.Topic(name)
	if err != nil {
		return TopicConfig{}, err
	}
	t.alterMu.Lock()
	defer t.alterMu.Unlock()
	parts, err := t.alter(u)
	if err != nil {
		return TopicConfig{}, err
	}
	cfg := t.Config()
	var errs []error
	for _, p := range parts {
		errs = append(errs, p.configure(cfg))
	}
	return cfg, errors.Join(errs...)
}

// alter validates u against the topic's stored configuration, writes the
// result to topic.json and makes it the topic's metadata. It returns the
// partitions, whose settings the caller updates without t.mu held (a
// change of policy may fsync).
func (t *Topic) alter(u TopicUpdate) ([]*partition, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.deleted {
		return nil, &TopicError{Topic: t.name, Err: ErrUnknownTopic}
	}
	meta := t.meta
	if u.RetentionAge != nil {
		meta.RetentionAge = *u.RetentionAge
	}
	if u.RetentionBytes != nil {
		meta.RetentionBytes = *u.RetentionBytes
	}
	if u.MaxMessageBytes != nil {
		meta.MaxMessageBytes = *u.MaxMessageBytes
	}
	if u.Sync != nil {
		meta.Sync = *u.Sync
	}
	if err := meta.config().validate(); err != nil {
		return nil, &TopicError{Topic: t.name, Err: err}
	}
	if meta != t.meta {
		if err := writeMeta(t.b.opts.meta, t.dir, meta); err != nil {
			return nil, fmt.Errorf("brook: alter topic %q: %w", t.name, err)
		}
		t.meta = meta
	}
	return slices.Clone(t.parts), nil
}

// config is the configuration meta stores, zero fields meaning defaults.
func (m topicMeta) config() TopicConfig {
	return TopicConfig{Partitions: m.Partitions, RetentionAge: m.RetentionAge,
		RetentionBytes: m.RetentionBytes, MaxMessageBytes: m.MaxMessageBytes, Sync: m.Sync}
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
	parts, err := t.openPartitions(cur, total, false)
	if err != nil {
		return err
	}
	meta := t.meta
	meta.Partitions = total
	if err := writeMeta(t.b.opts.meta, t.dir, meta); err != nil {
		closePartitions(parts)
		return fmt.Errorf("brook: add partitions to %q: %w", t.name, err)
	}
	t.meta = meta
	t.parts = append(t.parts, parts...)
	return nil
}
