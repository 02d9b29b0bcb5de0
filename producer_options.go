package brook

import "fmt"

// Partitioner says how a Producer chooses the partition of the messages it
// publishes. Set it once in ProducerOptions instead of on every message.
type Partitioner uint8

const (
	// ManualPartitioner uses each message's own Partition: an index (the
	// zero value means partition 0), PartitionByKey or PartitionRoundRobin.
	// It is the default, the seed's explicit-partition model.
	ManualPartitioner Partitioner = iota

	// KeyPartitioner places every message by its key, as PartitionByKey
	// does: Kafka's murmur2 placement (see KeyPartition), round-robin for a
	// nil key. The message's Partition is not read; Publish sets it to the
	// partition chosen. A program that sets only Key on its messages wants
	// this.
	KeyPartitioner

	// RoundRobinPartitioner spreads every message over the partitions in
	// turn, ignoring keys and the message's Partition.
	RoundRobinPartitioner
)

// String returns "manual", "key" or "round-robin".
func (p Partitioner) String() string {
	switch p {
	case ManualPartitioner:
		return "manual"
	case KeyPartitioner:
		return "key"
	case RoundRobinPartitioner:
		return "round-robin"
	}
	return fmt.Sprintf("Partitioner(%d)", uint8(p))
}

// ProducerOptions configure a Producer. The zero value means defaults.
type ProducerOptions struct {
	// Partitioner chooses each message's partition. Default:
	// ManualPartitioner (the message's Partition field).
	Partitioner Partitioner
}

// CreateProducerWith is CreateProducer with options. An invalid option (an
// unknown Partitioner) makes every publish return ErrInvalidConfig.
func (b *Broker) CreateProducerWith(name string, opts ProducerOptions) *Producer {
	p := b.CreateProducer(name)
	p.partitioner = opts.Partitioner
	if opts.Partitioner > RoundRobinPartitioner {
		p.optsErr = fmt.Errorf("%w: unknown partitioner %d", ErrInvalidConfig, opts.Partitioner)
	}
	return p
}

// place applies the producer's Partitioner to m before its partition is
// resolved.
func (p *Producer) place(m *Message) {
	switch p.partitioner {
	case KeyPartitioner:
		m.Partition = PartitionByKey
	case RoundRobinPartitioner:
		m.Partition = PartitionRoundRobin
	}
}
