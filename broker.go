package brook

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Broker is an embedded log engine over one data directory: its topics,
// their partitions, and the consumer groups reading them. All methods are
// safe for concurrent use.
//
// Layout of the directory:
//
//	BROOK                         marker: this is a Brook data directory, and its format
//	LOCK                          flock held while the broker is open
//	topics/<topic>/topic.json     the topic's configuration
//	topics/<topic>/<partition>/   one storage log per partition
//	groups/<group>/               the group's committed offsets (a storage log)
//	tmp/                          staging for atomic creates and deletes
//	deleting/<topic>              a topic deletion in progress (see DeleteTopic)
type Broker struct {
	dir  string
	opts Options
	log  *slog.Logger
	err  error // why opening failed (only on a singleton that failed)

	lockFile *os.File

	mu      sync.RWMutex
	closing bool // Close has begun: no new producer, consumer or group
	closed  bool
	topics  map[string]*Topic
	groups  map[string]*group
	clients map[closer]struct{} // producers and consumers to close with the broker
	scan    groupScan           // groups on disk a DeleteTopic is changing (see groupScan)

	// countsMu orders the snapshots of partition counts; countsSeq numbers
	// them, so that a group never applies an older snapshot over a newer
	// one. Lock order: b.mu, then countsMu, then a Topic's mu.
	countsMu  sync.Mutex
	countsSeq int64

	done      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

type closer interface{ Close() error }

// Open opens (creating if needed, unless Options.NoCreate) the broker in
// dir, takes an exclusive lock on it, recovers every partition, and loads
// topics and groups. A nil opts means defaults. A directory that exists
// must be empty or a Brook data directory (it has the BROOK marker file
// that Open writes when it creates one): any other is refused with
// ErrNotDataDir, so that Brook never changes what it did not create. Open
// fails with ErrUnexpectedFile for a symbolic link or special file inside
// the directory, ErrLocked when another broker holds dir,
// ErrCorrupt when a partition or metadata file is damaged beyond a tail
// repair, and ErrInvalidConfig for bad options. A file system error (a
// directory that cannot be created or read) is returned wrapped, so that
// errors.Is matches its cause, such as syscall.ENOTDIR or fs.ErrPermission.
//
// Open of an existing data directory succeeds on a full disk, so that an
// operator can list and read topics and groups, delete topics and let
// retention free space: what it would write and can do without (the cut
// bytes of a torn tail, a deleted topic's offsets drop) is skipped or
// deferred, with a warning in the log. Writes made while the disk is full
// fail with an error matching syscall.ENOSPC, and a partition or group
// whose write failed so stays failed until the broker is reopened.
func Open(dir string, opts *Options) (*Broker, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	if dir == "" {
		return nil, fmt.Errorf("%w: empty data directory", ErrInvalidConfig)
	}
	if o.ReadOnly {
		return openReadOnly(dir, o)
	}
	if err := prepareDataDir(o.meta, o.Logger, dir, !o.NoCreate); err != nil {
		return nil, err
	}
	lf, err := lockDir(dir)
	if err != nil {
		return nil, err
	}
	b := &Broker{
		dir: dir, opts: o, log: o.Logger, lockFile: lf,
		topics:  make(map[string]*Topic),
		groups:  make(map[string]*group),
		clients: make(map[closer]struct{}),
		done:    make(chan struct{}),
	}
	if err := b.load(); err != nil {
		b.closeTopics()
		lf.Close()
		return nil, err
	}
	b.wg.Add(1)
	go b.housekeeping()
	return b, nil
}

func (b *Broker) load() error {
	if err := b.cleanStaging(); err != nil {
		return err
	}
	if err := b.loadTopics(); err != nil {
		return err
	}
	return b.finishDeletions() // writable opens only: it writes offsets and removes markers
}

// cleanStaging empties tmp/, what an interrupted create or delete left.
func (b *Broker) cleanStaging() error {
	if err := emptyDir(filepath.Join(b.dir, "tmp")); err != nil {
		return fmt.Errorf("brook: clean staging directory: %w", err)
	}
	return nil
}

// loadTopics loads every topic of topics/.
func (b *Broker) loadTopics() error {
	entries, err := os.ReadDir(filepath.Join(b.dir, "topics"))
	if err != nil {
		return fmt.Errorf("brook: list topics: %w", err)
	}
	for _, e := range entries {
		if e.Type()&fs.ModeSymlink != 0 {
			return checkMode(filepath.Join(b.dir, "topics", e.Name()), e.Type(), true)
		}
		if !e.IsDir() {
			continue // not Brook's: left alone
		}
		t, err := loadTopic(b, e.Name())
		if err != nil {
			return err
		}
		b.topics[t.name] = t
	}
	return nil
}

// housekeeping runs retention and the periodic offset flush until Close.
func (b *Broker) housekeeping() {
	defer b.wg.Done()
	retention := time.NewTicker(b.opts.RetentionCheckInterval)
	defer retention.Stop()
	commit := time.NewTicker(b.opts.CommitInterval)
	defer commit.Stop()
	for {
		select {
		case <-b.done:
			return
		case <-retention.C:
			for _, t := range b.topicList() {
				t.enforceRetention()
			}
		case <-commit.C:
			for _, g := range b.groupList() {
				g.flushOrLog()
			}
		}
	}
}

// Dir returns the broker's data directory.
func (b *Broker) Dir() string { return b.dir }

// check returns why the broker cannot be used, or nil. It takes no lock: it
// is on every publish. Close closes b.done right after setting b.closed, and
// a receive that cannot block reads the channel's state without locking or
// writing shared memory.
func (b *Broker) check() error {
	if b.err != nil {
		return b.err
	}
	select {
	case <-b.done:
		return ErrClosed
	default:
		return nil
	}
}

// register adds a producer or consumer to be closed with the broker.
func (b *Broker) register(c closer) error {
	if b.err != nil {
		return b.err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closing {
		return ErrClosed
	}
	b.clients[c] = struct{}{}
	return nil
}

func (b *Broker) unregister(c closer) {
	b.mu.Lock()
	delete(b.clients, c)
	b.mu.Unlock()
}

// Close closes every producer and consumer made by this broker (consumers
// commit and leave their groups first), writes committed offsets, syncs and
// closes every partition and releases the directory lock. It waits for all of
// the broker's goroutines. Close is idempotent: later calls return the first
// call's result.
func (b *Broker) Close() error {
	if b.err != nil {
		return nil
	}
	b.closeOnce.Do(func() { b.closeErr = b.close() })
	return b.closeErr
}

func (b *Broker) close() error {
	b.mu.Lock()
	b.closing = true // from here on register refuses, so the list is complete
	clients := make([]closer, 0, len(b.clients))
	for c := range b.clients {
		clients = append(clients, c)
	}
	b.mu.Unlock()
	var errs []error
	for _, c := range clients {
		if err := c.Close(); err != nil && !errors.Is(err, ErrClosed) {
			errs = append(errs, err)
		}
	}
	b.mu.Lock()
	b.closed = true
	b.waitScanLocked("") // a DeleteTopic's scan of groups on disk ends first
	b.mu.Unlock()
	close(b.done)
	b.wg.Wait()
	for _, g := range b.groupList() {
		errs = append(errs, g.close())
	}
	errs = append(errs, b.closeTopics())
	if b.lockFile != nil {
		errs = append(errs, b.lockFile.Close())
	}
	return errors.Join(errs...)
}

func (b *Broker) closeTopics() error {
	var errs []error
	for _, t := range b.topics {
		errs = append(errs, t.close())
	}
	return errors.Join(errs...)
}

func (b *Broker) topicList() []*Topic {
	b.mu.RLock()
	defer b.mu.RUnlock()
	ts := make([]*Topic, 0, len(b.topics))
	for _, t := range b.topics {
		ts = append(ts, t)
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].name < ts[j].name })
	return ts
}

func (b *Broker) groupList() []*group {
	b.mu.RLock()
	defer b.mu.RUnlock()
	gs := make([]*group, 0, len(b.groups))
	for _, g := range b.groups {
		gs = append(gs, g)
	}
	sort.Slice(gs, func(i, j int) bool { return gs[i].id < gs[j].id })
	return gs
}

// partitionCounts is a snapshot of every topic's partition count, the
// coordinator's view of what exists, with its sequence number: a snapshot
// with a higher number was taken later and is at least as recent.
func (b *Broker) partitionCounts() (map[string]int, int64) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.partitionCountsLocked()
}

// partitionCountsLocked is partitionCounts for a caller holding b.mu.
func (b *Broker) partitionCountsLocked() (map[string]int, int64) {
	b.countsMu.Lock()
	defer b.countsMu.Unlock()
	b.countsSeq++
	m := make(map[string]int, len(b.topics))
	for name, t := range b.topics {
		m[name] = t.Partitions()
	}
	return m, b.countsSeq
}

// topicsChanged tells every group that topics were created, grown or
// deleted, so that they rebalance. It is called with no lock held. When
// changes race, each group keeps the latest snapshot whatever order the
// calls arrive in.
func (b *Broker) topicsChanged() {
	counts, seq := b.partitionCounts()
	for _, g := range b.groupList() {
		g.rebalance(counts, seq, "topics changed")
	}
}
