// Package event is the event layer microservice teams build around Kafka,
// native to Brook and portable over every pubsub backend with offsets:
// events with correlation ids and an audit log, routed by dotted names,
// request/reply over topics, and a store to take events from when code
// wants them.
//
// It is seed 002's library in Go. An Event is the seed's EventObject, with
// the same JSON field names, so a service using the seed's Python library
// can share topics with a Go service. A Router is the seed's EventRouter:
// NewRouter, Bind, Include and Dispatch walk "test.return" to the router
// "test" and its handler "return", with RabbitMQ's "*" and "#" on top. A
// Bus publishes (the seed's produce), listens (init_consumer, as a Handler
// per event, with retries and dead letters from pubsub) and makes requests:
// produce, then wait for the reply with the same correlation id. A Store is
// the seed's consumer_storage, with Poll, Receive, Consume and ConsumeAll.
// Package eventhttp is the FastAPI integration.
//
// # On the wire
//
// An event travels as its JSON in the message value. The headers
// HeaderEvent, HeaderCorrelationID and HeaderReplyTo copy those fields; the
// key is the correlation id (Options.Key), so one conversation stays in
// order on one partition. The audit log gains an entry per hop: "publish"
// (with the topic, partition and offset written), "handle", and the reply's
// "publish".
//
// # Request/reply
//
// Bus.Request follows NATS's respMux: each Bus tails one reply topic for
// all its requests, rather than a subscriber per request as Watermill's
// requestreply does. The waiter is registered before the request is
// published, the wait honours ctx, an error reply comes back as a
// *RemoteError, and a reply that comes after its Request gave up is counted
// (BusStats.LateReplies) and kept in Options.Store when one is set. Bus
// instances may share a reply topic: each ignores the replies addressed to
// another (HeaderReplyInstance).
//
// A request is a durable message: a responder that is down when it is sent
// handles it when it comes back, and ctx alone bounds how long the requester
// waits. There is no "no responders" error.
//
// # Caveats
//
// A Store is at-most-once across a crash: an event put into it has been
// committed by the Listen that fed it, and the Store lives in memory. Work
// that must survive a crash belongs in a Listen handler (a Router), which
// commits only after the handler returns.
//
// A message that is not an event cannot be retried into one: Listen
// sends it to the dead-letter topic by default and goes on
// (Options.Undecodable).
//
// Listen is at-least-once: a handler may see an event again after a crash
// or a rebalance, and a requester may then get a second reply, which it
// counts as late.
package event
