package event

import (
	"context"
	"encoding/json"
	"fmt"
)

// Handler handles an event. The event it returns, if any, is the reply:
// Bus.Listen publishes it to the request's ReplyTo with the request's
// correlation id (when it has none of its own). A nil event means no reply.
// An error becomes an error reply (an ErrorInfo) for a request, and is
// returned to the subscription (retries, ErrorPolicy) for any other event.
type Handler interface {
	HandleEvent(ctx context.Context, e *Event) (*Event, error)
}

// HandlerFunc is a function used as a Handler.
type HandlerFunc func(ctx context.Context, e *Event) (*Event, error)

// HandleEvent calls f.
func (f HandlerFunc) HandleEvent(ctx context.Context, e *Event) (*Event, error) { return f(ctx, e) }

// Middleware wraps a Handler, as Watermill's HandlerMiddleware and
// net/http's middleware do: logging, metrics, recovery, authorization.
type Middleware func(Handler) Handler

// Typed adapts a function on Go types to a Handler, as Watermill's CQRS
// handlers do, in JSON: the event's Data is decoded into In (a failure is an
// *ErrorInfo with CodeBadRequest), and Out is encoded as the Data of the
// reply, which keeps the request's name and correlation id.
func Typed[In, Out any](f func(context.Context, In) (Out, error)) HandlerFunc {
	return func(ctx context.Context, e *Event) (*Event, error) {
		var in In
		if err := e.Decode(&in); err != nil {
			return nil, &ErrorInfo{Code: CodeBadRequest, Message: err.Error()}
		}
		out, err := f(ctx, in)
		if err != nil {
			return nil, err
		}
		data, err := json.Marshal(out)
		if err != nil {
			return nil, fmt.Errorf("event: encode %s reply: %w", e.Name, err)
		}
		r := e.reply()
		r.Data = data
		return r, nil
	}
}

type ctxKey int

const (
	correlationKey ctxKey = iota
	traceparentKey
)

// WithCorrelationID returns a context carrying id. Bus.Publish and
// Bus.Request give it to events that have no correlation id; Bus.Listen and
// Router.Handle put each handled event's id there, so that what a handler
// publishes stays in the conversation.
func WithCorrelationID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, correlationKey, id)
}

// CorrelationIDFrom returns the correlation id ctx carries, and whether it
// carries one.
func CorrelationIDFrom(ctx context.Context) (string, bool) {
	id, ok := ctx.Value(correlationKey).(string)
	return id, ok && id != ""
}

// WithTraceparent returns a context carrying a W3C traceparent value. Bus
// sends it in the HeaderTraceparent header of what it publishes; Bus.Listen
// puts each handled message's traceparent there, so a trace passes through
// a request, its reply and whatever the handler publishes.
func WithTraceparent(ctx context.Context, traceparent string) context.Context {
	return context.WithValue(ctx, traceparentKey, traceparent)
}

// TraceparentFrom returns the traceparent ctx carries, and whether it
// carries one.
func TraceparentFrom(ctx context.Context) (string, bool) {
	tp, ok := ctx.Value(traceparentKey).(string)
	return tp, ok && tp != ""
}
