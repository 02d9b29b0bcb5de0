package main

import (
	"slices"
	"sync"

	"github.com/brookmq/brook"
)

// ledger is the pipeline's exactly-once accounting. Producers record the
// offset of every message they publish in this run (Publish sets
// msg.Offset); handlers record every (partition, offset) they process. At
// the end, each group must have processed each message of this run exactly
// once.
//
// A group may also legitimately process messages published by an earlier
// run: those it had not committed when that run stopped (a crash, a drain
// that timed out, a group added later). They are not this run's messages,
// so they are counted apart, as the backlog: before any producer or consumer
// starts, the ledger notes for each group and partition the range
// [committed, next) — committed being the group's committed offset, or the
// first offset when it has none. Each backlog message must also be processed
// exactly once, and any other old offset processed ("stray") means that a
// committed message was delivered again.
//
// A ledger is safe for concurrent use.
type ledger struct {
	mu      sync.Mutex
	pub     map[brook.TopicPartition]map[int64]bool           // this run's offsets
	backlog map[string]map[brook.TopicPartition]span          // group -> partition -> backlog
	seen    map[string]map[brook.TopicPartition]map[int64]int // group -> partition -> offset -> times
}

// span is the half-open offset range [From, To).
type span struct{ From, To int64 }

// len returns the number of offsets in s.
func (s span) len() int { return int(max(s.To-s.From, 0)) }

// contains reports whether off is in s.
func (s span) contains(off int64) bool { return off >= s.From && off < s.To }

// newLedger returns an empty ledger.
func newLedger() *ledger {
	return &ledger{
		pub:     make(map[brook.TopicPartition]map[int64]bool),
		backlog: make(map[string]map[brook.TopicPartition]span),
		seen:    make(map[string]map[brook.TopicPartition]map[int64]int),
	}
}

// baseline notes the backlog of group on topics: per partition, the
// messages from the group's committed offset to the end. Call it before
// anything is published or consumed in this run.
func (l *ledger) baseline(b *brook.Broker, group string, topics ...string) error {
	gs, err := groupStats(b, group)
	if err != nil {
		return err
	}
	committed := make(map[brook.TopicPartition]int64)
	for _, p := range gs.Partitions {
		if p.Committed >= 0 {
			committed[p.TopicPartition] = p.Committed
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.backlog[group] == nil {
		l.backlog[group] = make(map[brook.TopicPartition]span)
		l.seen[group] = make(map[brook.TopicPartition]map[int64]int)
	}
	for _, name := range topics {
		t, err := b.Topic(name)
		if err != nil {
			return err
		}
		for _, ps := range t.Stats().Partitions {
			tp := brook.TopicPartition{Topic: name, Partition: ps.Partition}
			from := ps.FirstOffset
			if c, ok := committed[tp]; ok {
				from = max(c, ps.FirstOffset)
			}
			l.backlog[group][tp] = span{From: from, To: ps.NextOffset}
			l.seen[group][tp] = make(map[int64]int)
		}
	}
	return nil
}

// backlogTotal returns the size of group's backlog over all its partitions.
func (l *ledger) backlogTotal(group string) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := 0
	for _, s := range l.backlog[group] {
		n += s.len()
	}
	return n
}

// published records a message that Publish has just written.
func (l *ledger) published(m *brook.Message) {
	tp := brook.TopicPartition{Topic: m.Topic, Partition: m.Partition}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.pub[tp] == nil {
		l.pub[tp] = make(map[int64]bool)
	}
	l.pub[tp][m.Offset] = true
}

// processed records that group's handler finished m. Call it last in the
// handler, just before returning nil (which commits m).
func (l *ledger) processed(group string, m *brook.Message) {
	tp := brook.TopicPartition{Topic: m.Topic, Partition: m.Partition}
	l.mu.Lock()
	defer l.mu.Unlock()
	byTP := l.seen[group]
	if byTP == nil {
		byTP = make(map[brook.TopicPartition]map[int64]int)
		l.seen[group] = byTP
	}
	if byTP[tp] == nil {
		byTP[tp] = make(map[int64]int) // a partition added during the run
	}
	byTP[tp][m.Offset]++
}

// partitionCount is the accounting of one group on one partition.
type partitionCount struct {
	brook.TopicPartition
	Start       int64 // the partition's next offset when the run started
	Published   int   // messages published in this run
	Processed   int   // of those, how many the group processed
	Backlog     int   // messages of earlier runs the group had not committed
	BacklogDone int   // of those, how many it processed
	Duplicates  int   // deliveries beyond the first of any offset
	Stray       int   // offsets processed that were committed before this run
}

// Lost returns how many messages of this run or of the backlog the group
// never processed.
func (c partitionCount) Lost() int { return c.Published - c.Processed + c.Backlog - c.BacklogDone }

// OK reports whether every expected message was processed exactly once and
// nothing else was processed.
func (c partitionCount) OK() bool { return c.Lost() == 0 && c.Duplicates == 0 && c.Stray == 0 }

// counts returns group's accounting for each partition of topic, in
// partition order.
func (l *ledger) counts(group, topic string) []partitionCount {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []partitionCount
	for tp, seen := range l.seen[group] {
		if tp.Topic != topic {
			continue
		}
		bl := l.backlog[group][tp]
		c := partitionCount{TopicPartition: tp, Start: bl.To, Published: len(l.pub[tp]), Backlog: bl.len()}
		for off, n := range seen {
			c.Duplicates += n - 1
			switch {
			case l.pub[tp][off]:
				c.Processed++
			case bl.contains(off):
				c.BacklogDone++
			default:
				c.Stray++
			}
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b partitionCount) int { return a.Partition - b.Partition })
	return out
}

// total sums counts over partitions.
func total(cs []partitionCount) partitionCount {
	var t partitionCount
	for _, c := range cs {
		t.Published += c.Published
		t.Processed += c.Processed
		t.Backlog += c.Backlog
		t.BacklogDone += c.BacklogDone
		t.Duplicates += c.Duplicates
		t.Stray += c.Stray
	}
	return t
}
