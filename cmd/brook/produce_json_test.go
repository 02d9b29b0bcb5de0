package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
)

// consumeJSON runs consume --json with args and decodes every line.
func consumeJSON(t *testing.T, dir string, args ...string) []messageJSON {
	t.Helper()
	r := mustRun(t, dir, "", append([]string{"consume", "--json"}, args...)...)
	var out []messageJSON
	for _, l := range lines(r.stdout) {
		var m messageJSON
		decode(t, l, &m)
		out = append(out, m)
	}
	return out
}

func TestProduceJSON(t *testing.T) {
	dir := newTopic(t, "j", "3")
	input := `{"key": "k1", "value": "hello", "headers": {"source": "cli", "b": "2"}, "partition": 2, "timestamp": "2026-12-03T10:00:00Z"}
{"value": "no key", "partition": 2, "timestamp": 1764756060000}

{"key": "a2V5", "key_encoding": "base64", "value": "ff00", "value_encoding": "hex", "partition": 2,
"headers": [{"key": "h", "value": "x"}, {"key": "h", "value": "AAE=", "value_encoding": "base64"}]}
{"partition": 2, "value": null, "key": null, "headers": null, "timestamp": null}
`
	input = strings.Replace(input, "\"partition\": 2,\n", "\"partition\": 2, ", 1) // one object a line
	r := mustRun(t, dir, input, "produce", "j", "--json", "-H", "all=1")
	assert.Equal(t, "4 messages produced to j\n", r.stderr)

	msgs := consumeJSON(t, dir, "j", "-p", "2")
	require.Len(t, msgs, 4)
	m := msgs[0]
	require.NotNil(t, m.Key)
	assert.Equal(t, "k1", *m.Key)
	assert.Equal(t, "hello", m.Value)
	assert.Equal(t, []headerJSON{{Key: "all", Value: ptr("1")}, {Key: "source", Value: ptr("cli")}, {Key: "b", Value: ptr("2")}},
		m.Headers, "--header first, then the line's in their order")
	assert.Equal(t, time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), m.Timestamp)

	assert.Nil(t, msgs[1].Key)
	assert.Equal(t, time.UnixMilli(1764756060000).UTC(), msgs[1].Timestamp, "milliseconds since 1970")

	m = msgs[2]
	require.NotNil(t, m.Key)
	assert.Equal(t, "key", *m.Key)
	assert.Equal(t, "/wA=", m.Value, "0xff 0x00 is not UTF-8: base64")
	assert.Equal(t, encBase64, m.ValueEncoding)
	assert.Equal(t, []headerJSON{{Key: "all", Value: ptr("1")}, {Key: "h", Value: ptr("x")}, {Key: "h", Value: ptr("\x00\x01")}}, m.Headers,
		"a list keeps repeated headers; 0x00 0x01 is valid UTF-8")

	assert.Empty(t, msgs[3].Value)
	assert.WithinDuration(t, time.Now(), msgs[3].Timestamp, time.Minute, "no timestamp: the time of publishing")
}

// TestProduceJSONErrors: bad input stops produce with the line's number;
// what came before it stays published.
func TestProduceJSONErrors(t *testing.T) {
	dir := newTopic(t, "j", "2")
	good := `{"value": "ok"}` + "\n"
	for name, tt := range map[string]struct {
		line string
		want string
	}{
		"not JSON":          {`hello`, "line 2: not a JSON object of a message"},
		"value an object":   {`{"value": {"a": 1}}`, "line 2: value: want a string, not a JSON object (a JSON document as a value is a string holding it)"},
		"partition a word":  {`{"value": "x", "partition": "two"}`, "line 2: partition: want a partition number, not a JSON string"},
		"unknown field":     {`{"vlaue": "x"}`, `line 2: not a JSON object of a message: json: unknown field "vlaue"`},
		"two objects":       {`{"value": "x"} {"value": "y"}`, "line 2: more than one JSON value on the line"},
		"bad base64":        {`{"value": "!!", "value_encoding": "base64"}`, "line 2: value: not valid base64"},
		"unknown encoding":  {`{"value": "x", "value_encoding": "rot13"}`, `line 2: value_encoding "rot13": want text, base64 or hex`},
		"bad timestamp":     {`{"value": "x", "timestamp": "yesterday"}`, `line 2: timestamp "yesterday": want RFC 3339`},
		"huge timestamp":    {`{"value": "x", "timestamp": 99999999999999999}`, "line 2: timestamp 99999999999999999: want RFC 3339 or whole milliseconds"},
		"negative part":     {`{"value": "x", "partition": -1}`, "line 2: partition -1: want 0 or more"},
		"header not string": {`{"value": "x", "headers": {"a": 1}}`, `line 2: headers: "a": want a string`},
		"headers a string":  {`{"value": "x", "headers": "a=1"}`, "line 2: headers: want an object"},
		"header list field": {`{"value": "x", "headers": [{"name": "a"}]}`, `line 2: headers: want a list of {"key": ..., "value": ...}: json: unknown field "name"`},
	} {
		t.Run(name, func(t *testing.T) {
			r := brookIn(t, dir, good+tt.line+"\n"+good, "produce", "j", "--json")
			assert.Equal(t, exitError, r.code)
			assert.Contains(t, r.stderr, tt.want)
			assert.Contains(t, r.stderr, "1 message produced to j")
			assert.Contains(t, r.stderr, "hint: brook produce --help describes the JSON of a line")
		})
	}
	r := brookIn(t, dir, good, "produce", "j", "--json", "--key-sep", ":")
	assert.Equal(t, exitUsage, r.code)
	r = brookIn(t, dir, good, "produce", "j", "--encoding", "rot13")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `--encoding "rot13": want text, base64 or hex`)
	r = brookIn(t, dir, `{"value": "x", "partition": 5}`+"\n", "produce", "j", "--json")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, "line 1: ")
	assert.Contains(t, r.stderr, "invalid partition")
}

// TestBinaryRoundTrip: bytes that are not text go through produce and
// consume unchanged, in every encoding, and consume --json never replaces
// invalid UTF-8 (issue 18 item 9): it writes base64 and says so.
func TestBinaryRoundTrip(t *testing.T) {
	dir := newTopic(t, "bin", "1")
	key, value := []byte{0xff, 'k', 0x00}, []byte{0xc3, 0x28, '\r', '\n', 0x00, 0xfe}
	line := base64.StdEncoding.EncodeToString(key) + ":" + base64.StdEncoding.EncodeToString(value)
	mustRun(t, dir, line+"\n", "produce", "bin", "--encoding", "base64", "--key-sep", ":")
	mustRun(t, dir, "68690a\n", "produce", "bin", "--encoding", "hex") // "hi\n"

	msgs := consumeJSON(t, dir, "bin")
	require.Len(t, msgs, 2)
	assert.Equal(t, encBase64, msgs[0].KeyEncoding)
	assert.Equal(t, encBase64, msgs[0].ValueEncoding)
	assert.Equal(t, base64.StdEncoding.EncodeToString(value), msgs[0].Value)
	assert.Equal(t, "hi\n", msgs[1].Value, "valid UTF-8 stays text")
	assert.Empty(t, msgs[1].ValueEncoding)

	hexed := consumeJSON(t, dir, "bin", "--encoding", "hex")
	assert.Equal(t, "c3280d0a00fe", hexed[0].Value)
	assert.Equal(t, encHex, hexed[0].ValueEncoding)
	assert.Equal(t, encHex, hexed[1].ValueEncoding, "every field named under hex")

	r := mustRun(t, dir, "", "consume", "bin", "--format", `%k %v\n`, "--encoding", "hex")
	assert.Equal(t, "ff6b00 c3280d0a00fe\n 68690a\n", r.stdout)
	r = mustRun(t, dir, "", "consume", "bin", "--format", `%v`, "-c", "1")
	assert.Equal(t, string(value), r.stdout, "text: the bytes as they are")

	// consume --json | produce --json copies the messages exactly.
	mustRun(t, dir, "", "topics", "create", "copy", "--partitions", "1")
	out := mustRun(t, dir, "", "consume", "bin", "--json").stdout
	mustRun(t, dir, out, "produce", "copy", "--json")
	copied := consumeJSON(t, dir, "copy")
	require.Len(t, copied, 2)
	for i := range copied {
		copied[i].Topic = "bin"
	}
	assert.Equal(t, msgs, copied)
}

func TestConsumeFromTime(t *testing.T) {
	dir := newTopic(t, "ts", "2")
	base := time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)
	var in bytes.Buffer
	for i := range 10 {
		line, err := json.Marshal(map[string]any{"value": string(rune('a' + i)), "partition": i % 2,
			"timestamp": base.Add(time.Duration(i) * time.Minute).Format(time.RFC3339)})
		require.NoError(t, err)
		in.Write(append(line, '\n'))
	}
	mustRun(t, dir, in.String(), "produce", "ts", "--json")

	at := base.Add(5 * time.Minute)
	for _, spec := range []string{"s@" + at.Format(time.RFC3339), "s@" + strconv64(at.UnixMilli()), "s@2026-12-03T10:05:00"} {
		r := mustRun(t, dir, "", "consume", "ts", "--offset", spec, "--format", `%p:%v `)
		assert.Equal(t, "0:g 0:i 1:f 1:h 1:j ", r.stdout, spec)
	}
	r := mustRun(t, dir, "", "consume", "ts", "--offset", "s@2030-01-01T00:00:00Z")
	assert.Empty(t, r.stdout, "after every message: the end")
	r = brookCmd(t, dir, "consume", "ts", "--offset", "s@soon")
	assert.Equal(t, exitUsage, r.code)
	assert.Contains(t, r.stderr, `--offset "s@soon": `)
	assert.Contains(t, r.stderr, "milliseconds since 1970")
}

func strconv64(n int64) string { b, _ := json.Marshal(n); return string(b) }

// FuzzProduceJSONLine: any line either fails with an error or gives a
// message that consume --json writes and produce --json reads back the
// same.
func FuzzProduceJSONLine(f *testing.F) {
	for _, s := range []string{
		`{"key": "k1", "value": "hello", "headers": {"source": "cli"}, "partition": 0, "timestamp": "2026-12-03T10:00:00Z"}`,
		`{"value": "/wA=", "value_encoding": "base64", "headers": [{"key": "h", "value": "00", "value_encoding": "hex"}]}`,
		`{"topic": "t", "offset": 3, "timestamp": 1764756060000, "key": null}`,
		`{"headers": {"a": null}}`, `[]`, `{"value": "\ud800"}`, `{"timestamp": -9223372036854}`,
	} {
		f.Add([]byte(s), 0)
	}
	encs := []encoding{encText, encBase64, encHex}
	f.Fuzz(func(t *testing.T, line []byte, e int) {
		enc := encs[uint(e)%uint(len(encs))]
		var m brook.Message
		if err := parseJSONLine(line, enc, &m); err != nil {
			return
		}
		var buf bytes.Buffer
		require.NoError(t, writeJSONLine(&buf, &m, enc))
		var back brook.Message
		require.NoError(t, parseJSONLine(buf.Bytes(), enc, &back), "%s", buf.Bytes())
		assert.Equal(t, m.Key, back.Key)
		assert.Equal(t, string(m.Value), string(back.Value), "value")
		require.Len(t, back.Headers, len(m.Headers))
		for i, h := range m.Headers {
			assert.Equal(t, h.Key, back.Headers[i].Key)
			assert.Equal(t, string(h.Value), string(back.Headers[i].Value))
		}
		if !m.Timestamp.IsZero() {
			assert.True(t, m.Timestamp.Equal(back.Timestamp), "%v != %v", m.Timestamp, back.Timestamp)
		}
	})
}
