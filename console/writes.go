package console

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/brookmq/brook"
)

// maxBody bounds the JSON body of a mutating request.
const maxBody = 64 << 10

// ResetRequest is the body of POST /api/groups/{group}/reset: the topic,
// optionally some of its partitions, and exactly one target.
type ResetRequest struct {
	// Confirm repeats the group's ID, or the request is refused (400).
	Confirm string `json:"confirm"`
	// Topic is the topic whose committed offsets move.
	Topic string `json:"topic"`
	// Partitions are the partitions to move; empty means all.
	Partitions []int `json:"partitions,omitempty"`
	// Earliest moves to the earliest offset each partition holds.
	Earliest bool `json:"earliest,omitempty"`
	// Latest moves to each partition's end.
	Latest bool `json:"latest,omitempty"`
	// Offset moves to this offset (0 or more) in every partition, moved
	// into the partition's range where it lies outside.
	Offset *int64 `json:"offset,omitempty"`
	// Time moves to the first message at or after it (RFC 3339).
	Time *time.Time `json:"time,omitempty"`
}

// Spec returns the target the request names, or an error when it names
// none or more than one.
func (q ResetRequest) Spec() (brook.OffsetSpec, error) {
	var specs []brook.OffsetSpec
	if q.Earliest {
		specs = append(specs, brook.ToEarliest())
	}
	if q.Latest {
		specs = append(specs, brook.ToLatest())
	}
	if q.Offset != nil {
		if *q.Offset < 0 {
			return brook.OffsetSpec{}, fmt.Errorf("%w: offset must be 0 or more, not %d", errBadRequest, *q.Offset)
		}
		specs = append(specs, brook.ToOffset(*q.Offset))
	}
	if q.Time != nil {
		specs = append(specs, brook.ToTime(*q.Time))
	}
	if len(specs) != 1 {
		return brook.OffsetSpec{}, fmt.Errorf("%w: give exactly one of earliest, latest, offset, time", errBadRequest)
	}
	return specs[0], nil
}

// ResetResult is the answer of a reset: what moved, per partition.
type ResetResult struct {
	// Group and Topic name what moved.
	Group string `json:"group"`
	Topic string `json:"topic"`
	// To describes the target: "earliest", "latest", "offset 42",
	// "time 2026-12-01T09:00:00Z".
	To string `json:"to"`
	// Partitions are the partitions moved, sorted.
	Partitions []OffsetReset `json:"partitions"`
}

// OffsetReset is one partition of a reset.
type OffsetReset struct {
	// Partition is the partition's index.
	Partition int `json:"partition"`
	// Previous is the committed offset before; -1 when there was none.
	Previous int64 `json:"previous"`
	// Offset is the committed offset now: the next one the group reads.
	Offset int64 `json:"offset"`
}

// TopicUpdate is the body of PATCH /api/topics/{topic}: each field
// present changes its setting, 0 (or "default" for sync) returns it to its
// default; the others stay as they are.
type TopicUpdate struct {
	// RetentionMs is the retention age in milliseconds; 0 keeps forever.
	RetentionMs *int64 `json:"retention_ms,omitempty"`
	// RetentionBytes bounds each partition's size; 0 means no bound.
	RetentionBytes *int64 `json:"retention_bytes,omitempty"`
	// MaxMessageBytes is the largest message; 0 means the broker's.
	MaxMessageBytes *int `json:"max_message_bytes,omitempty"`
	// Sync is the durability policy: always, interval, never or default.
	Sync *string `json:"sync,omitempty"`
}

// update converts the request to the broker's TopicUpdate.
func (u TopicUpdate) update() (brook.TopicUpdate, error) {
	var out brook.TopicUpdate
	if u.RetentionMs == nil && u.RetentionBytes == nil && u.MaxMessageBytes == nil && u.Sync == nil {
		return out, fmt.Errorf("%w: name a setting to change: retention_ms, retention_bytes, max_message_bytes or sync", errBadRequest)
	}
	if u.RetentionMs != nil {
		ms := *u.RetentionMs
		if ms < 0 || ms > int64(time.Duration(1<<63-1)/time.Millisecond) {
			return out, fmt.Errorf("%w: retention_ms %d out of range", errBadRequest, ms)
		}
		d := time.Duration(ms) * time.Millisecond
		out.RetentionAge = &d
	}
	out.RetentionBytes, out.MaxMessageBytes = u.RetentionBytes, u.MaxMessageBytes
	if u.Sync != nil {
		p, ok := syncPolicies[*u.Sync]
		if !ok {
			return out, fmt.Errorf("%w: sync %q: want always, interval, never or default", errBadRequest, *u.Sync)
		}
		out.Sync = &p
	}
	return out, nil
}

var syncPolicies = map[string]brook.SyncPolicy{
	"default": brook.SyncDefault, "always": brook.SyncAlways, "interval": brook.SyncInterval, "never": brook.SyncNever,
}

// resetGroup moves a group's committed offsets when writes are allowed
// and the body repeats the group's ID in confirm.
func (h *Handler) resetGroup(r *http.Request) (any, error) {
	if !h.o.AllowWrites {
		return nil, errForbidden
	}
	id := r.PathValue("group")
	var q ResetRequest
	if err := decodeBody(r, &q); err != nil {
		return nil, err
	}
	if q.Confirm != id {
		return nil, fmt.Errorf("%w: repeat the group's ID in confirm to reset its offsets", errBadRequest)
	}
	to, err := q.Spec()
	if err != nil {
		return nil, err
	}
	res, err := h.b.ResetOffsets(id, q.Topic, to, q.Partitions...)
	if err != nil {
		return nil, err
	}
	h.o.Logger.Info("console: reset offsets", "group", id, "topic", q.Topic, "to", to.String())
	out := ResetResult{Group: id, Topic: q.Topic, To: to.String(), Partitions: make([]OffsetReset, len(res))}
	for i, p := range res {
		out.Partitions[i] = OffsetReset(p)
	}
	return out, nil
}

// alterTopic changes a topic's configuration when writes are allowed, and
// answers the topic as GET /api/topics/{topic} does.
func (h *Handler) alterTopic(r *http.Request) (any, error) {
	if !h.o.AllowWrites {
		return nil, errForbidden
	}
	name := r.PathValue("topic")
	var q TopicUpdate
	if err := decodeBody(r, &q); err != nil {
		return nil, err
	}
	u, err := q.update()
	if err != nil {
		return nil, err
	}
	if _, err := h.b.AlterTopic(name, u); err != nil {
		return nil, err
	}
	h.o.Logger.Info("console: altered topic", "topic", name)
	return h.topic(r)
}

// decodeBody decodes one JSON object, with no unknown field, of at most
// maxBody bytes; anything else is a bad request.
func decodeBody(r *http.Request, v any) error {
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody+1))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("%w: body: %v", errBadRequest, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: body: one JSON object of at most %d bytes expected", errBadRequest, maxBody)
	}
	return nil
}
