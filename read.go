package brook

import "context"

// Fetch reads up to max messages of one partition starting at offset,
// outside any consumer group (like kcat -o): nothing is committed. If the
// partition has no message at offset yet, Fetch waits for one until ctx
// ends. It returns ErrUnknownTopic, ErrInvalidPartition, ErrOffsetOutOfRange
// (offset outside [first, next]; the error's text gives the range),
// ErrCorrupt, ErrClosed, or ctx's error.
func (b *Broker) Fetch(ctx context.Context, topic string, partition int, offset int64, max int) ([]*Message, error) {
	t, err := b.Topic(topic)
	if err != nil {
		return nil, err
	}
	l, err := t.partition(partition)
	if err != nil {
		return nil, err
	}
	if max <= 0 {
		max = 500
	}
	for {
		ch := l.Notify()
		recs, err := l.Read(offset, max, 4<<20)
		if err != nil {
			return nil, b.liveStorageError(topic, partition, err)
		}
		if len(recs) > 0 {
			block := messagesFromRecords(topic, partition, recs)
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
