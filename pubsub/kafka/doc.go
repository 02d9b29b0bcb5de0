// Package kafka is the Kafka backend of package pubsub, over franz-go's kgo
// and kadm: the same pubsub.Client code that runs on the embedded broker
// runs, unchanged, on a Kafka cluster (or anything that speaks Kafka's
// protocol, Redpanda and Brook's own listener included).
//
//	reg := &pubsub.Registry{}
//	reg.Register("kafka", kafka.Opener{})
//	c, err := reg.Open(ctx, "kafka://h1:9092,h2:9092?client_id=app&acks=all")
//
// What it promises, as the embedded backend does:
//   - Partition >= 0 is honoured; an index past the topic's partitions is a
//     *brook.PartitionError wrapping brook.ErrInvalidPartition.
//   - brook.PartitionByKey places a keyed message at brook.KeyPartition
//     (Kafka's murmur2, so Java and Go producers agree); a nil key and
//     brook.PartitionRoundRobin go round-robin.
//   - Headers round-trip as bytes, repeated keys included.
//   - A group is a Kafka consumer group with the cooperative-sticky balancer.
//     A message is committed only after its handler returned nil; when
//     partitions are revoked (a rebalance, or Close) what was handled is
//     committed first; when they are lost (the member was fenced) nothing is.
//   - Group "" reads every partition directly and commits nothing.
//   - Errors match Brook's sentinels: brook.ErrUnknownTopic,
//     brook.ErrTopicExists, brook.ErrMessageTooLarge, brook.ErrGroupActive,
//     brook.ErrClosed.
//
// What differs from the embedded broker:
//   - Durability is the cluster's: a Publish returns once the records are
//     acknowledged under the client's acks (all in-sync replicas by default),
//     not after an fsync, and a failed Publish of many messages may have
//     written some of them.
//   - Commits of handled messages go out every kgo.AutoCommitInterval (5 s by
//     default, the URL's commit_interval; Brook's is 1 s), on revoke and on
//     Close; a crash redelivers what was handled since the last commit.
//   - kgo has no poll timeout: a handler that blocks holds up rebalances of
//     its group (BlockRebalanceOnPoll) until it returns or the group's
//     rebalance timeout evicts the member.
//   - Timestamps are milliseconds (Capabilities().ExactTimestamps is false).
//   - StartLatest means the end offsets at Subscribe for the partitions a
//     member gets at its first join; later, Kafka's reset to the end applies.
//     The start offset is not committed until a message is handled.
//   - Each subscription is its own kgo client (its own connections).
package kafka
