package brook

import (
	"time"

	"github.com/brookmq/brook/storage"
)

// Observer receives measurements from a broker as they happen, for metrics
// (package metrics implements it over Prometheus). Set it in
// Options.Observer; nil, the default, costs nothing: no clock is read and no
// counter kept for it.
//
// The broker calls it from its writer and consumer goroutines with none of
// its locks held, concurrently for different partitions; an Observer must
// be safe for concurrent use and should return quickly, since the
// partition's next commit or fetch waits for it.
type Observer interface {
	// ObserveAppend reports one group commit of a partition: the records
	// and bytes (as counted in PartitionStats.Bytes) it wrote, and how long
	// the write took, including the fsync under SyncAlways. It runs before
	// the commit's publishers are acknowledged: when Publish returns, its
	// commit has been reported.
	ObserveAppend(topic string, partition, records, bytes int, d time.Duration)

	// ObserveSync reports one fsync of a partition and how long it took.
	ObserveSync(topic string, partition int, d time.Duration)

	// ObserveConsume reports messages of a partition handled by a consumer
	// of group: Run's handler returned for them, or Poll moved past them.
	// It is called once per fetched batch (up to
	// ConsumerOptions.FetchMaxRecords messages), when the batch is done.
	ObserveConsume(group, topic string, partition, messages int)
}

// partitionObserver adapts the broker's Observer to one partition's log.
type partitionObserver struct {
	o         Observer
	topic     string
	partition int
}

func (p partitionObserver) ObserveAppend(records, bytes int, d time.Duration) {
	p.o.ObserveAppend(p.topic, p.partition, records, bytes, d)
}

func (p partitionObserver) ObserveSync(d time.Duration) { p.o.ObserveSync(p.topic, p.partition, d) }

// storageObserver returns the storage observer of partition p of topic, or
// nil when the broker has no Observer.
func (b *Broker) storageObserver(topic string, p int) storage.Observer {
	if b.opts.Observer == nil {
		return nil
	}
	return partitionObserver{o: b.opts.Observer, topic: topic, partition: p}
}
