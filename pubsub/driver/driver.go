// Package driver defines the interface a message backend implements to be
// used through a pubsub.Client: the embedded broker, Kafka, Google Pub/Sub,
// or one of your own. Application code never calls a Backend directly; the
// portable pubsub.Client validates names, runs retries, the error policy and
// dead letters around it, so that every backend behaves alike.
//
// A driver returns errors that Brook's sentinels match under errors.Is:
// brook.ErrUnknownTopic, brook.ErrInvalidPartition (as a
// *brook.PartitionError with Partitions set), brook.ErrMessageTooLarge,
// brook.ErrTopicExists and brook.ErrClosed. Package drivertest checks a
// backend against this contract.
package driver

import (
	"context"

	"github.com/brookmq/brook"
)

// Backend is one connection to a message system. Its methods are safe for
// concurrent use. Names reaching it were already validated by the client.
type Backend interface {
	// EnsureTopic creates topic with the given number of partitions, or
	// does nothing when it exists with that count. Another count is
	// brook.ErrTopicExists.
	EnsureTopic(ctx context.Context, topic string, partitions int) error
	// Partitions returns topic's partition count, or brook.ErrUnknownTopic.
	Partitions(ctx context.Context, topic string) (int, error)
	// EndOffsets returns, per partition, the offset the next message will
	// get. A backend without offsets returns errors.ErrUnsupported.
	EndOffsets(ctx context.Context, topic string) ([]int64, error)
	// Publish appends msgs to topic and returns once the backend holds them
	// as durably as it promises. On return each message's Partition, Offset
	// (where the backend has offsets) and Timestamp are set.
	Publish(ctx context.Context, topic string, msgs []*brook.Message) error
	// Subscribe joins group (or reads every partition outside any group
	// when group is "") for topics. It does not start delivery: Run does.
	// A group-less subscription with brook.StartLatest starts at the end
	// offsets at Subscribe, so it sees what is published after Subscribe
	// returns. The client has checked that each topic exists.
	Subscribe(ctx context.Context, group string, topics []string, o SubscribeOptions) (Subscription, error)
	// DeleteGroup removes a group and its committed offsets. It is refused
	// with brook.ErrGroupActive while the group has live members.
	DeleteGroup(ctx context.Context, group string) error
	// As sets target to the backend's own client when target is a pointer
	// to its type, and reports whether it did.
	As(target any) bool
	// Close releases the backend. It is idempotent.
	Close() error
}

// Capabilities is what a backend can do. A Backend that also has a method
// Capabilities() Capabilities declares less than all of them; one without it
// declares all. The conformance suite skips exactly the checks that a
// missing capability rules out, and names them.
type Capabilities struct {
	ExplicitPartitions bool // Partition >= 0 is honoured, and topics may have more than one partition
	EndOffsets         bool // EndOffsets works and Publish sets Offset
	History            bool // a group that subscribes later still gets earlier messages
	NoGroup            bool // group "" reads every partition and commits nothing
	BinaryHeaders      bool // header values are bytes and keys may repeat
	ExactTimestamps    bool // Timestamp round-trips to the nanosecond
}

// All is the set of every capability: what a backend without a
// Capabilities method declares.
func All() Capabilities {
	return Capabilities{ExplicitPartitions: true, EndOffsets: true, History: true, NoGroup: true, BinaryHeaders: true, ExactTimestamps: true}
}

// CapabilitiesOf returns what b declares: its Capabilities method's answer,
// or All when it has none.
func CapabilitiesOf(b Backend) Capabilities {
	if c, ok := b.(interface{ Capabilities() Capabilities }); ok {
		return c.Capabilities()
	}
	return All()
}

// SubscribeOptions are what a backend itself must honour for a subscription;
// the client handles retries, error policies and dead letters above it.
type SubscribeOptions struct {
	// Start is where a group with no committed offset begins.
	// Default: brook.StartEarliest.
	Start brook.StartOffset
	// ManualCommit: a nil from the handler does not commit; the caller
	// calls Subscription.Commit.
	ManualCommit bool
	// OnAssigned, OnRevoked and OnLost are called, when set, as the
	// backend's group gives, takes back or loses partitions.
	OnAssigned, OnRevoked, OnLost func([]brook.TopicPartition)
}

// Subscription is one member of a group (or a group-less reader).
type Subscription interface {
	// Run delivers messages to h, one goroutine per partition so that
	// order holds within a partition. A nil from h commits the message
	// (unless ManualCommit); an error stops Run, which returns it (the
	// client's h returns a *brook.HandlerError, which Run may wrap) and
	// does not commit that message. Run returns nil when ctx ends or Close
	// is called.
	//
	// The h a pubsub.Client passes has the retries, error policy and dead
	// letters inside it: it does not panic, and it returns ctx's error
	// when ctx ended before the message was handled (commit nothing, and
	// return as for ctx's end). Delivered messages own their byte slices.
	Run(ctx context.Context, h brook.Handler) error
	// Commit commits m (and everything before it on its partition).
	Commit(ctx context.Context, m *brook.Message) error
	// Close ends Run and leaves the group, committing what was handled.
	// It is idempotent.
	Close() error
}
