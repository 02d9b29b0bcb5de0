// Package pubsub is one client interface over message backends chosen by
// URL: the embedded Brook broker, Kafka, Google Pub/Sub, or one of your
// own. A program written against *Client runs unchanged on "mem://" in its
// tests, on "brook:///var/lib/app" on one machine, and on
// "kafka://h1:9092,h2:9092" once it outgrows it.
//
//	c, err := pubsub.Open(ctx, "mem://") // or reg.Open(ctx, os.Getenv("BROOK_URL"))
//	...
//	err = c.CreateTopic(ctx, "orders", 8)
//	err = c.Send(ctx, "orders", []byte("hello"))                  // send_message
//	err = c.Consume(ctx, "billing", "orders", func(ctx context.Context, m *brook.Message) error {
//		return handle(m) // consume_message: nil commits
//	})
//
// # What every backend promises
//
// The Client, not the backend, validates names (Kafka's rules:
// brook.ErrInvalidTopicName, brook.ErrInvalidGroupID), runs the retries,
// the ErrorPolicy and the dead-letter topic around handlers (topic
// "<group>.dlq" unless set, headers brook.dlq.topic, brook.dlq.partition,
// brook.dlq.offset and brook.dlq.error, the same as the core consumer's),
// and builds Receive and Messages on Run. Backends return Brook's sentinel
// errors, so errors.Is matches brook.ErrUnknownTopic,
// brook.ErrInvalidPartition (a *brook.PartitionError), brook.ErrMessageTooLarge,
// brook.ErrTopicExists and brook.ErrClosed the same way on each. What a
// backend cannot do it declares in driver.Capabilities; the call returns
// errors.ErrUnsupported. Package drivertest checks all of this.
//
// Delivery is at least once: a nil from the handler commits the message
// (unless ManualCommit), a clean Close commits what was handled, and a
// crash may deliver again what was handled but not yet committed.
//
// # Built-in backends
//
//   - "brook://" or "brook": the process-wide broker
//     (brook.GetorSetBrokerInstance); Close leaves it open.
//   - "brook:///abs/dir", "brook://./rel/dir": a broker the client opens
//     on that directory (host and path joined, as go-cloud does) and closes.
//     Query keys: sync (always, interval, never; default always),
//     commit_interval (a Go duration; default 1s) and segment_size (bytes;
//     default 4 MiB); any other key is ErrBadURL.
//   - "mem://": a broker on a new temporary directory with no fsync,
//     removed on Close; for tests. It takes the same query keys.
//
// A group maps to a brook.Consumer (brook.Broker.CreateConsumerWith);
// group "" reads every partition with brook.Broker.Fetch, outside any
// group, and commits nothing.
//
// # A backend of your own
//
// A backend implements the eight methods of driver.Backend and the three
// of driver.Subscription, passes drivertest.RunConformanceTests, and is
// registered under a scheme. The package's example_backend_test.go is a
// complete one, a log in memory with one partition per topic, in about 300
// lines:
//
//	type memlog struct{ ... } // topics, groups and their offsets, under a mutex
//
//	func (l *memlog) EnsureTopic(ctx context.Context, topic string, partitions int) error
//	func (l *memlog) Partitions(ctx context.Context, topic string) (int, error)
//	func (l *memlog) EndOffsets(ctx context.Context, topic string) ([]int64, error)
//	func (l *memlog) Publish(ctx context.Context, topic string, msgs []*brook.Message) error
//	func (l *memlog) Subscribe(ctx context.Context, group string, topics []string, o driver.SubscribeOptions) (driver.Subscription, error)
//	func (l *memlog) DeleteGroup(ctx context.Context, group string) error
//	func (l *memlog) As(target any) bool
//	func (l *memlog) Close() error
//	func (l *memlog) Capabilities() driver.Capabilities // optional: it declares less than driver.All()
//
//	func (s *memSub) Run(ctx context.Context, h brook.Handler) error // a goroutine per partition
//	func (s *memSub) Commit(ctx context.Context, m *brook.Message) error
//	func (s *memSub) Close() error
//
// Its test runs the conformance suite, which skips only what Capabilities
// rules out (here: explicit partitions), and a program registers it:
//
//	func TestConformance(t *testing.T) {
//		drivertest.RunConformanceTests(t, func(*testing.T) driver.Backend { return newMemlog() })
//	}
//
//	var reg pubsub.Registry // knows "brook" and "mem"; Register panics on a duplicate
//	reg.Register("memlog", pubsub.OpenerFunc(func(ctx context.Context, u *url.URL) (driver.Backend, error) {
//		return newMemlog(), nil
//	}))
//	c, err := reg.Open(ctx, "memlog://")
//
// The driver never sees a name that breaks Kafka's rules, a nil message or
// a handler that panics: the client has dealt with those. It returns
// Brook's sentinel errors (see package driver).
package pubsub
