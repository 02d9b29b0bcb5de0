package kafkaserver

import (
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// coordinator maps Kafka's classic group protocol (JoinGroup, SyncGroup,
// Heartbeat, LeaveGroup, OffsetCommit) onto Brook's coordinator, where each
// Kafka client is one brook.RemoteMember:
//
//   - JoinGroup answers at once (no join barrier): Brook has already
//     rebalanced. Every member is told that someone else leads, so no
//     client computes an assignment; Brook's own is handed out in
//     SyncGroup, encoded as a consumer-protocol assignment.
//   - A member is handed the partitions it owns in Brook and is not asked
//     to give back. When that set changes (a partition granted to it, or
//     one Brook wants back), its Heartbeat answers REBALANCE_IN_PROGRESS
//     and the client joins again.
//   - A partition Brook wants back is released (granted to its next
//     owner) only once the client no longer believes it holds it: an eager
//     client gives up everything when it joins again; a cooperative one
//     gives up what its last SyncGroup left out, then joins again.
//   - Commits go through the member's fenced path: a member commits only
//     partitions it still owns.
type coordinator struct {
	s       *Server
	mu      sync.Mutex
	members map[memberKey]*remote
}

type memberKey struct{ group, member string }

// remote is one Kafka client's membership.
type remote struct {
	m           *brook.RemoteMember
	clientID    string
	host        string
	protocol    string
	cooperative bool

	mu         sync.Mutex
	gen        int32                         // generation of its last JoinGroup
	held       map[brook.TopicPartition]bool // what the client believes it holds
	metadata   []byte                        // its JoinGroup protocol metadata
	assignment []byte                        // its last SyncGroup answer
}

// cooperativeProtocol is the protocol name of the cooperative-sticky
// assignor, the one cooperative clients offer.
const cooperativeProtocol = "cooperative-sticky"

// maxSessionTimeout bounds JoinGroup's session timeout (Kafka's
// group.max.session.timeout.ms).
const maxSessionTimeout = 30 * time.Minute

func newCoordinator(s *Server) *coordinator {
	return &coordinator{s: s, members: make(map[memberKey]*remote)}
}

// lookup returns a member still in its group; an evicted one is forgotten.
func (co *coordinator) lookup(group, member string) (*remote, bool) {
	co.mu.Lock()
	r, ok := co.members[memberKey{group, member}]
	co.mu.Unlock()
	if !ok {
		return nil, false
	}
	if _, in := r.m.Assignment(); !in {
		co.forget(group, member)
		return nil, false
	}
	return r, true
}

func (co *coordinator) add(r *remote) {
	co.mu.Lock()
	defer co.mu.Unlock()
	for k, o := range co.members { // forget members Brook evicted
		if _, in := o.m.Assignment(); !in {
			delete(co.members, k)
		}
	}
	co.members[memberKey{r.m.GroupID(), r.m.ID()}] = r
}

func (co *coordinator) forget(group, member string) {
	co.mu.Lock()
	delete(co.members, memberKey{group, member})
	co.mu.Unlock()
}

// remotes returns the members of group known here, by member ID.
func (co *coordinator) remotes(group string) map[string]*remote {
	co.mu.Lock()
	defer co.mu.Unlock()
	out := make(map[string]*remote)
	for k, r := range co.members {
		if k.group == group {
			out[k.member] = r
		}
	}
	return out
}

// close makes every member leave: a closed server's clients are gone.
func (co *coordinator) close() {
	co.mu.Lock()
	rs := slices.Collect(maps.Values(co.members))
	clear(co.members)
	co.mu.Unlock()
	for _, r := range rs {
		r.m.Leave()
	}
}

// rejoin applies a JoinGroup of a known member: it gives back what the
// client no longer holds and returns the new generation.
func (r *remote) rejoin(topics []string, metadata []byte) int32 {
	r.m.Heartbeat()
	r.m.Subscribe(topics)
	r.mu.Lock()
	defer r.mu.Unlock()
	r.metadata = metadata
	if a, ok := r.m.Assignment(); ok {
		for tp, gen := range a.Owned {
			if !r.cooperative || a.Revoke[tp] && !r.held[tp] {
				r.m.Release(tp, gen)
			}
		}
	}
	if !r.cooperative {
		r.held = nil
	}
	r.gen = int32(r.m.Generation())
	return r.gen
}

// sync returns the member's share, encoded in the consumer protocol, and
// records it as what the client holds.
func (r *remote) sync() ([]byte, bool) {
	r.m.Heartbeat()
	r.mu.Lock()
	defer r.mu.Unlock()
	a, ok := r.m.Assignment()
	if !ok {
		return nil, false
	}
	for tp := range a.Revoke { // never handed to the client: give back now
		if !r.held[tp] {
			r.m.Release(tp, a.Owned[tp])
		}
	}
	if a, ok = r.m.Assignment(); !ok {
		return nil, false
	}
	r.held = desired(a)
	r.assignment = encodeAssignment(r.held)
	return r.assignment, true
}

// changed reports whether the member must join again: what Brook wants it
// to hold differs from what the client holds.
func (r *remote) changed() (bool, bool) {
	a, ok := r.m.Assignment()
	if !ok {
		return false, false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return !maps.Equal(desired(a), r.held), true
}

func (r *remote) generation() int32 {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.gen
}

// desired is what a member should hold: what it owns and is not asked to
// give back.
func desired(a brook.RemoteAssignment) map[brook.TopicPartition]bool {
	d := make(map[brook.TopicPartition]bool, len(a.Owned))
	for tp := range a.Owned {
		if !a.Revoke[tp] {
			d[tp] = true
		}
	}
	return d
}

// encodeAssignment lays out a consumer-protocol assignment (version 0),
// topics and partitions sorted.
func encodeAssignment(held map[brook.TopicPartition]bool) []byte {
	byTopic := make(map[string][]int32)
	for tp := range held {
		byTopic[tp.Topic] = append(byTopic[tp.Topic], int32(tp.Partition))
	}
	a := kmsg.NewConsumerMemberAssignment()
	for _, t := range slices.Sorted(maps.Keys(byTopic)) {
		at := kmsg.NewConsumerMemberAssignmentTopic()
		at.Topic, at.Partitions = t, byTopic[t]
		slices.Sort(at.Partitions)
		a.Topics = append(a.Topics, at)
	}
	return a.AppendTo(nil)
}
