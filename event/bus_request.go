package event

import (
	"context"
	"errors"
	"strconv"

	"github.com/brookmq/brook"
)

// call is a pending Request. The reply consumer hands it its reply under
// the bus's lock: it removes the call from Bus.calls and sends to ch, which
// has room for one.
type call struct {
	ch  chan *Event
	seq uint64 // the request's number on this bus, in HeaderReplySeq
}

// Request publishes e to topic and waits for its reply: the seed's produce,
// then await consume(correlation_id). It sets e.ReplyTo to the bus's reply
// topic and, like Publish, e's correlation id (from ctx, else a new one)
// and audit log. The waiter is registered before e is published, so even
// an immediate reply is seen.
//
// The reply is the event the responder's handler returned, with the audit
// log of the whole round trip. A reply carrying an ErrorInfo is returned
// as a *RemoteError. Request also returns ctx.Err() when ctx ends first
// (a reply that comes later is a late reply), brook.ErrClosed when the bus
// closes, ErrPendingRequest when a Request with the same correlation id is
// already waiting on this bus, and Publish's errors.
func (b *Bus) Request(ctx context.Context, topic string, e *Event) (*Event, error) {
	if e == nil {
		return nil, brook.ErrNilMessage
	}
	if e.CorrelationID == "" {
		if id, ok := CorrelationIDFrom(ctx); ok {
			e.CorrelationID = id
		} else {
			e.CorrelationID = randomID()
		}
	}
	id := e.CorrelationID
	c := &call{ch: make(chan *Event, 1), seq: b.seq.Add(1)}
	if err := b.register(id, c); err != nil {
		return nil, err
	}
	e.ReplyTo = b.o.ReplyTopic
	err := b.publish(ctx, topic, e,
		brook.Header{Key: HeaderReplyInstance, Value: []byte(b.instance)},
		brook.Header{Key: HeaderReplySeq, Value: strconv.AppendUint(nil, c.seq, 10)})
	if err != nil {
		if r, ok := b.unregister(id, c); ok {
			return replyResult(r)
		}
		return nil, err
	}
	select {
	case r := <-c.ch:
		return replyResult(r)
	case <-ctx.Done():
		err = ctx.Err()
	case <-b.closing:
		err = brook.ErrClosed
	case <-b.done:
		err = b.replyErr
	}
	if r, ok := b.unregister(id, c); ok {
		return replyResult(r) // it came as the wait ended: still ours
	}
	return nil, err
}

// register records c as the pending call for id.
func (b *Bus) register(id string, c *call) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.closed:
		return brook.ErrClosed
	case b.replyErr != nil:
		return b.replyErr
	case b.calls[id] != nil:
		return ErrPendingRequest
	}
	b.calls[id] = c
	return nil
}

// unregister removes c unless the reply consumer already took it; then it
// returns the reply c was handed.
func (b *Bus) unregister(id string, c *call) (*Event, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.calls[id] == c {
		delete(b.calls, id)
		return nil, false
	}
	return <-c.ch, true
}

// replyResult is what Request returns for reply r.
func replyResult(r *Event) (*Event, error) {
	if r.Error != nil {
		return nil, &RemoteError{Code: r.Error.Code, Message: r.Error.Message, Event: r}
	}
	return r, nil
}

// runReplies runs the reply consumer until Close. If it stops on its own
// (the client or backend closed), pending and later Requests get its error.
func (b *Bus) runReplies() {
	err := b.replies.Run(context.Background(), b.onReply)
	b.mu.Lock()
	if err == nil {
		err = brook.ErrClosed
	}
	if !b.closed {
		b.log.Error("event: reply consumer stopped", "topic", b.o.ReplyTopic, "err", err)
	}
	b.replyErr = errors.Join(errors.New("event: reply consumer stopped"), err)
	b.mu.Unlock()
	close(b.done)
}

// onReply hands a reply to its pending Request. It ignores the replies
// addressed to another bus instance; one for this bus that nobody waits
// for is late: counted, and kept in Options.Store when set.
func (b *Bus) onReply(_ context.Context, m *brook.Message) error {
	if inst, ok := m.Header(HeaderReplyInstance); ok && string(inst) != b.instance {
		return nil
	}
	r, err := Decode(m)
	if err != nil {
		b.log.Warn("event: dropped a reply that is not an event", "err", err)
		return nil
	}
	var seq uint64
	if v, ok := m.Header(HeaderReplySeq); ok {
		seq, _ = strconv.ParseUint(string(v), 10, 64)
	}
	b.mu.Lock()
	c := b.calls[r.CorrelationID]
	if c != nil && (seq == 0 || seq == c.seq) {
		delete(b.calls, r.CorrelationID)
		c.ch <- r
		b.mu.Unlock()
		return nil
	}
	b.mu.Unlock()
	b.late.Add(1)
	if b.o.Store != nil {
		// Never wait for room: a full Block store must not stall the replies
		// of the requests still waiting.
		if err := b.o.Store.Put(b.noWait, r); err != nil {
			b.log.Warn("event: late reply not stored", "correlation_id", r.CorrelationID, "err", err)
		}
	}
	return nil
}
