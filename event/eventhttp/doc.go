// Package eventhttp is an HTTP front for an event.Bus, in place of the
// seed's FastAPI integration: other programs publish events, make
// requests and collect results over plain HTTP and JSON.
//
//	POST /events/{topic}                  publish an event: 202 {correlation_id, topic, partition, offset}
//	POST /requests/{topic}?timeout=5s     request/reply: 200 with the reply, 504 on timeout, 502 on an error reply
//	GET  /results/{correlation_id}?wait=30s  take a stored event (Options.Store): 200, or 204 when none came
//
// The body is an event's JSON ({"event": "pricing.quote.get", "data": ...,
// optionally "correlation_id"), sent as application/json. Errors are JSON
// too, {"error": "..."}, with the status that says what went wrong: 400 a
// bad body, event name or duration; 403 a topic outside Options.Topics
// (topics starting with "__" are always refused); 404 an unknown topic or
// route; 405 a wrong method; 409 a request whose correlation id is already
// pending; 413 a body over MaxBodyBytes; 415 a body that is not JSON; 503
// a bus that is closed, or a request cut short by shutdown.
//
// Wrap the handler in Correlation so that an X-Correlation-ID header
// becomes the id of the events a call publishes (or a new id is made), and
// comes back in the response. A "traceparent" header is passed on to the
// events as well.
//
// # Lifecycle
//
// A client that disconnects ends its request: the Request it was waiting
// on returns and leaves nothing pending. To shut down, in this order:
//
//  1. http.Server.Shutdown(ctx): stop accepting calls and wait for those in
//     flight. Give the server a BaseContext that RegisterOnShutdown cancels,
//     so that calls waiting on a reply or a result end at once (with 503)
//     instead of at their timeout.
//  2. event.Bus.Close: stop its Listens and its reply consumer.
//  3. pubsub.Client.Close: release the backend.
//
// Closing the bus first would answer the calls in flight with 503 while
// the server still accepts new ones; closing the client first would stop
// the bus under its own feet.
package eventhttp
