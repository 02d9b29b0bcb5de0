// Package exchange gives Brook RabbitMQ's words: exchanges, queues, bindings
// and routing keys, over the durable log of any pubsub backend that has end
// offsets (the embedded brook:// and mem://, and Kafka). Publishers send to
// an exchange with a routing key; queues are bound to exchanges by keys;
// consumers compete for a queue's messages. People who know amqp091-go find
// its calls here with its argument orders.
//
//	conn, err := exchange.Open(ctx, client) // client: a *pubsub.Client
//	err = conn.ExchangeDeclare(ctx, "logs", exchange.Fanout, exchange.ExchangeOptions{})
//	err = conn.QueueDeclare(ctx, "audit", exchange.QueueOptions{})
//	err = conn.QueueBind(ctx, "audit", "", "logs") // queue, key, exchange
//	err = conn.Publish(ctx, "logs", "web.error", exchange.Publishing{Body: []byte("disk full")})
//	err = conn.Consume(ctx, "audit", "auditor-1", func(ctx context.Context, m *brook.Message) error {
//		fmt.Println(exchange.RoutingKey(m), string(m.Value))
//		return nil // commits the message
//	})
//
// # The mapping
//
//	| AMQP | Brook |
//	|---|---|
//	| exchange `name` | topic `x.<name>` (ExchangeOptions.Partitions, Default: 1) |
//	| the default exchange `""` | topic `x._default`; every queue is bound to it under its own name |
//	| queue `name` | consumer group `q.<name>`, subscribed to the topics of the exchanges it is bound to |
//	| routing key | header `brook.routing_key` and the message key (PartitionByKey: order holds per key) |
//	| binding | a window `[Since, Until)` of the exchange's offsets, per partition, with a key |
//	| routing at publish time | filtering at read time: a queue's consumer delivers what its windows take and commits past the rest |
//	| a queue holds messages | committed offsets: durable, kept while nobody consumes |
//	| basic.ack | the handler returns nil (or ManualCommit and Commit) |
//	| basic.return (`mandatory`) | Publish returns ErrUnroutable and writes nothing |
//	| declarations | JSON records in the one-partition topic `__brook_exchanges` |
//
// And the seed programs (seeds/001) in Go:
//
//	| seed | Go |
//	|---|---|
//	| `python3 broker.py` | nothing to run when embedded; for separate processes, `brook serve --kafka ADDR` (or Kafka) |
//	| `Connection('example.com')` | `exchange.Open(ctx, client)`, the client on brook://, mem:// or kafka://example.com:9092 |
//	| `create_exchange(name, type='DIRECT'\|'FANOUT')` | `ExchangeDeclare(ctx, name, exchange.Direct, ExchangeOptions{})` |
//	| `create_queue(name, exchange_name)` | `QueueDeclare(ctx, name, QueueOptions{})` + `QueueBind(ctx, name, name, exch)` |
//	| `publish(msg, name, exchange)` | `Publish(ctx, exch, key, Publishing{Body: msg})` |
//	| `subscribe(callback)` | `Consume(ctx, queue, consumer, h)`, which blocks; more consumers compete, up to the partition count |
//	| direct, fanout | Direct, Fanout, plus Topic (`*` one word, `#` zero or more) |
//
// # What it promises
//
// A publish is one append to the exchange's topic, whatever the number of
// queues bound, so fanout costs the writer nothing. A queue gets exactly the
// messages published while one of its bindings matched: each binding
// records the exchange's end offsets when it is made (Since) and when it is
// removed (Until), and a message is delivered only when its offset lies in
// that window, so filtering at read time gives AMQP's routing at publish
// time. A consumer that starts an hour late delivers the same messages as
// one that ran along. A message that two bindings of one queue match is
// delivered once. Delivery is at-least-once, as everywhere in Brook: a
// message is committed after its handler returns nil, and a crash may
// deliver the messages of the last commit interval again. Order holds per
// routing key (one key, one partition); an exchange of one partition, the
// default, keeps publish order.
//
// With no matching binding, Publish writes nothing: with Mandatory it
// returns ErrUnroutable, otherwise nil (AMQP drops the message).
//
// # Declarations
//
// Exchanges, queues and bindings are JSON records in the topic
// __brook_exchanges, replayed by Open and tailed (a group-less read) while
// the Conn is open, so they survive restarts and every process on one
// backend (one Kafka cluster, one data directory) sees them. Each declaring
// call writes its record and returns once its Conn has read it back; Sync
// brings in what other processes declared. Two processes declaring one
// exchange at once with different kinds: the first record wins, and the
// other caller gets ErrExchangeExists. Names are 1 to 240 characters of
// [a-zA-Z0-9._-]; a leading '_' is reserved.
//
// The log stays bounded: when 256 records (or 256 KiB) follow the latest
// snapshot, the next writer adds a snapshot record holding the whole state,
// and Open starts from what the log retains. On the embedded backend the
// topic is created with a 4 MiB size retention (brook.TopicConfig
// RetentionBytes), so the segments that snapshots replaced are dropped and
// Open replays at most a few MiB. On Kafka, create the topic yourself
// before the first Open with cleanup.policy=delete and retention.bytes of
// 4 MiB or more (one partition), or it keeps everything.
//
// # Cost, and when to use one exchange per key space
//
// Filtering at read time means that every queue reads its exchanges'
// topics in full: with Q queues bound to one exchange, the backend reads
// each message Q times, and a queue bound to one key of many delivers a
// small part of what it reads. BenchmarkDirectFanIn measures it: 1, 10 and
// 100 queues on one direct exchange, each bound to its own key, reporting
// delivered msgs/s per queue and the read amplification (messages read per
// message delivered). On a loaded 2-core machine, mem://, 100-byte
// messages:
//
//	queues  delivered msgs/s per queue  all queues  read amplification
//	1       123k                        123k        1
//	10      5.1k                        51k         10
//	100     98                          9.8k        100
//
// On the embedded broker a read is a memory copy, and the cost is CPU; on
// Kafka it is network. When queues take small disjoint
// slices of a busy exchange (a key per tenant, per device, per user),
// declare one exchange per key space instead (an exchange per tenant, or a
// handful of exchanges that partition the keys), so that each queue reads
// what it delivers. Fanout, and topic bindings that take most of the
// traffic, lose nothing: every queue wants every message anyway. Every
// queue also reads the default exchange's topic: publish to "" only what
// is small or rare.
//
// # Caveats
//
//   - A message published while QueueBind or QueueUnbind runs may fall on
//     either side of the new window's edge; one published after it
//     returned is decided exactly. A consumer syncs the declarations
//     before judging a message newer than its last sync, so a binding made
//     before a message was published is never missed, even across
//     processes (up to a clock skew of one second).
//   - Removed bindings are kept, with Until set, since a consumer that lags
//     still needs them (those during which nothing was published are
//     dropped): a queue that is bound and unbound very often on a busy
//     exchange grows its declaration. Delete and declare it again to start
//     afresh.
//   - A state whose snapshot exceeds 768 KiB (about 5,000 bindings) is not
//     snapshotted, and the declarations log then grows with every record.
//   - QueueOptions are per Conn, not durable: each process passes its own.
//   - Consumers of one queue compete per partition: an exchange of one
//     partition, the default, has one active consumer per queue at a time;
//     the others wait to take over.
//   - A queue's first consumer starts at the earliest offset its exchanges
//     retain (there is no seek to Since), so a new queue on an exchange
//     with a long history reads that history once, committing past it.
//   - ExchangeDelete keeps the exchange's topic (queues may still hold its
//     messages); declaring it again needs the same partition count.
package exchange
