package exchange

import "errors"

// Sentinel errors. Callers match them with errors.Is; the calls wrap them
// with the name involved.
var (
	// ErrUnknownExchange is returned by ExchangeDelete, QueueBind,
	// QueueUnbind and Publish for an exchange that is not declared.
	ErrUnknownExchange = errors.New("exchange: unknown exchange")

	// ErrUnknownQueue is returned by QueueBind, QueueUnbind, QueueDelete and
	// Consume for a queue that is not declared, and by a running Consume
	// whose queue was deleted.
	ErrUnknownQueue = errors.New("exchange: unknown queue")

	// ErrExchangeExists is returned by ExchangeDeclare when the exchange
	// exists with another kind or partition count (AMQP's
	// PRECONDITION_FAILED).
	ErrExchangeExists = errors.New("exchange: exchange exists with another kind or partition count")

	// ErrUnroutable is returned by Publish for a Mandatory publishing that no
	// binding matches (AMQP's basic.return); nothing was written.
	ErrUnroutable = errors.New("exchange: unroutable mandatory message")

	// ErrInvalidName is returned by every declaring call for an exchange or
	// queue name that is empty, starts with the reserved '_', or is not made
	// of 1 to 240 characters of [a-zA-Z0-9._-], and for operations the
	// default exchange "" does not allow (declaring, deleting, binding).
	ErrInvalidName = errors.New("exchange: invalid name")
)
