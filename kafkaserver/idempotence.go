package kafkaserver

import (
	"math"
	"sync"
	"time"

	"github.com/brookmq/brook"
)

// Idempotent producers (KIP-98): InitProducerID hands out a producer ID and
// epoch; every batch carries them and the sequence number of its first
// record. Per producer and partition the server expects the next sequence:
// the expected batch is appended; a retry of one of the last five batches is
// answered with that batch's offset (or DUPLICATE_SEQUENCE_NUMBER while it
// is still being written) and not written twice; any other sequence is
// OUT_OF_ORDER_SEQUENCE_NUMBER. A failed append poisons the partition's
// sequence so that the batches queued behind it are refused too and the
// client renumbers. The state is in memory: after a restart the server
// answers UNKNOWN_PRODUCER_ID and the client starts over.
type idempotence struct {
	mu        sync.Mutex
	next      int64
	producers map[int64]*producerState
}

// maxProducers bounds the producer IDs remembered; the least recently used
// is forgotten beyond it.
const maxProducers = 10000

// dedupWindow is how many recent batches per partition are remembered:
// kgo and the Java client keep at most five in flight.
const dedupWindow = 5

type producerState struct {
	epoch    int16
	lastUsed time.Time
	parts    map[brook.TopicPartition]*sequences
}

type sequences struct {
	next   int32 // the base sequence the next batch must carry
	failed bool  // an append failed: refuse until the client renumbers
	recent [dedupWindow]sentBatch
	n      int // batches recorded, for the ring index
}

type sentBatch struct {
	first, last int32
	offset      int64 // -1 until the append is acknowledged
	valid       bool
}

func newIdempotence() *idempotence {
	// IDs start from the clock so that a restarted server does not hand
	// out an ID a client still uses with the old server's sequences.
	return &idempotence{next: time.Now().UnixMilli() << 8, producers: make(map[int64]*producerState)}
}

// init returns a new producer ID with epoch 0, or, for a known ID and
// epoch (KIP-360), the same ID with the next epoch and fresh sequences.
func (id *idempotence) init(pid int64, epoch int16) (int64, int16, int16) {
	id.mu.Lock()
	defer id.mu.Unlock()
	if p, ok := id.producers[pid]; ok && pid >= 0 {
		if epoch != p.epoch {
			return -1, -1, errInvalidProducerEpoch
		}
		if p.epoch == math.MaxInt16 {
			delete(id.producers, pid)
		} else {
			p.epoch++
			p.parts, p.lastUsed = make(map[brook.TopicPartition]*sequences), time.Now()
			return pid, p.epoch, errNone
		}
	}
	id.next++
	id.producers[id.next] = &producerState{lastUsed: time.Now(), parts: make(map[brook.TopicPartition]*sequences)}
	if len(id.producers) > maxProducers {
		id.evictOldest()
	}
	return id.next, 0, errNone
}

func (id *idempotence) evictOldest() {
	var oldest int64
	var at time.Time
	for pid, p := range id.producers {
		if at.IsZero() || p.lastUsed.Before(at) {
			oldest, at = pid, p.lastUsed
		}
	}
	delete(id.producers, oldest)
}

// admission is the outcome of checking one idempotent batch.
type admission struct {
	code   int16
	offset int64      // for an acknowledged duplicate: its base offset
	dup    bool       // a duplicate: answer without writing
	seq    *sequences // when admitted: record the outcome with done
	slot   int
}

// admit checks a batch of count records starting at sequence seq. It must
// be called in request order (the connection's serve loop), before the
// append is queued; an admitted batch advances the expected sequence.
func (id *idempotence) admit(pid int64, epoch int16, tp brook.TopicPartition, seq, count int32) admission {
	id.mu.Lock()
	defer id.mu.Unlock()
	p, ok := id.producers[pid]
	switch {
	case !ok:
		return admission{code: errUnknownProducerID}
	case epoch != p.epoch:
		return admission{code: errInvalidProducerEpoch}
	}
	p.lastUsed = time.Now()
	s := p.parts[tp]
	if s == nil {
		s = &sequences{}
		p.parts[tp] = s
	}
	last := addSeq(seq, count-1)
	for _, b := range s.recent {
		if b.valid && b.first == seq && b.last == last {
			if b.offset < 0 {
				return admission{code: errDuplicateSequence, dup: true}
			}
			return admission{code: errNone, offset: b.offset, dup: true}
		}
	}
	if s.failed || seq != s.next {
		return admission{code: errOutOfOrderSequence}
	}
	s.next = addSeq(last, 1)
	slot := s.n % dedupWindow
	s.recent[slot] = sentBatch{first: seq, last: last, offset: -1, valid: true}
	s.n++
	return admission{code: errNone, seq: s, slot: slot}
}

// done records the outcome of an admitted batch's append.
func (id *idempotence) done(a admission, offset int64, err error) {
	id.mu.Lock()
	defer id.mu.Unlock()
	if err != nil {
		a.seq.failed = true
		a.seq.recent[a.slot].valid = false
		return
	}
	a.seq.recent[a.slot].offset = offset
}

// addSeq adds to a sequence number, wrapping at MaxInt32 to 0 as Kafka does.
func addSeq(seq, n int32) int32 {
	if int64(seq)+int64(n) > math.MaxInt32 {
		return int32(int64(seq) + int64(n) - math.MaxInt32 - 1)
	}
	return seq + n
}
