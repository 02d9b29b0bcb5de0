package brook

import (
	"sync"

	"github.com/brookmq/brook/storage"
)

// Bounds of one AppendAsync call made of collected PublishAsync messages. A
// flight may hold several such batches; storage group-commits them together
// up to its own bounds.
const (
	asyncBatchMessages = 4096
	asyncBatchBytes    = 1 << 20
)

// minSweep is the least number of parts at which Producer.sweep runs.
const minSweep = 64

// asyncPart batches one producer's PublishAsync calls to one partition.
// While a flight (one or more AppendAsync batches) is being written, new
// messages are collected in pending; the callback of the flight's last
// batch sends them as the next flight. Only one flight is in the air at a
// time, which keeps the producer's messages to the partition in order
// without holding a lock across AppendAsync. A part with no flight is idle;
// it stays in Producer.parts until a sweep removes it (gone).
type asyncPart struct {
	p    *Producer
	part *partition

	mu      sync.Mutex
	pending []*asyncBatch // collected for the next flight; the last is open
	flight  []*asyncBatch // the flight in the air (read by its sender)
	flying  int           // batches of flight not yet called back
	gone    bool          // removed from Producer.parts: look up again
}

// asyncBatch is one AppendAsync call: the messages and their records.
type asyncBatch struct {
	part  *asyncPart
	msgs  []asyncMsg
	recs  []storage.Record
	bytes int
	alone bool                         // its message may be refused for size: no neighbours
	done  func(first int64, err error) // b.complete, bound once
}

type asyncMsg struct {
	m    *Message
	done func(*Message, error)
}

// enqueue hands m, already resolved to partition part, to that partition's
// batching: it is sent at once if the partition has nothing in flight, else
// with the next flight.
func (p *Producer) enqueue(part *partition, m *Message, done func(*Message, error), alone bool) {
	rec := m.record()
	for {
		a := p.batching(part)
		a.mu.Lock()
		if a.gone {
			a.mu.Unlock()
			p.lastPart.CompareAndSwap(a, nil)
			continue // swept meanwhile; a new part takes over
		}
		a.add(m, done, &rec, alone)
		if a.flying > 0 {
			a.mu.Unlock()
			return
		}
		// An idle part: this publish starts a flight.
		flight := a.takeoff()
		a.mu.Unlock()
		p.begin()
		a.send(flight)
		return
	}
}

// batching returns the batching of partition part, creating it if needed.
func (p *Producer) batching(part *partition) *asyncPart {
	if a := p.lastPart.Load(); a != nil && a.part == part {
		return a
	}
	v, ok := p.parts.Load(part)
	if !ok {
		var loaded bool
		v, loaded = p.parts.LoadOrStore(part, &asyncPart{p: p, part: part})
		if !loaded && p.nparts.Add(1) >= max(p.sweepAt.Load(), minSweep) {
			p.sweep()
		}
	}
	a := v.(*asyncPart)
	p.lastPart.Store(a)
	return a
}

// sweep removes the idle parts from p.parts. Idle parts are kept so that a
// producer publishing one message at a time does not make a part per
// message; sweeping bounds what they hold when topics are deleted and
// others created. It runs when the map has doubled since the last sweep,
// so its cost is constant per part created.
func (p *Producer) sweep() {
	if !p.sweeping.CompareAndSwap(false, true) {
		return
	}
	defer p.sweeping.Store(false)
	p.parts.Range(func(k, v any) bool {
		a := v.(*asyncPart)
		a.mu.Lock()
		if a.flying == 0 && !a.gone {
			a.gone = true
			if p.parts.CompareAndDelete(k, a) {
				p.nparts.Add(-1)
			}
		}
		a.mu.Unlock()
		return true
	})
	p.sweepAt.Store(2 * p.nparts.Load())
}

// add appends a message to the open pending batch, opening a new one when
// it is full. Called with a.mu held.
func (a *asyncPart) add(m *Message, done func(*Message, error), rec *storage.Record, alone bool) {
	size := m.size()
	var b *asyncBatch
	if n := len(a.pending); n > 0 {
		b = a.pending[n-1]
	}
	if b == nil || alone || b.alone || len(b.msgs) >= asyncBatchMessages || b.bytes+size > asyncBatchBytes {
		b = a.p.newBatch(a)
		b.alone = alone
		a.pending = append(a.pending, b)
	}
	b.msgs = append(b.msgs, asyncMsg{m: m, done: done})
	b.recs = append(b.recs, *rec)
	b.bytes += size
}

// takeoff makes pending the flight in the air and returns it. Called with
// a.mu held, when no flight is in the air.
func (a *asyncPart) takeoff() []*asyncBatch {
	clear(a.flight)
	a.flight, a.pending = a.pending, a.flight[:0]
	a.flying = len(a.flight)
	return a.flight
}

// send appends the batches of flight in order. It holds no lock: only one
// flight is in the air, and flight is not touched by anyone else until its
// last batch is called back, which is after its last read here.
func (a *asyncPart) send(flight []*asyncBatch) {
	for _, b := range flight {
		a.part.appendAsync(b.recs, b.done)
	}
}

// landed records that a batch of the flight was called back. After the
// last one it sends what was collected meanwhile, or the part goes idle.
func (a *asyncPart) landed() {
	a.mu.Lock()
	a.flying--
	if a.flying > 0 {
		a.mu.Unlock()
		return
	}
	if len(a.pending) == 0 {
		a.mu.Unlock()
		a.p.end() // after every callback of the flight, so that Flush covers them
		return
	}
	flight := a.takeoff()
	a.mu.Unlock()
	a.send(flight)
}

func (p *Producer) newBatch(a *asyncPart) *asyncBatch {
	b, _ := p.batches.Get().(*asyncBatch)
	if b == nil {
		b = &asyncBatch{}
		b.done = b.complete
	}
	b.part = a
	return b
}

// complete is the AppendAsync callback of a batch: it reports each message's
// own result, in order, then recycles the batch. It runs on the partition's
// writer goroutine (or, after the log closed, on the goroutine that called
// AppendAsync).
func (b *asyncBatch) complete(first int64, err error) {
	a := b.part
	if err != nil {
		err = a.part.liveErr(err)
	}
	for i, x := range b.msgs {
		if err == nil {
			x.m.Offset, x.m.Timestamp = first+int64(i), b.recs[i].Timestamp
		}
		x.done(x.m, err)
	}
	clear(b.msgs)
	clear(b.recs) // drop the references to the messages' bytes
	b.msgs, b.recs, b.bytes, b.alone, b.part = b.msgs[:0], b.recs[:0], 0, false, nil
	a.p.batches.Put(b)
	a.landed()
}

// mayExceedRecordLimit reports whether m, although within the topic's
// message size limit, might encode past storage's record limit: only a
// message with a great many headers, whose framing MaxMessageBytes does not
// count, can. Such a message goes in a batch of its own, so that its
// refusal cannot fail its neighbours.
func mayExceedRecordLimit(m *Message, maxMessageBytes int) bool {
	const fixed, perHeader = 64, 20 // bounds on the varints and the entry header
	return m.size()+fixed+perHeader*len(m.Headers) > maxRecordSize(maxMessageBytes)
}
