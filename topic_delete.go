package brook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// DeleteTopic deletes a topic with all its data, and the committed offsets
// of every group for it. Producers publishing to it get ErrUnknownTopic;
// consumer groups rebalance without it. It returns ErrUnknownTopic or
// ErrClosed.
func (b *Broker) DeleteTopic(name string) error {
	if err := b.checkWritable(); err != nil {
		return err
	}
	b.mu.Lock()
	t, ok := b.topics[name]
	if ok {
		delete(b.topics, name)
	}
	b.mu.Unlock()
	if !ok {
		return &TopicError{Topic: name, Err: ErrUnknownTopic}
	}
	// The deletion's intent is recorded first, so that a crash before the
	// groups' offsets are all dropped is finished by the next Open, before
	// the topic can be created again (see finishDeletions).
	marker := filepath.Join(b.dir, "deleting", name)
	if err := b.markDeletion(marker); err != nil {
		b.mu.Lock()
		b.topics[name] = t
		b.mu.Unlock()
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	t.mu.Lock()
	t.deleted = true
	t.mu.Unlock()
	b.topicsChanged() // members stop reading it before its logs close
	dropErr := b.dropTopicOffsets(name)
	keepMarker := dropErr != nil
	if b.dropDeferred(name, dropErr) {
		dropErr = nil // a full disk: the next Open drops them
	}
	closeErr := errors.Join(withoutFailedPartitions(t.close()), dropErr)
	// Move the directory out of the way atomically, then remove it.
	trash := filepath.Join(b.dir, "tmp", "deleted-"+name+"-"+strconv.FormatInt(time.Now().UnixNano(), 10))
	if err := b.opts.meta.Rename(t.dir, trash); err != nil {
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	if err := b.opts.meta.SyncDir(filepath.Join(b.dir, "topics")); err != nil {
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("brook: delete topic %q: %w", name, err)
	}
	if !keepMarker { // else the next Open drops the offsets again
		if err := os.Remove(marker); err != nil {
			return fmt.Errorf("brook: delete topic %q: %w", name, err)
		}
	}
	return closeErr
}

// markDeletion durably writes a DeleteTopic marker, creating its
// directory on first use.
func (b *Broker) markDeletion(marker string) error {
	dir := filepath.Dir(marker)
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		if err := os.Mkdir(dir, 0o700); err != nil && !os.IsExist(err) {
			return err
		}
		if err := b.opts.meta.SyncDir(b.dir); err != nil {
			return err
		}
	}
	return writeFileAtomic(b.opts.meta, marker, nil)
}

// finishDeletions completes, at Open, the topic deletions a crash
// interrupted: for each marker of DeleteTopic whose topic is gone, it drops
// the topic's offsets from every group, then removes the marker. A marker
// whose topic still exists is from a deletion that never removed it (the
// topic stays; its offsets may have been dropped, so groups read it again
// from the start: at-least-once).
func (b *Broker) finishDeletions() error {
	dir := filepath.Join(b.dir, "deleting")
	entries, err := os.ReadDir(dir)
	if os.IsNotExist(err) {
		return nil // no topic was ever deleted here
	}
	if err != nil {
		return fmt.Errorf("brook: list interrupted topic deletions: %w", err)
	}
	for _, e := range entries {
		name := e.Name()
		if !validName(name) {
			continue // a temporary file of writeFileAtomic
		}
		if _, exists := b.topics[name]; !exists {
			if err := b.dropTopicOffsets(name); b.dropDeferred(name, err) {
				continue // the marker stays for the next Open
			} else if err != nil {
				return err
			}
		}
		if err := os.Remove(filepath.Join(dir, name)); err != nil {
			return fmt.Errorf("brook: finish deletion of topic %q: %w", name, err)
		}
	}
	return b.opts.meta.SyncDir(dir)
}

// dropTopicOffsets drops topic's committed offsets from every group on
// disk, durably: the loaded ones, and the others opened for it (a group
// loaded later also drops the offsets of topics that do not exist, which
// covers a crash in the middle).
func (b *Broker) dropTopicOffsets(topic string) error {
	var errs []error
	dir := filepath.Join(b.dir, "groups")
	names, err := b.beginScan(dir)
	if err != nil {
		errs = append(errs, fmt.Errorf("brook: delete topic %q: list groups: %w", topic, err))
	}
	for _, name := range names {
		off, err := openOffsets(filepath.Join(dir, name), b.log.With("group", name), b.opts.fs)
		if err == nil {
			err = errors.Join(off.dropTopic(topic), off.log.Close())
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("brook: delete topic %q: offsets of group %q: %w", topic, name, err))
		}
	}
	b.mu.Lock()
	b.endScanLocked(names)
	b.mu.Unlock()
	for _, g := range b.groupList() {
		if err := g.offsets.dropTopic(topic); err != nil {
			errs = append(errs, fmt.Errorf("brook: delete topic %q: offsets of group %q: %w", topic, g.id, err))
		}
	}
	return errors.Join(errs...)
}
