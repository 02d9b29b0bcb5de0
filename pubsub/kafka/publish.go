package kafka

import (
	"context"
	"errors"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Publish produces msgs with ProduceSync and copies each record's partition,
// offset and timestamp back. It returns once every record is acknowledged
// under the client's acks (all in-sync replicas by default). Unlike the
// embedded broker, a failed Publish may have written some of msgs: Kafka
// has no all-or-nothing write across partitions.
func (b *backend) Publish(ctx context.Context, topic string, msgs []*brook.Message) error {
	cl, err := b.publisher()
	if err != nil {
		return err
	}
	for _, m := range msgs {
		if m == nil {
			return brook.ErrNilMessage
		}
		if m.Partition < 0 && m.Partition != brook.PartitionByKey && m.Partition != brook.PartitionRoundRobin {
			return &brook.PartitionError{Topic: topic, Partition: m.Partition, Err: brook.ErrInvalidPartition}
		}
	}
	var bad *badPartition
	rctx := ctx
	recs := make([]kgo.Record, len(msgs))
	ptrs := make([]*kgo.Record, len(msgs))
	for i, m := range msgs {
		if m.Partition >= 0 && bad == nil {
			rctx, bad = withBadPartition(ctx)
		}
		r := &recs[i]
		r.Topic, r.Partition, r.Key, r.Value, r.Timestamp = topic, int32(m.Partition), m.Key, m.Value, m.Timestamp
		if len(m.Headers) > 0 {
			r.Headers = make([]kgo.RecordHeader, len(m.Headers))
			for j, h := range m.Headers {
				r.Headers[j] = kgo.RecordHeader{Key: h.Key, Value: h.Value}
			}
		}
		ptrs[i] = r
	}
	for _, r := range ptrs {
		r.Context = rctx
	}
	// ProduceSync lists results in the order they completed; the records
	// are ours, so read them back by index.
	var failed map[*kgo.Record]error
	for _, pr := range cl.ProduceSync(ctx, ptrs...) {
		if pr.Err != nil {
			if failed == nil {
				failed = make(map[*kgo.Record]error)
			}
			failed[pr.Record] = pr.Err
		}
	}
	var first error
	for i, m := range msgs {
		r := &recs[i]
		if err, ok := failed[r]; ok {
			if first == nil {
				first = b.publishErr(topic, m, bad, err)
			}
			continue
		}
		m.Partition, m.Offset, m.Timestamp = int(r.Partition), r.Offset, r.Timestamp
	}
	return first
}

func (b *backend) publishErr(topic string, m *brook.Message, bad *badPartition, err error) error {
	if bad != nil && m.Partition >= 0 {
		if n := int(bad.n.Load()); n > 0 && m.Partition >= n {
			return &brook.PartitionError{Topic: topic, Partition: m.Partition, Partitions: n, Err: brook.ErrInvalidPartition}
		}
	}
	if errors.Is(err, kgo.ErrClientClosed) && b.check() != nil {
		return brook.ErrClosed
	}
	return mapErr(err, topic)
}
