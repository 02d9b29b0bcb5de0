package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kgo"
)

// latencyInstance is an instance that can run the paced end-to-end
// latency workload (C).
type latencyInstance interface {
	// latency publishes p.count() messages to partition 0 at p.rate per
	// second while one consumer reads them, and returns each message's
	// time from just before its publish call to its delivery.
	latency(ctx context.Context, p latencyPlan) ([]time.Duration, error)
}

// latencyPlan is one paced run.
type latencyPlan struct {
	topic string
	rate  int
	d     time.Duration
	size  int
}

func (p latencyPlan) count() int { return max(1, int(p.d.Seconds()*float64(p.rate))) }

// latencyRun carries one paced run: the sender stamps each value with the
// time it publishes it (the first 8 bytes, nanoseconds since 1970; 0
// marks a warm-up message), the receiver passes every value it gets to got.
type latencyRun struct {
	plan  latencyPlan
	ready chan struct{} // closed when a warm-up message came through
	all   chan struct{} // closed when every stamped message came through
	errs  chan error    // the first asynchronous error

	mu        sync.Mutex
	lats      []time.Duration
	readyOnce sync.Once
}

func newLatencyRun(p latencyPlan) *latencyRun {
	return &latencyRun{plan: p, ready: make(chan struct{}), all: make(chan struct{}), errs: make(chan error, 1),
		lats: make([]time.Duration, 0, p.count())}
}

// got takes one delivered value.
func (r *latencyRun) got(v []byte) {
	if len(v) < 8 {
		return
	}
	stamp := int64(binary.BigEndian.Uint64(v))
	if stamp == 0 {
		r.readyOnce.Do(func() { close(r.ready) })
		return
	}
	lat := time.Since(time.Unix(0, stamp))
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.lats) < cap(r.lats) {
		r.lats = append(r.lats, lat)
		if len(r.lats) == cap(r.lats) {
			close(r.all)
		}
	}
}

// fail records an asynchronous error; the run stops with the first.
func (r *latencyRun) fail(err error) {
	if err != nil {
		select {
		case r.errs <- err:
		default:
		}
	}
}

// latencyTimeout bounds the warm-up and the wait for the last delivery.
const latencyTimeout = 10 * time.Second

// drive sends warm-up messages until one is delivered (so the consumer is
// in place), then the paced ones, and waits until all are delivered.
func (r *latencyRun) drive(ctx context.Context, send func(v []byte)) ([]time.Duration, error) {
	warm := time.NewTicker(10 * time.Millisecond)
	defer warm.Stop()
	deadline := time.NewTimer(latencyTimeout)
	defer deadline.Stop()
	for warming := true; warming; {
		send(make([]byte, r.plan.size))
		select {
		case <-r.ready:
			warming = false
		case <-warm.C:
		case err := <-r.errs:
			return nil, err
		case <-deadline.C:
			return nil, errors.New("latency: the consumer got no warm-up message")
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	pace := time.NewTimer(0)
	defer pace.Stop()
	start := time.Now()
	for i := range r.plan.count() {
		if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(r.plan.rate))); wait > 0 {
			pace.Reset(wait)
			select {
			case <-pace.C:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		v := make([]byte, r.plan.size)
		binary.BigEndian.PutUint64(v, uint64(time.Now().UnixNano()))
		send(v)
	}
	deadline.Reset(latencyTimeout)
	select {
	case <-r.all:
	case err := <-r.errs:
		return nil, err
	case <-deadline.C:
		r.mu.Lock()
		n := len(r.lats)
		r.mu.Unlock()
		return nil, fmt.Errorf("latency: %d of %d messages delivered", n, r.plan.count())
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.lats), nil
}

// latency runs the paced workload with a Producer and a consumer group of
// one member starting at the end of the topic.
func (in *brookInstance) latency(ctx context.Context, p latencyPlan) ([]time.Duration, error) {
	run := newLatencyRun(p)
	prod := in.b.CreateProducer("compare-latency")
	defer prod.Close()
	in.groups++
	cons := in.b.CreateConsumerWith("latency", fmt.Sprintf("compare-latency-%d", in.groups),
		brook.ConsumerOptions{StartOffset: brook.StartLatest})
	if err := cons.Subscribe(p.topic); err != nil {
		return nil, errors.Join(err, cons.Close())
	}
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		err := cons.Run(runCtx, func(_ context.Context, m *brook.Message) error { run.got(m.Value); return nil })
		if runCtx.Err() == nil {
			run.fail(err)
		}
	})
	lats, err := run.drive(ctx, func(v []byte) {
		prod.PublishAsync(p.topic, &brook.Message{Topic: p.topic, Partition: 0, Value: v}, func(_ *brook.Message, err error) { run.fail(err) })
	})
	cancel()
	wg.Wait()
	return lats, errors.Join(err, cons.Close())
}

// latency runs the paced workload with a new producing client that does
// not linger (the throughput client's 2 ms linger would be most of the
// figure) and a client consuming partition 0 from its end.
func (in *kafkaInstance) latency(ctx context.Context, p latencyPlan) ([]time.Duration, error) {
	run := newLatencyRun(p)
	prod, err := kgo.NewClient(
		kgo.SeedBrokers(in.addrs...),
		kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RequiredAcks(kgo.AllISRAcks()),
		kgo.ProducerLinger(0),
		kgo.ProducerBatchCompression(kgo.NoCompression()),
	)
	if err != nil {
		return nil, err
	}
	defer prod.Close()
	cons, err := kgo.NewClient(
		kgo.SeedBrokers(in.addrs...),
		kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{p.topic: {0: kgo.NewOffset().AtEnd()}}),
	)
	if err != nil {
		return nil, err
	}
	defer cons.Close()
	runCtx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Go(func() {
		for runCtx.Err() == nil {
			fs := cons.PollFetches(runCtx)
			if runCtx.Err() != nil {
				return
			}
			if errs := fs.Errors(); len(errs) > 0 {
				run.fail(errs[0].Err)
				return
			}
			fs.EachRecord(func(r *kgo.Record) { run.got(r.Value) })
		}
	})
	lats, err := run.drive(ctx, func(v []byte) {
		prod.Produce(ctx, &kgo.Record{Topic: p.topic, Partition: 0, Value: v}, func(_ *kgo.Record, err error) { run.fail(err) })
	})
	cancel()
	wg.Wait()
	return lats, err
}
