package exchange

import (
	"context"
	"fmt"
	"strings"

	"github.com/brookmq/brook"
)

// Publishing is a message to publish, amqp091-go's Publishing reduced to
// what a log carries.
type Publishing struct {
	// Body is the message's value.
	Body []byte
	// Headers are carried as they are, after the headers this package sets
	// (brook.routing_key, brook.exchange, and the two below when set).
	Headers []brook.Header
	// CorrelationID, when set, is carried in the header brook.correlation_id.
	CorrelationID string
	// ReplyTo, when set, is carried in the header brook.reply_to.
	ReplyTo string
	// Mandatory makes a publishing that no binding matches fail with
	// ErrUnroutable instead of being dropped.
	Mandatory bool
}

// Publish publishes p to exchange with routing key key: one append to the
// exchange's topic, keyed by the routing key (so order holds per key),
// however many queues are bound. With no matching binding nothing is
// written: Publish returns ErrUnroutable when p.Mandatory is set, nil
// otherwise (AMQP drops the message). The default exchange "" routes to the
// queue named key. Routing uses this Conn's view of the bindings: Sync first
// to see another process's latest declarations. It returns ErrInvalidName,
// ErrUnknownExchange, brook.ErrClosed, or the backend's error
// (brook.ErrMessageTooLarge, ...).
func (c *Conn) Publish(ctx context.Context, exchange, key string, p Publishing) error {
	if exchange != "" {
		if err := checkName(exchange); err != nil {
			return err
		}
	}
	if err := c.known(exchange, ""); err != nil {
		return err
	}
	var ok bool
	c.view(func(s *state) { ok = s.routable(exchange, key) })
	if !ok {
		if p.Mandatory {
			return fmt.Errorf("%w: exchange %q, key %q", ErrUnroutable, exchange, key)
		}
		return nil
	}
	topic := exchangeTopic(exchange)
	m := &brook.Message{Topic: topic, Partition: brook.PartitionByKey, Key: []byte(key), Value: p.Body}
	m.Headers = make([]brook.Header, 0, len(p.Headers)+4)
	m.Headers = append(m.Headers,
		brook.Header{Key: headerKey, Value: []byte(key)},
		brook.Header{Key: headerExchange, Value: []byte(exchange)})
	if p.CorrelationID != "" {
		m.Headers = append(m.Headers, brook.Header{Key: headerCorrelate, Value: []byte(p.CorrelationID)})
	}
	if p.ReplyTo != "" {
		m.Headers = append(m.Headers, brook.Header{Key: headerReplyTo, Value: []byte(p.ReplyTo)})
	}
	m.Headers = append(m.Headers, p.Headers...)
	if err := c.c.Publish(ctx, topic, m); err != nil {
		return fmt.Errorf("exchange: publish to %q: %w", exchange, err)
	}
	return nil
}

// RoutingKey returns the routing key m was published with: its header
// brook.routing_key, else its key.
func RoutingKey(m *brook.Message) string {
	if v, ok := m.Header(headerKey); ok {
		return string(v)
	}
	return string(m.Key)
}

// ExchangeName returns the name of the exchange m was published to ("" for
// the default exchange): the one its topic belongs to, else (a dead letter,
// a copy) its header brook.exchange.
func ExchangeName(m *brook.Message) string {
	if name, ok := exchangeOf(m.Topic); ok {
		return name
	}
	v, _ := m.Header(headerExchange)
	return string(v)
}

// exchangeOf returns the exchange whose topic is topic, and whether topic
// is an exchange's.
func exchangeOf(topic string) (string, bool) {
	if topic == defaultTopic {
		return "", true
	}
	if name, ok := strings.CutPrefix(topic, exchangePrefix); ok && checkName(name) == nil {
		return name, true
	}
	return "", false
}
