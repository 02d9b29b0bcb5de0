package brook

import "context"

// Fetch defaults.
const (
	// FetchMaxMessages is how many messages Fetch returns at most when
	// its max is 0 or less.
	FetchMaxMessages = 500
	// FetchMaxBytes is about the most bytes of stored records one Fetch
	// returns: it returns fewer than max messages rather than more, but
	// always at least one.
	FetchMaxBytes = 4 << 20
)

// Fetch reads up to max messages of one partition starting at offset,
// outside any consumer group (like kcat -o): nothing is committed. offset is
// an offset in [first, next] of the partition, or OffsetOldest (the
// earliest still held) or OffsetNewest (the end: wait for the next message
// published). max <= 0 means FetchMaxMessages, and one call returns at most
// FetchMaxBytes (but at least one message). If the partition has no
// message at offset yet, Fetch waits for one until ctx ends. It returns
// ErrUnknownTopic, ErrInvalidPartition, an *OffsetError (matching
// ErrOffsetOutOfRange) for an offset outside the partition, ErrCorrupt,
// ErrClosed, or ctx's error.
func (b *Broker) Fetch(ctx context.Context, topic string, partition int, offset int64, max int) ([]*Message, error) {
	t, err := b.Topic(topic)
	if err != nil {
		return nil, err
	}
	part, err := t.partition(partition)
	if err != nil {
		return nil, err
	}
	first, next := part.offsets()
	switch offset {
	case OffsetOldest:
		offset = first
	case OffsetNewest:
		offset = next
	}
	if max <= 0 {
		max = FetchMaxMessages
	}
	for {
		ch, err := part.notify()
		if err != nil {
			return nil, err
		}
		block, err := part.read(offset, max, FetchMaxBytes)
		if err != nil {
			return nil, err
		}
		if len(block) > 0 {
			msgs := make([]*Message, len(block))
			for i := range block {
				msgs[i] = &block[i]
			}
			return msgs, nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if err := b.check(); err != nil {
			return nil, err
		}
		if _, err := t.partition(partition); err != nil {
			return nil, err // deleted while waiting
		}
	}
}
