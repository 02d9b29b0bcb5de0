package main

import (
	"errors"
	"fmt"
	"os"

	"github.com/brookmq/brook"
)

// consumeGroup consumes topic as a member of the group f.group, with Poll.
// A message is committed when the next Poll asks for another one, or when
// the consumer closes: that is, after it was printed (at-least-once).
// Without --follow it stops once it has reached the end offsets that the
// partitions had when it started.
func (a *app) consumeGroup(b *brook.Broker, topic string, f consumeFlags, s *sink) error {
	start := brook.StartEarliest
	if f.offset == "latest" {
		start = brook.StartLatest
	}
	t, err := b.Topic(topic)
	if err != nil {
		return err
	}
	remaining, err := groupRemaining(b, t, f.group, start)
	if err != nil || (!f.follow && len(remaining) == 0) {
		return err
	}
	s.follow = true // flush each message before the next Poll commits it
	c := b.CreateConsumerWith(fmt.Sprintf("brook-cli-%d", os.Getpid()), f.group,
		brook.ConsumerOptions{StartOffset: start})
	defer c.Close()
	if err := c.Subscribe(topic); err != nil {
		return err
	}
	for {
		m, err := c.Poll(a.ctx)
		if err != nil {
			return ignoreCanceled(a.ctx, err)
		}
		more, err := s.put([]*brook.Message{m})
		if err != nil || !more {
			return err
		}
		tp := brook.TopicPartition{Topic: m.Topic, Partition: m.Partition}
		if end, ok := remaining[tp]; ok && m.Offset+1 >= end {
			delete(remaining, tp)
		}
		if !f.follow && len(remaining) == 0 {
			return nil
		}
	}
}

// groupRemaining returns, for each partition of t where the group has
// messages left to read, the partition's end offset now.
func groupRemaining(b *brook.Broker, t *brook.Topic, group string, start brook.StartOffset) (map[brook.TopicPartition]int64, error) {
	gs, err := b.GroupStats(group)
	if err != nil && !errors.Is(err, brook.ErrUnknownGroup) { // a new group has no commits
		return nil, err
	}
	committed := make(map[brook.TopicPartition]int64)
	for _, p := range gs.Partitions {
		if p.Committed >= 0 {
			committed[p.TopicPartition] = p.Committed
		}
	}
	remaining := make(map[brook.TopicPartition]int64)
	for _, p := range t.Stats().Partitions {
		tp := brook.TopicPartition{Topic: t.Name(), Partition: p.Partition}
		from := p.FirstOffset
		if c, ok := committed[tp]; ok {
			from = max(c, p.FirstOffset)
		} else if start == brook.StartLatest {
			from = p.NextOffset
		}
		if from < p.NextOffset {
			remaining[tp] = p.NextOffset
		}
	}
	return remaining, nil
}
