package kafka

import (
	"context"
	"errors"
	"fmt"

	"github.com/brookmq/brook"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
)

// mapErr turns what kgo or kadm returned for topic into an error that
// Brook's sentinels match under errors.Is, keeping the Kafka error in the
// message. Errors with no sentinel are returned wrapped, unchanged.
func mapErr(err error, topic string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.UnknownTopicOrPartition), errors.Is(err, kerr.UnknownTopicID):
		return &brook.TopicError{Topic: topic, Err: brook.ErrUnknownTopic}
	case errors.Is(err, kerr.TopicAlreadyExists):
		return &brook.TopicError{Topic: topic, Err: brook.ErrTopicExists}
	case errors.Is(err, kerr.MessageTooLarge), errors.Is(err, kerr.RecordListTooLarge):
		return &brook.TopicError{Topic: topic, Err: brook.ErrMessageTooLarge}
	case errors.Is(err, kerr.InvalidTopicException):
		return &brook.TopicError{Topic: topic, Err: brook.ErrInvalidTopicName}
	case errors.Is(err, kerr.InvalidPartitions):
		return &brook.TopicError{Topic: topic, Err: brook.ErrInvalidPartition}
	case errors.Is(err, kgo.ErrClientClosed):
		return brook.ErrClosed
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	if topic == "" {
		return fmt.Errorf("kafka: %w", err)
	}
	return fmt.Errorf("kafka: topic %q: %w", topic, err)
}

// mapGroupErr is mapErr for the group calls: a group with members cannot be
// deleted, and one Kafka does not know is brook.ErrUnknownGroup.
func mapGroupErr(err error, group string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, kerr.NonEmptyGroup):
		return fmt.Errorf("%w: %q (%w)", brook.ErrGroupActive, group, err)
	case errors.Is(err, kerr.GroupIDNotFound):
		return fmt.Errorf("%w: %q", brook.ErrUnknownGroup, group)
	case errors.Is(err, kerr.InvalidGroupID):
		return fmt.Errorf("%w: %q", brook.ErrInvalidGroupID, group)
	case errors.Is(err, kerr.IllegalGeneration), errors.Is(err, kerr.UnknownMemberID),
		errors.Is(err, kerr.RebalanceInProgress), errors.Is(err, kerr.FencedInstanceID):
		return fmt.Errorf("%w: group %q (%w)", brook.ErrFenced, group, err)
	}
	return mapErr(err, "")
}
