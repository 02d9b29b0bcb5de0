package brook

import (
	"encoding/binary"
	"errors"
	"slices"

	"github.com/brookmq/brook/storage"
)

// The records of a group's offsets log. Kinds 0 and 1 are the first
// format (every entry with its topic name), still read; new logs are
// written with kinds 2 to 4:
//
//	delta:    2, varint gen, uvarint nextID, entries
//	snapshot: 3, last (0 or 1), varint gen, uvarint nextID, entries
//	drop:     4, uvarint length, topic
//
// entries is uvarint topic count, then per topic uvarint name length,
// name, uvarint count, and per partition uvarint partition, varint
// offset: a long topic name is written once per record, not per
// partition. A delta or a snapshot is split into records of at most
// offsetsChunk bytes; a snapshot's records are appended as one batch and
// only the last is marked, so that a snapshot torn by a crash is known.
const (
	offsetsDeltaV1    = 0
	offsetsSnapshotV1 = 1
	offsetsDelta      = 2
	offsetsSnapshot   = 3
	offsetsDrop       = 4

	offsetsChunk  = 256 << 10
	offsetsPerRun = 8192 // entries of one topic per run: a run stays far below offsetsChunk
)

// offsetsRecord is one decoded record.
type offsetsRecord struct {
	kind    byte
	last    bool  // a snapshot's last record
	gen     int64 // the group's generation when written (kinds 2, 3)
	nextID  int64 // the group's member counter when written (kinds 2, 3)
	topic   string
	entries map[TopicPartition]int64
}

// encodeRecords encodes entries as records of kind (offsetsDelta or
// offsetsSnapshot), sorted so that the encoding is deterministic. It
// returns at least one record.
func encodeRecords(kind byte, gen, nextID int64, entries map[TopicPartition]int64) []storage.Record {
	tps := make([]TopicPartition, 0, len(entries))
	for tp := range entries {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, compareTopicPartition)
	var recs []storage.Record
	var body []byte
	runs := 0
	emit := func(last bool) {
		head := []byte{kind}
		if kind == offsetsSnapshot {
			head = append(head, boolByte(last))
		}
		head = binary.AppendVarint(head, gen)
		head = binary.AppendUvarint(head, uint64(nextID))
		head = binary.AppendUvarint(head, uint64(runs))
		recs = append(recs, storage.Record{Value: append(head, body...)})
		body, runs = nil, 0
	}
	var run []byte
	for i := 0; i < len(tps); {
		j := i
		for j < len(tps) && tps[j].Topic == tps[i].Topic && j-i < offsetsPerRun {
			j++
		}
		run = binary.AppendUvarint(run[:0], uint64(len(tps[i].Topic)))
		run = append(run, tps[i].Topic...)
		run = binary.AppendUvarint(run, uint64(j-i))
		for _, tp := range tps[i:j] {
			run = binary.AppendUvarint(run, uint64(tp.Partition))
			run = binary.AppendVarint(run, entries[tp])
		}
		if runs > 0 && len(body)+len(run) > offsetsChunk {
			emit(false)
		}
		body = append(body, run...)
		runs++
		i = j
	}
	emit(true)
	return recs
}

func encodeDrop(topic string) []byte {
	b := binary.AppendUvarint([]byte{offsetsDrop}, uint64(len(topic)))
	return append(b, topic...)
}

// encodeOffsetsV1 is the first format's layout (kind 0 or 1): uvarint
// count, then per entry uvarint topic length, topic, uvarint partition,
// varint offset. Brook no longer writes it; it is kept for the tests of
// the reader.
func encodeOffsetsV1(kind byte, entries map[TopicPartition]int64) []byte {
	tps := make([]TopicPartition, 0, len(entries))
	for tp := range entries {
		tps = append(tps, tp)
	}
	slices.SortFunc(tps, compareTopicPartition)
	buf := []byte{kind}
	buf = binary.AppendUvarint(buf, uint64(len(tps)))
	for _, tp := range tps {
		buf = binary.AppendUvarint(buf, uint64(len(tp.Topic)))
		buf = append(buf, tp.Topic...)
		buf = binary.AppendUvarint(buf, uint64(tp.Partition))
		buf = binary.AppendVarint(buf, entries[tp])
	}
	return buf
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

var errBadOffsets = errors.New("malformed offsets record")

// offsetsReader reads a record's fields; any error sticks.
type offsetsReader struct {
	b   []byte
	bad bool
}

func (r *offsetsReader) uvarint() uint64 {
	v, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *offsetsReader) varint() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.bad = true
		return 0
	}
	r.b = r.b[k:]
	return v
}

func (r *offsetsReader) name() string {
	n := r.uvarint()
	if r.bad || n > uint64(len(r.b)) {
		r.bad = true
		return ""
	}
	s := string(r.b[:n])
	r.b = r.b[n:]
	if !validName(s) {
		r.bad = true
	}
	return s
}

func (r *offsetsReader) entry(m map[TopicPartition]int64, topic string) {
	p, o := r.uvarint(), r.varint()
	if r.bad || p > MaxPartitions || o < 0 {
		r.bad = true
		return
	}
	m[TopicPartition{Topic: topic, Partition: int(p)}] = o
}

// decodeOffsets parses a record of either format; it never panics, and it
// accepts only valid topic names, partitions in range and offsets that are
// not negative.
func decodeOffsets(b []byte) (offsetsRecord, error) {
	if len(b) < 1 || b[0] > offsetsDrop {
		return offsetsRecord{}, errBadOffsets
	}
	rec := offsetsRecord{kind: b[0]}
	r := &offsetsReader{b: b[1:]}
	switch rec.kind {
	case offsetsDrop:
		rec.topic = r.name()
	case offsetsDeltaV1, offsetsSnapshotV1:
		n := r.uvarint()
		if n > uint64(len(r.b)) {
			return offsetsRecord{}, errBadOffsets
		}
		rec.entries = make(map[TopicPartition]int64, n)
		for i := uint64(0); i < n && !r.bad; i++ {
			r.entry(rec.entries, r.name())
		}
	default:
		if rec.kind == offsetsSnapshot {
			if len(r.b) < 1 || r.b[0] > 1 {
				return offsetsRecord{}, errBadOffsets
			}
			rec.last, r.b = r.b[0] == 1, r.b[1:]
		}
		rec.gen = r.varint()
		next := r.uvarint()
		runs := r.uvarint()
		if r.bad || rec.gen < 0 || next > 1<<62 || runs > uint64(len(r.b)) {
			return offsetsRecord{}, errBadOffsets
		}
		rec.nextID = int64(next)
		rec.entries = make(map[TopicPartition]int64)
		for i := uint64(0); i < runs && !r.bad; i++ {
			topic := r.name()
			n := r.uvarint()
			if n > uint64(len(r.b)) {
				return offsetsRecord{}, errBadOffsets
			}
			for j := uint64(0); j < n && !r.bad; j++ {
				r.entry(rec.entries, topic)
			}
		}
	}
	if r.bad || len(r.b) != 0 {
		return offsetsRecord{}, errBadOffsets
	}
	return rec, nil
}
