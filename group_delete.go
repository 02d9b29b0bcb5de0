package brook

import (
	"fmt"
	"os"
	"path/filepath"
)

// DeleteGroup deletes the consumer group id: its committed offsets, in memory
// and on disk. A consumer of the group that joins later starts it afresh, at
// its StartOffset. It is refused with ErrGroupActive while the group has
// members (close its consumers first), as Kafka's DeleteGroups is for a
// non-empty group. It returns ErrInvalidGroupID, ErrUnknownGroup for a group
// that has neither members nor offsets, or ErrClosed. It is safe for
// concurrent use.
func (b *Broker) DeleteGroup(id string) error {
	if !validName(id) {
		return fmt.Errorf("%w: %q", ErrInvalidGroupID, id)
	}
	if err := b.checkWritable(); err != nil {
		return err
	}
	dir := filepath.Join(b.dir, "groups", id)
	b.mu.Lock()
	b.waitScanLocked(id) // a DeleteTopic is changing its offsets on disk
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	g := b.groups[id]
	if g != nil {
		g.mu.Lock()
		n := len(g.members)
		if n == 0 {
			g.deleted = true
		}
		g.mu.Unlock()
		if n > 0 {
			b.mu.Unlock()
			return fmt.Errorf("%w: %q has %d members", ErrGroupActive, id, n)
		}
		delete(b.groups, id)
	}
	// Still under b.mu, so that no one opens the group's offsets while the
	// directory goes.
	defer b.mu.Unlock()
	if g != nil {
		close(g.stop)
		if err := g.close(); err != nil {
			return fmt.Errorf("brook: delete group %q: %w", id, err)
		}
	} else if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return fmt.Errorf("%w: %q", ErrUnknownGroup, id)
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("brook: delete group %q: %w", id, err)
	}
	return b.opts.meta.SyncDir(filepath.Dir(dir))
}
