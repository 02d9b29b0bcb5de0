package brook

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sameSubs returns a Members map in which every ID subscribes to topics.
func sameSubs(topics []string, ids ...string) map[string][]string {
	m := make(map[string][]string, len(ids))
	for _, id := range ids {
		m[id] = topics
	}
	return m
}

// owners inverts an assignment into the Current form.
func owners(a map[string][]TopicPartition) map[TopicPartition]string {
	cur := make(map[TopicPartition]string)
	for id, tps := range a {
		for _, tp := range tps {
			cur[tp] = id
		}
	}
	return cur
}

// counts returns how many partitions each member holds, largest first.
func counts(a map[string][]TopicPartition) []int {
	var n []int
	for _, tps := range a {
		n = append(n, len(tps))
	}
	slices.Sort(n)
	slices.Reverse(n)
	return n
}

// sortedTPs sorts s by (Topic, Partition) and returns it.
func sortedTPs(s []TopicPartition) []TopicPartition {
	slices.SortFunc(s, compareTopicPartition)
	return s
}

// moved counts the partitions with an owner in cur, departed or not, that
// have another owner in a.
func moved(cur map[TopicPartition]string, a map[string][]TopicPartition) int {
	n := 0
	for tp, id := range owners(a) {
		if from, ok := cur[tp]; ok && from != id {
			n++
		}
	}
	return n
}

// tps builds a sorted slice of partitions of one topic.
func tps(topic string, parts ...int) []TopicPartition {
	out := make([]TopicPartition, 0, len(parts))
	for _, p := range parts {
		out = append(out, TopicPartition{Topic: topic, Partition: p})
	}
	return out
}

// TestTopicPartitionString checks the "topic/partition" form.
func TestTopicPartitionString(t *testing.T) {
	assert.Equal(t, "orders/3", TopicPartition{Topic: "orders", Partition: 3}.String())
}

// TestAssignExamples checks the examples of GROUPS.md and a few edge cases.
func TestAssignExamples(t *testing.T) {
	t1, t12 := []string{"t1"}, []string{"t1", "t2"}
	in332 := assignInput{Members: sameSubs(t1, "a", "b", "c"), Topics: map[string]int{"t1": 8}}
	start := assign(in332)
	tests := []struct {
		name       string
		in         assignInput
		wantCounts []int
		wantMoved  int
		want       map[string][]TopicPartition // checked when not nil
	}{
		{name: "8 over 3", in: in332, wantCounts: []int{3, 3, 2}},
		{name: "8 over 5", in: assignInput{Members: sameSubs(t1, "a", "b", "c", "d", "e"), Topics: map[string]int{"t1": 8}},
			wantCounts: []int{2, 2, 2, 1, 1}},
		{name: "8 over 9", in: assignInput{Members: sameSubs(t1, "a", "b", "c", "d", "e", "f", "g", "h", "i"), Topics: map[string]int{"t1": 8}},
			wantCounts: []int{1, 1, 1, 1, 1, 1, 1, 1, 0}},
		{name: "two topics balanced over the union", in: assignInput{Members: sameSubs(t12, "a", "b", "c"), Topics: map[string]int{"t1": 8, "t2": 8}},
			wantCounts: []int{6, 5, 5}},
		{name: "fresh round robin", in: assignInput{Members: sameSubs(t1, "b", "a"), Topics: map[string]int{"t1": 4}},
			wantCounts: []int{2, 2}, want: map[string][]TopicPartition{"a": tps("t1", 0, 2), "b": tps("t1", 1, 3)}},
		{name: "c leaves 3/3/2", in: assignInput{Members: sameSubs(t1, "a", "b"), Topics: map[string]int{"t1": 8}, Current: owners(start)},
			wantCounts: []int{4, 4}, want: map[string][]TopicPartition{
				"a": sortedTPs(append(slices.Clone(start["a"]), start["c"][0])),
				"b": sortedTPs(append(slices.Clone(start["b"]), start["c"][1]))}, wantMoved: 2},
		{name: "d joins 3/3/2", in: assignInput{Members: sameSubs(t1, "a", "b", "c", "d"), Topics: map[string]int{"t1": 8}, Current: owners(start)},
			wantCounts: []int{2, 2, 2, 2}, wantMoved: 2},
		{name: "no members", in: assignInput{Topics: map[string]int{"t1": 8}}, want: map[string][]TopicPartition{}},
		{name: "missing topic and unsubscribed topic",
			in:   assignInput{Members: map[string][]string{"a": {"gone"}, "b": {"t1", "t1"}}, Topics: map[string]int{"t1": 2, "t2": 3}},
			want: map[string][]TopicPartition{"a": {}, "b": tps("t1", 0, 1)}},
		{name: "stale owners ignored", in: assignInput{Members: sameSubs(t1, "a", "b"), Topics: map[string]int{"t1": 2},
			Current: map[TopicPartition]string{{"t1", 0}: "b", {"t1", 1}: "x", {"t1", 7}: "a", {"t2", 0}: "a"}},
			want: map[string][]TopicPartition{"a": tps("t1", 1), "b": tps("t1", 0)}, wantMoved: 1},
		{name: "sole subscriber keeps a big topic", in: assignInput{Members: map[string][]string{"a": t1, "b": {"t2"}, "c": {"t2"}},
			Topics: map[string]int{"t1": 10, "t2": 2}}, wantCounts: []int{10, 1, 1}},
		// c can only take t2, all held by b, so b must take t1 from a: 4+5 moves.
		{name: "chain move", in: assignInput{Members: map[string][]string{"a": t1, "b": t12, "c": {"t2"}}, Topics: map[string]int{"t1": 10, "t2": 4},
			Current: owners(map[string][]TopicPartition{"a": tps("t1", 0, 1, 2, 3, 4, 5, 6, 7, 8, 9), "b": tps("t2", 0, 1, 2, 3)})},
			wantCounts: []int{5, 5, 4}, wantMoved: 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := assign(tt.in)
			checkAssignment(t, tt.in, got)
			if tt.wantCounts != nil {
				assert.Equal(t, tt.wantCounts, counts(got))
			}
			if tt.want != nil {
				assert.Equal(t, tt.want, got)
			}
			assert.Equal(t, tt.wantMoved, moved(tt.in.Current, got), "partitions moved")
		})
	}
}

// effectiveSubs returns each member's subscribed existing topics, sorted.
func effectiveSubs(in assignInput) map[string][]string {
	out := make(map[string][]string, len(in.Members))
	for id, topics := range in.Members {
		var eff []string
		for _, topic := range topics {
			if in.Topics[topic] > 0 {
				eff = append(eff, topic)
			}
		}
		slices.Sort(eff)
		out[id] = slices.Compact(eff)
	}
	return out
}

// identical reports whether all members have the same effective subscriptions.
func identical(in assignInput) bool {
	var first []string
	n := 0
	for _, eff := range effectiveSubs(in) {
		if n++; n > 1 && !slices.Equal(eff, first) {
			return false
		}
		first = eff
	}
	return true
}

// checkAssignment checks that out is a valid and balanced assignment for in.
func checkAssignment(t *testing.T, in assignInput, out map[string][]TopicPartition) {
	t.Helper()
	require.Len(t, out, len(in.Members))
	eff := effectiveSubs(in)
	subscribed := make(map[string]bool)
	for _, subs := range eff {
		for _, topic := range subs {
			subscribed[topic] = true
		}
	}
	owner := make(map[TopicPartition]string)
	for id, got := range out {
		_, member := in.Members[id]
		require.True(t, member && got != nil, "member %s: unknown or nil", id)
		require.True(t, slices.IsSortedFunc(got, compareTopicPartition), "member %s: unsorted %v", id, got)
		for _, tp := range got {
			if from, dup := owner[tp]; dup {
				require.Fail(t, "owned twice", "%v by %s and %s", tp, from, id)
			}
			owner[tp] = id
			require.True(t, slices.Contains(eff[id], tp.Topic), "%v owned by non-subscriber %s", tp, id)
			require.True(t, tp.Partition >= 0 && tp.Partition < in.Topics[tp.Topic], "%v does not exist", tp)
		}
	}
	for topic := range subscribed {
		for p := range in.Topics[topic] {
			if _, ok := owner[TopicPartition{topic, p}]; !ok {
				require.Fail(t, "unowned", "%s/%d", topic, p)
			}
		}
	}
	if identical(in) {
		if c := counts(out); len(c) > 0 {
			assert.LessOrEqual(t, c[0]-c[len(c)-1], 1, "unbalanced: %v", c)
		}
		return
	}
	for tp, a := range owner {
		for b, subs := range eff {
			if len(out[b]) < len(out[a])-1 && slices.Contains(subs, tp.Topic) {
				assert.Fail(t, "improving move left", "%v could move from %s (%d) to %s (%d)", tp, a, len(out[a]), b, len(out[b]))
				return
			}
		}
	}
}

// testSeed returns BROOK_SEED if set, else a fresh seed, and has a failing
// test print it.
func testSeed(t *testing.T) uint64 {
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("BROOK_SEED"); s != "" {
		var err error
		seed, err = strconv.ParseUint(s, 10, 64)
		require.NoError(t, err, "BROOK_SEED")
	}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("replay with BROOK_SEED=%d", seed)
		}
	})
	return seed
}

// randomInput returns members 0–20, topics 0–5 with 0–40 partitions, random
// subscriptions (identical for all members one time in three) and random
// current owners, some of them stale.
func randomInput(r *rand.Rand) assignInput {
	in := assignInput{Members: map[string][]string{}, Topics: map[string]int{}, Current: map[TopicPartition]string{}}
	for i := range r.IntN(6) {
		in.Topics["t"+strconv.Itoa(i)] = r.IntN(41)
	}
	names := []string{"t0", "t1", "t2", "t3", "t4", "ghost"}
	pick := func() []string {
		var subs []string
		for _, n := range names {
			if r.IntN(2) == 0 {
				subs = append(subs, n)
			}
		}
		return subs
	}
	same, shared := r.IntN(3) == 0, pick()
	ids := []string{"departed"}
	for i := range r.IntN(21) {
		id := fmt.Sprintf("m%02d", r.IntN(100)*100+i)
		ids = append(ids, id)
		if in.Members[id] = shared; !same {
			in.Members[id] = pick()
		}
	}
	for _, topic := range names {
		for p := range in.Topics[topic] + 2 {
			if r.IntN(3) > 0 {
				in.Current[TopicPartition{topic, p}] = ids[r.IntN(len(ids))]
			}
		}
	}
	return in
}

// rebuilt returns a deep copy of in whose maps are filled in a shuffled order
// and whose subscription lists are shuffled.
func rebuilt(r *rand.Rand, in assignInput) assignInput {
	out := assignInput{Members: map[string][]string{}, Topics: map[string]int{}, Current: map[TopicPartition]string{}}
	ids := slices.Sorted(maps.Keys(in.Members)) // sorted first, so that BROOK_SEED replays
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, id := range ids {
		subs := slices.Clone(in.Members[id])
		r.Shuffle(len(subs), func(i, j int) { subs[i], subs[j] = subs[j], subs[i] })
		out.Members[id] = subs
	}
	maps.Copy(out.Topics, in.Topics)
	maps.Copy(out.Current, in.Current)
	return out
}

// maxKept returns the most valid current owners that any equal-share
// assignment can keep when all members subscribe to the same topics.
func maxKept(in assignInput, valid map[string]int, total int) int {
	var v []int
	for id := range in.Members {
		v = append(v, valid[id])
	}
	slices.Sort(v)
	slices.Reverse(v)
	kept := 0
	for i, n := range v {
		quota := total / len(v)
		if i < total%len(v) {
			quota++
		}
		kept += min(n, quota)
	}
	return kept
}

// TestAssignProperties checks assign on thousands of random inputs: valid,
// balanced, sticky, deterministic and idempotent. A failure prints the seed;
// BROOK_SEED=<seed> replays it.
func TestAssignProperties(t *testing.T) {
	seed := testSeed(t)
	r := rand.New(rand.NewPCG(seed, 0))
	iterations := 3000
	if testing.Short() {
		iterations = 300
	}
	for i := range iterations {
		in := randomInput(r)
		out := assign(in)
		checkAssignment(t, in, out)
		assert.Equal(t, out, assign(rebuilt(r, in)), "not deterministic")
		again := rebuilt(r, in)
		again.Current = owners(out)
		for tp, id := range in.Current {
			if _, ok := again.Current[tp]; !ok {
				again.Current[tp] = id // stale entries: departed members, ghost topics, removed partitions
			}
		}
		assert.Equal(t, out, assign(again), "not idempotent")
		if identical(in) && len(in.Members) > 0 {
			checkEqualSticky(t, in, out)
			checkLeaveJoin(t, r, in, out)
		}
		if t.Failed() {
			t.Fatalf("case %d failed: %+v", i, in)
		}
	}
}

// checkEqualSticky checks that with identical subscriptions each member keeps
// its valid current partitions up to ⌊P/M⌋ and that the assignment keeps as
// many current owners as any equal-share assignment could.
func checkEqualSticky(t *testing.T, in assignInput, out map[string][]TopicPartition) {
	t.Helper()
	total, valid, kept := 0, map[string]int{}, map[string]int{}
	for _, got := range out {
		total += len(got)
	}
	eff := effectiveSubs(in)
	for tp, id := range in.Current {
		if subs, ok := eff[id]; ok && slices.Contains(subs, tp.Topic) && tp.Partition < in.Topics[tp.Topic] {
			valid[id]++
			if slices.Contains(out[id], tp) {
				kept[id]++
			}
		}
	}
	sum := 0
	for id := range in.Members {
		assert.GreaterOrEqual(t, kept[id], min(valid[id], total/len(in.Members)), "member %s lost partitions within its share", id)
		sum += kept[id]
	}
	assert.Equal(t, maxKept(in, valid, total), sum, "current owners kept")
}

// checkLeaveJoin checks, from the balanced assignment out, that when one
// member leaves only its partitions move, and that when one joins only what
// it receives moves.
func checkLeaveJoin(t *testing.T, r *rand.Rand, in assignInput, out map[string][]TopicPartition) {
	t.Helper()
	ids := slices.Sorted(maps.Keys(in.Members))
	gone := ids[r.IntN(len(ids))]
	leave := assignInput{Members: map[string][]string{}, Topics: in.Topics, Current: owners(out)}
	for id, subs := range in.Members {
		if id != gone {
			leave.Members[id] = subs
		}
	}
	after := assign(leave)
	checkAssignment(t, leave, after)
	for id, got := range after {
		assert.Subset(t, got, out[id], "member %s lost partitions when %s left", id, gone)
	}
	join := assignInput{Members: map[string][]string{"new": in.Members[ids[0]]}, Topics: in.Topics, Current: owners(out)}
	for id, subs := range in.Members {
		join.Members[id] = subs
	}
	after = assign(join)
	assert.Equal(t, len(after["new"]), moved(join.Current, after), "moves on join")
	checkAssignment(t, join, after)
}

// benchInput returns members × partitions spread over 10 topics; with mixed
// subscriptions, each member subscribes to 5 of them.
func benchInput(members, partitions int, mixed bool) assignInput {
	in := assignInput{Members: map[string][]string{}, Topics: map[string]int{}}
	var all []string
	for i := range 10 {
		name := fmt.Sprintf("topic%02d", i)
		all = append(all, name)
		in.Topics[name] = partitions / 10
	}
	for i := range members {
		subs := all
		if mixed {
			subs = []string{all[i%10], all[(i+1)%10], all[(i+3)%10], all[(i+5)%10], all[(i+7)%10]}
		}
		in.Members[fmt.Sprintf("member-%04d", i)] = subs
	}
	return in
}

// BenchmarkAssign measures assign for 1000 members and 10,000 partitions,
// with all members subscribed to all 10 topics or to 5 of them each, when
// the group starts, when nothing changed, when one member joins or leaves,
// and when one member owns every partition as the 999 others join.
func BenchmarkAssign(b *testing.B) {
	for _, subs := range []string{"same", "mixed"} {
		for _, start := range []string{"fresh", "stable", "join", "leave", "skewed"} {
			b.Run(fmt.Sprintf("members=1000/partitions=10000/subs=%s/start=%s", subs, start), func(b *testing.B) {
				in := benchInput(1000, 10000, subs == "mixed")
				switch start {
				case "stable", "join", "leave":
					in.Current = owners(assign(in))
				case "skewed": // one member owns everything; the others join
					in.Current = map[TopicPartition]string{}
					for topic, n := range in.Topics {
						for p := range n {
							in.Current[TopicPartition{topic, p}] = "member-0000"
						}
					}
				}
				switch start {
				case "join":
					in.Members["member-new"] = in.Members["member-0000"]
				case "leave":
					delete(in.Members, "member-0000")
				}
				b.ReportAllocs()
				for b.Loop() {
					assign(in)
				}
			})
		}
	}
}
