package brook

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"time"
)

// Handler processes one message. Returning nil commits it (unless
// ManualCommit is set); an error or a panic is retried and then handled by
// the consumer's ErrorPolicy. ctx ends when the consumer is closed, its Run
// context ends, or it lost the partition. A handler must return soon after
// ctx ends: Close, and the hand-over after an eviction (with its OnLost
// callback), wait for the handlers in progress. A handler may call its
// consumer's Close to stop it: Close then returns at once, and the
// consumer stops when the handler returns (see Consumer.Close).
type Handler func(ctx context.Context, m *Message) error

// handle runs the handler on m with retries and the error policy. done is
// false when the loop was cancelled before m was handled.
func (l *partLoop) handle(m *Message) (done bool, err error) {
	opts := l.opts
	backoff := opts.RetryBackoff
	var herr error
	attempt := 0
	for attempt < opts.MaxAttempts {
		attempt++
		// Under Poll too: the handler then waits for a Poll to take m and
		// acknowledge it, and a consumer that stops polling stalls.
		l.progress.Add(1) // odd: in the handler
		herr = callHandler(l.ctx, l.h, m)
		l.progress.Add(1)
		if herr == nil {
			return true, nil
		}
		if l.ctx.Err() != nil {
			return false, nil // cancelled: m was not handled
		}
		if attempt < opts.MaxAttempts && !sleepCtx(l.ctx, backoff) {
			return false, nil
		}
		backoff = min(2*backoff, 10*time.Second)
	}
	failure := &HandlerError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Attempts: attempt, Err: herr}
	return l.c.onFailure(m, failure)
}

func callHandler(ctx context.Context, h Handler, m *Message) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return h(ctx, m)
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// onFailure applies the ErrorPolicy to a message whose handler failed on
// every attempt. done reports whether the loop may commit past m.
func (c *Consumer) onFailure(m *Message, herr *HandlerError) (done bool, err error) {
	c.b.log.Error("brook: handler failed", "group", c.groupID, "consumer", c.name,
		"topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", herr.Err)
	switch c.opts.ErrorPolicy {
	case SkipOnError:
		return true, nil
	case DeadLetterOnError:
		if err := c.deadLetter(m, herr); err != nil {
			return false, fmt.Errorf("%w (dead-letter publish failed: %w)", herr, err)
		}
		return true, nil
	}
	return false, herr
}

// deadLetter publishes a copy of m to the dead-letter topic, creating it
// with one partition if needed.
func (c *Consumer) deadLetter(m *Message, herr *HandlerError) error {
	topic := c.opts.DeadLetterTopic
	if _, err := c.b.CreateTopic(topic, TopicConfig{Partitions: 1}); err != nil && !errors.Is(err, ErrTopicExists) {
		return err
	}
	dl := &Message{Topic: topic, Partition: PartitionByKey, Key: m.Key, Value: m.Value, Timestamp: m.Timestamp,
		Headers: append(append([]Header(nil), m.Headers...),
			Header{Key: "brook.dlq.topic", Value: []byte(m.Topic)},
			Header{Key: "brook.dlq.partition", Value: fmt.Appendf(nil, "%d", m.Partition)},
			Header{Key: "brook.dlq.offset", Value: fmt.Appendf(nil, "%d", m.Offset)},
			Header{Key: "brook.dlq.error", Value: []byte(herr.Err.Error())},
		)}
	p := &Producer{b: c.b, name: c.name + "-dlq"}
	return p.Publish(topic, dl)
}
