package kafkaserver

import (
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// Benchmarks of the server's hot paths over a real connection on
// 127.0.0.1, with a minimal client (no kgo in this module): what one
// Produce or Fetch of 8 partitions × 1000 records of 100 bytes costs the
// server, per request and in allocations. The log does not fsync, so
// they measure the CPU path rather than the disk. Run them with
// `go test -run '^$' -bench . -benchmem ./kafkaserver/`.

const (
	benchParts   = 8
	benchRecords = 1000 // per partition per request
)

// benchServer serves a SyncNever broker with one topic of benchParts.
func benchServer(b *testing.B) (*brook.Broker, string) {
	br, _, addr := startServerWith(b, &brook.Options{Sync: brook.SyncNever}, nil)
	_, err := br.CreateNewTopic("bench", benchParts)
	require.NoError(b, err)
	return br, addr
}

// benchProduce is a Produce request of benchRecords 100-byte records to
// each partition.
func benchProduce(b *testing.B) *kmsg.ProduceRequest {
	msgs := make([]brook.Message, benchRecords)
	ts := time.Now()
	for i := range msgs {
		msgs[i] = brook.Message{Value: make([]byte, 100), Timestamp: ts}
	}
	batch := encodeBatch(b, msgs, codecNone)
	req := kmsg.NewPtrProduceRequest()
	req.Acks, req.TimeoutMillis = -1, 10_000
	rt := kmsg.NewProduceRequestTopic()
	rt.Topic = "bench"
	for p := range benchParts {
		rp := kmsg.NewProduceRequestTopicPartition()
		rp.Partition, rp.Records = int32(p), batch
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = []kmsg.ProduceRequestTopic{rt}
	return req
}

func BenchmarkProduceRequest(b *testing.B) {
	_, addr := benchServer(b)
	c := dial(b, addr)
	req := benchProduce(b)
	b.SetBytes(benchParts * benchRecords * 100)
	for b.Loop() {
		resp := do[*kmsg.ProduceResponse](c, 9, req)
		if code := resp.Topics[0].Partitions[0].ErrorCode; code != errNone {
			b.Fatalf("produce: error code %d", code)
		}
	}
	b.ReportMetric(float64(b.N*benchParts*benchRecords)/b.Elapsed().Seconds(), "records/s")
}

func BenchmarkFetchRequest(b *testing.B) {
	_, addr := benchServer(b)
	c := dial(b, addr)
	produce := benchProduce(b)
	for range 10 { // 10000 records per partition: more than one fetch's worth
		do[*kmsg.ProduceResponse](c, 9, produce)
	}
	req := kmsg.NewPtrFetchRequest()
	req.MaxBytes, req.MaxWaitMillis = 64<<20, 0
	rt := kmsg.NewFetchRequestTopic()
	rt.Topic = "bench"
	for p := range benchParts {
		rp := kmsg.NewFetchRequestTopicPartition()
		rp.Partition, rp.PartitionMaxBytes = int32(p), 1<<20
		rt.Partitions = append(rt.Partitions, rp)
	}
	req.Topics = []kmsg.FetchRequestTopic{rt}
	var records int
	for b.Loop() { // like a consumer: each fetch goes on where the last ended, from 0 again at the end
		resp := do[*kmsg.FetchResponse](c, 12, req)
		for i, sp := range resp.Topics[0].Partitions {
			if sp.ErrorCode != errNone || len(sp.RecordBatches) == 0 {
				b.Fatalf("fetch: error code %d, %d bytes", sp.ErrorCode, len(sp.RecordBatches))
			}
			n := int(countRecords(sp.RecordBatches))
			records += n
			rp := &req.Topics[0].Partitions[i]
			if rp.FetchOffset += int64(n); rp.FetchOffset >= sp.HighWatermark {
				rp.FetchOffset = 0
			}
		}
	}
	b.ReportMetric(float64(records)/b.Elapsed().Seconds(), "records/s")
}

// countRecords sums the record counts of the batches in raw.
func countRecords(raw []byte) int32 {
	var n int32
	for len(raw) >= batchHeaderLen {
		size := 12 + int(int32(beUint32(raw[batchLengthAt:])))
		if size < batchHeaderLen || size > len(raw) {
			break
		}
		n += int32(beUint32(raw[batchHeaderLen-4:]))
		raw = raw[size:]
	}
	return n
}

func beUint32(b []byte) uint32 {
	return uint32(b[0])<<24 | uint32(b[1])<<16 | uint32(b[2])<<8 | uint32(b[3])
}
