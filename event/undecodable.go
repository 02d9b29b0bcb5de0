package event

import (
	"context"
	"errors"
	"strconv"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
)

// UndecodablePolicy is what Listen does with a message that is not an
// event (Decode returns a *DecodeError). No retry changes such a message,
// and it cannot be a request, so nobody waits for an answer to it: by
// default it is set aside rather than stopping the service.
type UndecodablePolicy uint8

const (
	// UndecodableDeadLetter publishes the message, unchanged, to the
	// dead-letter topic (Options.Consumer.DeadLetterTopic, else the group
	// followed by ".dlq"; created with one partition when missing) with
	// pubsub's dead-letter headers (pubsub.HeaderDLQTopic and the others,
	// the error in pubsub.HeaderDLQError), logs it at Warn and commits past
	// it. If that publish fails, the error goes to the subscription
	// (retries, then Options.Consumer's ErrorPolicy). With group "" and no
	// DeadLetterTopic it acts as UndecodableSkip.
	UndecodableDeadLetter UndecodablePolicy = iota
	// UndecodableSkip logs the message at Error and commits past it.
	UndecodableSkip
	// UndecodableFail hands the *DecodeError to the subscription, as a
	// failing handler: its retries, then Options.Consumer's ErrorPolicy
	// (StopOnError by default: Listen returns a *brook.HandlerError).
	UndecodableFail
)

// undecodable applies Options.Undecodable to m, which Listen of group
// could not decode: nil commits past it.
func (b *Bus) undecodable(ctx context.Context, group string, m *brook.Message, derr *DecodeError) error {
	topic := b.o.Consumer.DeadLetterTopic
	if topic == "" && group != "" {
		topic = group + ".dlq"
	}
	switch {
	case b.o.Undecodable == UndecodableFail:
		return derr
	case b.o.Undecodable == UndecodableSkip || topic == "":
		b.log.Error("event: skipped a message that is not an event", "service", b.o.Service, "group", group,
			"topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", derr.Err)
		return nil
	}
	if err := b.c.CreateTopic(ctx, topic, 1); err != nil && !errors.Is(err, brook.ErrTopicExists) {
		return errors.Join(derr, err)
	}
	headers := append(m.Headers[:len(m.Headers):len(m.Headers)],
		brook.Header{Key: pubsub.HeaderDLQTopic, Value: []byte(m.Topic)},
		brook.Header{Key: pubsub.HeaderDLQPartition, Value: strconv.AppendInt(nil, int64(m.Partition), 10)},
		brook.Header{Key: pubsub.HeaderDLQOffset, Value: strconv.AppendInt(nil, m.Offset, 10)},
		brook.Header{Key: pubsub.HeaderDLQError, Value: []byte(derr.Error())},
	)
	dl := &brook.Message{Partition: brook.PartitionByKey, Key: m.Key, Value: m.Value, Timestamp: m.Timestamp, Headers: headers}
	if err := b.c.Publish(ctx, topic, dl); err != nil {
		return errors.Join(derr, err)
	}
	b.log.Warn("event: sent a message that is not an event to the dead-letter topic", "service", b.o.Service,
		"group", group, "dlq", topic, "topic", m.Topic, "partition", m.Partition, "offset", m.Offset, "err", derr.Err)
	return nil
}
