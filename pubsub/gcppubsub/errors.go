package gcppubsub

import (
	"context"
	"errors"
	"fmt"

	"cloud.google.com/go/pubsub/v2"
	"github.com/brookmq/brook"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// mapErr turns a Pub/Sub error about topic into one that Brook's sentinels
// match under errors.Is, keeping the gRPC status in the message.
func mapErr(err error, topic string) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if errors.Is(err, pubsub.ErrOversizedMessage) {
		return &brook.TopicError{Topic: topic, Err: brook.ErrMessageTooLarge}
	}
	if errors.Is(err, pubsub.ErrPublisherStopped) {
		return brook.ErrClosed
	}
	switch status.Code(err) {
	case codes.NotFound:
		return &brook.TopicError{Topic: topic, Err: fmt.Errorf("%w (%v)", brook.ErrUnknownTopic, err)}
	case codes.AlreadyExists:
		return &brook.TopicError{Topic: topic, Err: brook.ErrTopicExists}
	case codes.Canceled:
		if errors.Is(err, context.Canceled) {
			return err
		}
	}
	return fmt.Errorf("gcppubsub: topic %q: %w", topic, err)
}
