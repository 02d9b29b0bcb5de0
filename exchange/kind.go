package exchange

import (
	"fmt"
	"strings"

	"github.com/brookmq/brook/internal/route"
)

// Kind is an exchange's type, with amqp091-go's strings.
type Kind string

// The exchange kinds.
const (
	// Direct delivers to the queues bound with a key equal to the
	// message's routing key.
	Direct Kind = "direct"
	// Fanout delivers to every bound queue, whatever the keys.
	Fanout Kind = "fanout"
	// Topic delivers to the queues whose binding key, a dotted pattern,
	// matches the routing key: "*" is exactly one word and "#" zero or
	// more, as in RabbitMQ.
	Topic Kind = "topic"
)

func parseKind(k Kind) (Kind, error) {
	switch k {
	case Direct, Fanout, Topic:
		return k, nil
	}
	return "", fmt.Errorf("exchange: unknown kind %q (want direct, fanout or topic)", string(k))
}

// matches reports whether a binding of kind k with binding key pattern
// takes a message with routing key key.
func (k Kind) matches(pattern, key string) bool {
	switch k {
	case Fanout:
		return true
	case Topic:
		return route.Match(pattern, key)
	}
	return pattern == key
}

// The topics and groups behind the names.
const (
	metaTopic       = "__brook_exchanges" // the declarations log
	exchangePrefix  = "x."
	queuePrefix     = "q."
	defaultTopic    = "x._default" // the default exchange "": no user name starts with '_'
	maxNameLen      = 240          // Kafka's 249, less the prefix and some room
	headerKey       = "brook.routing_key"
	headerExchange  = "brook.exchange"
	headerCorrelate = "brook.correlation_id"
	headerReplyTo   = "brook.reply_to"
)

// checkName checks an exchange or queue name: 1 to 240 characters of
// [a-zA-Z0-9._-], not starting with the reserved '_', so that "x."+name
// and "q."+name are valid topic and group names.
func checkName(name string) error {
	if name == "" || len(name) > maxNameLen || strings.HasPrefix(name, "_") {
		return fmt.Errorf("%w: %q", ErrInvalidName, name)
	}
	for _, c := range name {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-'
		if !ok {
			return fmt.Errorf("%w: %q", ErrInvalidName, name)
		}
	}
	return nil
}

func exchangeTopic(name string) string {
	if name == "" {
		return defaultTopic
	}
	return exchangePrefix + name
}

func queueGroup(name string) string { return queuePrefix + name }
