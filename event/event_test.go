package event

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func goldenEvent() *Event {
	t0 := time.Date(2026, 12, 3, 14, 0, 0, 1, time.UTC)
	return &Event{
		CorrelationID: "7Q2XK4",
		Name:          "pricing.quote.get",
		Data:          json.RawMessage(`{"sku":"B-17","qty":3}`),
		AuditLog: []AuditEntry{
			{Service: "front", Action: ActionPublish, Event: "pricing.quote.get", Topic: "pricing", Partition: 2, Offset: 41, Time: t0},
			{Service: "pricing", Action: ActionHandle, Event: "pricing.quote.get", Topic: "pricing", Partition: 2, Offset: 41,
				Time: t0.Add(500*time.Millisecond - 1), Error: "out of stock"},
		},
		ReplyTo: "front.replies",
		Error:   &ErrorInfo{Code: "out_of_stock", Message: "B-17: none left"},
	}
}

// TestEventJSONGolden pins the wire form: the seed's field names, then
// reply_to and error, in this order, with RFC 3339 times.
func TestEventJSONGolden(t *testing.T) {
	golden, err := os.ReadFile("testdata/event.golden.json")
	require.NoError(t, err)
	got, err := json.Marshal(goldenEvent())
	require.NoError(t, err)
	assert.Equal(t, strings.TrimSpace(string(golden)), string(got))

	var back Event
	require.NoError(t, json.Unmarshal(golden, &back))
	assert.Equal(t, goldenEvent(), &back)
}

func TestEventJSONOmitsEmpty(t *testing.T) {
	got, err := json.Marshal(&Event{CorrelationID: "c", Name: "a.b"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"correlation_id":"c","event":"a.b"}`, string(got))
	assert.Equal(t, `{"correlation_id":"c","event":"a.b"}`, string(got))
}

// TestDecodeSeedPythonForm decodes what the seed's Python library writes
// (json.dumps, with spaces, an empty audit log and unknown fields).
func TestDecodeSeedPythonForm(t *testing.T) {
	value := `{"correlation_id": "0b6f", "event": "test.return", "data": {"n": [1, 2]}, "audit_log": [], "extra": true}`
	e, err := Decode(&brook.Message{Topic: "SomeModule", Value: []byte(value)})
	require.NoError(t, err)
	assert.Equal(t, "0b6f", e.CorrelationID)
	assert.Equal(t, "test.return", e.Name)
	var data struct{ N []int }
	require.NoError(t, e.Decode(&data))
	assert.Equal(t, []int{1, 2}, data.N)
	assert.Empty(t, e.AuditLog, "no brook.service header: no publish entry added")
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct{ name, value string }{
		{"not json", "hello"},
		{"not an object", "[1,2]"},
		{"null", "null"},
		{"no name", `{"correlation_id":"x"}`},
		{"bad data", `{"event":"a","data":}`},
		{"bad audit", `{"event":"a","audit_log":"x"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(&brook.Message{Topic: "t", Partition: 1, Offset: 7, Value: []byte(tt.value)})
			var de *DecodeError
			require.ErrorAs(t, err, &de)
			assert.Equal(t, "t", de.Topic)
			assert.Equal(t, 1, de.Partition)
			assert.Equal(t, int64(7), de.Offset)
			assert.Error(t, de.Unwrap())
			assert.Contains(t, err.Error(), "t/1@7")
		})
	}
}

func TestDecodeHeaders(t *testing.T) {
	ts := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	m := &brook.Message{
		Topic: "orders", Partition: 3, Offset: 9, Timestamp: ts,
		Value: []byte(`{"correlation_id":"","event":"order.placed"}`),
		Headers: []brook.Header{
			{Key: HeaderCorrelationID, Value: []byte("from-header")},
			{Key: HeaderService, Value: []byte("shop")},
		},
	}
	e, err := Decode(m)
	require.NoError(t, err)
	assert.Equal(t, "from-header", e.CorrelationID, "an empty id is taken from the header")
	require.Len(t, e.AuditLog, 1)
	assert.Equal(t, AuditEntry{Service: "shop", Action: ActionPublish, Event: "order.placed",
		Topic: "orders", Partition: 3, Offset: 9, Time: ts}, e.AuditLog[0])
}

func TestNew(t *testing.T) {
	e, err := New("quote.get", map[string]int{"qty": 2})
	require.NoError(t, err)
	assert.Equal(t, "quote.get", e.Name)
	assert.Empty(t, e.CorrelationID, "Publish fills it in")
	assert.JSONEq(t, `{"qty":2}`, string(e.Data))

	e, err = New("ping", nil)
	require.NoError(t, err)
	assert.Nil(t, e.Data)
	var v struct{ X int }
	v.X = 5
	require.NoError(t, e.Decode(&v), "no data decodes as null")
	assert.Equal(t, 5, v.X)

	e, err = New("raw", json.RawMessage(`[1, 2]`))
	require.NoError(t, err)
	assert.Equal(t, `[1,2]`, string(e.Data))

	_, err = New("", nil)
	assert.Error(t, err)
	_, err = New("bad", make(chan int))
	assert.Error(t, err)
	_, err = New("bad", json.RawMessage(`{`))
	assert.Error(t, err)

	e = &Event{Name: "x", Data: json.RawMessage(`"s"`)}
	assert.ErrorContains(t, e.Decode(&v), "decode x data")
}

func TestMessageHeaders(t *testing.T) {
	e := &Event{CorrelationID: "id1", Name: "a.b", ReplyTo: "r"}
	m, err := e.message("t", []byte("id1"), brook.Header{Key: HeaderService, Value: []byte("svc")})
	require.NoError(t, err)
	assert.Equal(t, brook.PartitionByKey, m.Partition)
	assert.Equal(t, []byte("id1"), m.Key)
	for k, want := range map[string]string{HeaderEvent: "a.b", HeaderCorrelationID: "id1", HeaderReplyTo: "r", HeaderService: "svc"} {
		v, ok := m.Header(k)
		assert.True(t, ok, k)
		assert.Equal(t, want, string(v), k)
	}
	back, err := Decode(m)
	require.NoError(t, err)
	assert.Equal(t, "r", back.ReplyTo)
}

func TestAddAuditBound(t *testing.T) {
	e := &Event{Name: "a"}
	for i := range 10 {
		e.addAudit(AuditEntry{Offset: int64(i)}, 4)
	}
	require.Len(t, e.AuditLog, 4)
	assert.Equal(t, int64(6), e.AuditLog[0].Offset, "the newest are kept")
	assert.Equal(t, int64(9), e.AuditLog[3].Offset)
}

func TestErrorInfoFromErrors(t *testing.T) {
	remote := &RemoteError{Code: "upstream", Message: "m"}
	tests := []struct {
		name string
		err  error
		code string
	}{
		{"own code", &ErrorInfo{Code: "out_of_stock", Message: "none"}, "out_of_stock"},
		{"passed on", remote, "upstream"},
		{"no route", &RouteError{Event: "x", Missing: "x"}, CodeNoRoute},
		{"decode", &DecodeError{Err: errNoName}, CodeBadRequest},
		{"other", os.ErrPermission, CodeInternal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.code, errorInfo(tt.err).Code)
		})
	}
	assert.Equal(t, "event: remote error: upstream: m", remote.Error())
}

// FuzzDecode feeds Decode arbitrary values: it returns an event or a
// *DecodeError, never panics, and an event it returns encodes and decodes
// to itself.
func FuzzDecode(f *testing.F) {
	golden, err := os.ReadFile("testdata/event.golden.json")
	require.NoError(f, err)
	f.Add(golden)
	f.Add([]byte(`{"correlation_id": "0b6f", "event": "test.return", "data": {}, "audit_log": []}`))
	f.Add([]byte(`{"event":"a","audit_log":[{"time":"x"}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, value []byte) {
		e, err := Decode(&brook.Message{Topic: "t", Value: value})
		if err != nil {
			var de *DecodeError
			if !assert.ErrorAs(t, err, &de) {
				t.FailNow()
			}
			return
		}
		m, err := e.message("t", nil)
		require.NoError(t, err)
		back, err := Decode(m)
		require.NoError(t, err)
		again, err := json.Marshal(back)
		require.NoError(t, err)
		assert.JSONEq(t, string(m.Value), string(again))
	})
}
