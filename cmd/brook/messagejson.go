package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/brookmq/brook"
)

// messageJSON is a message as one line of JSON: what consume --json
// prints, and (without topic and offset, which produce ignores) what
// produce --json reads. Byte fields (key, value, header keys and values)
// are strings in the encoding of --encoding; a field whose encoding is not
// text is named beside it ("value_encoding": "base64"), so every line says
// how to read it back. Under text, a field that is not valid UTF-8 is
// written base64 and named so: nothing is ever replaced.
type messageJSON struct {
	Topic         string       `json:"topic"`
	Partition     int          `json:"partition"`
	Offset        int64        `json:"offset"`
	Timestamp     time.Time    `json:"timestamp"`
	Key           *string      `json:"key"` // null when the message has no key
	KeyEncoding   encoding     `json:"key_encoding,omitempty"`
	Value         string       `json:"value"`
	ValueEncoding encoding     `json:"value_encoding,omitempty"`
	Headers       []headerJSON `json:"headers,omitempty"`
}

// headerJSON is one header of a messageJSON.
type headerJSON struct {
	Key           string   `json:"key"`
	KeyEncoding   encoding `json:"key_encoding,omitempty"`
	Value         *string  `json:"value"`
	ValueEncoding encoding `json:"value_encoding,omitempty"`
}

// writeJSONLine prints m as one line of JSON, its bytes in enc.
func writeJSONLine(w io.Writer, m *brook.Message, enc encoding) error {
	j := messageJSON{Topic: m.Topic, Partition: m.Partition, Offset: m.Offset, Timestamp: m.Timestamp.UTC()}
	j.Value, j.ValueEncoding = enc.encodeJSON(m.Value)
	if m.Key != nil {
		k, named := enc.encodeJSON(m.Key)
		j.Key, j.KeyEncoding = &k, named
	}
	for _, h := range m.Headers {
		hj := headerJSON{}
		hj.Key, hj.KeyEncoding = enc.encodeJSON([]byte(h.Key))
		v, named := enc.encodeJSON(h.Value)
		hj.Value, hj.ValueEncoding = &v, named
		j.Headers = append(j.Headers, hj)
	}
	return json.NewEncoder(w).Encode(j)
}

// inputJSON is one line of produce --json (see produceJSONHelp).
type inputJSON struct {
	Key           *string         `json:"key"`
	KeyEncoding   encoding        `json:"key_encoding"`
	Value         *string         `json:"value"`
	ValueEncoding encoding        `json:"value_encoding"`
	Headers       json.RawMessage `json:"headers"`
	Partition     *int            `json:"partition"`
	Timestamp     json.RawMessage `json:"timestamp"`
	// What consume --json prints, accepted so that its output can be
	// produced again, and ignored: the topic is produce's argument and
	// the log assigns offsets.
	Topic  *string `json:"topic"`
	Offset *int64  `json:"offset"`
}

// produceJSONHelp documents the input of produce --json.
const produceJSONHelp = `With --json, each line is one JSON object (what consume --json prints is accepted):
  {"key": "k1", "value": "hello", "headers": {"source": "cli"}, "partition": 0,
   "timestamp": "2026-12-03T10:00:00Z"}
Every field may be left out or null: no key, an empty value, no headers, the
partition of --partition or of the key, the time of publishing. "headers" is an
object (its keys are header names, as text) or a list of {"key": ..., "value": ...}
(which keeps order and repeats). "timestamp" is RFC 3339 or milliseconds since 1970
(Kafka's unit). Byte fields are strings in --encoding; "key_encoding" and
"value_encoding" (also in a header of the list) override it for one field: text,
base64 or hex. "topic" and "offset" are ignored; any other field is an error naming
the line. Blank lines are skipped.`

// parseJSONLine reads one line of produce --json into m, its byte fields
// in enc unless a line names another. m.Partition is left alone when the
// line has none.
func parseJSONLine(line []byte, enc encoding, m *brook.Message) error {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var in inputJSON
	if err := dec.Decode(&in); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return fmt.Errorf("%s: want %s, not a JSON %s (a JSON document as a value is a string holding it)",
				te.Field, fieldKind(te.Field), te.Value)
		}
		return fmt.Errorf("not a JSON object of a message: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("more than one JSON value on the line")
	}
	var err error
	if in.Key != nil {
		if m.Key, err = decodeField("key", *in.Key, in.KeyEncoding, enc); err != nil {
			return err
		}
	}
	if in.Value != nil {
		if m.Value, err = decodeField("value", *in.Value, in.ValueEncoding, enc); err != nil {
			return err
		}
	}
	if in.Partition != nil {
		if *in.Partition < 0 {
			return fmt.Errorf("partition %d: want 0 or more", *in.Partition)
		}
		m.Partition = *in.Partition
	}
	if m.Timestamp, err = parseTimestamp(in.Timestamp); err != nil {
		return err
	}
	hs, err := parseHeadersJSON(in.Headers, enc)
	m.Headers = append(m.Headers, hs...)
	return err
}

// fieldKind names what a field of inputJSON holds, for errors.
func fieldKind(field string) string {
	switch field {
	case "partition":
		return "a partition number"
	case "offset":
		return "an offset"
	}
	return "a string"
}

// decodeField decodes the string s of field name, in named if set, else
// in enc.
func decodeField(name, s string, named, enc encoding) ([]byte, error) {
	if named != "" {
		var err error
		if enc, err = parseEncoding(name+"_encoding", string(named)); err != nil {
			return nil, err
		}
	}
	b, err := enc.decode(s)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return b, nil
}

// parseTimestamp reads "timestamp": absent or null (zero: the time of
// publishing), an RFC 3339 string, or milliseconds since 1970.
func parseTimestamp(raw json.RawMessage) (time.Time, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return time.Time{}, nil
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		ts, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("timestamp %q: want RFC 3339 (2026-12-03T10:00:00Z) or milliseconds since 1970", s)
		}
		return ts, nil
	}
	ms, err := strconv.ParseInt(string(raw), 10, 64)
	if err != nil || ms < -maxMillis || ms > maxMillis {
		return time.Time{}, fmt.Errorf("timestamp %s: want RFC 3339 or whole milliseconds since 1970 (within ±%d)", raw, int64(maxMillis))
	}
	return time.UnixMilli(ms), nil
}

// maxMillis bounds a timestamp in milliseconds to what time.UnixMilli and
// the log hold (int64 nanoseconds).
const maxMillis = 9_223_372_036_854

// parseHeadersJSON reads "headers": an object, in its order, or a list of
// {"key", "value"} objects.
func parseHeadersJSON(raw json.RawMessage, enc encoding) ([]brook.Header, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	if raw[0] == '[' {
		return parseHeaderList(raw, enc)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errors.New(`headers: want an object {"key": "value"} or a list [{"key": ..., "value": ...}]`)
	}
	var out []brook.Header
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("headers: %w", err)
		}
		k, _ := t.(string) // an object's keys are strings
		var v *string
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("headers: %q: want a string: %w", k, err)
		}
		h := brook.Header{Key: k}
		if v != nil {
			if h.Value, err = decodeField("headers: "+strconv.Quote(k), *v, "", enc); err != nil {
				return nil, err
			}
		}
		out = append(out, h)
	}
	return out, nil
}

// parseHeaderList reads "headers" given as a list, as consume --json
// prints it.
func parseHeaderList(raw json.RawMessage, enc encoding) ([]brook.Header, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var list []headerJSON
	if err := dec.Decode(&list); err != nil {
		return nil, fmt.Errorf(`headers: want a list of {"key": ..., "value": ...}: %w`, err)
	}
	out := make([]brook.Header, 0, len(list))
	for i, hj := range list {
		k, err := decodeField(fmt.Sprintf("headers[%d].key", i), hj.Key, hj.KeyEncoding, enc)
		if err != nil {
			return nil, err
		}
		h := brook.Header{Key: string(k)}
		if hj.Value != nil {
			if h.Value, err = decodeField(fmt.Sprintf("headers[%d].value", i), *hj.Value, hj.ValueEncoding, enc); err != nil {
				return nil, err
			}
		}
		out = append(out, h)
	}
	return out, nil
}
