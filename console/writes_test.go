package console_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/console"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// send is do with a JSON body and optional extra headers (name, value, ...).
func (f *fixture) send(t *testing.T, method, path, body string, headers ...string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, out
}

func TestResetOffsets(t *testing.T) {
	f := newFixture(t, console.Options{AllowWrites: true})
	for _, c := range []struct {
		path, body string
		code       int
		why        string
	}{
		{"/api/groups/audit/reset", `{"topic":"orders","earliest":true}`, http.StatusBadRequest, "no confirmation"},
		{"/api/groups/audit/reset", `{"confirm":"billing","topic":"orders","earliest":true}`, http.StatusBadRequest, "another group's ID"},
		{"/api/groups/audit/reset", `{"confirm":"audit","topic":"orders"}`, http.StatusBadRequest, "no target"},
		{"/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","earliest":true,"latest":true}`, http.StatusBadRequest, "two targets"},
		{"/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","offset":-1}`, http.StatusBadRequest, "negative offset"},
		{"/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","time":"yesterday"}`, http.StatusBadRequest, "not a time"},
		{"/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","earliest":true,"x":1}`, http.StatusBadRequest, "unknown field"},
		{"/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","earliest":true} {}`, http.StatusBadRequest, "two objects"},
		{"/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","partitions":[5],"earliest":true}`, http.StatusBadRequest, "no such partition"},
		{"/api/groups/..%2f/reset", `{"confirm":"../","topic":"orders","earliest":true}`, http.StatusBadRequest, "invalid group ID"},
		{"/api/groups/audit/reset", `{"confirm":"audit","topic":"nope","earliest":true}`, http.StatusNotFound, "unknown topic"},
		{"/api/groups/billing/reset", `{"confirm":"billing","topic":"orders","earliest":true}`, http.StatusConflict, "a group with members"},
	} {
		code, body := f.send(t, "POST", c.path, c.body)
		assert.Equal(t, c.code, code, "%s: %s", c.why, body)
		assert.Contains(t, string(body), `"error"`, c.why)
	}
	code, body := f.send(t, "POST", "/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","earliest":true}`,
		"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site")
	assert.Equal(t, http.StatusForbidden, code, "a cross-site request from a browser: %s", body)

	code, body = f.send(t, "POST", "/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","earliest":true}`)
	require.Equal(t, http.StatusOK, code, "body: %s", body)
	res := decode[console.ResetResult](t, body)
	assert.Equal(t, "earliest", res.To)
	require.Len(t, res.Partitions, 2)
	assert.Equal(t, int64(0), res.Partitions[0].Offset)
	assert.Equal(t, int64(0), res.Partitions[1].Offset)

	code, body = f.send(t, "POST", "/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","partitions":[0],"latest":true}`)
	require.Equal(t, http.StatusOK, code, "body: %s", body)
	assert.Equal(t, console.ResetResult{Group: "audit", Topic: "orders", To: "latest",
		Partitions: []console.OffsetReset{{Partition: 0, Previous: 0, Offset: 3}}}, decode[console.ResetResult](t, body))

	code, body = f.send(t, "POST", "/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","offset":1}`)
	require.Equal(t, http.StatusOK, code, "body: %s", body)
	res = decode[console.ResetResult](t, body)
	assert.Equal(t, "offset 1", res.To)
	assert.Equal(t, []console.OffsetReset{{Partition: 0, Previous: 3, Offset: 1}, {Partition: 1, Previous: 0, Offset: 1}}, res.Partitions)

	future := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code, body = f.send(t, "POST", "/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","time":"`+future+`"}`)
	require.Equal(t, http.StatusOK, code, "body: %s", body)
	gs, err := f.b.GroupStats("audit")
	require.NoError(t, err)
	for _, p := range gs.Partitions {
		assert.Equal(t, p.End, p.Committed, "a time after every message is the end: %+v", p)
	}
}

func TestAlterTopic(t *testing.T) {
	f := newFixture(t, console.Options{AllowWrites: true})
	for _, c := range []struct {
		path, body string
		code       int
		why        string
	}{
		{"/api/topics/orders", `{}`, http.StatusBadRequest, "nothing to change"},
		{"/api/topics/orders", `{"sync":"sometimes"}`, http.StatusBadRequest, "unknown policy"},
		{"/api/topics/orders", `{"retention_ms":-5}`, http.StatusBadRequest, "negative age"},
		{"/api/topics/orders", `{"retention_bytes":-5}`, http.StatusBadRequest, "negative size"},
		{"/api/topics/orders", `{"max_message_bytes":2147483647}`, http.StatusBadRequest, "too large"},
		{"/api/topics/orders", `{"partitions":3}`, http.StatusBadRequest, "unknown field"},
		{"/api/topics/orders", `[`, http.StatusBadRequest, "not JSON"},
		{"/api/topics/nope", `{"sync":"never"}`, http.StatusNotFound, "unknown topic"},
	} {
		code, body := f.send(t, "PATCH", c.path, c.body)
		assert.Equal(t, c.code, code, "%s: %s", c.why, body)
	}

	code, body := f.send(t, "PATCH", "/api/topics/orders", `{"retention_ms":604800000,"max_message_bytes":4096,"sync":"never"}`)
	require.Equal(t, http.StatusOK, code, "body: %s", body)
	got := decode[console.Topic](t, body)
	assert.Equal(t, int64(604800000), got.RetentionMs)
	assert.Equal(t, 4096, got.MaxMessageBytes)
	assert.Equal(t, "never", got.Sync)
	assert.Equal(t, int64(0), got.RetentionBytes, "left as it was")
	tp, err := f.b.Topic("orders")
	require.NoError(t, err)
	assert.Equal(t, 7*24*time.Hour, tp.Config().RetentionAge)
	assert.Equal(t, brook.SyncNever, tp.Config().Sync)

	code, body = f.send(t, "PATCH", "/api/topics/orders", `{"sync":"default","max_message_bytes":0}`)
	require.Equal(t, http.StatusOK, code, "body: %s", body)
	got = decode[console.Topic](t, body)
	assert.Equal(t, int64(604800000), got.RetentionMs, "left as it was")
	assert.Equal(t, "always", got.Sync, "the broker's default")
	assert.NotEqual(t, 4096, got.MaxMessageBytes, "back to the default")
}

// Every mutating endpoint answers 403 on a read-only handler, and changes
// nothing.
func TestWritesForbiddenWhenReadOnly(t *testing.T) {
	f := newFixture(t, console.Options{})
	before, err := f.b.GroupStats("audit")
	require.NoError(t, err)
	tp, err := f.b.Topic("orders")
	require.NoError(t, err)
	cfg := tp.Config()
	for _, c := range []struct{ method, path, body string }{
		{"DELETE", "/api/groups/audit?confirm=audit", ""},
		{"POST", "/api/groups/audit/reset", `{"confirm":"audit","topic":"orders","earliest":true}`},
		{"PATCH", "/api/topics/orders", `{"sync":"never"}`},
	} {
		code, body := f.send(t, c.method, c.path, c.body)
		assert.Equal(t, http.StatusForbidden, code, "%s %s: %s", c.method, c.path, body)
		assert.Contains(t, string(body), "read-only")
	}
	after, err := f.b.GroupStats("audit")
	require.NoError(t, err)
	assert.Equal(t, before, after)
	assert.Equal(t, cfg, tp.Config())
}
