package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook"
)

// consumeTimeout bounds one consumption; it only guards against a hang.
const consumeTimeout = 5 * time.Minute

// fillTopic creates topic with parts partitions under SyncNever (filling
// is preparation, not measured) and publishes total messages to it,
// reporting progress every few seconds.
func (r *runner) fillTopic(ctx context.Context, b *brook.Broker, topic string, parts, total int) error {
	if _, err := b.CreateTopic(topic, brook.TopicConfig{Partitions: parts, Sync: brook.SyncNever}); err != nil &&
		!errors.Is(err, brook.ErrTopicExists) {
		return err
	}
	return r.appendTopic(ctx, b, topic, parts, total)
}

// appendTopic publishes total more messages to topic.
func (r *runner) appendTopic(ctx context.Context, b *brook.Broker, topic string, parts, total int) error {
	var sent atomic.Int64
	stop := ticker(3*time.Second, func() {
		r.logf("  filling %s: %s of %s messages", topic, SI(float64(sent.Load())), SI(float64(total)))
	})
	defer stop()
	c := r.cfg
	_, err := asyncProduce(ctx, b, topic, parts, total, c.RecordSize, c.Batch, c.Depth, &sent)
	return err
}

// padded is an atomic counter alone on its cache line.
type padded struct {
	atomic.Int64
	_ [56]byte
}

// consumeGroup is workload 4: a group of ConsumeMembers members reads a
// full topic of ConsumeRecords messages over cfg.Partitions partitions,
// from the start; a new group each repetition. The time runs from the
// first Run call to the last message handled.
func (r *runner) consumeGroup(ctx context.Context) error {
	c := r.cfg
	b, done, err := r.scratchBroker("consume", brook.SyncAlways)
	if err != nil {
		return err
	}
	defer done()
	if err := r.fillTopic(ctx, b, "consume", c.Partitions, c.ConsumeRecords); err != nil {
		return err
	}
	t, err := b.Topic("consume")
	if err != nil {
		return err
	}
	expected := make([]int64, c.Partitions)
	for _, ps := range t.Stats().Partitions {
		expected[ps.Partition] = ps.NextOffset
	}
	for rep := 1; rep <= c.Reps; rep++ {
		v, err := consumeOnce(ctx, b, fmt.Sprintf("consume-%d", rep), c.ConsumeMembers, expected)
		if err != nil {
			return err
		}
		r.res.w4 = append(r.res.w4, v)
		r.logf("4 consume, group of %d, %d partitions rep %d/%d: %s msgs/s", c.ConsumeMembers, c.Partitions, rep, c.Reps, SI(v))
	}
	return nil
}

// consumeOnce runs a new group of members over topic "consume" until every
// partition p has delivered expected[p] messages, and returns messages per
// second.
func consumeOnce(ctx context.Context, b *brook.Broker, group string, members int, expected []int64) (float64, error) {
	counts := make([]padded, len(expected))
	var left atomic.Int64
	var total int64
	for _, n := range expected {
		if n > 0 {
			left.Add(1)
			total += n
		}
	}
	done := make(chan struct{})
	handler := func(_ context.Context, m *brook.Message) error {
		if counts[m.Partition].Add(1) == expected[m.Partition] && left.Add(-1) == 0 {
			close(done)
		}
		return nil
	}
	runCtx, cancel := context.WithCancel(ctx)
	start := time.Now()
	stop, errc := runGroup(runCtx, b, group, "consume", members, func(int, *brook.Consumer) brook.Handler { return handler })
	err := waitFor(ctx, done, consumeTimeout, "the group to read the topic")
	elapsed := time.Since(start)
	cancel()
	if serr := stop(); err == nil {
		err = serr
	}
	if err == nil {
		err = drainErr(errc)
	}
	if err != nil {
		return 0, err
	}
	return float64(total) / elapsed.Seconds(), nil
}

// runGroup starts members consumers of group on topic, each running the
// handler that mk returns for it, until ctx ends. stop cancels nothing
// itself: it waits for the runs (after ctx ended) and closes the
// consumers. Run errors are sent on errc.
func runGroup(ctx context.Context, b *brook.Broker, group, topic string, members int,
	mk func(i int, c *brook.Consumer) brook.Handler) (stop func() error, errc <-chan error) {
	ch := make(chan error, members)
	consumers := make([]*brook.Consumer, members)
	var wg sync.WaitGroup
	for i := range members {
		c := b.CreateConsumer(fmt.Sprintf("m%d", i), group)
		consumers[i] = c
		if err := c.Subscribe(topic); err != nil {
			ch <- err
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := c.Run(ctx, mk(i, c)); err != nil {
				ch <- err
			}
		}()
	}
	return func() error {
		wg.Wait()
		var errs []error
		for _, c := range consumers {
			errs = append(errs, c.Close())
		}
		return errors.Join(errs...)
	}, ch
}

// drainErr returns the first error waiting on errc, if any.
func drainErr(errc <-chan error) error {
	select {
	case err := <-errc:
		return err
	default:
		return nil
	}
}

// laggingGroups is workload 6: LagGroups groups read one partition at the
// same time, group g from offset g × LagRecords, so each reads its own
// run of sealed segments, LagRecords messages each. A new set of groups
// each repetition; the figure is the slowest group's rate.
func (r *runner) laggingGroups(ctx context.Context) error {
	c := r.cfg
	b, done, err := r.scratchBroker("lag", brook.SyncAlways)
	if err != nil {
		return err
	}
	defer done()
	total := c.LagGroups * c.LagRecords
	if err := r.fillTopic(ctx, b, "lag", 1, total+c.Batch); err != nil {
		return err
	}
	t, err := b.Topic("lag")
	if err != nil {
		return err
	}
	ps := t.Stats().Partitions[0]
	segs := float64(ps.Bytes) / float64(c.SegmentSize)
	r.logf("  lag topic: %s messages in about %.0f segments; each group reads about %.1f segments",
		SI(float64(ps.NextOffset)), segs, segs/float64(c.LagGroups))
	for rep := 1; rep <= c.Reps; rep++ {
		rates, err := r.lagOnce(ctx, b, rep)
		if err != nil {
			return err
		}
		r.res.w6 = append(r.res.w6, rates)
		r.logf("6 %d lagging groups rep %d/%d: %s msgs/s each", c.LagGroups, rep, c.Reps, siList(rates))
	}
	return nil
}

// lagOnce runs one set of lagging groups and returns each group's rate.
// A group stops as soon as it has read its share, so that it does not
// compete with the others for the rest of the measurement.
func (r *runner) lagOnce(ctx context.Context, b *brook.Broker, rep int) ([]float64, error) {
	c := r.cfg
	n := c.LagGroups
	rates := make([]float64, n)
	dones := make([]chan struct{}, n)
	var stops []func() error
	var errcs []<-chan error
	var cancels []context.CancelFunc
	start := time.Now()
	for g := range n {
		from, to := int64(g*c.LagRecords), int64((g+1)*c.LagRecords)
		done := make(chan struct{})
		dones[g] = done
		gctx, cancel := context.WithCancel(ctx)
		cancels = append(cancels, cancel)
		stop, errc := runGroup(gctx, b, fmt.Sprintf("lag-%d-%d", rep, g), "lag", 1,
			func(_ int, cons *brook.Consumer) brook.Handler {
				seeked, finished := false, false
				return func(_ context.Context, m *brook.Message) error {
					switch {
					case m.Offset < from:
						if !seeked {
							seeked = true
							_ = cons.Seek("lag", 0, from)
						}
					case m.Offset == to-1 && !finished:
						finished = true
						rates[g] = float64(to-from) / time.Since(start).Seconds()
						close(done)
						cancel()
					}
					return nil
				}
			})
		stops, errcs = append(stops, stop), append(errcs, errc)
	}
	var err error
	for g := range n {
		if err = waitFor(ctx, dones[g], consumeTimeout, "a lagging group"); err != nil {
			break
		}
	}
	for _, cancel := range cancels {
		cancel()
	}
	for i, stop := range stops {
		err = errors.Join(err, stop(), drainErr(errcs[i]))
	}
	return rates, err
}
