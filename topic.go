package brook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"time"
)

// Topic is a named, partitioned log. Get one from CreateNewTopic,
// CreateTopic or Broker.Topic. Its methods are safe for concurrent use.
type Topic struct {
	b    *Broker
	name string
	dir  string

	alterMu sync.Mutex // serializes AlterTopic: its metadata write and its logs' settings

	mu      sync.RWMutex
	meta    topicMeta    // as stored: zero fields mean broker defaults
	parts   []*partition // index = partition
	deleted bool

	// loadEnds are the partitions' next offsets when the broker loaded
	// the topic from disk (nil for a topic created since): no committed
	// offset of a group loaded later may lie past them (see clampCommitted).
	// -1 for a partition that failed to open: its end is not known.
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
	// one is damage (see partition.missing), never a half-made create.
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
	if t.parts, err = t.openPartitions(0, meta.Partitions, false); err != nil {
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
	meta, err := readTopicMeta(dir, name)
	if err != nil {
		return nil, err
	}
	t := &Topic{b: b, name: name, dir: dir, meta: meta}
	if t.parts, err = t.openPartitions(0, meta.Partitions, true); err != nil {
		return nil, err
	}
	t.loadEnds = make([]int64, len(t.parts))
	for i, p := range t.parts {
		t.loadEnds[i] = p.next()
		if p.log == nil {
			t.loadEnds[i] = -1 // unknown: no committed offset is moved for it
		}
	}
	return t, nil
}

// readTopicMeta reads and validates the topic.json of the topic name in
// dir, as Open does (and Check, which must agree with it).
func readTopicMeta(dir, name string) (topicMeta, error) {
	path := filepath.Join(dir, "topic.json")
	data, err := readTopicFile(path)
	if err != nil {
		return topicMeta{}, err
	}
	var meta topicMeta
	if err := json.Unmarshal(data, &meta); err != nil {
		return topicMeta{}, fmt.Errorf("%w: topic metadata %s: %v", ErrCorrupt, path, err)
	}
	if meta.Version != topicMetaVersion || meta.Name != name || !validName(name) || meta.config().validate() != nil {
		return topicMeta{}, fmt.Errorf("%w: topic metadata %s: unknown version or invalid content", ErrCorrupt, path)
	}
	return meta, nil
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

func (t *Topic) close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for _, p := range t.parts {
		errs = append(errs, p.close())
	}
	return errors.Join(errs...)
}

// Topic returns the topic of that name, or ErrUnknownTopic, ErrClosed.
func (b *Broker) Topic(name string) (*Topic, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	b.mu.RLock()
	defer b.mu.RUnlock()
	t, ok := b.topics[name]
	if !ok {
		return nil, &TopicError{Topic: name, Err: ErrUnknownTopic}
	}
	return t, nil
}

// Topics returns the names of all topics, sorted.
func (b *Broker) Topics() ([]string, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	ts := b.topicList()
	names := make([]string, len(ts))
	for i, t := range ts {
		names[i] = t.name
	}
	return names, nil
}

// enforceRetention drops whole segments that are past the topic's age or
// size limit. It runs from the broker's housekeeping goroutine.
func (t *Topic) enforceRetention() {
	cfg := t.Config()
	if cfg.RetentionAge == 0 && cfg.RetentionBytes == 0 {
		return
	}
	t.mu.RLock()
	parts := slices.Clone(t.parts)
	t.mu.RUnlock()
	for _, p := range parts {
		if err := p.retain(cfg); err != nil {
			t.b.log.Error("brook: retention", "topic", t.name, "partition", p.index, "err", err)
		}
	}
}
