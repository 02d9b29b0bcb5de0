// Package brook is an embeddable, Kafka-like partitioned log engine: durable
// topics split into append-only partitions, producers that write to an
// explicit partition, and consumer groups that share the partitions equally
// among their members and rebalance by themselves. Everything runs inside
// the calling process; the data lives in one directory.
//
// # Quick start
//
// The body of a main function (see Example for the whole program):
//
//	broker := brook.GetorSetBrokerInstance() // process-wide broker ($BROOK_DATA_DIR or ./brook-data)
//	defer broker.Close()                     // closes its producers and consumers too
//
//	if _, err := broker.CreateNewTopic("stock-price-update", 8); err != nil {
//		log.Fatal(err)
//	}
//	producer := brook.CreateProducer("ticker")
//	defer producer.Close()
//	msg := brook.CreateMessage("stock-price-update", []byte("AAPL 191.2"), 3) // topic, value, partition
//	if err := producer.Publish("stock-price-update", msg); err != nil {       // durable when it returns
//		log.Fatal(err)
//	}
//
//	consumer := brook.CreateConsumer("price-analyzer", "analytics") // name, group
//	defer consumer.Close()                                          // commits what was handled, leaves the group
//	if err := consumer.Subscribe("stock-price-update"); err != nil {
//		log.Fatal(err)
//	}
//	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
//	defer stop()
//	err := consumer.Run(ctx, func(ctx context.Context, m *brook.Message) error {
//		fmt.Printf("%s/%d@%d %s\n", m.Topic, m.Partition, m.Offset, m.Value)
//		stop()     // one message is enough here: Run returns when ctx ends
//		return nil // nil commits the message
//	})
//	if err != nil {
//		log.Fatal(err)
//	}
//
// It closes what it opens, so the group's offsets are committed.
// Use Open for a broker on a directory of your choice, with Options, and
// SetBrokerInstance to make it the process-wide broker.
//
// # Guarantees
//
//   - Durability: under the default SyncAlways, Publish returns only after
//     the message is fsynced; neither a process crash nor a power loss loses
//     it. SyncInterval and SyncNever trade that for speed: a process crash
//     still loses nothing acknowledged, a power loss can lose the last
//     interval (see SyncPolicy).
//   - Order: messages of one partition are stored and delivered in offset
//     order; a consumer handles one partition's messages one at a time.
//   - Nothing is dropped silently: a bad partition index, an unknown topic,
//     a message for another topic, an invalid name or an oversized message
//     is an error. Messages published before any consumer exists are kept
//     and delivered (a new group starts at the earliest offset).
//   - Equal share: over all partitions of the topics a group subscribes to,
//     each member holds ⌊P/M⌋ or ⌈P/M⌉; no partition is left without an
//     owner while a subscribed member exists.
//   - Cooperative rebalancing: only partitions that must move are revoked;
//     the old owner finishes the message in hand and commits before the new
//     owner starts, so a clean rebalance or close delivers nothing twice.
//   - At-least-once: a message is committed after its handler returns nil.
//     Commits reach disk every Options.CommitInterval and at every hand-over
//     and close; after a crash, up to one interval is delivered again.
//   - Fencing: a member that lost a partition (revoked, or evicted after
//     ConsumerOptions.PollTimeout) cannot commit for it any more.
//   - A handler's panic is recovered and handled like an error.
//   - On-disk repair: a torn or zeroed tail left by a crash is cut back to
//     the last whole record when the broker opens (the cut bytes are kept
//     beside the partition); damage anywhere else is reported as ErrCorrupt,
//     never served and never repaired by dropping data. Check verifies a
//     data directory read-only (also one a program holds) and reports every
//     damaged place; RepairPartition is the explicit cut at the damage.
//
// # Concurrency
//
// Broker, Topic, Producer and Consumer are safe for concurrent use. Publishes
// to one partition from many goroutines are group-committed: one write and
// one fsync serve all of them. No lock is held while user code (handlers,
// callbacks) runs.
//
// # Caveats
//
//   - One broker per directory: a second Open of the same directory, in this
//     process or another, fails with ErrLocked.
//   - Each open partition keeps up to about two segments (2 × SegmentSize)
//     in memory.
//   - Partitions can be added but not removed; adding them changes where
//     PartitionByKey places keys, as in Kafka.
package brook
