package kafkaserver

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
	"github.com/pierrec/lz4/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// encodeBatch builds a producer's record batch of msgs with codec, as a
// client would (offsets from 0, producer ID -1).
func encodeBatch(t testing.TB, msgs []brook.Message, codec int) []byte {
	var recs []byte
	base := msgs[0].Timestamp.UnixMilli()
	for i := range msgs {
		m := msgs[i]
		m.Offset = int64(i)
		r := appendRecord(nil, &m, m.Timestamp.UnixMilli()-base, int64(i))
		recs = binary.AppendVarint(recs, int64(len(r)))
		recs = append(recs, r...)
	}
	recs = compress(t, recs, codec)
	b := binary.BigEndian.AppendUint64(nil, 0)
	b = append(b, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint32(b, 0xffffffff)
	b = append(b, 2, 0, 0, 0, 0)
	b = binary.BigEndian.AppendUint16(b, uint16(codec))
	b = binary.BigEndian.AppendUint32(b, uint32(len(msgs)-1))
	b = binary.BigEndian.AppendUint64(b, uint64(base))
	b = binary.BigEndian.AppendUint64(b, uint64(base))
	b = binary.BigEndian.AppendUint64(b, ^uint64(0))
	b = binary.BigEndian.AppendUint16(b, 0xffff)
	b = binary.BigEndian.AppendUint32(b, 0xffffffff)
	b = binary.BigEndian.AppendUint32(b, uint32(len(msgs)))
	b = append(b, recs...)
	binary.BigEndian.PutUint32(b[batchLengthAt:], uint32(len(b)-12))
	binary.BigEndian.PutUint32(b[batchCRCAt:], crc32.Checksum(b[batchAttrsAt:], crc32c))
	return b
}

func compress(t testing.TB, b []byte, codec int) []byte {
	var buf bytes.Buffer
	switch codec {
	case codecNone:
		return b
	case codecGzip:
		w := gzip.NewWriter(&buf)
		_, err := w.Write(b)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	case codecSnappy:
		return s2.EncodeSnappy(nil, b)
	case codecLZ4:
		w := lz4.NewWriter(&buf)
		_, err := w.Write(b)
		require.NoError(t, err)
		require.NoError(t, w.Close())
	case codecZstd:
		w, err := zstd.NewWriter(nil)
		require.NoError(t, err)
		defer w.Close()
		return w.EncodeAll(b, nil)
	}
	return buf.Bytes()
}

// xerial frames snappy data the way the Java client does.
func xerial(block []byte) []byte {
	b := append([]byte(nil), xerialMagic...)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint32(b, 1)
	b = binary.BigEndian.AppendUint32(b, uint32(len(block)))
	return append(b, block...)
}

func sampleMessages(n int) []brook.Message {
	ts := time.UnixMilli(1_700_000_000_000)
	msgs := make([]brook.Message, n)
	for i := range msgs {
		msgs[i] = brook.Message{Value: []byte{byte('a' + i%26), byte(i)}, Timestamp: ts.Add(time.Duration(i) * time.Millisecond)}
		if i%2 == 0 {
			msgs[i].Key = []byte{'k', byte(i)}
			msgs[i].Headers = []brook.Header{{Key: "h", Value: []byte{byte(i)}}, {Key: "nil"}}
		}
	}
	return msgs
}

func TestDecodeBatchesEveryCodec(t *testing.T) {
	d := newDecoders()
	defer d.close()
	want := sampleMessages(5)
	for _, tc := range []struct {
		name  string
		codec int
	}{{"none", codecNone}, {"gzip", codecGzip}, {"snappy", codecSnappy}, {"lz4", codecLZ4}, {"zstd", codecZstd}} {
		t.Run(tc.name, func(t *testing.T) {
			raw := encodeBatch(t, want, tc.codec)
			raw = append(raw, encodeBatch(t, want[:2], tc.codec)...) // two batches
			msgs, info, code, err := d.decodeBatches(raw, "t", 3, 1<<20)
			assert.Equal(t, int64(noProducer), info.id)
			require.NoError(t, err)
			assert.Equal(t, errNone, code)
			require.Len(t, msgs, 7)
			for i, m := range msgs[:5] {
				assert.Equal(t, want[i].Key, m.Key)
				assert.Equal(t, want[i].Value, m.Value)
				assert.Equal(t, want[i].Timestamp.UnixMilli(), m.Timestamp.UnixMilli())
				assert.Equal(t, len(want[i].Headers), len(m.Headers))
				assert.Equal(t, "t", m.Topic)
				assert.Equal(t, 3, m.Partition)
			}
		})
	}
}

func TestDecodeBatchesXerialSnappy(t *testing.T) {
	d := newDecoders()
	defer d.close()
	out, err := d.decompress(xerial(s2.EncodeSnappy(nil, []byte("hello"))), codecSnappy, 100)
	require.NoError(t, err)
	assert.Equal(t, "hello", string(out))
}

func TestDecodeBatchesRefusesBadInput(t *testing.T) {
	d := newDecoders()
	defer d.close()
	good := encodeBatch(t, sampleMessages(3), codecNone)
	badCRC := append([]byte(nil), good...)
	badCRC[len(badCRC)-1] ^= 0xff
	badMagic := append([]byte(nil), good...)
	badMagic[batchMagicAt] = 1
	idempotent := append([]byte(nil), good...)
	binary.BigEndian.PutUint64(idempotent[43:], 7)
	binary.BigEndian.PutUint32(idempotent[batchCRCAt:], crc32.Checksum(idempotent[batchAttrsAt:], crc32c))
	big := encodeBatch(t, []brook.Message{{Value: make([]byte, 4096)}}, codecZstd)
	for _, tc := range []struct {
		name string
		raw  []byte
		code int16
		max  int
	}{
		{"truncated", good[:len(good)-3], errCorruptMessage, 1 << 20},
		{"short", good[:20], errCorruptMessage, 1 << 20},
		{"crc", badCRC, errCorruptMessage, 1 << 20},
		{"magic", badMagic, errUnsupportedForMsgFormat, 1 << 20},
		{"idempotent records in two batches", append(append([]byte(nil), idempotent...), idempotent...), errInvalidRecord, 1 << 20},
		{"decompressed too large", big, errCorruptMessage, 1024},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, code, err := d.decodeBatches(tc.raw, "t", 0, tc.max)
			require.Error(t, err)
			assert.Equal(t, tc.code, code)
		})
	}
}

func TestDecodeBatchesIdempotentProducer(t *testing.T) {
	d := newDecoders()
	defer d.close()
	raw := idempotentBatch(t, sampleMessages(3), 7, 2, 40)
	msgs, info, code, err := d.decodeBatches(raw, "t", 0, 1<<20)
	require.NoError(t, err)
	assert.Equal(t, errNone, code)
	assert.Len(t, msgs, 3)
	assert.Equal(t, producerInfo{id: 7, epoch: 2, seq: 40, count: 3}, info)
}

// idempotentBatch is encodeBatch with a producer ID, epoch and first sequence.
func idempotentBatch(t testing.TB, msgs []brook.Message, pid int64, epoch int16, seq int32) []byte {
	b := encodeBatch(t, msgs, codecNone)
	binary.BigEndian.PutUint64(b[43:], uint64(pid))
	binary.BigEndian.PutUint16(b[51:], uint16(epoch))
	binary.BigEndian.PutUint32(b[53:], uint32(seq))
	binary.BigEndian.PutUint32(b[batchCRCAt:], crc32.Checksum(b[batchAttrsAt:], crc32c))
	return b
}

func TestAppendBatchRoundTrip(t *testing.T) {
	d := newDecoders()
	defer d.close()
	want := sampleMessages(4)
	for i := range want {
		want[i].Offset = int64(10 + i)
	}
	raw := appendBatch(nil, want)
	assert.Equal(t, uint64(10), binary.BigEndian.Uint64(raw))
	binary.BigEndian.PutUint64(raw, 0) // decodeBatches does not care; offsets are the log's
	msgs, _, _, err := d.decodeBatches(raw, "t", 0, 1<<20)
	require.NoError(t, err)
	require.Len(t, msgs, 4)
	for i, m := range msgs {
		assert.Equal(t, want[i].Key, m.Key)
		assert.Equal(t, want[i].Value, m.Value)
		assert.Equal(t, want[i].Timestamp.UnixMilli(), m.Timestamp.UnixMilli())
	}
}
