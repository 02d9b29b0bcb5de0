package exchange

import (
	"encoding/json"
	"errors"
	"fmt"
)

// The operations of the declarations log, the "op" field of a record.
const (
	opExchangeDeclare = "exchange.declare"
	opExchangeDelete  = "exchange.delete"
	opQueueDeclare    = "queue.declare"
	opQueueDelete     = "queue.delete"
	opBind            = "bind"
	opUnbind          = "unbind"
	opSnapshot        = "snapshot"
)

// recordVersion is the format of the records this package writes. A
// record with a higher version is skipped, so that an older process keeps
// running beside a newer one.
const recordVersion = 1

// record is one durable declaration, the JSON value of one message of the
// topic __brook_exchanges. Exactly the fields of its Op are set:
//
//	{"v":1,"op":"exchange.declare","exchange":"logs","kind":"fanout","partitions":1}
//	{"v":1,"op":"exchange.delete","exchange":"logs","offsets":[42]}
//	{"v":1,"op":"queue.declare","queue":"q1","offsets":[7]}
//	{"v":1,"op":"queue.delete","queue":"q1"}
//	{"v":1,"op":"bind","queue":"q1","exchange":"logs","key":"a.*","offsets":[42]}
//	{"v":1,"op":"unbind","queue":"q1","exchange":"logs","key":"a.*","offsets":[50]}
//	{"v":1,"op":"snapshot","as_of":120,"snapshot":{...}}
//
// Offsets are the exchange topic's end offsets when the record was written:
// for queue.declare those of the default exchange (the Since of the queue's
// own binding), for bind the new window's Since, for unbind and
// exchange.delete the closed windows' Until.
type record struct {
	V          int       `json:"v"`
	Op         string    `json:"op"`
	Exchange   string    `json:"exchange,omitempty"`
	Kind       Kind      `json:"kind,omitempty"`
	Partitions int       `json:"partitions,omitempty"`
	Queue      string    `json:"queue,omitempty"`
	Key        string    `json:"key,omitempty"`
	Offsets    []int64   `json:"offsets,omitempty"`
	AsOf       int64     `json:"as_of,omitempty"`
	Snapshot   *snapshot `json:"snapshot,omitempty"`
}

// snapshot is the whole state as of a metadata offset: the exchanges and
// every queue with its binding windows, open and closed.
type snapshot struct {
	Exchanges []exchangeDecl `json:"exchanges"`
	Queues    []queueSnap    `json:"queues"`
}

type queueSnap struct {
	Name         string   `json:"name"`
	DefaultSince []int64  `json:"default_since,omitempty"`
	Bindings     []window `json:"bindings,omitempty"`
}

var errBadRecord = errors.New("exchange: malformed declaration record")

// decodeRecord parses and checks one record. Records come from a shared log
// other processes (and other versions) write, so nothing is trusted: a
// malformed record is an error the caller skips, never a panic.
func decodeRecord(b []byte) (record, error) {
	var r record
	if err := json.Unmarshal(b, &r); err != nil {
		return r, fmt.Errorf("%w: %v", errBadRecord, err)
	}
	if r.V < 1 || r.V > recordVersion {
		return r, fmt.Errorf("%w: version %d", errBadRecord, r.V)
	}
	if err := r.check(); err != nil {
		return r, fmt.Errorf("%w: %s: %v", errBadRecord, r.Op, err)
	}
	return r, nil
}

func (r *record) check() error {
	needOffsets := func() error {
		for _, o := range r.Offsets {
			if o < 0 {
				return errors.New("negative offset")
			}
		}
		return nil
	}
	switch r.Op {
	case opExchangeDeclare:
		if _, err := parseKind(r.Kind); err != nil {
			return err
		}
		if r.Partitions < 1 {
			return errors.New("partition count below 1")
		}
		return checkName(r.Exchange)
	case opExchangeDelete:
		if err := checkName(r.Exchange); err != nil {
			return err
		}
		return needOffsets()
	case opQueueDeclare, opQueueDelete:
		if err := checkName(r.Queue); err != nil {
			return err
		}
		return needOffsets()
	case opBind, opUnbind:
		if err := checkName(r.Queue); err != nil {
			return err
		}
		if err := checkName(r.Exchange); err != nil {
			return err
		}
		return needOffsets()
	case opSnapshot:
		if r.Snapshot == nil || r.AsOf < 0 {
			return errors.New("no snapshot or negative as_of")
		}
		return r.Snapshot.check()
	}
	return fmt.Errorf("unknown op %q", r.Op)
}

func (s *snapshot) check() error {
	for _, e := range s.Exchanges {
		if _, err := parseKind(e.Kind); err != nil || e.Partitions < 1 {
			return fmt.Errorf("exchange %q: bad kind or partitions", e.Name)
		}
		if err := checkName(e.Name); err != nil {
			return err
		}
	}
	for _, q := range s.Queues {
		if err := checkName(q.Name); err != nil {
			return err
		}
		for _, w := range q.Bindings {
			if err := checkName(w.Exchange); err != nil {
				return err
			}
			if _, err := parseKind(w.Kind); err != nil {
				return err
			}
		}
	}
	return nil
}

func encodeRecord(r record) []byte {
	r.V = recordVersion
	b, err := json.Marshal(r)
	if err != nil {
		panic(fmt.Sprintf("exchange: encode record: %v", err)) // only plain types: cannot fail
	}
	return b
}
