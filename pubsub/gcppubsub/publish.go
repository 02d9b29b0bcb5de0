package gcppubsub

import (
	"context"
	"time"

	"cloud.google.com/go/pubsub/v2"
	"github.com/brookmq/brook"
)

// Publish publishes msgs and waits until Pub/Sub has stored each one. A key
// becomes the ordering key, so messages with one key are delivered in
// order; headers become attributes; the Timestamp (now when zero, in
// milliseconds) travels as an attribute. Partition must be 0,
// brook.PartitionByKey or brook.PartitionRoundRobin, and is 0 on return;
// Offset is -1, as Pub/Sub has none. A failed Publish of many messages may
// have stored some of them.
func (b *backend) Publish(ctx context.Context, topic string, msgs []*brook.Message) error {
	p, err := b.publisher(topic)
	if err != nil {
		return err
	}
	now := time.Now().Truncate(time.Millisecond)
	out := make([]*pubsub.Message, len(msgs))
	for i, m := range msgs {
		if m == nil {
			return brook.ErrNilMessage
		}
		if m.Partition != 0 && m.Partition != brook.PartitionByKey && m.Partition != brook.PartitionRoundRobin {
			return &brook.PartitionError{Topic: topic, Partition: m.Partition, Partitions: 1, Err: brook.ErrInvalidPartition}
		}
		key, b64 := encodeKey(m.Key)
		ts := m.Timestamp
		if ts.IsZero() {
			ts = now
		}
		attrs, err := attributes(&brook.Message{Headers: m.Headers, Timestamp: ts}, b64)
		if err != nil {
			return &brook.TopicError{Topic: topic, Err: err}
		}
		out[i] = &pubsub.Message{Data: m.Value, Attributes: attrs, OrderingKey: key}
	}
	results := make([]*pubsub.PublishResult, len(out))
	for i, m := range out {
		results[i] = p.Publish(ctx, m)
	}
	var first error
	for i, r := range results {
		if _, err := r.Get(ctx); err != nil {
			if out[i].OrderingKey != "" {
				p.ResumePublish(out[i].OrderingKey) // a failure pauses the key
			}
			if first == nil {
				first = mapErr(err, topic)
			}
			continue
		}
		m := msgs[i]
		m.Partition, m.Offset = 0, -1
		if m.Timestamp.IsZero() {
			m.Timestamp = now
		} else {
			m.Timestamp = m.Timestamp.Truncate(time.Millisecond)
		}
	}
	return first
}
