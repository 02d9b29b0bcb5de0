package brook

import (
	"errors"
	"fmt"

	"github.com/brookmq/brook/storage"
)

// Sentinel errors. Callers match them with errors.Is; the structured errors
// below wrap them and carry the topic, partition or offset involved.
var (
	// ErrReadOnly is returned by every call that would write on a broker
	// opened with Options.ReadOnly.
	ErrReadOnly = errors.New("brook: broker opened read-only")

	// ErrClosed is returned by every call on a Broker, Producer or Consumer
	// after its Close, and by Publish or Run when the broker they belong to
	// has been closed.
	ErrClosed = errors.New("brook: closed")

	// ErrLocked is returned by Open when another Broker, in this process or
	// another one, holds the data directory.
	ErrLocked = errors.New("brook: data directory is locked by another broker")

	// ErrInvalidTopicName is returned by CreateNewTopic, CreateTopic,
	// Subscribe and Publish for a name that breaks Kafka's naming rules:
	// 1 to 249 characters of [a-zA-Z0-9._-], and neither "." nor "..".
	ErrInvalidTopicName = errors.New("brook: invalid topic name")

	// ErrInvalidGroupID is returned by Consumer.Subscribe, Run and Poll when
	// the consumer's group ID breaks the same rules as a topic name.
	ErrInvalidGroupID = errors.New("brook: invalid group ID")

	// ErrUnknownGroup is returned by GroupStats for a group that has
	// neither members nor committed offsets.
	ErrUnknownGroup = errors.New("brook: unknown group")

	// ErrTopicExists is returned by CreateTopic (not by CreateNewTopic, which
	// returns the existing topic when its partition count matches).
	ErrTopicExists = errors.New("brook: topic already exists")

	// ErrUnknownTopic is returned by Publish, Subscribe, Topic, DeleteTopic
	// and AddPartitions for a topic that does not exist.
	ErrUnknownTopic = errors.New("brook: unknown topic")

	// ErrInvalidPartition is returned by Publish for a partition index that
	// is out of range or a negative value other than PartitionByKey and
	// PartitionRoundRobin, and by CreateNewTopic, CreateTopic and
	// AddPartitions for a partition count out of range.
	ErrInvalidPartition = errors.New("brook: invalid partition")

	// ErrTopicMismatch is returned by Publish when the message names a topic
	// other than the one it is published to.
	ErrTopicMismatch = errors.New("brook: message topic does not match")

	// ErrNilMessage is returned by Publish and PublishAsync for a nil message.
	ErrNilMessage = errors.New("brook: nil message")

	// ErrMessageTooLarge is returned by Publish when a message's key, value
	// and headers together exceed the topic's MaxMessageBytes.
	ErrMessageTooLarge = errors.New("brook: message too large")

	// ErrInvalidTimestamp is returned by Publish, PublishAsync and
	// PublishBatch for a Message.Timestamp the log cannot store exactly:
	// before 1677-09-21 or after 2262-04-11 (the range of int64
	// nanoseconds since 1970).
	ErrInvalidTimestamp = errors.New("brook: timestamp out of range")

	// ErrInvalidConfig is returned by Open and CreateTopic for an option out
	// of range (a negative size or duration, an unknown sync policy).
	ErrInvalidConfig = errors.New("brook: invalid configuration")

	// ErrNoSubscription is returned by Run and Poll before Subscribe.
	ErrNoSubscription = errors.New("brook: consumer has no subscription")

	// ErrRunning is returned by Run and Poll when the consumer is already
	// being run: one consumer is driven by one Run (or by Poll) at a time.
	ErrRunning = errors.New("brook: consumer is already running")

	// ErrNilHandler is returned by Run when the handler is nil.
	ErrNilHandler = errors.New("brook: nil handler")

	// ErrNotAssigned is returned by Seek, SeekToTime and Commit for a
	// partition the consumer does not own at the moment.
	ErrNotAssigned = errors.New("brook: partition not assigned to this consumer")

	// ErrFenced is returned by Commit when the grant under which the
	// message was delivered has ended (the partition was handed over, the
	// member was evicted after its poll timeout, the topic was deleted and
	// created again), also when the partition came back to the same
	// consumer since: the commit is refused so that it cannot overwrite the
	// new owner's offset. Kafka calls this ILLEGAL_GENERATION.
	ErrFenced = errors.New("brook: commit fenced: partition owned by a newer generation")

	// ErrOffsetOutOfRange is returned by Seek and Broker.Fetch for an offset
	// outside [first, next] of the partition that is not OffsetOldest or
	// OffsetNewest, and by Commit for a message offset that is negative or
	// not yet in the partition. Seek, Fetch and Commit return it as an
	// *OffsetError, which gives the partition's range.
	ErrOffsetOutOfRange = errors.New("brook: offset out of range")

	// ErrCorrupt is returned by Open when a partition or a metadata file is
	// damaged in a way that cannot be repaired without losing acknowledged
	// data, and by reads that meet such damage. Damage of a partition's log
	// also matches ErrPartitionFailed; it is recovered only by
	// RepairPartition (`brook check --repair`), never by dropping data
	// silently.
	ErrCorrupt = errors.New("brook: corrupt data")

	// ErrPartitionFailed is returned by the calls on a partition that has
	// failed, so that nothing is acknowledged on top of a broken file or
	// past a hole. Two causes, told apart by what else the error matches:
	//   - a write or sync error (the error wraps its cause, for example
	//     syscall.ENOSPC): Publish is refused until the broker is reopened,
	//     which repairs what the failed write left;
	//   - damage a reader met (a flipped byte in a sealed segment, a
	//     missing segment file) or Open found (a missing partition
	//     directory, never recreated): the error also matches ErrCorrupt
	//     and names the segment and offset, or the directory. Publish is
	//     refused, reads that reach the damage fail, and a consumer's
	//     other partitions keep flowing (ConsumerOptions.OnPartitionFailed).
	//     Reopening does not help: the operator runs `brook check --repair
	//     TOPIC/PARTITION` (RepairPartition), which cuts the log at the
	//     damage, or, for a missing directory, restores it from a backup
	//     (RepairPartition has nothing to cut there).
	ErrPartitionFailed = errors.New("brook: partition failed")

	// ErrGroupActive is returned by DeleteGroup and ResetOffsets while the
	// group has live members: stop (Close) its consumers first, as Kafka
	// refuses to delete, or reset the offsets of, a non-empty group.
	ErrGroupActive = errors.New("brook: group has active members")

	// ErrNotDataDir is returned by Open for a directory that is not a Brook
	// data directory: a non-empty directory without the BROOK marker file,
	// one whose marker has a format this release does not know, or, with
	// Options.NoCreate, a missing or empty directory. Brook never changes or
	// deletes what it did not create.
	ErrNotDataDir = errors.New("brook: not a Brook data directory")

	// ErrUnexpectedFile is returned by Open, wrapped with the path, when an
	// entry inside the data directory is a symbolic link, a special file (a
	// FIFO, a device, a socket) or a file where a directory belongs. Brook
	// never follows links inside its directory (the directory itself may be
	// one) and never opens special files.
	ErrUnexpectedFile = errors.New("brook: unexpected file in data directory")

	// ErrBrokerInstanceSet is returned by SetBrokerInstance while another
	// process-wide broker is open.
	ErrBrokerInstanceSet = errors.New("brook: process-wide broker already set")
)

// TopicError reports a problem with one topic.
type TopicError struct {
	Topic string
	Err   error
}

func (e *TopicError) Error() string { return fmt.Sprintf("%v: %q", e.Err, e.Topic) }

// Unwrap returns the sentinel or cause.
func (e *TopicError) Unwrap() error { return e.Err }

// PartitionError reports a problem with one partition of a topic: an index
// out of range (Partitions says how many there are), or a failure of the
// partition's log.
type PartitionError struct {
	Topic      string
	Partition  int
	Partitions int // the topic's partition count, when known
	Err        error
}

func (e *PartitionError) Error() string {
	if e.Partitions > 0 {
		return fmt.Sprintf("%v: %s/%d (topic has partitions 0..%d)", e.Err, e.Topic, e.Partition, e.Partitions-1)
	}
	return fmt.Sprintf("%s/%d: %v", e.Topic, e.Partition, e.Err)
}

// Unwrap returns the sentinel or cause.
func (e *PartitionError) Unwrap() error { return e.Err }

// OffsetError reports an offset outside a partition: Offset is not in
// [First, Next], the offsets a read may start at (Next reads nothing yet).
// It matches ErrOffsetOutOfRange. Seek, Broker.Fetch, Consumer.Commit and
// the brook command all report an offset out of range with it, in the same
// words. (Commit refuses an offset of Next too: no message has it yet.)
type OffsetError struct {
	Topic     string
	Partition int
	Offset    int64 // the offset asked for
	First     int64 // the partition's first offset at the time
	Next      int64 // the partition's next offset at the time
}

// Error says which offset was asked for and what the partition holds.
func (e *OffsetError) Error() string {
	held := "nothing"
	if e.Next > e.First {
		held = fmt.Sprintf("%d..%d", e.First, e.Next-1)
	}
	return fmt.Sprintf("%v: %s/%d: offset %d, the partition holds %s (next %d)",
		ErrOffsetOutOfRange, e.Topic, e.Partition, e.Offset, held, e.Next)
}

// Is reports whether target is ErrOffsetOutOfRange.
func (e *OffsetError) Is(target error) bool { return target == ErrOffsetOutOfRange }

// HandlerError reports a handler that failed (returned an error or
// panicked) on a message on every one of its ConsumerOptions.MaxAttempts.
// Run returns it under StopOnError, and under DeadLetterOnError when the
// dead-letter publish fails (wrapped with that failure); otherwise, under
// DeadLetterOnError, its error text goes into the dead letter's
// "brook.dlq.error" header. Every failure is also logged (Options.Logger).
type HandlerError struct {
	Topic     string
	Partition int
	Offset    int64
	Attempts  int
	Err       error
}

func (e *HandlerError) Error() string {
	return fmt.Sprintf("brook: handler failed on %s/%d@%d after %d attempts: %v",
		e.Topic, e.Partition, e.Offset, e.Attempts, e.Err)
}

// Unwrap returns the handler's error (a *PanicError for a panic).
func (e *HandlerError) Unwrap() error { return e.Err }

// PanicError is a handler panic turned into an error; the process goes on.
type PanicError struct {
	Value any
	Stack []byte
}

func (e *PanicError) Error() string { return fmt.Sprintf("handler panicked: %v", e.Value) }

// liveStorageError is storageError for a publish or fetch on a topic that
// was open when the call began: its log closed while the broker is still
// open means DeleteTopic closed it, and the call reports ErrUnknownTopic as
// it would have a moment later.
func (b *Broker) liveStorageError(topic string, p int, err error) error {
	if errors.Is(err, storage.ErrClosed) && b.check() == nil {
		return &TopicError{Topic: topic, Err: ErrUnknownTopic}
	}
	return storageError(topic, p, err)
}

// storageError maps an error of partition p's log to the public errors.
func storageError(topic string, p int, err error) error {
	var oe *storage.OffsetError
	switch {
	case err == nil:
		return nil
	case errors.Is(err, storage.ErrClosed):
		return &PartitionError{Topic: topic, Partition: p, Err: ErrClosed}
	case errors.Is(err, storage.ErrFailed):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w", ErrPartitionFailed, err)}
	case errors.Is(err, storage.ErrCorrupt):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w: %w", ErrPartitionFailed, ErrCorrupt, err)}
	case errors.Is(err, storage.ErrRecordTooLarge):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w", ErrMessageTooLarge, err)}
	case errors.Is(err, storage.ErrLocked):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w", ErrLocked, err)}
	case errors.Is(err, storage.ErrUnexpectedFile):
		return &PartitionError{Topic: topic, Partition: p, Err: fmt.Errorf("%w: %w", ErrUnexpectedFile, err)}
	case errors.As(err, &oe):
		return &OffsetError{Topic: topic, Partition: p, Offset: oe.Offset, First: oe.First, Next: oe.Next}
	}
	return &PartitionError{Topic: topic, Partition: p, Err: err}
}
