package brook

import (
	"fmt"
	"slices"
	"time"
)

// Offset sentinels for Consumer.Seek and ToOffset, with the values sarama,
// kafka-go and Kafka's ListOffsets use.
const (
	// OffsetNewest is the partition's end: the offset the next message
	// published to it will get, so only messages published from now on are
	// read.
	OffsetNewest int64 = -1
	// OffsetOldest is the earliest offset the partition still holds.
	OffsetOldest int64 = -2
)

// OffsetSpec says where ResetOffsets moves a group's committed offsets: to
// the earliest offset, the latest, a given offset, or the first message at
// or after a time. Make one with ToEarliest, ToLatest, ToOffset or ToTime;
// the zero OffsetSpec is ToEarliest.
type OffsetSpec struct {
	kind   offsetKind
	offset int64
	time   time.Time
}

type offsetKind uint8

const (
	specEarliest offsetKind = iota
	specLatest
	specOffset
	specTime
)

// ToEarliest is the earliest offset each partition still holds: the group
// reads everything again (kafka-consumer-groups.sh --to-earliest).
func ToEarliest() OffsetSpec { return OffsetSpec{kind: specEarliest} }

// ToLatest is each partition's end: the group skips everything published
// so far (--to-latest).
func ToLatest() OffsetSpec { return OffsetSpec{kind: specLatest} }

// ToOffset is offset in every partition (--to-offset), moved into the
// partition's range [first, next] where it lies outside, as Kafka does.
// OffsetOldest and OffsetNewest mean ToEarliest and ToLatest.
func ToOffset(offset int64) OffsetSpec {
	switch offset {
	case OffsetOldest:
		return ToEarliest()
	case OffsetNewest:
		return ToLatest()
	}
	return OffsetSpec{kind: specOffset, offset: max(offset, 0)}
}

// ToTime is, in each partition, the first message whose timestamp is at or
// after t, or the partition's end if there is none (--to-datetime).
func ToTime(t time.Time) OffsetSpec { return OffsetSpec{kind: specTime, time: t} }

// String describes the spec: "earliest", "latest", "offset 42" or
// "time 2026-01-02T15:04:05Z".
func (s OffsetSpec) String() string {
	switch s.kind {
	case specLatest:
		return "latest"
	case specOffset:
		return fmt.Sprintf("offset %d", s.offset)
	case specTime:
		return "time " + s.time.Format(time.RFC3339Nano)
	}
	return "earliest"
}

// OffsetReset is what ResetOffsets did to one partition.
type OffsetReset struct {
	Partition int
	Previous  int64 // the committed offset before; -1 when there was none
	Offset    int64 // the committed offset now: the next one the group reads
}

// ResetOffsets sets group's committed offsets for topic to the position to
// names, in every partition of the topic, or only in the given partitions.
// The new offsets are on disk when it returns, and the group's consumers
// start there when they next join. It returns what it did per partition,
// sorted by partition.
//
// It is refused with ErrGroupActive while the group has members, as
// kafka-consumer-groups.sh --reset-offsets is: a running member would carry
// on from its own position and commit over the new offsets. Close the
// group's consumers first. A group that does not exist yet is created with
// these offsets, so that its first consumer starts there. It returns
// ErrInvalidGroupID, ErrUnknownTopic, ErrInvalidPartition, ErrCorrupt (a
// damaged segment met while looking up a time) or ErrClosed; if writing the
// offsets fails, it returns that error and the group keeps the new offsets
// in memory, written by its next periodic flush.
func (b *Broker) ResetOffsets(group, topic string, to OffsetSpec, partitions ...int) ([]OffsetReset, error) {
	if err := b.checkWritable(); err != nil {
		return nil, err
	}
	if !validName(group) {
		return nil, fmt.Errorf("%w: %q", ErrInvalidGroupID, group)
	}
	t, err := b.Topic(topic)
	if err != nil {
		return nil, err
	}
	n := t.Partitions()
	if len(partitions) == 0 {
		for p := range n {
			partitions = append(partitions, p)
		}
	}
	partitions = slices.Compact(slices.Sorted(slices.Values(partitions)))
	// The positions come from the partitions alone: look them up (a time
	// may read a sealed segment) before taking the group's lock.
	res := make([]OffsetReset, 0, len(partitions))
	for _, p := range partitions {
		off, err := t.resolveOffset(p, to)
		if err != nil {
			return nil, err
		}
		res = append(res, OffsetReset{Partition: p, Previous: -1, Offset: off})
	}
	for {
		g, err := b.group(group)
		if err != nil {
			return nil, err
		}
		retry, err := g.resetOffsets(topic, res)
		if !retry {
			if err != nil {
				return nil, err
			}
			return res, nil
		}
		// DeleteGroup removed g meanwhile: the next lookup makes a new one.
	}
}

// resetOffsets sets the committed offsets of res for topic, filling in
// their Previous, and writes them to disk. retry is true when the group was
// deleted meanwhile. The group's lock is held throughout, so that no member
// joins between the check and the write.
func (g *group) resetOffsets(topic string, res []OffsetReset) (retry bool, err error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.deleted {
		return true, nil
	}
	if n := len(g.members); n > 0 {
		return false, fmt.Errorf("%w: %q has %d members; close its consumers first", ErrGroupActive, g.id, n)
	}
	for i, r := range res {
		tp := TopicPartition{Topic: topic, Partition: r.Partition}
		if prev, ok := g.offsets.get(tp); ok {
			res[i].Previous = prev
		}
		g.offsets.set(tp, r.Offset)
	}
	if err := g.flush(); err != nil {
		return false, fmt.Errorf("brook: reset offsets of group %q: %w", g.id, err)
	}
	return false, nil
}

// resolveOffset returns the offset that to names in partition p.
func (t *Topic) resolveOffset(p int, to OffsetSpec) (int64, error) {
	part, err := t.partition(p)
	if err != nil {
		return 0, err
	}
	if part.failed != nil {
		return 0, part.failed
	}
	first, next := part.offsets()
	switch to.kind {
	case specLatest:
		return next, nil
	case specOffset:
		return min(max(to.offset, first), next), nil
	case specTime:
		return part.offsetForTime(to.time)
	}
	return first, nil
}
