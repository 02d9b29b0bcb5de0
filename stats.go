package brook

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
)

// PartitionStats describes one partition.
type PartitionStats struct {
	Partition   int
	FirstOffset int64 // the earliest offset still held
	NextOffset  int64 // the offset the next message will get
	Bytes       int64 // bytes on disk
	// Failure says why the partition refuses writes (see
	// ErrPartitionFailed): the damage a reader met, naming the segment and
	// offset, or the write error; "" while it is healthy.
	Failure string
}

// TopicStats describes one topic.
type TopicStats struct {
	Name       string
	Config     TopicConfig
	Partitions []PartitionStats
}

// GroupPartitionStats describes one partition as seen by one group.
type GroupPartitionStats struct {
	TopicPartition
	Owner     string // member ID, or "" when unowned
	Committed int64  // next offset to read; -1 when nothing is committed
	End       int64  // the partition's next offset when the snapshot was taken
	Lag       int64  // messages between Committed (or the first offset) and End
	// ClampedFrom is the committed offset found past the partition's end
	// when the group was loaded, and moved back to the end (the partition's
	// tail was lost, for example by a power loss under SyncNever); -1 when
	// that did not happen.
	ClampedFrom int64
	// Failure is the partition's PartitionStats.Failure: "" while healthy.
	Failure string
}

// MemberStats describes one member of a group.
type MemberStats struct {
	ID       string
	Topics   []string
	Assigned []TopicPartition
}

// GroupStats describes one consumer group.
type GroupStats struct {
	ID         string
	Generation int64
	Members    []MemberStats
	Partitions []GroupPartitionStats
}

// Stats is a snapshot of the broker's topics and loaded groups.
type Stats struct {
	Topics []TopicStats
	Groups []GroupStats
}

// Stats returns a snapshot of every topic and of every group that has been
// used since the broker opened (GroupStats reads any group on disk).
func (b *Broker) Stats() (Stats, error) {
	if err := b.check(); err != nil {
		return Stats{}, err
	}
	var s Stats
	for _, t := range b.topicList() {
		s.Topics = append(s.Topics, t.Stats())
	}
	for _, g := range b.groupList() {
		s.Groups = append(s.Groups, g.stats())
	}
	return s, nil
}

// Stats returns a snapshot of the topic's partitions.
func (t *Topic) Stats() TopicStats {
	ts := TopicStats{Name: t.name, Config: t.Config()}
	t.mu.RLock()
	defer t.mu.RUnlock()
	for _, p := range t.parts {
		ts.Partitions = append(ts.Partitions, p.stats())
	}
	return ts
}

// Groups returns the IDs of every group with committed offsets on disk or
// members now, sorted.
func (b *Broker) Groups() ([]string, error) {
	if err := b.check(); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(filepath.Join(b.dir, "groups"))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	var ids []string
	for _, e := range entries {
		if e.IsDir() && validName(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	for _, g := range b.groupList() {
		ids = append(ids, g.id)
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// GroupStats returns a snapshot of one group: members, generation,
// assignment, committed offsets and lag per partition of every topic it has
// members for or offsets in. It does not create the group. It returns
// ErrUnknownGroup, ErrInvalidGroupID or ErrClosed.
func (b *Broker) GroupStats(id string) (GroupStats, error) {
	ids, err := b.Groups()
	if err != nil {
		return GroupStats{}, err
	}
	if !slices.Contains(ids, id) {
		if !validName(id) {
			return GroupStats{}, fmt.Errorf("%w: %q", ErrInvalidGroupID, id)
		}
		return GroupStats{}, fmt.Errorf("%w: %q", ErrUnknownGroup, id)
	}
	g, err := b.group(id)
	if err != nil {
		return GroupStats{}, err
	}
	return g.stats(), nil
}

func (g *group) stats() GroupStats {
	committed := g.offsets.all()
	g.mu.Lock()
	gs := GroupStats{ID: g.id, Generation: g.gen}
	topics := make(map[string]bool)
	for _, m := range g.members {
		ms := MemberStats{ID: m.id, Topics: slices.Clone(m.topics)}
		for tp, gr := range g.owners {
			if gr.member == m.id {
				ms.Assigned = append(ms.Assigned, tp)
			}
		}
		slices.SortFunc(ms.Assigned, compareTopicPartition)
		gs.Members = append(gs.Members, ms)
		for _, t := range m.topics {
			topics[t] = true
		}
	}
	owners := make(map[TopicPartition]string, len(g.owners))
	for tp, gr := range g.owners {
		owners[tp] = gr.member
	}
	clamped := g.clamped // set once at load, never changed
	g.mu.Unlock()
	sort.Slice(gs.Members, func(i, j int) bool { return gs.Members[i].ID < gs.Members[j].ID })
	for tp := range committed {
		topics[tp.Topic] = true
	}
	for _, name := range sortedKeys(topics) {
		t, err := g.b.Topic(name)
		if err != nil {
			continue
		}
		for _, ps := range t.Stats().Partitions {
			tp := TopicPartition{Topic: name, Partition: ps.Partition}
			c, ok := committed[tp]
			gps := GroupPartitionStats{TopicPartition: tp, Owner: owners[tp], Committed: -1, End: ps.NextOffset, ClampedFrom: -1, Failure: ps.Failure}
			if c, ok := clamped[tp]; ok {
				gps.ClampedFrom = c
			}
			from := ps.FirstOffset
			if ok {
				gps.Committed, from = c, max(c, ps.FirstOffset)
			}
			gps.Lag = max(ps.NextOffset-from, 0)
			gs.Partitions = append(gs.Partitions, gps)
		}
	}
	return gs
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func failureText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
