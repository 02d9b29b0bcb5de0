package brook

import (
	"cmp"
	"maps"
	"slices"
)

// assignInput is everything the assignor looks at. assign only reads it.
type assignInput struct {
	// Members maps each member ID to the topics it subscribes to. Topics
	// that do not exist and repeated names are ignored.
	Members map[string][]string
	// Topics maps each existing topic to its partition count. A count of 0
	// or less is treated as a topic without partitions.
	Topics map[string]int
	// Current maps partitions to their current owner. It may name departed
	// members, topics the owner no longer subscribes to and partitions that
	// no longer exist; such entries are ignored.
	Current map[TopicPartition]string
}

// assign is the group assignor, Kafka's cooperative-sticky one balanced over
// the union of the subscribed topics (see GROUPS.md). It returns the target
// assignment for in: every member ID of in.Members is a key, mapped to a
// non-nil, possibly empty slice sorted by (Topic, Partition). It is a pure
// function: no locks, no I/O, and equal inputs give equal outputs whatever
// the maps' iteration order.
//
// Every partition of an existing topic that some member subscribes to gets
// exactly one owner, a member subscribed to its topic; partitions of topics
// nobody subscribes to get none. When all members subscribe to the same
// (existing) topics, every member gets ⌊P/M⌋ or ⌈P/M⌉ of the P partitions,
// and no more partitions change owner than that requires. Otherwise the
// result is balanced as far as the subscriptions allow: no partition can move
// to another member subscribed to its topic that has at least two fewer.
// Valid current owners are kept where those rules allow, and the partitions a
// member must give up are preferably the ones it did not own before.
//
// It runs in about O((P + S) log M) time for S subscriptions, plus the cost
// of the moves that balancing needs when subscriptions differ.
func assign(in assignInput) map[string][]TopicPartition {
	s := newAssignState(in)
	if s.sameSubscriptions() {
		s.assignEqual()
	} else {
		b := newBalancer(s)
		b.fill()
		b.balance()
	}
	return s.result()
}

// assignState is the working form of an assignInput: members and topics are
// numbered in sorted order, and partition g of the flat numbering is
// partition g-base[t] of topics[t], so g follows (Topic, Partition) order.
type assignState struct {
	members []string // member IDs, sorted
	topics  []string // existing topics with partitions and a subscriber, sorted
	base    []int    // base[t]: number of topics[t]'s partition 0; base[len(topics)] = P
	subs    [][]int  // subs[t]: the members subscribed to topics[t], ascending
	mtopics [][]int  // mtopics[m]: the topics member m subscribes to, ascending
	owner   []int    // owner[g]: the member that owns partition g, or -1
	count   []int    // count[m]: how many partitions member m owns
}

// newAssignState numbers in's members, topics and partitions and records the
// valid current owners: those still members and subscribed to the topic.
func newAssignState(in assignInput) *assignState {
	s := &assignState{members: slices.Sorted(maps.Keys(in.Members))}
	subscribed := make(map[string][]int)
	for m, id := range s.members {
		for _, topic := range in.Members[id] {
			if in.Topics[topic] > 0 {
				subscribed[topic] = append(subscribed[topic], m)
			}
		}
	}
	s.topics = slices.Sorted(maps.Keys(subscribed))
	s.base = make([]int, len(s.topics)+1)
	s.subs = make([][]int, len(s.topics))
	s.mtopics = make([][]int, len(s.members))
	for t, topic := range s.topics {
		s.base[t+1] = s.base[t] + in.Topics[topic]
		s.subs[t] = slices.Compact(subscribed[topic]) // ascending, repeats adjacent
		for _, m := range s.subs[t] {
			s.mtopics[m] = append(s.mtopics[m], t)
		}
	}
	s.owner = make([]int, s.base[len(s.topics)])
	s.count = make([]int, len(s.members))
	for t, topic := range s.topics {
		for g := s.base[t]; g < s.base[t+1]; g++ {
			s.owner[g] = -1
			id, ok := in.Current[TopicPartition{Topic: topic, Partition: g - s.base[t]}]
			if m, member := slices.BinarySearch(s.members, id); ok && member && s.subscribes(m, t) {
				s.owner[g] = m
				s.count[m]++
			}
		}
	}
	return s
}

// subscribes reports whether member m subscribes to topic t.
func (s *assignState) subscribes(m, t int) bool {
	_, found := slices.BinarySearch(s.mtopics[m], t)
	return found
}

// sameSubscriptions reports whether all members subscribe to the same
// existing topics.
func (s *assignState) sameSubscriptions() bool {
	for _, topics := range s.mtopics {
		if !slices.Equal(topics, s.mtopics[0]) {
			return false
		}
	}
	return true
}

// result converts the owners back to the map that assign returns.
func (s *assignState) result() map[string][]TopicPartition {
	out := make(map[string][]TopicPartition, len(s.members))
	for m, id := range s.members {
		out[id] = make([]TopicPartition, 0, s.count[m])
	}
	for t, topic := range s.topics {
		for g := s.base[t]; g < s.base[t+1]; g++ {
			id := s.members[s.owner[g]]
			out[id] = append(out[id], TopicPartition{Topic: topic, Partition: g - s.base[t]})
		}
	}
	return out
}

// fewer orders members by how many partitions they own, then by index.
func (s *assignState) fewer(a, b int) bool {
	if s.count[a] != s.count[b] {
		return s.count[a] < s.count[b]
	}
	return a < b
}

// assignEqual assigns when all members subscribe to the same topics: P mod M
// members get a quota of ⌊P/M⌋+1, those that own the most already, and the
// others ⌊P/M⌋. Each member keeps its lowest partitions up to its quota, and
// the rest go, lowest first, each to the member below quota with the fewest.
// No assignment within such quotas keeps more current owners.
func (s *assignState) assignEqual() {
	if len(s.members) == 0 {
		return
	}
	order := make([]int, len(s.members))
	for m := range order {
		order[m] = m
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(s.count[b], s.count[a]) })
	quota := make([]int, len(s.members))
	q, r := len(s.owner)/len(s.members), len(s.owner)%len(s.members)
	for i, m := range order {
		quota[m] = q
		if i < r {
			quota[m]++
		}
	}
	for g := len(s.owner) - 1; g >= 0; g-- {
		if m := s.owner[g]; m >= 0 && s.count[m] > quota[m] {
			s.owner[g] = -1
			s.count[m]--
		}
	}
	below := newIdxHeap(len(s.members), s.fewer)
	for m := range s.members {
		if s.count[m] < quota[m] {
			below.push(m)
		}
	}
	for g, m := range s.owner {
		if m >= 0 {
			continue
		}
		m = below.top()
		s.owner[g] = m
		if s.count[m]++; s.count[m] == quota[m] {
			below.remove(m)
		} else {
			below.fix(m)
		}
	}
}

// balancer carries the assignment when subscriptions differ. Members are
// addressed within a topic by slot: slot k of topic t is member subs[t][k].
type balancer struct {
	*assignState
	kept   []int      // kept[g]: the valid current owner of partition g, or -1
	slot   [][]int    // slot[m][j]: member m's slot in topic mtopics[m][j]
	held   [][][]int  // held[t][k]: topic t's partitions held by slot k, a stack with kept ones at the bottom
	minSub []*idxHeap // minSub[t]: topic t's slots, fewest partitions first, then lowest member
	maxOwn []*idxHeap // maxOwn[t]: slots holding a partition of t, most partitions first, then highest member
	active *idxHeap   // topics with a balancing move, the best move first (see before)
}

// newBalancer prepares s's valid current ownership for fill and balance.
func newBalancer(s *assignState) *balancer {
	b := &balancer{
		assignState: s,
		kept:        slices.Clone(s.owner),
		slot:        make([][]int, len(s.members)),
		held:        make([][][]int, len(s.topics)),
		minSub:      make([]*idxHeap, len(s.topics)),
		maxOwn:      make([]*idxHeap, len(s.topics)),
	}
	for t, subs := range s.subs {
		for k, m := range subs {
			b.slot[m] = append(b.slot[m], k)
		}
		b.held[t] = make([][]int, len(subs))
		for g := s.base[t]; g < s.base[t+1]; g++ {
			if m := s.owner[g]; m >= 0 {
				k := b.slot[m][len(b.slot[m])-1] // t is the last topic slotted so far
				b.held[t][k] = append(b.held[t][k], g)
			}
		}
		b.minSub[t] = newIdxHeap(len(subs), func(x, y int) bool { return s.fewer(subs[x], subs[y]) })
		b.maxOwn[t] = newIdxHeap(len(subs), func(x, y int) bool { return s.fewer(subs[y], subs[x]) })
		for k := range subs {
			b.minSub[t].push(k)
		}
	}
	return b
}

// fill gives each unowned partition to the subscriber of its topic with the
// fewest partitions, topics with the fewest subscribers first, and then
// prepares the balancing heaps.
func (b *balancer) fill() {
	order := make([]int, len(b.topics))
	for t := range order {
		order[t] = t
	}
	slices.SortStableFunc(order, func(x, y int) int { return cmp.Compare(len(b.subs[x]), len(b.subs[y])) })
	for _, t := range order {
		for g := b.base[t]; g < b.base[t+1]; g++ {
			if b.owner[g] < 0 {
				k := b.minSub[t].top()
				b.owner[g] = b.subs[t][k]
				b.held[t][k] = append(b.held[t][k], g)
				b.addCount(b.subs[t][k], 1)
			}
		}
	}
	b.active = newIdxHeap(len(b.topics), b.before)
	for t, held := range b.held {
		for k := range held {
			if len(held[k]) > 0 {
				b.maxOwn[t].push(k)
			}
		}
		if b.movable(t) {
			b.active.push(t)
		}
	}
}

// balance moves partitions one at a time, the best move first, each to a
// member subscribed to its topic with at least two fewer, until no such move
// is left. Each move lowers the sum of the squared counts by at least 2.
func (b *balancer) balance() {
	for b.active.len() > 0 {
		t := b.active.top()
		ka, kb := b.maxOwn[t].top(), b.minSub[t].top()
		from, to := b.subs[t][ka], b.subs[t][kb]
		b.setActive(from, false) // while the active heap's keys are still right
		b.setActive(to, false)
		stack := b.held[t][ka]
		g := stack[len(stack)-1]
		if b.held[t][ka] = stack[:len(stack)-1]; len(b.held[t][ka]) == 0 {
			b.maxOwn[t].remove(ka)
		}
		b.held[t][kb] = append(b.held[t][kb], g)
		if !b.maxOwn[t].has(kb) {
			b.maxOwn[t].push(kb)
		}
		b.owner[g] = to
		b.addCount(from, -1)
		b.addCount(to, 1)
		b.setActive(from, true)
		b.setActive(to, true)
	}
}

// addCount adds d to member m's count and restores the heaps that hold it.
func (b *balancer) addCount(m, d int) {
	b.count[m] += d
	for j, t := range b.mtopics[m] {
		b.minSub[t].fix(b.slot[m][j])
		b.maxOwn[t].fix(b.slot[m][j])
	}
}

// setActive takes member m's topics out of the active heap or, with on,
// puts back those of them that have a balancing move.
func (b *balancer) setActive(m int, on bool) {
	for _, t := range b.mtopics[m] {
		if !on && b.active.has(t) {
			b.active.remove(t)
		} else if on && !b.active.has(t) && b.movable(t) {
			b.active.push(t)
		}
	}
}

// donor returns the member most loaded with partitions of topic t; t must
// have an owned partition.
func (b *balancer) donor(t int) int { return b.subs[t][b.maxOwn[t].top()] }

// recipient returns the least loaded member subscribed to topic t.
func (b *balancer) recipient(t int) int { return b.subs[t][b.minSub[t].top()] }

// movable reports whether a partition of topic t can move to a subscriber
// of t with at least two fewer partitions than its owner.
func (b *balancer) movable(t int) bool {
	return b.maxOwn[t].len() > 0 && b.count[b.donor(t)]-b.count[b.recipient(t)] >= 2
}

// fresh reports whether the partition that topic t's donor would give up is
// one it did not own before this assignment, so moving it revokes nothing.
func (b *balancer) fresh(t int) bool {
	stack := b.held[t][b.maxOwn[t].top()]
	return b.kept[stack[len(stack)-1]] != b.donor(t)
}

// before orders movable topics by their move: the most loaded donor first,
// then the highest donor (as in maxOwn), a partition the donor did not own
// before, the least loaded recipient, and the lowest topic.
func (b *balancer) before(t1, t2 int) bool {
	a1, a2 := b.donor(t1), b.donor(t2)
	switch {
	case b.count[a1] != b.count[a2]:
		return b.count[a1] > b.count[a2]
	case a1 != a2:
		return a1 > a2
	case b.fresh(t1) != b.fresh(t2):
		return b.fresh(t1)
	}
	r1, r2 := b.recipient(t1), b.recipient(t2)
	if b.count[r1] != b.count[r2] {
		return b.count[r1] < b.count[r2]
	}
	return t1 < t2
}

// idxHeap is a binary min-heap, under less, of distinct integers in [0, n).
// It records where each element sits, so that an element can be removed, or
// put back in place after its key changed, in O(log n). Only one element's
// key may change between calls.
type idxHeap struct {
	ids  []int
	pos  []int // pos[id]: index of id in ids, or -1 when absent
	less func(a, b int) bool
}

// newIdxHeap returns an empty heap for elements in [0, n).
func newIdxHeap(n int, less func(a, b int) bool) *idxHeap {
	h := &idxHeap{ids: make([]int, 0, n), pos: make([]int, n), less: less}
	for i := range h.pos {
		h.pos[i] = -1
	}
	return h
}

// len returns the number of elements in h.
func (h *idxHeap) len() int { return len(h.ids) }

// top returns the least element; h must not be empty.
func (h *idxHeap) top() int { return h.ids[0] }

// has reports whether id is in h.
func (h *idxHeap) has(id int) bool { return h.pos[id] >= 0 }

// push adds id, which must not be in h.
func (h *idxHeap) push(id int) {
	h.pos[id] = len(h.ids)
	h.ids = append(h.ids, id)
	h.up(len(h.ids) - 1)
}

// remove takes id, which must be in h, out of h.
func (h *idxHeap) remove(id int) {
	i, last := h.pos[id], len(h.ids)-1
	h.swap(i, last)
	h.ids = h.ids[:last]
	h.pos[id] = -1
	if i != last {
		h.fix(h.ids[i])
	}
}

// fix restores h after id's key changed; it does nothing if id is absent.
func (h *idxHeap) fix(id int) {
	if i := h.pos[id]; i >= 0 && !h.down(i) {
		h.up(i)
	}
}

// up moves the element at index i up while it is less than its parent.
func (h *idxHeap) up(i int) {
	for i > 0 {
		p := (i - 1) / 2
		if !h.less(h.ids[i], h.ids[p]) {
			return
		}
		h.swap(i, p)
		i = p
	}
}

// down moves the element at index i towards the leaves while a child is
// less than it, and reports whether it moved.
func (h *idxHeap) down(i int) bool {
	start := i
	for c := 2*i + 1; c < len(h.ids); c = 2*i + 1 {
		if r := c + 1; r < len(h.ids) && h.less(h.ids[r], h.ids[c]) {
			c = r
		}
		if !h.less(h.ids[c], h.ids[i]) {
			break
		}
		h.swap(i, c)
		i = c
	}
	return i > start
}

// swap exchanges the elements at indexes i and j.
func (h *idxHeap) swap(i, j int) {
	h.ids[i], h.ids[j] = h.ids[j], h.ids[i]
	h.pos[h.ids[i]] = i
	h.pos[h.ids[j]] = j
}
