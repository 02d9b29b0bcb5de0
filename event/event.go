package event

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/brookmq/brook"
)

// The headers an event's message carries beside its JSON value. The first
// three copy fields of the Event, so that a consumer can filter or log
// without decoding the value; the others are set by the Bus.
const (
	HeaderEvent         = "brook.event"          // Event.Name
	HeaderCorrelationID = "brook.correlation_id" // Event.CorrelationID
	HeaderReplyTo       = "brook.reply_to"       // Event.ReplyTo
	HeaderService       = "brook.service"        // the publishing bus's Options.Service
	HeaderReplyInstance = "brook.reply_instance" // the requesting bus's instance id, copied onto the reply
	HeaderReplySeq      = "brook.reply_seq"      // the request's number on that bus, copied onto the reply
	HeaderTraceparent   = "traceparent"          // W3C trace context, passed through from request to reply
)

// Audit actions.
const (
	ActionPublish = "publish" // the event was written to a topic (a reply too)
	ActionHandle  = "handle"  // a Listen handler ran on it
)

// Event is the envelope services exchange: the seed's EventObject. Its JSON
// uses the seed's field names, so a service written with the seed's Python
// library and a Go service can talk over the same Kafka topics.
//
// An Event is not safe for concurrent use: the Bus writes CorrelationID,
// ReplyTo and AuditLog of the event it is given.
type Event struct {
	// CorrelationID ties the events of one conversation together; a reply
	// has its request's. Bus.Publish fills it in when it is empty: from the
	// context (WithCorrelationID), else a new random id.
	CorrelationID string `json:"correlation_id"`
	// Name is the dotted event name a Router walks ("test.return").
	Name string `json:"event"`
	// Data is the payload, any JSON value.
	Data json.RawMessage `json:"data,omitempty"`
	// AuditLog lists where the event has been, oldest first.
	AuditLog []AuditEntry `json:"audit_log,omitempty"`
	// ReplyTo is the topic a reply goes to; Bus.Request sets it.
	ReplyTo string `json:"reply_to,omitempty"`
	// Error is set on a reply whose handler failed; Bus.Request turns it
	// into a *RemoteError.
	Error *ErrorInfo `json:"error,omitempty"`

	via via // what Decode read from the headers, for Bus.Reply
}

// via is what a decoded request's message said about its requester, so
// that a reply sent later (Bus.Reply) reaches the right bus instance.
type via struct {
	instance, seq, traceparent []byte
}

// AuditEntry is one hop of an event: a publish or a handle.
type AuditEntry struct {
	Service   string    `json:"service"`
	Action    string    `json:"action"` // ActionPublish (also for a reply) or ActionHandle
	Event     string    `json:"event"`  // the event's name at that hop
	Topic     string    `json:"topic"`
	Partition int       `json:"partition"`
	Offset    int64     `json:"offset"`
	Time      time.Time `json:"time"`
	Error     string    `json:"error,omitempty"` // a handle that failed
}

// ErrorInfo is a failure carried by a reply, as the Nats-Service-Error
// headers of NATS micro carry one. It is an error itself: a handler that
// returns an *ErrorInfo chooses the code its caller sees.
type ErrorInfo struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error codes the Bus sets on an error reply when the handler's error does
// not carry its own (an *ErrorInfo or a *RemoteError).
const (
	CodeBadRequest = "bad_request" // the request's data did not decode (Typed)
	CodeNoRoute    = "no_route"    // ErrNoRoute: no handler for the event's name
	CodeInternal   = "internal"    // any other error
)

// Error returns the code and the message.
func (e *ErrorInfo) Error() string { return e.Code + ": " + e.Message }

// errNoName is the DecodeError cause for a value without an event name.
var errNoName = errors.New(`no "event" name`)

// New returns an event named name whose Data is data encoded as JSON (no
// Data when data is nil; a json.RawMessage is taken as it is, after a
// validity check). Its CorrelationID is left empty for Bus.Publish to fill.
func New(name string, data any) (*Event, error) {
	if name == "" {
		return nil, errors.New("event: empty event name")
	}
	e := &Event{Name: name}
	if data != nil {
		b, err := json.Marshal(data)
		if err != nil {
			return nil, fmt.Errorf("event: encode %s data: %w", name, err)
		}
		e.Data = b
	}
	return e, nil
}

// Decode decodes the event's Data into v, as json.Unmarshal does. An event
// without Data leaves v as it is and returns nil, as JSON null would.
func (e *Event) Decode(v any) error {
	if len(e.Data) == 0 {
		return nil
	}
	if err := json.Unmarshal(e.Data, v); err != nil {
		return fmt.Errorf("event: decode %s data: %w", e.Name, err)
	}
	return nil
}

// Decode returns the event a message carries. A value that is not an
// event's JSON object, or one without an "event" name, is a *DecodeError.
// An empty correlation id is taken from the header HeaderCorrelationID.
// When the message names its publishing service (HeaderService, set by a
// Bus), the event's audit log gains that hop's "publish" entry, with the
// topic, partition, offset and timestamp the message was written at: the
// publisher could not put them into the value it wrote.
func Decode(m *brook.Message) (*Event, error) {
	var e Event
	err := json.Unmarshal(m.Value, &e)
	if err == nil && e.Name == "" {
		err = errNoName
	}
	if err != nil {
		return nil, &DecodeError{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Err: err}
	}
	if e.CorrelationID == "" {
		if v, ok := m.Header(HeaderCorrelationID); ok {
			e.CorrelationID = string(v)
		}
	}
	e.via.instance, _ = m.Header(HeaderReplyInstance)
	e.via.seq, _ = m.Header(HeaderReplySeq)
	e.via.traceparent, _ = m.Header(HeaderTraceparent)
	if svc, ok := m.Header(HeaderService); ok {
		e.AuditLog = append(e.AuditLog, publishEntry(string(svc), e.Name, m))
	}
	return &e, nil
}

// publishEntry is the audit entry of m's publish by service.
func publishEntry(service, name string, m *brook.Message) AuditEntry {
	return AuditEntry{
		Service: service, Action: ActionPublish, Event: name,
		Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Time: m.Timestamp.UTC(),
	}
}

// addAudit appends entry, keeping at most max entries (the newest).
func (e *Event) addAudit(entry AuditEntry, max int) {
	e.AuditLog = append(e.AuditLog, entry)
	if max > 0 && len(e.AuditLog) > max {
		e.AuditLog = slices.Delete(e.AuditLog, 0, len(e.AuditLog)-max)
	}
}

// message encodes e for topic, with the copies of its fields in headers,
// then extra headers, under key.
func (e *Event) message(topic string, key []byte, extra ...brook.Header) (*brook.Message, error) {
	value, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("event: encode %s: %w", e.Name, err)
	}
	m := brook.CreateMessage(topic, value, brook.PartitionByKey)
	m.Key = key
	m.Headers = make([]brook.Header, 0, 3+len(extra))
	m.Headers = append(m.Headers,
		brook.Header{Key: HeaderEvent, Value: []byte(e.Name)},
		brook.Header{Key: HeaderCorrelationID, Value: []byte(e.CorrelationID)})
	if e.ReplyTo != "" {
		m.Headers = append(m.Headers, brook.Header{Key: HeaderReplyTo, Value: []byte(e.ReplyTo)})
	}
	m.Headers = append(m.Headers, extra...)
	return m, nil
}

// reply returns the start of a reply to e: same correlation id and name, a
// copy of e's audit log, nothing else.
func (e *Event) reply() *Event {
	return &Event{CorrelationID: e.CorrelationID, Name: e.Name, AuditLog: slices.Clone(e.AuditLog)}
}
