//go:build unix

package brook

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strconv"
	"sync/atomic"
	"time"
)

// powerLossChild is the process whose power goes out. It never returns:
// the parent kills it, or it prints ERR and exits.
func powerLossChild(dir string) {
	round, _ := strconv.Atoi(os.Getenv(plChildRoundEnv))
	seed, _ := strconv.ParseInt(os.Getenv(plChildSeedEnv), 10, 64)
	out := &plOut{}
	fail := func(format string, args ...any) {
		out.printf("ERR "+format, args...)
		os.Exit(3)
	}
	rec := newPLRecorder(dir, os.Getenv(plChildShadowEnv), out)
	rng := rand.New(rand.NewPCG(uint64(seed), uint64(round)+1))
	b, err := Open(dir, &Options{
		SegmentSize:            16 << 10, // rolls and retention often
		SyncInterval:           plSyncInterval,
		RetentionCheckInterval: 25 * time.Millisecond,
		CommitInterval:         10 * time.Millisecond,
		fs:                     rec,
		meta:                   rec,
	})
	if err != nil {
		fail("open: %v", err)
	}
	out.printf("OPEN")
	for _, cfg := range []struct {
		name string
		cfg  TopicConfig
	}{
		{plAlways, TopicConfig{Partitions: 3, Sync: SyncAlways, RetentionBytes: 64 << 10}},
		{plInterval, TopicConfig{Partitions: 2, Sync: SyncInterval, RetentionBytes: 64 << 10}},
	} {
		if _, err := b.CreateTopic(cfg.name, cfg.cfg); err != nil && !errors.Is(err, ErrTopicExists) {
			fail("create topic %s: %v", cfg.name, err)
		}
	}
	ctx := context.Background()
	for i := 0; i < 2; i++ {
		c := b.CreateConsumer(fmt.Sprintf("auto%d", i), plAuto)
		if err := c.Subscribe(plAlways, plInterval); err != nil {
			fail("subscribe: %v", err)
		}
		go func() {
			if err := c.Run(ctx, func(context.Context, *Message) error { return nil }); err != nil {
				fail("run: %v", err)
			}
		}()
	}
	go plManualConsumer(b, out, fail)
	for i, topic := range []string{plAlways, plAlways, plInterval} {
		go plProducer(b, topic, fmt.Sprintf("s%d", i), round, out, fail)
	}
	for i, topic := range []string{plAlways, plInterval} {
		go plBatchProducer(b, topic, fmt.Sprintf("b%d", i), round, rng.Uint64(), out, fail)
	}
	go plSideChurn(b, rng.Uint64(), fail)
	time.Sleep(time.Minute) // the parent kills this process long before
	fail("not killed")
}

// plProducer publishes one message at a time, round robin, and reports
// each acknowledgement: "A topic partition offset unixnano value".
func plProducer(b *Broker, topic, name string, round int, out *plOut, fail func(string, ...any)) {
	p := b.CreateProducer(name)
	for i := 0; ; i++ {
		m := &Message{Topic: topic, Partition: PartitionRoundRobin, Value: fmt.Appendf(nil, "r%d.%s.%d", round, name, i)}
		if err := p.Publish(topic, m); err != nil {
			fail("publish: %v", err)
		}
		out.printf("A %s %d %d %d %s", topic, m.Partition, m.Offset, time.Now().UnixNano(), m.Value)
	}
}

// plBatchProducer publishes batches of 1 to 12 messages to one partition
// each, valued "r<round>.<name>.<first>/<n>.<i>".
func plBatchProducer(b *Broker, topic, name string, round int, seed uint64, out *plOut, fail func(string, ...any)) {
	rng := rand.New(rand.NewPCG(seed, 2))
	p := b.CreateProducer(name)
	tp, err := b.Topic(topic)
	if err != nil {
		fail("topic: %v", err)
	}
	for i := 0; ; {
		msgs := make([]*Message, 1+rng.IntN(12))
		part := rng.IntN(tp.Partitions())
		for j := range msgs {
			msgs[j] = &Message{Topic: topic, Partition: part, Value: fmt.Appendf(nil, "r%d.%s.%d/%d.%d", round, name, i, len(msgs), j)}
		}
		if err := p.PublishBatch(topic, msgs); err != nil {
			fail("publish batch: %v", err)
		}
		now := time.Now().UnixNano()
		for _, m := range msgs {
			out.printf("A %s %d %d %d %s", topic, m.Partition, m.Offset, now, m.Value)
		}
		i += len(msgs)
	}
}

// plManualConsumer commits every third message with Commit and reports
// each commit it acknowledged: "C topic partition offset".
func plManualConsumer(b *Broker, out *plOut, fail func(string, ...any)) {
	c := b.CreateConsumerWith("manual", plManual, ConsumerOptions{ManualCommit: true})
	if err := c.Subscribe(plAlways, plInterval); err != nil {
		fail("subscribe: %v", err)
	}
	var n atomic.Int64 // handlers of different partitions run at once
	err := c.Run(context.Background(), func(ctx context.Context, m *Message) error {
		if n.Add(1)%3 != 0 {
			return nil
		}
		if err := c.Commit(ctx, m); err != nil {
			return nil // fenced by a rebalance: not acknowledged, not reported
		}
		out.printf("C %s %d %d", m.Topic, m.Partition, m.Offset+1)
		return nil
	})
	if err != nil {
		fail("run: %v", err)
	}
}

// plSideChurn creates the side topic, publishes a little to it and deletes
// it, again and again, so that power losses land in creates and deletes.
func plSideChurn(b *Broker, seed uint64, fail func(string, ...any)) {
	rng := rand.New(rand.NewPCG(seed, 3))
	p := b.CreateProducer("side")
	for {
		if _, err := b.CreateNewTopic(plSide, 2); err != nil && !errors.Is(err, ErrTopicExists) {
			fail("create side topic: %v", err)
		}
		for i := 0; i < rng.IntN(20); i++ {
			if err := p.Publish(plSide, CreateMessage(plSide, []byte("x"), i%2)); err != nil {
				fail("publish side: %v", err)
			}
		}
		time.Sleep(time.Duration(rng.IntN(30)) * time.Millisecond)
		if err := b.DeleteTopic(plSide); err != nil {
			fail("delete side topic: %v", err)
		}
	}
}
