package brook

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/brookmq/brook/storage"
)

// SyncPolicy says when a partition's writes reach stable storage.
type SyncPolicy uint8

const (
	// SyncDefault means "inherit": a topic with it uses the broker's policy,
	// and a broker with it uses SyncAlways.
	SyncDefault SyncPolicy = iota

	// SyncAlways fsyncs every group-committed batch before Publish returns.
	// A process crash or a power loss loses nothing that was acknowledged.
	SyncAlways

	// SyncInterval acknowledges after the write reaches the OS and fsyncs in
	// the background every Options.SyncInterval. A process crash loses
	// nothing acknowledged; a power loss can lose the last interval.
	SyncInterval

	// SyncNever leaves flushing to the OS (Close still syncs). A process
	// crash loses nothing acknowledged; a power loss can lose whatever the OS
	// had not yet written back (typically up to ~30 s on Linux).
	SyncNever
)

// String returns the policy's name: default, always, interval or never.
func (p SyncPolicy) String() string {
	switch p {
	case SyncDefault:
		return "default"
	case SyncAlways, SyncInterval, SyncNever:
		return p.storage().String() // the same names as storage's policies
	}
	return fmt.Sprintf("SyncPolicy(%d)", uint8(p))
}

func (p SyncPolicy) storage() storage.SyncPolicy {
	switch p {
	case SyncInterval:
		return storage.SyncInterval
	case SyncNever:
		return storage.SyncNever
	}
	return storage.SyncAlways
}

// Limits that hold whatever the options say.
const (
	// MaxPartitions is the most partitions one topic may have.
	//
	// Descriptors: an open partition holds two file descriptors (its
	// directory lock and tidwall/wal's tail segment; measured), plus up to
	// four read handles on sealed segments while history is read. A broker
	// with P partitions in all therefore needs about 2P descriptors, and
	// up to 6P while every partition is being read from the past:
	// MaxPartitions in one topic needs a limit (ulimit -n) above 20,000.
	// A common default of 1,024 holds about 500 partitions.
	MaxPartitions = 10000
	// maxTopicNameLen is Kafka's limit.
	maxTopicNameLen = 249
	// MaxMessageBytesLimit bounds Options.MaxMessageBytes and
	// TopicConfig.MaxMessageBytes (512 MiB), so that the storage record
	// limit derived from it (twice as much, plus framing) cannot overflow.
	MaxMessageBytesLimit = 512 << 20
)

// Options configure a Broker. The zero value of every field means its
// default, and a nil *Options means all defaults.
type Options struct {
	// Sync is the durability policy of topics that do not set their own.
	// Default: SyncAlways.
	Sync SyncPolicy

	// SyncInterval is the background fsync period under SyncInterval.
	// Default: 100ms.
	SyncInterval time.Duration

	// SegmentSize is the target size of one partition segment file. Each
	// open partition keeps up to about two segments in memory, so memory
	// grows with partitions × SegmentSize, not with the data.
	// Default: 4 MiB.
	SegmentSize int

	// MaxMessageBytes is the largest message (key + value + headers) of
	// topics that do not set their own, at most 512 MiB. Default: 1 MiB.
	MaxMessageBytes int

	// RetentionCheckInterval is how often retention runs over all topics
	// that have a retention limit. Default: 1 minute.
	RetentionCheckInterval time.Duration

	// CommitInterval is how often consumer groups write their committed
	// offsets to disk. Offsets are also written when a partition changes
	// owner and when a consumer closes, so a clean rebalance or close never
	// redelivers; after a crash, up to one interval of messages can be
	// delivered again (at-least-once). Default: 1s.
	CommitInterval time.Duration

	// NoCreate makes Open fail with ErrNotDataDir where there is no data
	// directory yet (dir missing or empty) instead of creating one, as
	// tools that only look at data want. Default: false (Open creates).
	NoCreate bool

	// ReadOnly opens the broker for reading only, as bbolt's ReadOnly
	// does, so that tools can look at a data directory that a running
	// program holds: no lock is taken, nothing is created, repaired or
	// written (no retention, no tail repair), and every call that would
	// write (CreateTopic, DeleteTopic, AddPartitions, AlterTopic, Publish
	// and the other producer calls, consumers, DeleteGroup, ResetOffsets)
	// fails with ErrReadOnly. Open validates the directory exactly as it
	// does otherwise, and each partition ends at its last complete batch;
	// Fetch sees records the writer appends later. Default: false.
	ReadOnly bool

	// Logger receives the broker's reports (repairs, rebalances, evictions).
	// Default: none; the library prints nothing by itself.
	Logger *slog.Logger

	// Observer receives append, fsync and consume measurements as they
	// happen (see Observer; package metrics provides one). Default: nil,
	// nothing is measured.
	Observer Observer

	// fs replaces the partitions' file system; the package's fault
	// injection tests set it. Default: the operating system's.
	fs storage.FS

	// meta replaces the file system of Brook's own metadata writes (see
	// metaFS); the power-loss test sets it. Default: the operating
	// system's.
	meta metaFS
}

func (o *Options) withDefaults() (Options, error) {
	var r Options
	if o != nil {
		r = *o
	}
	if r.SyncInterval < 0 || r.SegmentSize < 0 || r.MaxMessageBytes < 0 || r.MaxMessageBytes > MaxMessageBytesLimit ||
		r.RetentionCheckInterval < 0 || r.CommitInterval < 0 || r.Sync > SyncNever {
		return r, fmt.Errorf("%w: negative size or duration, MaxMessageBytes above 512 MiB, or unknown sync policy", ErrInvalidConfig)
	}
	if r.Sync == SyncDefault {
		r.Sync = SyncAlways
	}
	if r.SyncInterval == 0 {
		r.SyncInterval = 100 * time.Millisecond
	}
	if r.SegmentSize == 0 {
		r.SegmentSize = 4 << 20
	}
	if r.MaxMessageBytes == 0 {
		r.MaxMessageBytes = 1 << 20
	}
	if r.RetentionCheckInterval == 0 {
		r.RetentionCheckInterval = time.Minute
	}
	if r.CommitInterval == 0 {
		r.CommitInterval = time.Second
	}
	if r.meta == nil {
		r.meta = osMeta{}
	}
	if r.Logger == nil {
		r.Logger = slog.New(slog.DiscardHandler)
	}
	return r, nil
}

// TopicConfig configures one topic. Zero fields mean the broker's defaults.
type TopicConfig struct {
	// Partitions is the number of partitions, 1 to MaxPartitions. Required.
	Partitions int

	// RetentionAge drops whole segments whose newest record is older than
	// this. Default: 0, keep forever.
	RetentionAge time.Duration

	// RetentionBytes bounds the bytes kept per partition, as Kafka's
	// retention.bytes does: whole segments are dropped oldest first, never
	// the one being written, as long as the partition still holds at least
	// RetentionBytes without them (so it keeps between RetentionBytes and
	// RetentionBytes plus one segment). Default: 0, no bound.
	RetentionBytes int64

	// MaxMessageBytes is the largest message (key + value + headers), at
	// most 512 MiB. Default: the broker's Options.MaxMessageBytes.
	MaxMessageBytes int

	// Sync is the topic's durability policy. Default: the broker's.
	Sync SyncPolicy
}

func (c TopicConfig) validate() error {
	if c.Partitions < 1 || c.Partitions > MaxPartitions {
		return fmt.Errorf("%w: partition count %d, want 1..%d", ErrInvalidPartition, c.Partitions, MaxPartitions)
	}
	if c.MaxMessageBytes > MaxMessageBytesLimit {
		return fmt.Errorf("%w: MaxMessageBytes %d above the limit of %d", ErrInvalidConfig, c.MaxMessageBytes, MaxMessageBytesLimit)
	}
	if c.RetentionAge < 0 || c.RetentionBytes < 0 || c.MaxMessageBytes < 0 || c.Sync > SyncNever {
		return fmt.Errorf("%w: negative retention or size, or unknown sync policy", ErrInvalidConfig)
	}
	return nil
}
