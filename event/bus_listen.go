package event

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/brookmq/brook"
)

// Listen joins group for topics and hands each event to h until ctx ends
// or the bus closes (then it returns nil): the seed's init_consumer, run as
// `go bus.Listen(ctx, group, topics, router)`. Members of one group share
// the partitions; an empty group reads every partition and commits nothing.
//
// The handler's context carries the event's correlation id and traceparent,
// so what it publishes stays in the conversation. Its event gains a
// "handle" audit entry before h runs. For a request (ReplyTo set), what h
// returns goes to ReplyTo (see Reply): the returned event, or an error
// reply (an ErrorInfo, see the Code constants) when h fails; then the
// request is committed. A handler that returns neither event nor error
// sends no reply now: it (or whoever it handed the request to) may call
// Reply later. A request whose handler fails because ctx ended (Listen
// stopping) is not answered and not committed: the next member of the
// group handles it again. For any other event, what h returns is dropped
// and its error goes to the subscription: retries, then
// Options.Consumer's ErrorPolicy. A message that is not an event (a
// *DecodeError) goes where Options.Undecodable says: by default to the
// dead-letter topic, at once, and Listen goes on.
//
// Delivery is at-least-once: after a crash or a rebalance h may see an
// event again. Listen returns the subscription's errors (a
// *brook.HandlerError under StopOnError) and brook.ErrClosed when called
// after Close.
func (b *Bus) Listen(ctx context.Context, group string, topics []string, h Handler) error {
	sub, err := b.c.Subscribe(ctx, group, topics, b.o.Consumer)
	if err != nil {
		return err
	}
	defer sub.Close()
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return brook.ErrClosed
	}
	b.listens[sub] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(b.listens, sub)
		b.mu.Unlock()
	}()
	err = sub.Run(ctx, func(ctx context.Context, m *brook.Message) error { return b.handle(ctx, group, m, h) })
	if errors.Is(err, brook.ErrClosed) && b.check() != nil {
		return nil // the bus closed before Run began
	}
	return err
}

// handle runs h on the event m carries and sends the reply of a request.
func (b *Bus) handle(ctx context.Context, group string, m *brook.Message, h Handler) error {
	e, err := Decode(m)
	var derr *DecodeError
	if errors.As(err, &derr) {
		return b.undecodable(ctx, group, m, derr)
	}
	if err != nil {
		return err
	}
	ctx = WithCorrelationID(ctx, e.CorrelationID)
	if tp, ok := m.Header(HeaderTraceparent); ok {
		ctx = WithTraceparent(ctx, string(tp))
	}
	e.addAudit(AuditEntry{
		Service: b.o.Service, Action: ActionHandle, Event: e.Name,
		Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Time: time.Now().UTC(),
	}, b.o.MaxAudit)
	request := *e // as it came, before h may change it
	request.AuditLog = slices.Clone(e.AuditLog)
	b.handled.Add(1)
	reply, herr := h.HandleEvent(ctx, e)
	if request.ReplyTo == "" || (herr != nil && ctx.Err() != nil) {
		return herr // an event, or a request cut short: not committed, so handled again
	}
	if herr != nil {
		reply = request.reply()
		reply.Error = errorInfo(herr)
		reply.AuditLog[len(reply.AuditLog)-1].Error = herr.Error()
	} else if reply == nil {
		return nil // no reply now; Reply may send one later
	}
	return b.Reply(ctx, &request, reply)
}

// Reply sends reply to request's ReplyTo, as Listen does with what a
// handler returns: for a request kept to be answered later (in a Store,
// say) by a handler that returned no event. A reply without a correlation
// id takes the request's; its audit log starts with the request's; it
// reaches the bus instance that made the request (when request was decoded
// from a message, which recorded the instance) and carries its traceparent.
// It returns Publish's errors, and an error when request has no ReplyTo.
func (b *Bus) Reply(ctx context.Context, request, reply *Event) error {
	if err := b.check(); err != nil {
		return err
	}
	if request == nil || reply == nil {
		return brook.ErrNilMessage
	}
	if request.ReplyTo == "" {
		return fmt.Errorf("event: %s %s is not a request: no reply_to", request.Name, request.CorrelationID)
	}
	if reply.CorrelationID == "" {
		reply.CorrelationID = request.CorrelationID
	}
	if !hasPrefix(reply.AuditLog, request.AuditLog) {
		reply.AuditLog = append(slices.Clone(request.AuditLog), reply.AuditLog...)
	}
	replyTo := request.ReplyTo
	reply.ReplyTo = "" // a reply is not a request
	var extra []brook.Header
	if v := request.via.instance; v != nil {
		extra = append(extra, brook.Header{Key: HeaderReplyInstance, Value: v})
	}
	if v := request.via.seq; v != nil {
		extra = append(extra, brook.Header{Key: HeaderReplySeq, Value: v})
	}
	if _, ok := TraceparentFrom(ctx); !ok && request.via.traceparent != nil {
		ctx = WithTraceparent(ctx, string(request.via.traceparent))
	}
	return b.publish(ctx, replyTo, reply, extra...)
}

// hasPrefix reports whether log starts with the entries of prefix.
func hasPrefix(log, prefix []AuditEntry) bool {
	if len(log) < len(prefix) {
		return false
	}
	for i := range prefix {
		a, p := log[i], prefix[i]
		if a.Service != p.Service || a.Action != p.Action || a.Topic != p.Topic ||
			a.Partition != p.Partition || a.Offset != p.Offset || !a.Time.Equal(p.Time) {
			return false
		}
	}
	return true
}
