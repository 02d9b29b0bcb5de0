package brook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"

	"github.com/brookmq/brook/storage"
)

// Topic is a named, partitioned log. Get one from CreateNewTopic,
// CreateTopic or Broker.Topic. Its methods are safe for concurrent use.
type Topic struct {
	b    *Broker
	name string
	dir  string

	alterMu sync.Mutex // serializes AlterTopic: its metadata write and its logs' settings

	mu      sync.RWMutex
	meta    topicMeta      // as stored: zero fields mean broker defaults
	parts   []*storage.Log // index = partition
	deleted bool

	// loadEnds are the partitions' next offsets when the broker loaded
	// the topic from disk (nil for a topic created since): no committed
	// offset of a group loaded later may lie past them (see clampCommitted).
	loadEnds []int64
}

// topicMeta is topic.json, the persisted configuration of a topic.
type topicMeta struct {
	Version         int           `json:"version"`
	Name            string        `json:"name"`
	Partitions      int           `json:"partitions"`
	RetentionAge    time.Duration `json:"retention_age_ns,omitempty"`
	RetentionBytes  int64         `json:"retention_bytes,omitempty"`
	MaxMessageBytes int           `json:"max_message_bytes,omitempty"`
	Sync            SyncPolicy    `json:"sync,omitempty"`
	Created         time.Time     `json:"created"`
}

const topicMetaVersion = 1

// ValidName reports whether s follows Kafka's topic naming rules, which
// Brook applies to topic names and group IDs and which also make it a safe
// single path element: 1 to 249 characters of [a-zA-Z0-9._-], and neither
// "." nor "..". Backends and tools check names with it before they reach a
// broker.
func ValidName(s string) bool { return validName(s) }

func validName(s string) bool {
	if len(s) == 0 || len(s) > maxTopicNameLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

func checkTopicName(name string) error {
	if !validName(name) {
		return &TopicError{Topic: name, Err: ErrInvalidTopicName}
	}
	return nil
}

// CreateNewTopic creates a topic with the given number of partitions and
// the broker's default configuration, or returns the existing topic of that
// name if it has the same number of partitions (so a program can run again
// on its own data). It returns ErrInvalidTopicName, ErrInvalidPartition,
// ErrTopicExists (same name, other partition count), or ErrClosed.
func (b *Broker) CreateNewTopic(name string, partitions int) (*Topic, error) {
	t, err := b.CreateTopic(name, TopicConfig{Partitions: partitions})
	if errors.Is(err, ErrTopicExists) {
		if t, terr := b.Topic(name); terr == nil {
			if n := t.Partitions(); n != partitions {
				return nil, &TopicError{Topic: name, Err: fmt.Errorf(
					"%w with %d partitions, not the %d asked for", ErrTopicExists, n, partitions)}
			}
			return t, nil
		}
	}
	return t, err
}

// CreateTopic creates a topic with the given configuration. The topic's
// metadata is written atomically and fsynced before CreateTopic returns.
// Consumer groups subscribed to the name rebalance. It returns
// ErrInvalidTopicName, ErrInvalidPartition, ErrInvalidConfig, ErrTopicExists
// or ErrClosed.
func (b *Broker) CreateTopic(name string, cfg TopicConfig) (*Topic, error) {
	if err := b.checkWritable(); err != nil {
		return nil, err
	}
	if err := checkTopicName(name); err != nil {
		return nil, err
	}
	if err := cfg.validate(); err != nil {
		return nil, &TopicError{Topic: name, Err: err}
	}
	if err := b.finishPendingDeletion(name); err != nil {
		return nil, err
	}
	t, err := b.createTopic(name, cfg)
	if err != nil {
		return nil, err
	}
	b.topicsChanged()
	return t, nil
}

func (b *Broker) createTopic(name string, cfg TopicConfig) (*Topic, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if _, ok := b.topics[name]; ok {
		return nil, &TopicError{Topic: name, Err: ErrTopicExists}
	}
	meta := topicMeta{
		Version: topicMetaVersion, Name: name, Partitions: cfg.Partitions,
		RetentionAge: cfg.RetentionAge, RetentionBytes: cfg.RetentionBytes,
		MaxMessageBytes: cfg.MaxMessageBytes, Sync: cfg.Sync, Created: time.Now().UTC(),
	}
	// Stage the directory with its metadata, then rename it into place: a
	// crash leaves either no topic or a complete one.
	stage, err := os.MkdirTemp(filepath.Join(b.dir, "tmp"), "create-")
	if err != nil {
		return nil, fmt.Errorf("brook: create topic %q: %w", name, err)
	}
	defer os.RemoveAll(stage)
	// The partition directories are staged too: a topic on disk without
	// one is damage (see checkPartitionDirs), never a half-made create.
	for p := range meta.Partitions {
		if err := os.Mkdir(filepath.Join(stage, strconv.Itoa(p)), 0o700); err != nil {
			return nil, fmt.Errorf("brook: create topic %q: %w", name, err)
		}
	}
	if err := writeMeta(b.opts.meta, stage, meta); err != nil {
		return nil, fmt.Errorf("brook: create topic %q: %w", name, err)
	}
	dir := filepath.Join(b.dir, "topics", name)
	if err := b.opts.meta.Rename(stage, dir); err != nil {
		return nil, fmt.Errorf("brook: create topic %q: %w", name, err)
	}
	if err := b.opts.meta.SyncDir(filepath.Dir(dir)); err != nil {
		return nil, fmt.Errorf("brook: create topic %q: %w", name, err)
	}
	t := &Topic{b: b, name: name, dir: dir, meta: meta}
	if t.parts, err = t.openPartitions(0, meta.Partitions); err != nil {
		// Undo the create, through the staging directory so that a crash
		// never leaves a topic directory without its metadata.
		trash := filepath.Join(b.dir, "tmp", "failed-"+name)
		if b.opts.meta.Rename(dir, trash) == nil {
			_ = b.opts.meta.SyncDir(filepath.Dir(dir))
			_ = os.RemoveAll(trash)
		}
		return nil, err
	}
	b.topics[name] = t
	return t, nil
}

func writeMeta(m metaFS, dir string, meta topicMeta) error {
	data, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return err
	}
	return writeFileAtomic(m, filepath.Join(dir, "topic.json"), append(data, '\n'))
}

// loadTopic reads a topic's metadata and opens its partitions.
func loadTopic(b *Broker, name string) (*Topic, error) {
	dir := filepath.Join(b.dir, "topics", name)
	path := filepath.Join(dir, "topic.json")
	data, err := readTopicFile(path)
	if err != nil {
		return nil, err
	}
	var meta topicMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		return nil, fmt.Errorf("%w: topic metadata %s: %v", ErrCorrupt, path, err)
	}
	if meta.Version != topicMetaVersion || meta.Name != name || !validName(name) || meta.config().validate() != nil {
		return nil, fmt.Errorf("%w: topic metadata %s: unknown version or invalid content", ErrCorrupt, path)
	}
	t := &Topic{b: b, name: name, dir: dir, meta: meta}
	if err := checkPartitionDirs(dir, meta.Partitions); err != nil {
		return nil, err
	}
	if t.parts, err = t.openPartitions(0, meta.Partitions); err != nil {
		return nil, err
	}
	t.loadEnds = make([]int64, len(t.parts))
	for p, l := range t.parts {
		t.loadEnds[p] = l.NextOffset()
	}
	return t, nil
}

// readTopicFile reads a topic.json. A missing file is damage (ErrCorrupt);
// a link or special file is ErrUnexpectedFile; a permission or I/O error
// is returned as itself, so that errors.Is matches its cause.
func readTopicFile(path string) ([]byte, error) {
	err := checkEntry(path, false)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: topic metadata %s is missing", ErrCorrupt, path)
	}
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("brook: read topic metadata: %w", err)
	}
	return data, nil
}

// checkPartitionDirs checks, before they are opened, that the partition
// directories of a topic loaded from disk exist and are directories, not
// links: opening would otherwise create a missing one afresh and empty,
// hiding the loss, or follow a link out of the data directory.
func checkPartitionDirs(dir string, partitions int) error {
	for p := range partitions {
		path := filepath.Join(dir, strconv.Itoa(p))
		err := checkEntry(path, true)
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("%w: partition directory %s is missing", ErrCorrupt, path)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// openPartitions opens partitions [from, to) and returns their logs. On
// error it closes the ones it opened and returns none.
// The caller holds t.mu or is the only user of t.
func (t *Topic) openPartitions(from, to int) ([]*storage.Log, error) {
	sync := t.meta.Sync
	if sync == SyncDefault {
		sync = t.b.opts.Sync
	}
	so := &storage.Options{
		SegmentSize:   t.b.opts.SegmentSize,
		Sync:          sync.storage(),
		SyncInterval:  t.b.opts.SyncInterval,
		MaxRecordSize: maxRecordSize(t.maxMessageBytes()),
		Logger:        t.b.log.With("topic", t.name),
		FS:            t.b.opts.fs,
		ReadOnly:      t.b.opts.ReadOnly,
		OpenDamaged:   true, // a damaged partition fails alone (ErrPartitionFailed)
	}
	logs := make([]*storage.Log, 0, to-from)
	for p := from; p < to; p++ {
		so.Observer = t.b.storageObserver(t.name, p)
		l, err := storage.Open(filepath.Join(t.dir, strconv.Itoa(p)), so)
		if err != nil {
			closeLogs(logs)
			return nil, storageError(t.name, p, err)
		}
		if rec := l.Recovery(); rec.TruncatedRecords > 0 || rec.TruncatedBytes > 0 {
			t.b.log.Warn("brook: repaired partition tail", "topic", t.name, "partition", p,
				"records", rec.TruncatedRecords, "bytes", rec.TruncatedBytes, "saved_to", rec.SavedTo, "reason", rec.Reason)
		}
		logs = append(logs, l)
	}
	return logs, nil
}

// closeLogs closes logs that were never published to, after a failure that
// already has its own error.
func closeLogs(logs []*storage.Log) {
	for _, l := range logs {
		_ = l.Close()
	}
}

// maxRecordSize is storage's record limit for a topic whose messages may be
// maxMessageBytes long: twice as much plus 1 KiB, room for the encoding.
func maxRecordSize(maxMessageBytes int) int { return 2*maxMessageBytes + 1024 }

// maxMessageBytes returns the topic's message size limit. The caller holds
// t.mu or is the only user of t.
func (t *Topic) maxMessageBytes() int {
	if t.meta.MaxMessageBytes > 0 {
		return t.meta.MaxMessageBytes
	}
	return t.b.opts.MaxMessageBytes
}

// Name returns the topic's name.
func (t *Topic) Name() string { return t.name }

// Partitions returns the topic's current number of partitions.
func (t *Topic) Partitions() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return len(t.parts)
}

// Config returns the topic's configuration, with defaults filled in.
func (t *Topic) Config() TopicConfig {
	t.mu.RLock()
	defer t.mu.RUnlock()
	sync := t.meta.Sync
	if sync == SyncDefault {
		sync = t.b.opts.Sync
	}
	return TopicConfig{
		Partitions: len(t.parts), RetentionAge: t.meta.RetentionAge,
		RetentionBytes: t.meta.RetentionBytes, MaxMessageBytes: t.maxMessageBytes(), Sync: sync,
	}
}

// partition returns the log of partition p, or a *PartitionError.
func (t *Topic) partition(p int) (*storage.Log, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.deleted {
		return nil, &TopicError{Topic: t.name, Err: ErrUnknownTopic}
	}
	if p < 0 || p >= len(t.parts) {
		return nil, &PartitionError{Topic: t.name, Partition: p, Partitions: len(t.parts), Err: ErrInvalidPartition}
	}
	return t.parts[p], nil
}

// route returns, in one read of the topic's state, what a publish needs: the
// partitions' logs (shared: the caller must not modify the slice), the
// message size limit, and whether the topic was deleted.
func (t *Topic) route() (parts []*storage.Log, maxMessageBytes int, deleted bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.parts, t.maxMessageBytes(), t.deleted
}

func (t *Topic) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for p, l := range t.parts {
		errs = append(errs, storageError(t.name, p, l.Close()))
	}
	return errors.Join(errs...)
}
