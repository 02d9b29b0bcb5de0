package brook

import (
	"errors"
	"fmt"

	"github.com/brookmq/brook/storage"
)

// clampCommitted moves every committed offset of a group just loaded that
// points past its partition's end, as the partition was when the broker
// loaded it, back to that end, and returns the offsets it moved (partition
// -> the offset it had). That happens when the tail of a partition was lost
// after its offsets were committed: a power loss under SyncInterval or
// SyncNever keeps the committed offsets (always fsynced) but not the
// unsynced messages. Left alone, the group would skip every message
// published after the restart until the end passed the old offset. The
// end at load is the measure, not the end now: messages published since
// the broker opened, before the group was first used, must not hide the
// loss. A group loaded later has committed nothing since the broker
// opened, so its offsets can only exceed that end by such a loss. Called
// with b.mu held, before the group is used.
func (b *Broker) clampCommitted(id string, off *offsetStore) map[TopicPartition]int64 {
	var clamped map[TopicPartition]int64
	for tp, c := range off.all() {
		t := b.topics[tp.Topic]
		if t == nil || tp.Partition >= len(t.loadEnds) {
			continue
		}
		if end := t.loadEnds[tp.Partition]; end >= 0 && c > end { // -1: a failed partition, end unknown
			if clamped == nil {
				clamped = make(map[TopicPartition]int64)
			}
			clamped[tp] = c
			off.set(tp, end)
			b.log.Warn("brook: committed offset past the end of its partition (its tail was lost); moved back to the end",
				"group", id, "topic", tp.Topic, "partition", tp.Partition, "committed", c, "end", end)
		}
	}
	return clamped
}

// offsetsError maps an error of a group's offsets log to the public
// sentinels, as storageError does for partitions: damage matches
// ErrCorrupt, a link or special file ErrUnexpectedFile; file system errors
// keep their cause.
func offsetsError(dir string, err error) error {
	switch {
	case errors.Is(err, storage.ErrCorrupt):
		return fmt.Errorf("%w: committed offsets %s: %w", ErrCorrupt, dir, err)
	case errors.Is(err, storage.ErrUnexpectedFile):
		return fmt.Errorf("%w: committed offsets %s: %w", ErrUnexpectedFile, dir, err)
	}
	return fmt.Errorf("brook: open committed offsets %s: %w", dir, err)
}
