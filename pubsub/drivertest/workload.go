package drivertest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
)

// Workload is the throughput workload every backend is measured with, so
// that their figures compare: Messages messages of Size bytes published to
// Partitions partitions by one goroutine per partition through
// Client.Publish in slices of Batch, then read by a new group of Members
// subscriptions, each driven by Run. On the embedded broker it is
// `brook bench` workloads 1b (produce) and 4 (consume) through the client.
// Zero fields mean defaults.
type Workload struct {
	// Messages is the number of messages. Default: 1,000,000.
	Messages int
	// Size is each message's value size in bytes. Default: 100.
	Size int
	// Partitions is the topic's partition count; 1 on a backend without
	// ExplicitPartitions. Default: 8.
	Partitions int
	// Batch is the number of messages per Client.Publish. Default: 1,000.
	Batch int
	// Members is the size of the consuming group. Default: 4.
	Members int
	// Timeout bounds the consumption. Default: 5 minutes.
	Timeout time.Duration
}

// WorkloadResult is what one Workload.Run measured.
type WorkloadResult struct {
	Messages int
	Produce  time.Duration // from the first Publish to the last return
	Consume  time.Duration // from the first Run to the last message handled
}

// ProduceRate is messages published per second.
func (r WorkloadResult) ProduceRate() float64 { return float64(r.Messages) / r.Produce.Seconds() }

// ConsumeRate is messages consumed per second.
func (r WorkloadResult) ConsumeRate() float64 { return float64(r.Messages) / r.Consume.Seconds() }

func (w Workload) withDefaults(c *pubsub.Client) Workload {
	w.Messages = cmpOr(w.Messages, 1_000_000)
	w.Size = cmpOr(w.Size, 100)
	w.Partitions = cmpOr(w.Partitions, 8)
	w.Batch = cmpOr(w.Batch, 1000)
	w.Members = cmpOr(w.Members, 4)
	w.Timeout = cmpOr(w.Timeout, 5*time.Minute)
	if !c.Capabilities().ExplicitPartitions {
		w.Partitions = 1
	}
	return w
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v > 0 {
		return v
	}
	return def
}

// Run creates topic, subscribes the group's members (before publishing,
// so that backends without History get everything too), publishes, then
// runs the group until every message was handled.
func (w Workload) Run(ctx context.Context, c *pubsub.Client, topic, group string) (WorkloadResult, error) {
	w = w.withDefaults(c)
	if err := c.CreateTopic(ctx, topic, w.Partitions); err != nil {
		return WorkloadResult{}, err
	}
	subs := make([]*pubsub.Subscription, 0, w.Members)
	defer func() {
		for _, s := range subs {
			_ = s.Close()
		}
	}()
	for range w.Members {
		s, err := c.Subscribe(ctx, group, []string{topic}, pubsub.SubscribeOptions{})
		if err != nil {
			return WorkloadResult{}, err
		}
		subs = append(subs, s)
	}
	res := WorkloadResult{Messages: w.Messages}
	start := time.Now()
	if err := w.produce(ctx, c, topic); err != nil {
		return res, err
	}
	res.Produce = time.Since(start)
	d, err := w.consume(ctx, subs)
	res.Consume = d
	return res, err
}

// produce publishes the messages, one goroutine per partition.
func (w Workload) produce(ctx context.Context, c *pubsub.Client, topic string) error {
	errs := make([]error, w.Partitions)
	var wg sync.WaitGroup
	for p := range w.Partitions {
		count := w.Messages / w.Partitions
		if p < w.Messages%w.Partitions {
			count++
		}
		wg.Go(func() {
			value := make([]byte, w.Size)
			msgs := make([]brook.Message, w.Batch)
			ptrs := make([]*brook.Message, w.Batch)
			for count > 0 && errs[p] == nil {
				k := min(w.Batch, count)
				for i := range k {
					msgs[i] = brook.Message{Topic: topic, Partition: p, Value: value}
					ptrs[i] = &msgs[i]
				}
				errs[p] = c.Publish(ctx, topic, ptrs[:k]...)
				count -= k
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// consume runs every subscription until the messages were all handled.
func (w Workload) consume(ctx context.Context, subs []*pubsub.Subscription) (time.Duration, error) {
	var left atomic.Int64
	left.Store(int64(w.Messages))
	done := make(chan struct{})
	handle := func(context.Context, *brook.Message) error {
		if left.Add(-1) == 0 {
			close(done)
		}
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(subs))
	var wg sync.WaitGroup
	start := time.Now()
	for i, s := range subs {
		wg.Go(func() { errs[i] = s.Run(ctx, handle) })
	}
	var err error
	select {
	case <-done:
	case <-time.After(w.Timeout):
		err = fmt.Errorf("drivertest: workload: %d of %d messages not consumed after %v", left.Load(), w.Messages, w.Timeout)
	case <-ctx.Done():
		err = ctx.Err()
	}
	d := time.Since(start)
	cancel()
	wg.Wait()
	return d, errors.Join(append(errs, err)...)
}
