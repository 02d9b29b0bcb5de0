package brook

import (
	"time"
)

// ReadPartition returns messages of one partition from offset onward
// without waiting: at most maxMessages (<= 0 means 10000) and about
// maxBytes of encoded records (<= 0 means 1 MiB), always at least one
// message when offset is before the partition's next offset. Reading at the
// next offset returns no messages and no error; use PartitionChanged to wait.
// It is meant for servers that batch reads themselves (a Kafka Fetch); most
// programs use Broker.Fetch or a Consumer.
//
// Errors: *PartitionError wrapping ErrInvalidPartition, ErrOffsetOutOfRange
// (offset before the first retained offset or after the next one),
// ErrCorrupt or ErrClosed; *TopicError wrapping ErrUnknownTopic when the
// topic was deleted.
func (t *Topic) ReadPartition(partition int, offset int64, maxMessages, maxBytes int) ([]Message, error) {
	p, err := t.partition(partition)
	if err != nil {
		return nil, err
	}
	return p.read(offset, maxMessages, maxBytes)
}

// PartitionOffsets returns the first offset a partition still holds and the
// offset its next message will get (equal when it is empty). It returns the
// errors of ReadPartition for a bad partition or a deleted topic.
func (t *Topic) PartitionOffsets(partition int) (first, next int64, err error) {
	p, err := t.partition(partition)
	if err != nil {
		return 0, 0, err
	}
	if p.failed != nil {
		return 0, 0, p.failed
	}
	first, next = p.offsets()
	return first, next, nil
}

// PartitionOffsetForTime returns the offset of the first message of the
// partition whose timestamp is at or after ts, or the partition's next
// offset when there is none. It returns the errors of ReadPartition.
func (t *Topic) PartitionOffsetForTime(partition int, ts time.Time) (int64, error) {
	p, err := t.partition(partition)
	if err != nil {
		return 0, err
	}
	return p.offsetForTime(ts)
}

// PartitionChanged returns a channel that is closed at the partition's next
// acknowledged append (or when the broker closes it). Take the channel
// before reading, then wait on it if the read found nothing:
//
//	ch, _ := t.PartitionChanged(p)
//	msgs, _ := t.ReadPartition(p, off, 0, 0)
//	if len(msgs) == 0 { select { case <-ch: case <-ctx.Done(): } }
//
// It returns the errors of ReadPartition for a bad partition or a deleted topic.
func (t *Topic) PartitionChanged(partition int) (<-chan struct{}, error) {
	p, err := t.partition(partition)
	if err != nil {
		return nil, err
	}
	return p.notify()
}
