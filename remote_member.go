package brook

import (
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// RemoteMember is a group member that lives outside this process, such as a
// Kafka client connected through a network listener (package kafkaserver).
// It joins the same coordinator as in-process Consumers and follows the same
// rules: the coordinator computes its equal, sticky share; a partition moves
// to it only after the old owner released it; its commits are fenced by the
// grant generation of each partition; and it is evicted when it has not
// called Heartbeat for longer than its session timeout.
//
// A RemoteMember does not read messages itself: its owner reads the
// partitions of Assignment and reports back with Commit, Release and
// Heartbeat. All methods are safe for concurrent use and never block on
// other members.
type RemoteMember struct {
	b       *Broker
	g       *group
	id      string
	groupID string

	lastSeen atomic.Int64  // unix nanos of the last Heartbeat
	changes  chan struct{} // one pending change signal
	leaveMu  sync.Once
}

// RemoteAssignment is what a remote member holds now: each owned partition
// with the generation of its grant (the stamp its commits must carry), and,
// among them, those the coordinator wants back (revoke them, commit, then
// Release them).
type RemoteAssignment struct {
	Owned  map[TopicPartition]int64
	Revoke map[TopicPartition]bool
}

// JoinRemote adds a remote member named name to group groupID, subscribed to
// topics, and rebalances. sessionTimeout is how long the member may go
// without a Heartbeat before it is evicted (its partitions move on and its
// later commits are fenced). It returns ErrInvalidGroupID, ErrInvalidConfig
// (a session timeout of zero or less) or ErrClosed.
func (b *Broker) JoinRemote(groupID, name string, topics []string, sessionTimeout time.Duration) (*RemoteMember, error) {
	if sessionTimeout <= 0 {
		return nil, fmt.Errorf("%w: session timeout %v", ErrInvalidConfig, sessionTimeout)
	}
	m := &RemoteMember{b: b, groupID: groupID, changes: make(chan struct{}, 1)}
	m.lastSeen.Store(time.Now().UnixNano())
	for {
		g, err := b.group(groupID)
		if err != nil {
			return nil, err
		}
		id, ok := g.join(name, topics, sessionTimeout, m)
		if ok {
			m.g, m.id = g, id
			return m, nil
		}
	}
}

// ID returns the member ID the coordinator gave the member.
func (m *RemoteMember) ID() string { return m.id }

// GroupID returns the ID of the member's group.
func (m *RemoteMember) GroupID() string { return m.groupID }

// Changes returns a channel that receives a value when the member's
// assignment may have changed (a rebalance, a partition granted or lost).
// It holds at most one pending signal; call Assignment to see what changed.
func (m *RemoteMember) Changes() <-chan struct{} { return m.changes }

// Assignment returns what the member holds now, or false when it is no
// longer in the group (it left or was evicted: join again).
func (m *RemoteMember) Assignment() (RemoteAssignment, bool) {
	v, ok := m.g.view(m.id)
	if !ok {
		return RemoteAssignment{}, false
	}
	return RemoteAssignment{Owned: v.owned, Revoke: v.revoke}, true
}

// Generation returns the group's current generation: it grows by one at
// every rebalance.
func (m *RemoteMember) Generation() int64 {
	m.g.mu.Lock()
	defer m.g.mu.Unlock()
	return m.g.gen
}

// Heartbeat records that the member is alive, resetting its session timer.
func (m *RemoteMember) Heartbeat() { m.lastSeen.Store(time.Now().UnixNano()) }

// Subscribe changes the member's topics and rebalances if they differ.
func (m *RemoteMember) Subscribe(topics []string) {
	m.g.mu.Lock()
	cur, ok := m.g.members[m.id]
	same := ok && slices.Equal(cur.topics, topics)
	m.g.mu.Unlock()
	if ok && !same {
		m.g.subscribe(m.id, topics)
	}
}

// Commit records offset (the next offset to read) as tp's committed offset,
// if the member still holds tp under the grant of generation gen. It returns
// a *PartitionError wrapping ErrFenced otherwise. Commits reach disk at the
// broker's commit interval, or at Flush.
func (m *RemoteMember) Commit(tp TopicPartition, gen int64, offset int64) error {
	return m.g.commit(m.id, gen, tp, offset)
}

// Flush writes the group's committed offsets to disk now.
func (m *RemoteMember) Flush() error { return m.g.flush() }

// Release hands tp back after a revocation (the member stopped reading it
// and committed); the coordinator grants it to its next owner. A release of
// a partition the member does not hold under gen is ignored.
func (m *RemoteMember) Release(tp TopicPartition, gen int64) { m.g.release(m.id, gen, tp) }

// Leave removes the member from its group and rebalances; partitions it
// still holds move on at once. Leave is idempotent.
func (m *RemoteMember) Leave() {
	m.leaveMu.Do(func() { m.g.leave(m.id) })
}

// notify implements memberConn.
func (m *RemoteMember) notify() {
	select {
	case m.changes <- struct{}{}:
	default:
	}
}

// stalled implements memberConn: the time since the last Heartbeat.
func (m *RemoteMember) stalled(now time.Time) time.Duration {
	return max(now.Sub(time.Unix(0, m.lastSeen.Load())), 0)
}

// CommittedOffsets returns a copy of group groupID's committed offsets
// (each the next offset to read). It returns ErrInvalidGroupID or ErrClosed.
func (b *Broker) CommittedOffsets(groupID string) (map[TopicPartition]int64, error) {
	g, err := b.group(groupID)
	if err != nil {
		return nil, err
	}
	return g.offsets.all(), nil
}

// SetCommittedOffsets records offsets for a group that has no members, as
// Kafka allows for a group used without the group protocol (manual
// assignment) or for an administrator resetting offsets. They are written
// to disk before it returns. It returns ErrGroupActive when the group has
// members (their commits go through their own fenced path), and
// ErrInvalidGroupID or ErrClosed.
func (b *Broker) SetCommittedOffsets(groupID string, offsets map[TopicPartition]int64) error {
	g, err := b.group(groupID)
	if err != nil {
		return err
	}
	g.mu.Lock()
	if n := len(g.members); n > 0 {
		g.mu.Unlock()
		return fmt.Errorf("%w: %q has %d members", ErrGroupActive, groupID, n)
	}
	for tp, o := range offsets {
		g.offsets.set(tp, o)
	}
	g.mu.Unlock()
	return g.flush()
}
