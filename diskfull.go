package brook

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// A full disk. Open of an existing data directory writes nothing it
// cannot do without: a torn partition tail is cut without saving the cut
// bytes (see storage), the staging directory is emptied rather than made
// anew, a legacy directory's marker and a deleted topic's offsets drop are
// left for a later Open, so that an operator can list and read, delete
// topics and let retention free space. What must be written (a publish, a
// commit, a new topic) fails with an error matching syscall.ENOSPC; a
// partition or a group whose write failed so stays failed until the broker
// is reopened, as after any write error.

// noSpace reports whether err is a full disk's.
func noSpace(err error) bool { return errors.Is(err, syscall.ENOSPC) }

// dropDeferred reports whether a failed drop of topic's committed offsets
// (err, a join of one error per group) was for want of space alone, and
// says so: the deletion marker then stays, and the next Open, or creating
// the topic again, drops them. Any other error among them is not deferred.
func (b *Broker) dropDeferred(topic string, err error) bool {
	if !onlyNoSpace(err) {
		return false
	}
	b.log.Warn("brook: no space to drop a deleted topic's committed offsets; the next Open, or creating the topic again, drops them",
		"topic", topic, "err", err)
	return true
}

// onlyNoSpace reports whether err, and every error it joins, is a full
// disk's.
func onlyNoSpace(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs := j.Unwrap()
		for _, e := range errs {
			if !onlyNoSpace(e) {
				return false
			}
		}
		return len(errs) > 0
	}
	return noSpace(err)
}

// finishPendingDeletion drops, before name is created again, the committed
// offsets of a deleted topic of that name that a full disk kept from being
// dropped (its deletion marker is still there), so that the new topic never
// starts at the old one's offsets. The marker stays: the next Open removes
// it (the topic exists then), and a DeleteTopic in progress removes it too.
func (b *Broker) finishPendingDeletion(name string) error {
	b.mu.RLock()
	_, exists := b.topics[name]
	b.mu.RUnlock()
	if exists {
		return nil // created again already: its offsets are the new topic's
	}
	_, err := os.Lstat(filepath.Join(b.dir, "deleting", name))
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err == nil {
		err = b.dropTopicOffsets(name)
	}
	if err != nil {
		return fmt.Errorf("brook: create topic %q: drop the committed offsets of the deleted topic of that name: %w", name, err)
	}
	return nil
}

// withoutFailedPartitions drops from err (a join of partition errors) those
// of failed partitions: closing the logs of a topic being deleted, their
// failure (a full disk, say) no longer matters.
func withoutFailedPartitions(err error) error {
	if err == nil || !errors.Is(err, ErrPartitionFailed) {
		return err
	}
	var rest []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			if !errors.Is(e, ErrPartitionFailed) {
				rest = append(rest, e)
			}
		}
	}
	return errors.Join(rest...)
}

// emptyDir removes what dir holds, keeping dir: creating it again could
// fail on a full disk (a directory needs a block on most file systems).
func emptyDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.Mkdir(dir, 0o700)
	}
	if err != nil {
		return err
	}
	for _, e := range ents {
		if err := os.RemoveAll(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return nil
}

// loadedOnFullDisk reports whether the failed drop, at the load of group
// id, of the offsets of topics that no longer exist (err) was for want of
// space and could be deferred, and says so. The group loads with them
// dropped in memory; its offsets log is failed, so its commits fail
// (matching syscall.ENOSPC) until the broker is reopened. A deletion
// marker for each such topic (an empty file, which a full disk usually
// still takes) makes the next Open, or creating the topic again, drop them
// first; when even that cannot be written, the load fails as before.
func (b *Broker) loadedOnFullDisk(id string, off *offsetStore, err error) bool {
	if !noSpace(err) {
		return false
	}
	for _, topic := range off.undroppedTopics() {
		if b.markDeletion(filepath.Join(b.dir, "deleting", topic)) != nil {
			return false
		}
	}
	b.log.Warn("brook: no space to drop the offsets of deleted topics; the group's commits fail until the broker is reopened with space",
		"group", id, "err", err)
	return true
}
