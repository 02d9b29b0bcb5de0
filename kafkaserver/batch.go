package kafkaserver

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"slices"
	"time"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kmsg"
)

var crc32c = crc32.MakeTable(crc32.Castagnoli)

// Record batch layout (magic 2): the byte offsets of its header fields.
const (
	batchHeaderLen   = 61 // through the record count
	batchLengthAt    = 8  // int32: bytes after this field
	batchMagicAt     = 16
	batchCRCAt       = 17 // CRC32C of everything after the field
	batchAttrsAt     = 21
	attrCompression  = 0x07
	attrTransaction  = 0x10
	attrControl      = 0x20
	noProducer       = -1
	maxBatchesPerReq = 1 << 16
)

// errBatch reports records a Produce request carries that cannot be read.
var errBatch = fmt.Errorf("%w: record batch", errFrame)

// producerInfo is the idempotent producer of a partition's records: its
// ID (-1 for a plain producer), epoch, the first record's sequence number
// and the record count.
type producerInfo struct {
	id    int64
	epoch int16
	seq   int32
	count int32
}

// decodeBatches reads every record batch of a Produce partition into
// messages for topic/partition. It checks each batch's magic, length and
// CRC, decompresses it, and refuses transactional or control batches, and
// an idempotent producer's records unless they are one batch. maxBytes
// bounds the decompressed size. It never panics.
func (d *decoders) decodeBatches(raw []byte, topic string, partition int, maxBytes int) ([]*brook.Message, producerInfo, int16, error) {
	msgs, info, code, err := d.decodeAll(raw, topic, partition, maxBytes)
	if err != nil {
		return nil, producerInfo{id: noProducer}, code, err
	}
	return msgs, info, code, nil
}

func (d *decoders) decodeAll(raw []byte, topic string, partition int, maxBytes int) ([]*brook.Message, producerInfo, int16, error) {
	var msgs []*brook.Message
	info := producerInfo{id: noProducer}
	for n := 0; len(raw) > 0; n++ {
		if len(raw) < batchHeaderLen || n >= maxBatchesPerReq {
			return nil, info, errCorruptMessage, errBatch
		}
		length := int32(binary.BigEndian.Uint32(raw[batchLengthAt:]))
		if length < batchHeaderLen-12 || int64(length) > int64(len(raw)-12) {
			return nil, info, errCorruptMessage, fmt.Errorf("%w: length %d", errBatch, length)
		}
		one := raw[:12+length]
		raw = raw[12+length:]
		if one[batchMagicAt] != 2 {
			return nil, info, errUnsupportedForMsgFormat, fmt.Errorf("%w: magic %d", errBatch, one[batchMagicAt])
		}
		if crc32.Checksum(one[batchAttrsAt:], crc32c) != binary.BigEndian.Uint32(one[batchCRCAt:]) {
			return nil, info, errCorruptMessage, fmt.Errorf("%w: CRC mismatch", errBatch)
		}
		var b kmsg.RecordBatch
		if err := b.ReadFrom(one); err != nil {
			return nil, info, errCorruptMessage, fmt.Errorf("%w: %v", errBatch, err)
		}
		if b.Attributes&(attrTransaction|attrControl) != 0 {
			return nil, info, errTransactionalIDAuthFailed, fmt.Errorf("%w: transactional batch", errBatch)
		}
		if b.ProducerID != noProducer || info.id != noProducer {
			if n > 0 {
				return nil, info, errInvalidRecord, fmt.Errorf("%w: an idempotent producer's records must be one batch", errBatch)
			}
			info = producerInfo{id: b.ProducerID, epoch: b.ProducerEpoch, seq: b.FirstSequence, count: b.NumRecords}
		}
		recs, err := d.decompress(b.Records, int(b.Attributes&attrCompression), maxBytes)
		if err != nil {
			return nil, info, errCorruptMessage, err
		}
		msgs, err = appendRecords(msgs, recs, int(b.NumRecords), b.FirstTimestamp, topic, partition)
		if err != nil {
			return nil, info, errCorruptMessage, err
		}
	}
	return msgs, info, errNone, nil
}

// appendRecords parses count records from raw. Keys, values and header
// values alias raw (the append copies them into the log).
func appendRecords(msgs []*brook.Message, raw []byte, count int, firstTS int64, topic string, partition int) ([]*brook.Message, error) {
	if count < 0 || count > len(raw)/7 { // a record takes at least 7 bytes
		return nil, fmt.Errorf("%w: %d records", errBatch, count)
	}
	block := make([]brook.Message, count)
	msgs = slices.Grow(msgs, count)
	for i := range block {
		length, k := binary.Varint(raw)
		if k <= 0 || length < 0 || length > int64(len(raw)-k) {
			return nil, fmt.Errorf("%w: record length", errBatch)
		}
		m := &block[i]
		m.Topic, m.Partition = topic, partition
		if err := parseRecord(m, raw[k:k+int(length)], firstTS); err != nil {
			return nil, err
		}
		raw = raw[k+int(length):]
		msgs = append(msgs, m)
	}
	if len(raw) != 0 {
		return nil, fmt.Errorf("%w: %d bytes after the records", errBatch, len(raw))
	}
	return msgs, nil
}

// recordReader reads the fields of one record; the first error sticks.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) varint() int64 {
	v, k := binary.Varint(r.b)
	if k <= 0 {
		r.err, r.b = fmt.Errorf("%w: record varint", errBatch), nil
		return 0
	}
	r.b = r.b[k:]
	return v
}

// bytes reads a varint length and that many bytes; -1 is null.
func (r *recordReader) bytes() []byte {
	n := r.varint()
	switch {
	case r.err != nil || n == -1:
		return nil
	case n < -1 || n > int64(len(r.b)):
		r.err, r.b = fmt.Errorf("%w: record field length %d", errBatch, n), nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// parseRecord fills m from one record's body (after its length).
func parseRecord(m *brook.Message, body []byte, firstTS int64) error {
	if len(body) < 1 {
		return fmt.Errorf("%w: empty record", errBatch)
	}
	r := recordReader{b: body[1:]} // attributes: unused
	tsDelta := r.varint()
	r.varint() // offset delta: the log assigns offsets
	m.Key = r.bytes()
	m.Value = r.bytes()
	n := r.varint()
	if r.err == nil && (n < 0 || n > int64(len(r.b))/2) {
		return fmt.Errorf("%w: %d headers", errBatch, n)
	}
	if n > 0 {
		m.Headers = make([]brook.Header, n)
		for i := range m.Headers {
			m.Headers[i] = brook.Header{Key: string(r.bytes()), Value: r.bytes()}
		}
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) != 0 {
		return fmt.Errorf("%w: %d bytes after a record's fields", errBatch, len(r.b))
	}
	if ts := firstTS + tsDelta; firstTS >= 0 && ts >= 0 {
		m.Timestamp = time.UnixMilli(ts)
	}
	return nil
}

// appendBatch appends msgs (consecutive offsets of one partition) as one
// uncompressed record batch.
func appendBatch(dst []byte, msgs []brook.Message) []byte {
	first, last := msgs[0], msgs[len(msgs)-1]
	firstTS, maxTS := first.Timestamp.UnixMilli(), first.Timestamp.UnixMilli()
	for i := range msgs {
		ts := msgs[i].Timestamp.UnixMilli()
		firstTS, maxTS = min(firstTS, ts), max(maxTS, ts)
	}
	start := len(dst)
	if size := batchHeaderLen + len(msgs)*24 + messagesSize(msgs); cap(dst)-len(dst) < size {
		dst = append(make([]byte, 0, len(dst)+size), dst...)
	}
	dst = binary.BigEndian.AppendUint64(dst, uint64(first.Offset))
	dst = append(dst, 0, 0, 0, 0) // length, set below
	dst = binary.BigEndian.AppendUint32(dst, 0)
	dst = append(dst, 2)          // magic
	dst = append(dst, 0, 0, 0, 0) // CRC, set below
	dst = binary.BigEndian.AppendUint16(dst, 0)
	dst = binary.BigEndian.AppendUint32(dst, uint32(last.Offset-first.Offset))
	dst = binary.BigEndian.AppendUint64(dst, uint64(firstTS))
	dst = binary.BigEndian.AppendUint64(dst, uint64(maxTS))
	dst = binary.BigEndian.AppendUint64(dst, ^uint64(0)) // producer ID -1
	dst = binary.BigEndian.AppendUint16(dst, 0xffff)     // producer epoch -1
	dst = binary.BigEndian.AppendUint32(dst, 0xffffffff) // base sequence -1
	dst = binary.BigEndian.AppendUint32(dst, uint32(len(msgs)))
	for i := range msgs {
		m := &msgs[i]
		tsDelta, offDelta := m.Timestamp.UnixMilli()-firstTS, m.Offset-first.Offset
		dst = binary.AppendVarint(dst, int64(recordSize(m, tsDelta, offDelta)))
		dst = appendRecord(dst, m, tsDelta, offDelta)
	}
	binary.BigEndian.PutUint32(dst[start+batchLengthAt:], uint32(len(dst)-start-12))
	binary.BigEndian.PutUint32(dst[start+batchCRCAt:], crc32.Checksum(dst[start+batchAttrsAt:], crc32c))
	return dst
}

func appendRecord(dst []byte, m *brook.Message, tsDelta, offDelta int64) []byte {
	dst = append(dst, 0) // attributes
	dst = binary.AppendVarint(dst, tsDelta)
	dst = binary.AppendVarint(dst, offDelta)
	dst = appendVarBytes(dst, m.Key, m.Key == nil)
	dst = appendVarBytes(dst, m.Value, false)
	dst = binary.AppendVarint(dst, int64(len(m.Headers)))
	for _, h := range m.Headers {
		dst = binary.AppendVarint(dst, int64(len(h.Key)))
		dst = append(dst, h.Key...)
		dst = appendVarBytes(dst, h.Value, h.Value == nil)
	}
	return dst
}

// messagesSize is the bytes of keys, values and headers of msgs.
func messagesSize(msgs []brook.Message) int {
	n := 0
	for i := range msgs {
		n += len(msgs[i].Key) + len(msgs[i].Value)
		for _, h := range msgs[i].Headers {
			n += len(h.Key) + len(h.Value) + 4
		}
	}
	return n
}

// recordSize is the length of appendRecord's output.
func recordSize(m *brook.Message, tsDelta, offDelta int64) int {
	n := 1 + varintLen(tsDelta) + varintLen(offDelta) + varBytesLen(m.Key, m.Key == nil) +
		varBytesLen(m.Value, false) + varintLen(int64(len(m.Headers)))
	for _, h := range m.Headers {
		n += varintLen(int64(len(h.Key))) + len(h.Key) + varBytesLen(h.Value, h.Value == nil)
	}
	return n
}

func varintLen(v int64) int {
	var buf [binary.MaxVarintLen64]byte
	return binary.PutVarint(buf[:], v)
}

func varBytesLen(b []byte, null bool) int {
	if null {
		return 1
	}
	return varintLen(int64(len(b))) + len(b)
}

func appendVarBytes(dst, b []byte, null bool) []byte {
	if null {
		return binary.AppendVarint(dst, -1)
	}
	dst = binary.AppendVarint(dst, int64(len(b)))
	return append(dst, b...)
}
