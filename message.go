package brook

import (
	"cmp"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/brookmq/brook/storage"
)

// Partition choices for CreateMessage and Message.Partition. A message's
// partition is explicit: the zero value means partition 0. These negative
// constants ask Brook to choose instead.
const (
	// PartitionByKey places the message the way Kafka's default partitioner
	// does: murmur2 of the key modulo the partition count, so a key lands on
	// the same partition as it would in Kafka. A message with a nil key is
	// placed round-robin.
	PartitionByKey = -1

	// PartitionRoundRobin spreads messages over the partitions in turn,
	// ignoring the key.
	PartitionRoundRobin = -2
)

// Header is a key/value pair carried with a message, as in Kafka.
type Header struct {
	Key   string
	Value []byte
}

// Message is one record of a partition.
//
// On Publish, Topic, Partition, Key, Value, Headers and Timestamp are read;
// Publish sets Partition (when Brook chose it), Offset, and Timestamp (when it
// was zero). Messages handed to a Handler or returned by Poll own their byte
// slices: the caller may keep or modify them.
type Message struct {
	Topic     string
	Partition int
	Offset    int64
	Key       []byte
	Value     []byte
	Headers   []Header
	// Timestamp is the message's time. Publish stores it exactly, to the
	// nanosecond, between 1677-09-21 and 2262-04-11 (int64 nanoseconds
	// since 1970) and refuses a time outside with ErrInvalidTimestamp; the
	// zero Time means "now".
	Timestamp time.Time

	// delivery is the grant under which a consumer delivered the message
	// (nil for a message the program built): Commit checks it.
	delivery *partLoop
}

// The range of timestamps a message can carry: int64 nanoseconds.
var (
	minTimestamp = time.Unix(0, math.MinInt64)
	maxTimestamp = time.Unix(0, math.MaxInt64)
)

// checkTimestamp returns ErrInvalidTimestamp for a time the log cannot store.
func checkTimestamp(topic string, ts time.Time) error {
	if !ts.IsZero() && (ts.Before(minTimestamp) || ts.After(maxTimestamp)) {
		return &TopicError{Topic: topic, Err: fmt.Errorf("%w: %v", ErrInvalidTimestamp, ts)}
	}
	return nil
}

// CreateMessage returns a message for topic with the given value, addressed to
// an explicit partition index, or to PartitionByKey or PartitionRoundRobin.
func CreateMessage(topic string, value []byte, partition int) *Message {
	return &Message{Topic: topic, Value: value, Partition: partition}
}

// Header returns the value of the first header named key, and whether there
// was one. Kafka allows repeated header keys; use Headers to see them all.
func (m *Message) Header(key string) ([]byte, bool) {
	for _, h := range m.Headers {
		if h.Key == key {
			return h.Value, true
		}
	}
	return nil, false
}

// size is what counts against MaxMessageBytes: key, value and headers.
func (m *Message) size() int {
	n := len(m.Key) + len(m.Value)
	for _, h := range m.Headers {
		n += len(h.Key) + len(h.Value)
	}
	return n
}

func (m *Message) record() storage.Record {
	r := storage.Record{Timestamp: m.Timestamp, Key: m.Key, Value: m.Value}
	if len(m.Headers) > 0 {
		r.Headers = make([]storage.Header, len(m.Headers))
		for i, h := range m.Headers {
			r.Headers[i] = storage.Header{Key: h.Key, Value: h.Value}
		}
	}
	return r
}

// messagesFromRecords converts the records of one read into messages,
// allocated in one block (and their headers in another) rather than one by
// one. The messages take over the records' byte slices, so recs itself may
// be reused afterwards. Keeping any one message keeps the whole block alive,
// as keeping one record of a read keeps its neighbours' bytes.
func messagesFromRecords(topic string, partition int, recs []storage.Record) []Message {
	msgs := make([]Message, len(recs))
	var headers []Header
	if n := countHeaders(recs); n > 0 {
		headers = make([]Header, n)
	}
	for i := range recs {
		r := &recs[i]
		m := &msgs[i]
		m.Topic, m.Partition, m.Offset = topic, partition, r.Offset
		m.Key, m.Value, m.Timestamp = r.Key, r.Value, r.Timestamp
		if n := len(r.Headers); n > 0 {
			m.Headers, headers = headers[:n:n], headers[n:] // capped: appending copies
			for j, h := range r.Headers {
				m.Headers[j] = Header{Key: h.Key, Value: h.Value}
			}
		}
	}
	return msgs
}

func countHeaders(recs []storage.Record) int {
	n := 0
	for i := range recs {
		n += len(recs[i].Headers)
	}
	return n
}

// TopicPartition names one partition of one topic. It is comparable, so it
// serves as a map key.
type TopicPartition struct {
	Topic     string
	Partition int
}

// String returns tp as "topic/partition", for example "orders/3", the form
// used in logs and error messages.
func (tp TopicPartition) String() string {
	return tp.Topic + "/" + strconv.Itoa(tp.Partition)
}

// compareTopicPartition orders partitions by topic, then by partition number.
func compareTopicPartition(a, b TopicPartition) int {
	if c := cmp.Compare(a.Topic, b.Topic); c != 0 {
		return c
	}
	return cmp.Compare(a.Partition, b.Partition)
}
