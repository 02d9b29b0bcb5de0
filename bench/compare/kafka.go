package main

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
)

// kgoBufferedRecords is the producer's MaxBufferedRecords; see producerOpts.
const kgoBufferedRecords = 256_000

// kafkaSystem is franz-go's kfake, a fake Kafka broker written in Go, run
// in this process on localhost and driven by the kgo client.
//
// Durable mode is kfake's disk persistence with per-batch fsync
// (kfake.DataDir + kfake.SyncWrites: every record batch that a produce
// request carries is written to its partition's segment file, and that
// file and its index are fsynced, before the response). Not synced is
// kfake's default in-memory storage, which is what the brief asks for;
// DataDir without SyncWrites would be the closer match to Brook's
// SyncNever but is not measured here.
type kafkaSystem struct{}

func (kafkaSystem) name() string { return "kfake" }

func (kafkaSystem) mode(w workload, _ Config) string {
	switch w {
	case produceDurable:
		return "DataDir+SyncWrites (fsync per batch), kgo acks=all"
	case produceUnsynced:
		return "in memory, kgo acks=all"
	case latencyDurable:
		return "DataDir+SyncWrites, kgo linger 0, acks=all"
	}
	return "kgo direct partition consumption (no group)"
}

func (kafkaSystem) start(ctx context.Context, dir string, durable bool, c Config) (instance, error) {
	opts := []kfake.Opt{
		kfake.NumBrokers(1), // one server, like the other two systems
		kfake.SeedTopics(int32(c.Partitions), topicName),
	}
	if durable {
		opts = append(opts, kfake.DataDir(join(dir, "kfake")), kfake.SyncWrites())
	}
	cluster, err := kfake.NewCluster(opts...)
	if err != nil {
		return nil, err
	}
	stop := func() error { cluster.Close(); return nil }
	return connectKafka(ctx, cluster.ListenAddrs(), c.Partitions, stop)
}

// connectKafka connects the producing client to a started server, before
// anything is measured.
func connectKafka(ctx context.Context, addrs []string, parts int, stop func() error) (*kafkaInstance, error) {
	in := &kafkaInstance{addrs: addrs, parts: parts, stop: stop}
	var err error
	in.producer, err = kgo.NewClient(in.producerOpts()...)
	if err == nil {
		err = in.producer.Ping(ctx)
	}
	if err != nil {
		return nil, errors.Join(err, in.close())
	}
	return in, nil
}

// kafkaInstance is one Kafka server (kfake, or a kafkaserver over Brook)
// and its producing client.
type kafkaInstance struct {
	stop     func() error // stops the server
	addrs    []string
	parts    int
	producer *kgo.Client
}

func (in *kafkaInstance) close() error {
	if in.producer != nil {
		in.producer.Close()
	}
	return in.stop()
}

// producerOpts configure kgo for throughput:
//
//   - ManualPartitioner: each record goes to the partition it names, like
//     Brook's explicit partitions.
//   - RequiredAcks(AllISRAcks): kgo's default and what idempotent writes
//     need; with one broker it means "the leader wrote it" (and, in durable
//     mode, fsynced it). Idempotency stays on: it is kgo's default and it
//     allows 5 produce requests in flight to the broker instead of 1.
//   - ProducerLinger(2ms) instead of 10ms: under a full pipeline batches
//     fill up anyway, and a short linger keeps the tail of a run and a
//     slow start from idling. With the buffer below, 2ms and 10ms
//     measured within noise of each other here.
//   - ProducerBatchMaxBytes(1 MiB): about 9000 of our records per partition
//     batch (Kafka's default max.message.bytes is about the same).
//   - MaxBufferedRecords(256k), up from 50k: about 32 MiB, room for each of
//     8 partitions to fill several 1 MiB batches while up to 5 requests
//     are in flight; Produce blocks when it is reached, so this is kgo's
//     window. It measured roughly 20-40% faster than 100k in a few runs
//     here. It is 8× the window the other two systems get (8 × Window),
//     which favours kgo; Brook measured no faster with an 8× window.
//   - NoCompression: Brook and JetStream store values as they are.
func (in *kafkaInstance) producerOpts() []kgo.Opt {
	return []kgo.Opt{
		kgo.SeedBrokers(in.addrs...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(2 * time.Millisecond),
		kgo.ProducerBatchMaxBytes(1 << 20),
		kgo.MaxBufferedRecords(kgoBufferedRecords),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	}
}

// produce runs one goroutine per partition on the shared client; kgo
// batches the records of all of them into its produce requests.
func (in *kafkaInstance) produce(ctx context.Context, p producePlan) (int64, time.Duration, error) {
	var acked atomic.Int64
	var firstErr atomic.Pointer[error]
	cb := func(_ *kgo.Record, err error) {
		if err != nil {
			firstErr.CompareAndSwap(nil, &err)
			return
		}
		acked.Add(1)
	}
	var wg sync.WaitGroup
	start := time.Now()
	for part := range p.parts {
		wg.Go(func() {
			n := p.share(part)
			for i := 0; i < n && !p.over(ctx); i++ {
				in.producer.Produce(ctx, &kgo.Record{Topic: p.topic, Partition: int32(part), Value: p.value}, cb)
			}
		})
	}
	wg.Wait()
	err := in.producer.Flush(ctx)
	d := time.Since(start)
	if e := firstErr.Load(); e != nil {
		err = errors.Join(err, *e)
	}
	return acked.Load(), d, err
}

// consume reads every partition from its start with a new client, outside
// any group (a group adds joins and commits the other two systems'
// consumers do not have to make here). kgo fetches all partitions in each
// request, with its default sizes (up to 1 MiB per partition, 50 MiB per
// fetch): raising the partition limit to 8 MiB measured 40% slower here
// (2.2M against 3.7M msgs/s).
func (in *kafkaInstance) consume(ctx context.Context, expect int64) (time.Duration, error) {
	offsets := make(map[int32]kgo.Offset, in.parts)
	for p := range in.parts {
		offsets[int32(p)] = kgo.NewOffset().AtStart()
	}
	cl, err := kgo.NewClient(
		kgo.SeedBrokers(in.addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topicName: offsets}),
	)
	if err != nil {
		return 0, err
	}
	defer cl.Close()
	if err := cl.Ping(ctx); err != nil {
		return 0, err
	}
	var seen int64
	start := time.Now()
	for seen < expect {
		fs := cl.PollFetches(ctx)
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		if errs := fs.Errors(); len(errs) > 0 {
			return 0, errs[0].Err
		}
		seen += int64(fs.NumRecords())
	}
	return time.Since(start), nil
}
