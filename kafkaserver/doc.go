// Package kafkaserver serves a brook.Broker over the Kafka wire protocol, so
// that standard Kafka clients (franz-go, sarama, kafka-go, librdkafka and
// kcat, the Java client) produce to and consume from an embedded broker
// while the program's own goroutines use the same topics and groups.
//
// The server is shaped like net/http's: New, then Serve or ListenAndServe,
// then Shutdown (graceful) or Close (at once). It presents itself as a
// one-node cluster (node 0) that leads every partition.
//
// What it promises:
//
//   - A Produce request's records for one partition are one all-or-nothing
//     append: acknowledged when durable per the topic's sync policy, or
//     refused whole. Every codec is accepted (gzip, snappy, lz4, zstd).
//     Idempotent producers are served with real sequence checks: a retried
//     batch is not written twice, a gap is refused (the state is in memory,
//     so after a restart clients start a new producer ID). Transactional
//     producers are refused.
//   - Fetch long-polls: it answers when MinBytes are available or after
//     MaxWaitTime, within the request's byte limits.
//   - Remote consumers join the same coordinator as in-process
//     brook.Consumers (see brook.RemoteMember): Brook computes the equal,
//     sticky assignment itself for groups of protocol type "consumer" and
//     hands each member its share in SyncGroup. Eager clients give up all
//     partitions at each rebalance; cooperative-sticky clients keep theirs.
//     Commits are fenced: a member commits only partitions it still holds.
//   - A malformed or oversized frame closes its connection; it never
//     crashes or stalls the server. Connections, in-flight requests and idle
//     time are bounded.
//
// # Caveats
//
// One node, no replication: replication factors above 1 are refused.
// Requests of one connection are handled in order, one at a time, except
// that consecutive Produce requests overlap (their appends are queued in
// order). No transactions, no ACLs, no quotas, no fetch sessions (each Fetch is a
// full request). Groups of a protocol type other than "consumer" are
// refused. The table of APIs and versions is in the README.
package kafkaserver
