package exchange

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// log is a test helper: the encoded records of a declarations log.
type testLog [][]byte

func (l *testLog) add(r record) { *l = append(*l, encodeRecord(r)) }

func (l testLog) replay(from int) *replica {
	r := newReplica()
	for i := from; i < len(l); i++ {
		r.apply(int64(i), l[i])
	}
	return r
}

func TestStateWindows(t *testing.T) {
	s := newState()
	s.apply(&record{Op: opExchangeDeclare, Exchange: "logs", Kind: Direct, Partitions: 2})
	s.apply(&record{Op: opQueueDeclare, Queue: "q", Offsets: []int64{5}})
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "logs", Key: "k", Offsets: []int64{10, 20}})
	s.apply(&record{Op: opUnbind, Queue: "q", Exchange: "logs", Key: "k", Offsets: []int64{15, 30}})
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "logs", Key: "k", Offsets: []int64{40, 40}})

	tests := []struct {
		name string
		p    int
		off  int64
		key  string
		want bool
	}{
		{"before the first window", 0, 9, "k", false},
		{"first offset of the window", 0, 10, "k", true},
		{"last offset of the window", 0, 14, "k", true},
		{"until is excluded", 0, 15, "k", false},
		{"between windows", 0, 39, "k", false},
		{"second window", 0, 40, "k", true},
		{"other partition's bounds", 1, 25, "k", true},
		{"other partition before since", 1, 19, "k", false},
		{"other key", 0, 12, "x", false},
		{"partition beyond the offsets", 5, 0, "k", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.matches("q", "logs", tt.key, tt.p, tt.off))
		})
	}
	assert.True(t, s.matches("q", "", "q", 0, 5), "default exchange from the queue's declaration")
	assert.False(t, s.matches("q", "", "q", 0, 4))
	assert.False(t, s.matches("q", "", "other", 0, 9))
	assert.False(t, s.matches("nope", "logs", "k", 0, 12))

	b := s.bindings("q")
	require.Len(t, b, 2)
	assert.Equal(t, Binding{Exchange: "logs", Key: "k", Since: []int64{10, 20}, Until: []int64{15, 30}}, b[0])
	assert.Equal(t, Binding{Exchange: "logs", Key: "k", Since: []int64{40, 40}}, b[1])
	assert.Equal(t, []string{"x._default", "x.logs"}, s.topics("q"))
}

func TestStateDropsEmptyWindows(t *testing.T) {
	s := newState()
	s.apply(&record{Op: opExchangeDeclare, Exchange: "e", Kind: Direct, Partitions: 2})
	s.apply(&record{Op: opQueueDeclare, Queue: "q"})
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "e", Key: "quiet", Offsets: []int64{4, 7}})
	s.apply(&record{Op: opUnbind, Queue: "q", Exchange: "e", Key: "quiet", Offsets: []int64{4, 7}})
	assert.Empty(t, s.bindings("q"), "nothing was published while it stood")
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "e", Key: "busy", Offsets: []int64{4, 7}})
	s.apply(&record{Op: opUnbind, Queue: "q", Exchange: "e", Key: "busy", Offsets: []int64{4, 8}})
	assert.Len(t, s.bindings("q"), 1, "one message on partition 1")
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "e", Key: "gone", Offsets: []int64{4, 8}})
	s.apply(&record{Op: opExchangeDelete, Exchange: "e", Offsets: []int64{4, 8}})
	assert.Len(t, s.bindings("q"), 1, "ExchangeDelete drops the empty window too")
}

func TestStateKinds(t *testing.T) {
	s := newState()
	for _, e := range []exchangeDecl{{"d", Direct, 1}, {"f", Fanout, 1}, {"t", Topic, 1}} {
		s.apply(&record{Op: opExchangeDeclare, Exchange: e.Name, Kind: e.Kind, Partitions: 1})
	}
	s.apply(&record{Op: opQueueDeclare, Queue: "q"})
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "d", Key: "a.*"})
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "f", Key: "ignored"})
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "t", Key: "stock.*.ibm"})
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "t", Key: "log.#"})
	tests := []struct {
		name, exchange, key string
		want                bool
	}{
		{"direct takes the key literally", "d", "a.*", true},
		{"direct has no wildcards", "d", "a.b", false},
		{"fanout takes any key", "f", "anything", true},
		{"fanout takes the empty key", "f", "", true},
		{"topic star", "t", "stock.nyse.ibm", true},
		{"topic star is one word", "t", "stock.ibm", false},
		{"topic hash zero words", "t", "log", true},
		{"topic hash many words", "t", "log.a.b.c", true},
		{"topic no match", "t", "other", false},
		{"unknown exchange", "u", "a.*", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, s.matches("q", tt.exchange, tt.key, 0, 0), "matches")
			assert.Equal(t, tt.want, s.routable(tt.exchange, tt.key), "routable")
		})
	}
	assert.True(t, s.routable("", "q"))
	assert.False(t, s.routable("", "nope"))
}

func TestStateFirstWriterWins(t *testing.T) {
	s := newState()
	s.apply(&record{Op: opExchangeDeclare, Exchange: "e", Kind: Direct, Partitions: 1})
	s.apply(&record{Op: opExchangeDeclare, Exchange: "e", Kind: Fanout, Partitions: 3})
	assert.Equal(t, exchangeDecl{"e", Direct, 1}, s.exchanges["e"])

	s.apply(&record{Op: opBind, Queue: "missing", Exchange: "e", Key: "k"})
	assert.Empty(t, s.queues)
	s.apply(&record{Op: opQueueDeclare, Queue: "q"})
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "missing", Key: "k"})
	assert.Empty(t, s.bindings("q"))
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "e", Key: "k", Offsets: []int64{1}})
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "e", Key: "k", Offsets: []int64{9}})
	assert.Equal(t, []Binding{{Exchange: "e", Key: "k", Since: []int64{1}}}, s.bindings("q"), "a second bind of an open binding changes nothing")
}

func TestStateExchangeDeleteClosesWindows(t *testing.T) {
	s := newState()
	s.apply(&record{Op: opExchangeDeclare, Exchange: "e", Kind: Topic, Partitions: 1})
	s.apply(&record{Op: opQueueDeclare, Queue: "q"})
	s.apply(&record{Op: opBind, Queue: "q", Exchange: "e", Key: "a.#", Offsets: []int64{0}})
	s.apply(&record{Op: opExchangeDelete, Exchange: "e", Offsets: []int64{3}})
	assert.False(t, s.routable("e", "a.b"))
	assert.True(t, s.matches("q", "e", "a.b", 0, 2), "what was routed before the delete stays in the queue")
	assert.False(t, s.matches("q", "e", "a.b", 0, 3))

	// Declared again as direct: the old window keeps its topic semantics.
	s.apply(&record{Op: opExchangeDeclare, Exchange: "e", Kind: Direct, Partitions: 1})
	assert.True(t, s.matches("q", "e", "a.b.c", 0, 1))
	assert.False(t, s.routable("e", "a.#"))
}

func TestSnapshotRoundTrip(t *testing.T) {
	var l testLog
	l.add(record{Op: opExchangeDeclare, Exchange: "e", Kind: Topic, Partitions: 2})
	l.add(record{Op: opQueueDeclare, Queue: "q", Offsets: []int64{4}})
	l.add(record{Op: opBind, Queue: "q", Exchange: "e", Key: "a.*", Offsets: []int64{1, 2}})
	l.add(record{Op: opUnbind, Queue: "q", Exchange: "e", Key: "a.*", Offsets: []int64{3, 4}})
	l.add(record{Op: opBind, Queue: "q", Exchange: "e", Key: "#", Offsets: []int64{5, 6}})
	r := l.replay(0)
	want := r.st.snapshot()

	l.add(r.snapshotRecord())
	got := stateFrom(want).snapshot()
	assert.Equal(t, want, got)

	// Replaying from the snapshot alone (retention dropped the front) gives
	// the same state.
	r2 := l.replay(len(l) - 1)
	assert.Equal(t, want, r2.st.snapshot())
	assert.Equal(t, 0, r2.bad)
}

// A snapshot written by a process that had not read the latest records yet
// covers only what came before its AsOf; replay applies the rest again.
func TestReplicaSnapshotBehindDeltas(t *testing.T) {
	var l testLog
	l.add(record{Op: opExchangeDeclare, Exchange: "e", Kind: Direct, Partitions: 1})
	l.add(record{Op: opQueueDeclare, Queue: "q"})
	early := l.replay(0)
	snap := early.snapshotRecord()                                                      // AsOf 2
	l.add(record{Op: opBind, Queue: "q", Exchange: "e", Key: "k", Offsets: []int64{0}}) // 2: not in the snapshot
	l.add(snap)                                                                         // 3
	l.add(record{Op: opQueueDeclare, Queue: "q2"})                                      // 4

	r := l.replay(0)
	assert.Equal(t, []Binding{{Exchange: "e", Key: "k", Since: []int64{0}}}, r.st.bindings("q"))
	assert.Contains(t, r.st.queues, "q2")
	assert.Equal(t, 1, r.sinceSnap)

	// An older snapshot after a newer one is ignored.
	l.add(record{Op: opSnapshot, AsOf: 0, Snapshot: &snapshot{}})
	r = l.replay(0)
	assert.Contains(t, r.st.queues, "q2")
}

func TestReplicaSnapshotDue(t *testing.T) {
	r := newReplica()
	for i := range snapshotEvery - 1 {
		r.apply(int64(i), encodeRecord(record{Op: opQueueDeclare, Queue: "q"}))
	}
	assert.False(t, r.snapshotDue())
	r.apply(snapshotEvery, encodeRecord(record{Op: opQueueDelete, Queue: "q"}))
	assert.True(t, r.snapshotDue())
	r.apply(snapshotEvery+1, encodeRecord(r.snapshotRecord()))
	assert.False(t, r.snapshotDue())
	r.apply(snapshotEvery, []byte(`{}`)) // an offset already applied
	assert.Equal(t, 0, r.bad)
}

func TestDecodeRecordRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not json", `{`},
		{"no version", `{"op":"queue.declare","queue":"q"}`},
		{"future version", `{"v":99,"op":"queue.declare","queue":"q"}`},
		{"unknown op", `{"v":1,"op":"purge","queue":"q"}`},
		{"bad queue name", `{"v":1,"op":"queue.declare","queue":"_q"}`},
		{"bad kind", `{"v":1,"op":"exchange.declare","exchange":"e","kind":"headers","partitions":1}`},
		{"no partitions", `{"v":1,"op":"exchange.declare","exchange":"e","kind":"direct"}`},
		{"negative offset", `{"v":1,"op":"bind","queue":"q","exchange":"e","offsets":[-1]}`},
		{"snapshot without state", `{"v":1,"op":"snapshot","as_of":3}`},
		{"snapshot with a bad window", `{"v":1,"op":"snapshot","snapshot":{"queues":[{"name":"q","bindings":[{"exchange":"e","kind":"x"}]}]}}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeRecord([]byte(tt.in))
			assert.ErrorIs(t, err, errBadRecord)
		})
	}
}

func TestCheckName(t *testing.T) {
	for _, ok := range []string{"a", "logs", "a.b-c_d", "X9"} {
		assert.NoError(t, checkName(ok), ok)
	}
	for _, bad := range []string{"", "_x", "a b", "a/b", "é", string(make([]byte, maxNameLen+1))} {
		assert.ErrorIs(t, checkName(bad), ErrInvalidName, bad)
	}
}

// FuzzDecodeRecord feeds arbitrary bytes to the decoder of the declarations
// log (other processes and versions write it) and applies what it accepts:
// neither may panic, and an accepted record re-encodes to one that decodes
// the same.
func FuzzDecodeRecord(f *testing.F) {
	f.Add([]byte(`{"v":1,"op":"exchange.declare","exchange":"logs","kind":"fanout","partitions":1}`))
	f.Add([]byte(`{"v":1,"op":"bind","queue":"q1","exchange":"logs","key":"a.*","offsets":[42]}`))
	f.Add([]byte(`{"v":1,"op":"unbind","queue":"q1","exchange":"logs","key":"a.*","offsets":[50,3]}`))
	f.Add([]byte(`{"v":1,"op":"exchange.delete","exchange":"logs","offsets":[42]}`))
	f.Add([]byte(`{"v":1,"op":"snapshot","as_of":3,"snapshot":{"exchanges":[{"name":"e","kind":"topic","partitions":2}],"queues":[{"name":"q","default_since":[1],"bindings":[{"exchange":"e","kind":"topic","key":"#","since":[0,0],"until":[4,4],"closed":true}]}]}}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := newReplica()
		r.apply(0, encodeRecord(record{Op: opExchangeDeclare, Exchange: "logs", Kind: Topic, Partitions: 1}))
		r.apply(1, encodeRecord(record{Op: opQueueDeclare, Queue: "q1"}))
		r.apply(2, b)
		_ = r.st.matches("q1", "logs", "a.b", 0, 7)
		_ = r.st.routable("logs", "a.b")
		_ = r.st.bindings("q1")
		rec, err := decodeRecord(b)
		if err != nil {
			return
		}
		again, err := decodeRecord(encodeRecord(rec))
		if err != nil {
			t.Fatalf("re-encoded record rejected: %v", err)
		}
		assert.Equal(t, rec.Op, again.Op)
	})
}
