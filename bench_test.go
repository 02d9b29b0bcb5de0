package brook_test

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brookmq/brook"
)

// The hot paths of the public API, as a matrix. Each reports msgs/s, MB/s
// (of message values, through b.SetBytes) and allocations. `brook bench`
// runs the same paths as whole workloads, next to the raw tidwall/wal
// ceiling measured in the same run; these are for profiling:
//
//	go test -run '^$' -bench 'Publish/size=100B/partitions=8/sync=never/api=async' \
//	    -cpuprofile cpu.out -memprofile mem.out -mutexprofile mutex.out .

var benchSizes = []int{100, 1024}

var benchPolicies = []brook.SyncPolicy{brook.SyncAlways, brook.SyncNever}

func sizeName(n int) string {
	if n%1024 == 0 {
		return fmt.Sprintf("%dKiB", n/1024)
	}
	return fmt.Sprintf("%dB", n)
}

// openBench opens a broker with one topic of parts partitions under policy.
func openBench(b *testing.B, policy brook.SyncPolicy, parts int) *brook.Broker {
	b.Helper()
	br, err := brook.Open(b.TempDir(), &brook.Options{Sync: policy})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { br.Close() })
	if _, err := br.CreateNewTopic("bench", parts); err != nil {
		b.Fatal(err)
	}
	return br
}

func reportRate(b *testing.B, msgs int, start time.Time) {
	b.ReportMetric(float64(msgs)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkPublish measures producing. api=async is one goroutine calling
// PublishAsync round the partitions, with up to 4000 messages in flight per
// partition, and Flush at the end; api=sync/goroutines=1 is one caller of
// Publish; api=sync/goroutines=64 is 64 goroutines calling
// Publish (each waits for its group commit; with sync=always, for its
// fsync); api=batch is one goroutine calling PublishBatch with 1000
// messages for one partition at a time, round the partitions.
func BenchmarkPublish(b *testing.B) {
	for _, size := range benchSizes {
		for _, parts := range []int{1, 8} {
			for _, policy := range benchPolicies {
				name := fmt.Sprintf("size=%s/partitions=%d/sync=%s", sizeName(size), parts, policy)
				b.Run(name+"/api=async", func(b *testing.B) { benchPublishAsync(b, policy, parts, size) })
				b.Run(name+"/api=batch", func(b *testing.B) { benchPublishBatch(b, policy, parts, size) })
				b.Run(name+"/api=sync/goroutines=1", func(b *testing.B) { benchPublishOne(b, policy, parts, size) })
				b.Run(name+"/api=sync/goroutines=64", func(b *testing.B) { benchPublishSync(b, policy, parts, size, 64) })
			}
		}
	}
}

// inflight is a window of PublishAsync calls: chunks of messages, each
// reused once all of its publishes are acknowledged. It allocates per
// chunk, not per message, so that the benchmark's allocations are Brook's.
type inflight struct {
	msgs   []brook.Message
	chunk  int
	chunks []*chunk
	errs   atomic.Int64
}

type chunk struct {
	left atomic.Int64
	done chan struct{}
	ack  func(*brook.Message, error)
}

func newInflight(chunks, size int) *inflight {
	return &inflight{msgs: make([]brook.Message, chunks*size), chunk: size, chunks: make([]*chunk, chunks)}
}

// next returns the message for the i-th publish and its callback, first
// waiting for the chunk it reuses.
func (w *inflight) next(i int) (*brook.Message, func(*brook.Message, error)) {
	slot := (i / w.chunk) % len(w.chunks)
	c := w.chunks[slot]
	if i%w.chunk == 0 {
		if c != nil {
			<-c.done
		}
		c = &chunk{done: make(chan struct{})}
		c.left.Store(int64(w.chunk))
		c.ack = func(_ *brook.Message, err error) {
			if err != nil {
				w.errs.Add(1)
			}
			if c.left.Add(-1) == 0 {
				close(c.done)
			}
		}
		w.chunks[slot] = c
	}
	return &w.msgs[i%len(w.msgs)], c.ack
}

func benchPublishAsync(b *testing.B, policy brook.SyncPolicy, parts, size int) {
	br := openBench(b, policy, parts)
	p := br.CreateProducer("bench")
	defer p.Close()
	value := make([]byte, size)
	w := newInflight(4*parts, 1000)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		m, done := w.next(i)
		*m = brook.Message{Topic: "bench", Partition: i % parts, Value: value}
		p.PublishAsync("bench", m, done)
		i++
	}
	if err := p.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	reportRate(b, b.N, start)
	if n := w.errs.Load(); n > 0 {
		b.Fatalf("%d publishes failed", n)
	}
}

func benchPublishBatch(b *testing.B, policy brook.SyncPolicy, parts, size int) {
	br := openBench(b, policy, parts)
	p := br.CreateProducer("bench")
	defer p.Close()
	value := make([]byte, size)
	const batch = 1000
	msgs := make([]brook.Message, batch)
	ptrs := make([]*brook.Message, 0, batch)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	publish := func() {
		if err := p.PublishBatch("bench", ptrs); err != nil {
			b.Fatal(err)
		}
		ptrs = ptrs[:0]
	}
	start := time.Now()
	i := 0
	for b.Loop() {
		m := &msgs[len(ptrs)]
		*m = brook.Message{Topic: "bench", Partition: (i / batch) % parts, Value: value}
		ptrs = append(ptrs, m)
		if len(ptrs) == batch {
			publish()
		}
		i++
	}
	if len(ptrs) > 0 {
		publish()
	}
	reportRate(b, b.N, start)
}

func benchPublishSync(b *testing.B, policy brook.SyncPolicy, parts, size, goroutines int) {
	br := openBench(b, policy, parts)
	p := br.CreateProducer("bench")
	defer p.Close()
	value := make([]byte, size)
	var next atomic.Int64
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.SetParallelism((goroutines + runtime.GOMAXPROCS(0) - 1) / runtime.GOMAXPROCS(0))
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		part := int(next.Add(1)-1) % parts
		m := &brook.Message{}
		for pb.Next() {
			*m = brook.Message{Topic: "bench", Partition: part, Value: value}
			if err := p.Publish("bench", m); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportRate(b, b.N, start)
}

// benchPublishOne is a single caller publishing synchronously, round the
// partitions: every message waits for its own write (and fsync).
func benchPublishOne(b *testing.B, policy brook.SyncPolicy, parts, size int) {
	br := openBench(b, policy, parts)
	p := br.CreateProducer("bench")
	defer p.Close()
	value := make([]byte, size)
	b.SetBytes(int64(size))
	b.ReportAllocs()
	start := time.Now()
	i := 0
	for b.Loop() {
		if err := p.Publish("bench", &brook.Message{Topic: "bench", Partition: i % parts, Value: value}); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportRate(b, b.N, start)
}

// BenchmarkConsume measures a group of members reading a full topic from
// the start, handing every message to a handler that counts it. One
// iteration is a new group reading the whole topic (100k messages per
// partition); allocs/msg is the allocations per message delivered.
func BenchmarkConsume(b *testing.B) {
	const perPartition = 100_000
	for _, size := range benchSizes {
		for _, parts := range []int{1, 8} {
			for _, members := range []int{1, 4} {
				if members > parts {
					continue
				}
				b.Run(fmt.Sprintf("size=%s/partitions=%d/members=%d", sizeName(size), parts, members), func(b *testing.B) {
					benchConsume(b, size, parts, members, perPartition)
				})
			}
		}
	}
}

func benchConsume(b *testing.B, size, parts, members, perPartition int) {
	br := openBench(b, brook.SyncNever, parts)
	p := br.CreateProducer("fill")
	value := make([]byte, size)
	total := parts * perPartition
	w := newInflight(4*parts, 1000)
	for i := range total {
		m, done := w.next(i)
		*m = brook.Message{Topic: "bench", Partition: i % parts, Value: value}
		p.PublishAsync("bench", m, done)
	}
	if err := p.Flush(context.Background()); err != nil {
		b.Fatal(err)
	}
	p.Close()
	b.SetBytes(int64(total * size))
	b.ReportAllocs()
	var ms0, ms1 runtime.MemStats
	runtime.ReadMemStats(&ms0)
	start := time.Now()
	group := 0
	for b.Loop() {
		group++
		consumeAll(b, br, fmt.Sprintf("g%d", group), members, total)
	}
	reportRate(b, b.N*total, start)
	runtime.ReadMemStats(&ms1)
	b.ReportMetric(float64(ms1.Mallocs-ms0.Mallocs)/float64(b.N*total), "allocs/msg")
}

// consumeAll runs a new group of members until it has handled total
// messages, then closes it.
func consumeAll(b *testing.B, br *brook.Broker, group string, members, total int) {
	var handled atomic.Int64
	done := make(chan struct{})
	h := func(_ context.Context, _ *brook.Message) error {
		if handled.Add(1) == int64(total) {
			close(done)
		}
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	consumers := make([]*brook.Consumer, members)
	errc := make(chan error, members)
	for i := range consumers {
		c := br.CreateConsumer(fmt.Sprintf("m%d", i), group)
		if err := c.Subscribe("bench"); err != nil {
			b.Fatal(err)
		}
		consumers[i] = c
		go func() { errc <- c.Run(ctx, h) }()
	}
	select {
	case <-done:
	case err := <-errc:
		b.Fatalf("consumer stopped: %v", err)
	case <-time.After(5 * time.Minute):
		b.Fatal("timed out")
	}
	cancel()
	for _, c := range consumers {
		c.Close()
	}
}
