package kafka

import (
	"context"
	"sync/atomic"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kgo"
)

// partitioner is the one Partitioner every client of this package uses. It
// holds no state itself: each client's ForTopic call builds the per-topic
// round-robin counter, which kgo only ever calls from one goroutine at a time.
var partitioner = kgo.BasicConsistentPartitioner(forTopic)

// Partitioner returns the record partitioner that places records the way a
// Brook producer does: a record's Partition >= 0 is that partition;
// brook.PartitionByKey (-1) with a non-nil key is brook.KeyPartition of the
// key, which is Kafka's murmur2 placement; brook.PartitionByKey with a nil key
// and brook.PartitionRoundRobin (-2) go round-robin. Pass it as
// kgo.RecordPartitioner(kafka.Partitioner()) to a client you give to New, so
// that New publishes through that client rather than a second one.
func Partitioner() kgo.Partitioner { return partitioner }

// badPartitionKey is the r.Context key under which Publish leaves a
// *badPartition for the partitioner to fill in.
type badPartitionKey struct{}

// badPartition records the partition count the partitioner saw when an
// explicit index was out of range: kgo itself only fails such a record with
// an fmt.Errorf, and Publish turns it into a brook.PartitionError.
type badPartition struct{ n atomic.Int64 }

func forTopic(string) func(r *kgo.Record, n int) int {
	next := 0
	return func(r *kgo.Record, n int) int {
		p := int(r.Partition)
		switch {
		case p >= 0:
			if p >= n {
				flagBad(r, n)
			}
			return p
		case p == brook.PartitionByKey && r.Key != nil:
			return brook.KeyPartition(r.Key, n)
		case p == brook.PartitionByKey, p == brook.PartitionRoundRobin:
			pick := next % n
			next = pick + 1
			return pick
		}
		flagBad(r, n)
		return -1
	}
}

func flagBad(r *kgo.Record, n int) {
	if r.Context == nil {
		return
	}
	if bp, ok := r.Context.Value(badPartitionKey{}).(*badPartition); ok {
		bp.n.Store(int64(n))
	}
}

// withBadPartition returns ctx carrying a fresh *badPartition.
func withBadPartition(ctx context.Context) (context.Context, *badPartition) {
	bp := new(badPartition)
	return context.WithValue(ctx, badPartitionKey{}, bp), bp
}
