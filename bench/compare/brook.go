package main

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/internal/bench"
)

// brookChunk is how many PublishAsync calls share one acknowledgement
// counter; a producer keeps Window/brookChunk chunks in flight, as
// `brook bench` workloads 1 and 3 do (4 chunks of 1000).
const brookChunk = 1000

// brookSystem is Brook, called in process.
type brookSystem struct{}

func (brookSystem) name() string { return "brook" }

func (brookSystem) mode(w workload, c Config) string {
	switch w {
	case produceDurable:
		return "SyncAlways, PublishAsync+Flush"
	case produceUnsynced:
		return "SyncNever, PublishAsync+Flush"
	case latencyDurable:
		return "SyncAlways, PublishAsync, a group of 1 from the end"
	}
	return fmt.Sprintf("group of %d member(s), Run (a goroutine per partition)", c.BrookMembers)
}

func (brookSystem) start(_ context.Context, dir string, durable bool, c Config) (instance, error) {
	policy := brook.SyncNever
	if durable {
		policy = brook.SyncAlways
	}
	b, err := brook.Open(dir, &brook.Options{Sync: policy})
	if err != nil {
		return nil, err
	}
	if _, err := b.CreateNewTopic(topicName, c.Partitions); err != nil {
		return nil, errors.Join(err, b.Close())
	}
	return &brookInstance{b: b, members: c.BrookMembers}, nil
}

// brookInstance is one open broker.
type brookInstance struct {
	b       *brook.Broker
	members int
	groups  int
}

func (in *brookInstance) close() error { return in.b.Close() }

// produce runs one goroutine and one Producer per partition.
func (in *brookInstance) produce(ctx context.Context, p producePlan) (int64, time.Duration, error) {
	var acked atomic.Int64
	errs := make([]error, p.parts)
	var wg sync.WaitGroup
	start := time.Now()
	for part := range p.parts {
		wg.Go(func() {
			n, err := in.produceTo(ctx, p, part)
			acked.Add(n)
			errs[part] = err
		})
	}
	wg.Wait()
	return acked.Load(), time.Since(start), errors.Join(errs...)
}

// produceTo publishes partition part's share of the plan, keeping at most
// p.window messages unacknowledged, and returns how many were acknowledged.
func (in *brookInstance) produceTo(ctx context.Context, p producePlan, part int) (int64, error) {
	prod := in.b.CreateProducer(fmt.Sprintf("compare-%d", part))
	defer prod.Close()
	depth := max(1, p.window/brookChunk)
	msgs := make([]brook.Message, depth*brookChunk) // a chunk's messages are reused once it is acknowledged
	chunks := make([]*bench.Chunk, depth)
	n, sent := p.share(part), 0
	for i := 0; sent < n && !p.over(ctx); i = (i + 1) % depth {
		if c := chunks[i]; c != nil {
			if err := c.Wait(ctx); err != nil {
				return 0, err
			}
		}
		k := min(brookChunk, n-sent)
		c := bench.NewChunk(k)
		chunks[i] = c
		for j := range k {
			m := &msgs[i*brookChunk+j]
			*m = brook.Message{Topic: p.topic, Partition: part, Value: p.value}
			prod.PublishAsync(p.topic, m, c.Ack)
		}
		sent += k
	}
	if err := prod.Flush(ctx); err != nil {
		return 0, err
	}
	for _, c := range chunks {
		if c != nil {
			if err := c.Wait(ctx); err != nil {
				return 0, err
			}
		}
	}
	return int64(sent), nil
}

// consume runs a new group of in.members consumers over the topic until
// every message has been handled once.
func (in *brookInstance) consume(ctx context.Context, expect int64) (time.Duration, error) {
	in.groups++
	group := fmt.Sprintf("compare-%d", in.groups)
	var seen atomic.Int64
	done := make(chan struct{})
	handler := func(context.Context, *brook.Message) error {
		if seen.Add(1) == expect {
			close(done)
		}
		return nil
	}
	consumers := make([]*brook.Consumer, in.members)
	for i := range consumers {
		consumers[i] = in.b.CreateConsumerWith(fmt.Sprintf("m%d", i), group, brook.ConsumerOptions{StartOffset: brook.StartEarliest})
		if err := consumers[i].Subscribe(topicName); err != nil {
			return 0, errors.Join(err, closeAll(consumers))
		}
	}
	runCtx, cancel := context.WithCancel(ctx)
	errc := make(chan error, len(consumers))
	var wg sync.WaitGroup
	start := time.Now()
	for _, c := range consumers {
		wg.Go(func() {
			if err := c.Run(runCtx, handler); err != nil {
				errc <- err
			}
		})
	}
	var err error
	select {
	case <-done:
	case err = <-errc:
	case <-ctx.Done():
		err = ctx.Err()
	}
	d := time.Since(start)
	cancel()
	wg.Wait()
	close(errc)
	for e := range errc {
		err = errors.Join(err, e)
	}
	return d, errors.Join(err, closeAll(consumers))
}

func closeAll(cs []*brook.Consumer) error {
	var errs []error
	for _, c := range cs {
		if c != nil {
			errs = append(errs, c.Close())
		}
	}
	return errors.Join(errs...)
}
