package brook

import (
	"fmt"
	"time"
)

// StartOffset says where a group starts reading a partition for which it
// has no committed offset.
type StartOffset uint8

const (
	// StartEarliest starts at the earliest retained offset (the default, so
	// nothing published before the group existed is missed).
	StartEarliest StartOffset = iota
	// StartLatest starts at the next offset to be written.
	StartLatest
)

// ErrorPolicy says what a consumer does with a message whose handler
// failed (returned an error or panicked) ConsumerOptions.MaxAttempts times.
type ErrorPolicy uint8

const (
	// StopOnError stops Run, which returns a *HandlerError. The message is
	// not committed: the next owner of its partition gets it again.
	StopOnError ErrorPolicy = iota
	// SkipOnError logs the failure, commits past the message and goes on.
	SkipOnError
	// DeadLetterOnError publishes the message to ConsumerOptions.DeadLetterTopic
	// (created with one partition if missing), with headers naming its origin
	// and the error, then commits past it. If that publish fails, Run stops
	// as with StopOnError.
	DeadLetterOnError
)

// ConsumerOptions configure a Consumer. Zero fields mean their defaults.
type ConsumerOptions struct {
	// StartOffset applies to partitions the group has no committed offset
	// for. The position it gives is committed when the group first reads
	// the partition (also under ManualCommit), so a later owner starts at
	// the same place: StartLatest skips what was published before the group
	// first read the partition, once. Default: StartEarliest.
	StartOffset StartOffset

	// PollTimeout is how long a handler may run on one message (or, with
	// Poll, how long a polled message may stay unacknowledged by the next
	// Poll, or a message wait for a Poll to take it) before the member is
	// evicted from the group and its partitions
	// move on; its later commits are fenced. Like Kafka's
	// max.poll.interval.ms. Default: 5 minutes.
	PollTimeout time.Duration

	// MaxAttempts is how many times the handler is called for one message
	// before ErrorPolicy applies; 1 means no retry. Default: 3.
	MaxAttempts int

	// RetryBackoff is the wait before the first retry, doubled for each
	// later one, up to 10 s. Default: 100ms.
	RetryBackoff time.Duration

	// ErrorPolicy is what happens after the last failed attempt.
	// Default: StopOnError.
	ErrorPolicy ErrorPolicy

	// DeadLetterTopic receives failed messages under DeadLetterOnError; an
	// invalid name makes Subscribe, Run and Poll return ErrInvalidTopicName.
	// Default: the group ID followed by ".dlq".
	DeadLetterTopic string

	// ManualCommit turns automatic commits off: only Commit commits. On a
	// rebalance or close, what was not committed is delivered again to the
	// next owner. Default: false (a message is committed once its handler
	// returns nil).
	ManualCommit bool

	// FetchMaxRecords bounds one read from a partition. Default: 500.
	FetchMaxRecords int

	// OnAssigned, OnRevoked and OnLost report changes of the consumer's
	// partitions, each with the partitions concerned, sorted:
	//
	//   - OnAssigned: partitions were granted to this consumer and their
	//     readers started (on joining, and after each rebalance that gives
	//     it partitions).
	//   - OnRevoked: partitions were given up cleanly, everything handled
	//     on them committed and written to disk: a rebalance moved them to
	//     another member (Unsubscribe, a member joining), or the consumer
	//     left the group (Close, the end of Run's context, a handler
	//     failure under StopOnError). On leaving it is called once, with
	//     every partition the consumer still held, after it left.
	//   - OnLost: partitions were taken away without a clean hand-back, and
	//     what was handled since the last commit may be delivered again to
	//     their next owner: the member was evicted (PollTimeout), or the
	//     topic was deleted.
	//
	// They run on the consumer's coordination goroutine with no lock held,
	// before Run returns (or, with Poll, before Close returns); they must
	// not call Run, Poll or Close. Default: none.
	OnAssigned, OnRevoked, OnLost func([]TopicPartition)

	// OnPartitionFailed, if set, is called once per grant when a partition
	// this consumer reads is found damaged; err matches ErrPartitionFailed
	// and ErrCorrupt and names the segment and offset (or, for a partition
	// whose directory was missing at Open, the directory; nothing is
	// committed for it). Run does not end:
	// the consumer's other partitions keep flowing, and the failed one
	// stays assigned to it, unread, until the member leaves (it is logged
	// too). Repair it with RepairPartition (`brook check --repair`). It
	// runs on the partition's goroutine with no lock held. Default: nil
	// (only logged).
	OnPartitionFailed func(tp TopicPartition, err error)
}

func (o ConsumerOptions) withDefaults() (ConsumerOptions, error) {
	if o.PollTimeout < 0 || o.MaxAttempts < 0 || o.RetryBackoff < 0 || o.FetchMaxRecords < 0 ||
		o.StartOffset > StartLatest || o.ErrorPolicy > DeadLetterOnError {
		return o, fmt.Errorf("%w: negative consumer option or unknown policy", ErrInvalidConfig)
	}
	if o.PollTimeout == 0 {
		o.PollTimeout = 5 * time.Minute
	}
	if o.MaxAttempts == 0 {
		o.MaxAttempts = 3
	}
	if o.RetryBackoff == 0 {
		o.RetryBackoff = 100 * time.Millisecond
	}
	if o.FetchMaxRecords == 0 {
		o.FetchMaxRecords = 500
	}
	return o, nil
}
