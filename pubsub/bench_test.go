package pubsub_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/drivertest"
)

// The workload, through the client and on the raw broker in the
// same run, so that the cost of the client layer is visible:
//
//	go test -run '^$' -bench ClientVsBroker -benchtime 3x ./pubsub/
//
// Each iteration produces BROOK_PUBSUB_BENCH_MSGS messages (default 1M;
// 100k with -short) of 100 bytes to 8 partitions, one goroutine per
// partition publishing slices of 1,000 (brook bench workload 1b: raw
// Producer.PublishBatch under SyncAlways; here also Client.Publish on a
// brook:///dir client, through drivertest.Workload, which other backends
// run too), then consumes each topic with a new group of 4 (workload 4:
// brook.Consumer.Run; here Subscription.Run). Which of broker and client
// goes first alternates between iterations, so both see the same machine.
const (
	benchParts   = 8
	benchBatch   = 1000
	benchSize    = 100
	benchMembers = 4
)

func benchCount(b *testing.B) int {
	if s := os.Getenv("BROOK_PUBSUB_BENCH_MSGS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < benchParts {
			b.Fatalf("BROOK_PUBSUB_BENCH_MSGS=%q: want a count of at least %d", s, benchParts)
		}
		return n
	}
	if testing.Short() {
		return 100_000
	}
	return 1_000_000
}

func BenchmarkClientVsBroker(b *testing.B) {
	n := benchCount(b)
	ctx := context.Background()
	w := drivertest.Workload{Messages: n, Size: benchSize, Partitions: benchParts, Batch: benchBatch, Members: benchMembers}
	var rawProd, cliProd, rawCons, cliCons time.Duration
	iter := 0
	for b.Loop() {
		raw := func() {
			br, err := brook.Open(b.TempDir(), nil)
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			if _, err := br.CreateNewTopic("bench", benchParts); err != nil {
				b.Fatal(err)
			}
			rawProd += timed(b, func() error { return rawProduce(br, n) })
			rawCons += timed(b, func() error { return rawConsume(ctx, br, n) })
		}
		client := func() {
			c, err := pubsub.Open(ctx, "brook://"+b.TempDir())
			if err != nil {
				b.Fatal(err)
			}
			defer c.Close()
			res, err := w.Run(ctx, c, "bench", "client")
			if err != nil {
				b.Fatal(err)
			}
			cliProd += res.Produce
			cliCons += res.Consume
		}
		if iter%2 == 0 { // alternate which goes first: the second meets the first's writeback
			raw()
			client()
		} else {
			client()
			raw()
		}
		iter++
	}
	total := float64(n * b.N)
	b.ReportMetric(total/rawProd.Seconds(), "produce-broker-msgs/s")
	b.ReportMetric(total/cliProd.Seconds(), "produce-client-msgs/s")
	b.ReportMetric(rawProd.Seconds()/cliProd.Seconds(), "produce-client/broker")
	b.ReportMetric(total/rawCons.Seconds(), "consume-broker-msgs/s")
	b.ReportMetric(total/cliCons.Seconds(), "consume-client-msgs/s")
	b.ReportMetric(rawCons.Seconds()/cliCons.Seconds(), "consume-client/broker")
}

func timed(b *testing.B, f func() error) time.Duration {
	start := time.Now()
	if err := f(); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

// perPartition runs f for each partition on a goroutine of its own, with
// its share of n messages, and joins their errors.
func perPartition(n int, f func(part, count int) error) error {
	errs := make([]error, benchParts)
	var wg sync.WaitGroup
	for p := range benchParts {
		count := n / benchParts
		if p < n%benchParts {
			count++
		}
		wg.Go(func() { errs[p] = f(p, count) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// publishSlices calls publish with slices of up to benchBatch fresh
// messages for one partition until count were published.
func publishSlices(part, count int, publish func([]*brook.Message) error) error {
	value := make([]byte, benchSize)
	msgs := make([]brook.Message, benchBatch)
	ptrs := make([]*brook.Message, benchBatch)
	for count > 0 {
		k := min(benchBatch, count)
		for i := range k {
			msgs[i] = brook.Message{Topic: "bench", Partition: part, Value: value}
			ptrs[i] = &msgs[i]
		}
		if err := publish(ptrs[:k]); err != nil {
			return err
		}
		count -= k
	}
	return nil
}

func rawProduce(br *brook.Broker, n int) error {
	return perPartition(n, func(part, count int) error {
		p := br.CreateProducer(fmt.Sprintf("bench-%d", part))
		defer p.Close()
		return publishSlices(part, count, func(m []*brook.Message) error { return p.PublishBatch("bench", m) })
	})
}

// countdown is a handler that closes done once n messages were handled.
type countdown struct {
	left atomic.Int64
	done chan struct{}
}

func newCountdown(n int) *countdown {
	c := &countdown{done: make(chan struct{})}
	c.left.Store(int64(n))
	return c
}

func (c *countdown) handle(context.Context, *brook.Message) error {
	if c.left.Add(-1) == 0 {
		close(c.done)
	}
	return nil
}

func (c *countdown) wait() error {
	select {
	case <-c.done:
		return nil
	case <-time.After(5 * time.Minute):
		return fmt.Errorf("%d messages never came", c.left.Load())
	}
}

func rawConsume(ctx context.Context, br *brook.Broker, n int) error {
	cd := newCountdown(n)
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	errs := make([]error, benchMembers)
	consumers := make([]*brook.Consumer, benchMembers)
	for i := range benchMembers {
		consumers[i] = br.CreateConsumer(fmt.Sprintf("m%d", i), "raw")
		if err := consumers[i].Subscribe("bench"); err != nil {
			cancel()
			return err
		}
		wg.Go(func() { errs[i] = consumers[i].Run(ctx, cd.handle) })
	}
	err := cd.wait()
	cancel()
	wg.Wait()
	for _, c := range consumers {
		errs = append(errs, c.Close())
	}
	return errors.Join(append(errs, err)...)
}
