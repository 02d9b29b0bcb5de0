package pubsub

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/brookmq/brook"
)

// The headers a dead letter carries, the same as the core consumer's.
const (
	HeaderDLQTopic     = "brook.dlq.topic"     // the topic the message came from
	HeaderDLQPartition = "brook.dlq.partition" // its partition, in decimal
	HeaderDLQOffset    = "brook.dlq.offset"    // its offset, in decimal
	HeaderDLQError     = "brook.dlq.error"     // the handler's last error
)

// maxBackoff caps the doubling retry wait, as the core consumer does.
const maxBackoff = 10 * time.Second

// wrap returns h inside the client's retries and error policy. The backend
// sees a handler that does not panic, returns nil for a message to commit,
// ctx's error when it was cancelled before the message was handled, and a
// *brook.HandlerError to stop Run.
func (s *Subscription) wrap(h brook.Handler) brook.Handler {
	o := &s.opts
	return func(ctx context.Context, m *brook.Message) error {
		backoff := o.RetryBackoff
		var err error
		for attempt := 1; ; attempt++ {
			if err = callHandler(ctx, h, m); err == nil {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err() // cancelled: m was not handled
			}
			if attempt >= o.MaxAttempts {
				break
			}
			if !sleepCtx(ctx, backoff) {
				return ctx.Err()
			}
			backoff = min(2*backoff, maxBackoff)
		}
		herr := &brook.HandlerError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Attempts: o.MaxAttempts, Err: err}
		return s.onFailure(ctx, m, herr)
	}
}

// onFailure applies the ErrorPolicy to a message whose handler failed on
// every attempt: nil lets the backend commit past m.
func (s *Subscription) onFailure(ctx context.Context, m *brook.Message, herr *brook.HandlerError) error {
	s.c.log.Error("pubsub: handler failed", "client", s.c.name, "group", s.group,
		"topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "attempts", herr.Attempts, "err", herr.Err)
	switch s.opts.ErrorPolicy {
	case brook.SkipOnError:
		return nil
	case brook.DeadLetterOnError:
		err := s.c.deadLetter(ctx, s.opts.DeadLetterTopic, m, herr)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		herr = &brook.HandlerError{Topic: herr.Topic, Partition: herr.Partition, Offset: herr.Offset, Attempts: herr.Attempts,
			Err: fmt.Errorf("%w (dead-letter publish failed: %w)", herr.Err, err)}
	}
	s.mu.Lock()
	if s.failure == nil {
		s.failure = herr
	}
	s.mu.Unlock()
	return herr
}

// deadLetter publishes a copy of m to topic, creating it with one
// partition when missing, with headers naming its origin and the error.
func (c *Client) deadLetter(ctx context.Context, topic string, m *brook.Message, herr *brook.HandlerError) error {
	if err := c.b.EnsureTopic(ctx, topic, 1); err != nil && !errors.Is(err, brook.ErrTopicExists) {
		return err
	}
	headers := make([]brook.Header, 0, len(m.Headers)+4)
	headers = append(headers, m.Headers...)
	headers = append(headers,
		brook.Header{Key: HeaderDLQTopic, Value: []byte(m.Topic)},
		brook.Header{Key: HeaderDLQPartition, Value: strconv.AppendInt(nil, int64(m.Partition), 10)},
		brook.Header{Key: HeaderDLQOffset, Value: strconv.AppendInt(nil, m.Offset, 10)},
		brook.Header{Key: HeaderDLQError, Value: []byte(herr.Err.Error())},
	)
	dl := &brook.Message{Topic: topic, Partition: brook.PartitionByKey, Key: m.Key, Value: m.Value,
		Timestamp: m.Timestamp, Headers: headers}
	if err := c.b.Publish(ctx, topic, []*brook.Message{dl}); err != nil {
		return err
	}
	c.log.Warn("pubsub: message sent to the dead-letter topic", "client", c.name, "dlq", topic,
		"topic", m.Topic, "partition", m.Partition, "offset", m.Offset)
	return nil
}

// callHandler calls h, turning a panic into a *brook.PanicError.
func callHandler(ctx context.Context, h brook.Handler, m *brook.Message) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &brook.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return h(ctx, m)
}

// sleepCtx waits d or until ctx ends, and reports whether d passed.
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
