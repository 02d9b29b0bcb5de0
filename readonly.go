package brook

import (
	"fmt"
	"log/slog"

	"github.com/brookmq/brook/storage"
)

// openReadOnly is Open for Options.ReadOnly: the same validation of the
// directory and of every topic, with nothing locked, created or written,
// and no housekeeping goroutine (no retention, no offset flush).
func openReadOnly(dir string, o Options) (*Broker, error) {
	state, err := inspectDataDir(dir)
	if err != nil {
		return nil, err
	}
	if err := notYet(dir, state); err != nil {
		return nil, err
	}
	b := &Broker{
		dir: dir, opts: o, log: o.Logger,
		topics:  make(map[string]*Topic),
		groups:  make(map[string]*group),
		clients: make(map[closer]struct{}),
		done:    make(chan struct{}),
	}
	if err := b.loadTopics(); err != nil {
		b.closeTopics()
		return nil, err
	}
	return b, nil
}

// checkWritable is check for the calls that write: they also fail on a
// read-only broker.
func (b *Broker) checkWritable() error {
	if err := b.check(); err != nil {
		return err
	}
	if b.opts.ReadOnly {
		return fmt.Errorf("%w: %s (a read-only open never writes)", ErrReadOnly, b.dir)
	}
	return nil
}

// openGroupOffsets opens a group's committed offsets, read-only on a
// read-only broker.
func (b *Broker) openGroupOffsets(dir string, logger *slog.Logger) (*offsetStore, error) {
	if !b.opts.ReadOnly {
		return openOffsets(dir, logger, b.opts.fs)
	}
	l, err := storage.Open(dir, &storage.Options{ReadOnly: true, Logger: logger, FS: b.opts.fs})
	if err != nil {
		return nil, fmt.Errorf("brook: open committed offsets %s: %w", dir, err)
	}
	s := &offsetStore{log: l, logger: logger, committed: make(map[TopicPartition]int64), dirty: make(map[TopicPartition]struct{})}
	if err := s.replay(); err != nil {
		l.Close()
		return nil, fmt.Errorf("%w: committed offsets %s: %v", ErrCorrupt, dir, err)
	}
	return s, nil
}
