package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook"
)

// asyncProduce publishes total messages of size bytes to partitions
// [0, parts) of topic with PublishAsync and Flush: one goroutine and one
// Producer per partition, each keeping up to depth chunks of batch
// messages in flight (it waits for its oldest chunk before reusing its
// messages), then Flush. sent, if not nil, counts messages handed over. It
// returns the time from the first publish to the last acknowledgement.
func asyncProduce(ctx context.Context, b *brook.Broker, topic string, parts, total, size, batch, depth int, sent *atomic.Int64) (time.Duration, error) {
	errs := make([]error, parts)
	var wg sync.WaitGroup
	start := time.Now()
	for p := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[p] = produceOne(ctx, b, topic, p, share(total, parts, p), size, batch, depth, sent)
		}()
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}

// Chunk counts down the acknowledgements of one chunk of PublishAsync
// calls, so that a producer waits on one channel per chunk rather than per
// message. bench/compare uses it too.
type Chunk struct {
	left atomic.Int64
	done chan struct{}
	err  atomic.Pointer[error]
}

// NewChunk returns a Chunk expecting n acknowledgements.
func NewChunk(n int) *Chunk {
	c := &Chunk{done: make(chan struct{})}
	c.left.Store(int64(n))
	return c
}

// Ack is the PublishAsync callback of each of the chunk's messages.
func (c *Chunk) Ack(_ *brook.Message, err error) {
	if err != nil {
		c.err.CompareAndSwap(nil, &err)
	}
	if c.left.Add(-1) == 0 {
		close(c.done)
	}
}

// Wait waits for every acknowledgement, or ctx, and returns the first
// error acknowledged.
func (c *Chunk) Wait(ctx context.Context) error {
	select {
	case <-c.done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if e := c.err.Load(); e != nil {
		return *e
	}
	return nil
}

// produceOne publishes n messages to one partition; see asyncProduce.
func produceOne(ctx context.Context, b *brook.Broker, topic string, part, n, size, batch, depth int, sent *atomic.Int64) error {
	p := b.CreateProducer(fmt.Sprintf("bench-%d", part))
	defer p.Close()
	value := make([]byte, size)
	msgs := make([]brook.Message, batch*depth)
	chunks := make([]*Chunk, depth)
	for i := 0; i < n; {
		slot := (i / batch) % depth
		if c := chunks[slot]; c != nil {
			if err := c.Wait(ctx); err != nil {
				return err
			}
		}
		k := min(batch, n-i)
		c := NewChunk(k)
		chunks[slot] = c
		ack := c.Ack // one closure per chunk, not per message
		for j := range k {
			m := &msgs[slot*batch+j]
			*m = brook.Message{Topic: topic, Partition: part, Value: value}
			p.PublishAsync(topic, m, ack)
		}
		i += k
		if sent != nil {
			sent.Add(int64(k))
		}
	}
	if err := p.Flush(ctx); err != nil {
		return err
	}
	for _, c := range chunks {
		if c != nil {
			if err := c.Wait(ctx); err != nil {
				return err
			}
		}
	}
	return nil
}

// produceRun opens a broker under policy on a fresh directory, makes a
// topic of cfg.Partitions partitions and measures one asyncProduce (or,
// with batch set, one batchProduce) of cfg.ProduceRecords messages, in
// messages per second.
func (r *runner) produceRun(ctx context.Context, policy brook.SyncPolicy, batch bool) (float64, error) {
	b, done, err := r.scratchBroker("produce", policy)
	if err != nil {
		return 0, err
	}
	defer done()
	c := r.cfg
	if _, err := b.CreateNewTopic("produce", c.Partitions); err != nil {
		return 0, err
	}
	var d time.Duration
	if batch {
		d, err = batchProduce(ctx, b, "produce", c.Partitions, c.ProduceRecords, c.RecordSize, c.Batch)
	} else {
		d, err = asyncProduce(ctx, b, "produce", c.Partitions, c.ProduceRecords, c.RecordSize, c.Batch, c.Depth, nil)
	}
	if err != nil {
		return 0, err
	}
	return float64(c.ProduceRecords) / d.Seconds(), nil
}

// rawRun measures the parallel raw WAL ceiling once, with entries of size
// bytes.
func (r *runner) rawRun(ctx context.Context, size int, fsync bool) (float64, error) {
	dir, cleanup, err := r.rawCeilingDir()
	if err != nil {
		return 0, err
	}
	defer cleanup()
	c := r.cfg
	return rawParallel(ctx, dir, c.Partitions, c.ProduceRecords, size, c.Batch, c.SegmentSize, fsync)
}

// produceDurable is workload 1: PublishAsync + Flush (1) and PublishBatch
// (1b) under the default policy (an fsync per group commit), against raw
// WAL batches + fsync measured alternately with them.
func (r *runner) produceDurable(ctx context.Context) error {
	r.res.encSize = r.encodedSize()
	return r.producePaired(ctx, "1 produce durable", brook.SyncAlways, true,
		&r.res.rawSync, &r.res.w1, &r.res.w1batch)
}

// produceUnsynced is workload 3: the same without any fsync, against raw
// WAL batches without fsync. Each repetition also measures that ceiling
// with entries of the size Brook hands the wal for one record (C2e), which
// separates the wal's cost of the encoding's extra bytes from Brook's own.
func (r *runner) produceUnsynced(ctx context.Context) error {
	r.res.encSize = r.encodedSize()
	return r.producePaired(ctx, "3 produce SyncNever", brook.SyncNever, false,
		&r.res.rawNoSync, &r.res.w3, &r.res.w3batch)
}

// encodedSize is the size of the ceilings' entries C1e and C2e: one
// benchmark record (the value, a timestamp, no key and no headers) as
// entry format 1 encoded it, 117 bytes for a 100-byte record. It is fixed
// at format 1's size so that the ceiling stays put while the format
// changes: a smaller header counts as a gain, a larger one (format 2 adds
// a one-byte batch field) as a cost.
func (r *runner) encodedSize() int {
	const header = 1 + 4 // version, crc
	ts := binary.PutVarint(make([]byte, binary.MaxVarintLen64), time.Now().UnixNano())
	value := binary.PutUvarint(make([]byte, binary.MaxVarintLen64), uint64(r.cfg.RecordSize))
	return header + ts + 1 + 1 + value + r.cfg.RecordSize // key length 0, header count 0
}

// producePaired alternates the raw ceiling and Brook's two APIs, rep by
// rep, so that all see the same machine. It also measures the raw ceiling
// with entries of r.res.encSize bytes (C1e with fsync, C2e without).
func (r *runner) producePaired(ctx context.Context, name string, policy brook.SyncPolicy, fsync bool, raw, async, batch *[]float64) error {
	c := r.cfg
	for rep := 1; rep <= c.Reps; rep++ {
		ceil, err := r.rawRun(ctx, c.RecordSize, fsync)
		if err != nil {
			return err
		}
		*raw = append(*raw, ceil)
		enc, err := r.rawRun(ctx, r.res.encSize, fsync)
		if err != nil {
			return err
		}
		if fsync {
			r.res.rawSyncEnc = append(r.res.rawSyncEnc, enc)
		} else {
			r.res.rawNoSyncEnc = append(r.res.rawNoSyncEnc, enc)
		}
		r.logf("raw wal ×%d %s, %d-byte entries rep %d/%d: %s msgs/s", c.Partitions, fsyncLabel(fsync), r.res.encSize, rep, c.Reps, SI(enc))
		for _, api := range []struct {
			name  string
			batch bool
			got   *[]float64
		}{{"PublishAsync+Flush", false, async}, {"PublishBatch", true, batch}} {
			v, err := r.produceRun(ctx, policy, api.batch)
			if err != nil {
				return err
			}
			*api.got = append(*api.got, v)
			r.logf("%s (%s) rep %d/%d: %s msgs/s; raw wal ×%d %s: %s msgs/s (%.2f×)", name, api.name, rep, c.Reps,
				SI(v), c.Partitions, fsyncLabel(fsync), SI(ceil), v/ceil)
		}
	}
	return nil
}

func fsyncLabel(fsync bool) string {
	if fsync {
		return "batch+fsync"
	}
	return "batch, no fsync"
}

// produceSyncMany is workload 2: SyncGoroutines goroutines call Publish
// (synchronous, durable) in a loop for SyncDuration, so that each group
// commit serves many of them. It is measured over cfg.Partitions
// partitions (the goroutines spread evenly) and over one partition.
func (r *runner) produceSyncMany(ctx context.Context) error {
	for rep := 1; rep <= r.cfg.Reps; rep++ {
		for _, parts := range []int{r.cfg.Partitions, 1} {
			v, err := r.syncManyRun(ctx, parts)
			if err != nil {
				return err
			}
			if parts == 1 {
				r.res.w2one = append(r.res.w2one, v)
			} else {
				r.res.w2 = append(r.res.w2, v)
			}
			r.logf("2 produce durable, %d× sync Publish, %d partition(s) rep %d/%d: %s msgs/s",
				r.cfg.SyncGoroutines, parts, rep, r.cfg.Reps, SI(v))
		}
	}
	return nil
}

func (r *runner) syncManyRun(ctx context.Context, parts int) (float64, error) {
	b, done, err := r.scratchBroker("publish", brook.SyncAlways)
	if err != nil {
		return 0, err
	}
	defer done()
	if _, err := b.CreateNewTopic("publish", parts); err != nil {
		return 0, err
	}
	p := b.CreateProducer("bench")
	defer p.Close()
	var stop atomic.Bool
	var count atomic.Int64
	g := r.cfg.SyncGoroutines
	errs := make([]error, g)
	var wg sync.WaitGroup
	value := make([]byte, r.cfg.RecordSize)
	start := time.Now()
	for i := range g {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m := &brook.Message{}
			n := int64(0)
			for !stop.Load() && ctx.Err() == nil {
				*m = brook.Message{Topic: "publish", Partition: i % parts, Value: value}
				if err := p.Publish("publish", m); err != nil {
					errs[i] = err
					break
				}
				n++
			}
			count.Add(n)
		}()
	}
	t := time.AfterFunc(r.cfg.SyncDuration, func() { stop.Store(true) })
	defer t.Stop()
	wg.Wait()
	elapsed := time.Since(start)
	if err := errors.Join(errs...); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return float64(count.Load()) / elapsed.Seconds(), nil
}

// batchProduce publishes total messages of size bytes over parts
// partitions with PublishBatch: one goroutine and Producer per partition,
// each publishing batches of batch messages, one at a time.
func batchProduce(ctx context.Context, b *brook.Broker, topic string, parts, total, size, batch int) (time.Duration, error) {
	errs := make([]error, parts)
	var wg sync.WaitGroup
	start := time.Now()
	for part := range parts {
		wg.Go(func() {
			p := b.CreateProducer(fmt.Sprintf("bench-%d", part))
			defer p.Close()
			value := make([]byte, size)
			msgs := make([]brook.Message, batch)
			ptrs := make([]*brook.Message, batch)
			for n := share(total, parts, part); n > 0 && ctx.Err() == nil; {
				k := min(batch, n)
				for i := range k {
					msgs[i] = brook.Message{Topic: topic, Partition: part, Value: value}
					ptrs[i] = &msgs[i]
				}
				if err := p.PublishBatch(topic, ptrs[:k]); err != nil {
					errs[part] = err
					return
				}
				n -= k
			}
			errs[part] = ctx.Err()
		})
	}
	wg.Wait()
	return time.Since(start), errors.Join(errs...)
}
