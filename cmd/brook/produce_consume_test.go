package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
)

func TestProduceConsumeRoundTripWithKeys(t *testing.T) {
	dir := newTopic(t, "prices", "4")
	input := "AAPL:191.2\nMSFT:402.7\nAAPL:192.0\nGOOG:140.1\nMSFT:with:colons\n"
	r := mustRun(t, dir, input, "produce", "prices", "--key-sep", ":", "-H", "src=test", "-H", "v=1")
	assert.Equal(t, "5 messages produced to prices\n", r.stderr)

	r = mustRun(t, dir, "", "consume", "prices", "--format", `%t %p %o %k=%v [%h]\t%%\n`)
	got := lines(r.stdout)
	require.Len(t, got, 5)
	partOf := map[string]string{}
	values := map[string][]string{}
	for _, l := range got {
		var topic, part, off, kv, hdr, pct string
		_, err := fmt.Sscanf(strings.ReplaceAll(l, "\t", " "), "%s %s %s %s %s %s", &topic, &part, &off, &kv, &hdr, &pct)
		require.NoError(t, err, l)
		assert.Equal(t, "prices", topic)
		assert.Equal(t, "[src=test,v=1]", hdr)
		assert.Equal(t, "%", pct)
		k, v, _ := strings.Cut(kv, "=")
		if p, seen := partOf[k]; seen {
			assert.Equal(t, p, part, "key %s on one partition", k)
		}
		partOf[k] = part
		values[k] = append(values[k], v)
	}
	assert.Equal(t, map[string][]string{"AAPL": {"191.2", "192.0"}, "MSFT": {"402.7", "with:colons"}, "GOOG": {"140.1"}}, values)

	r = mustRun(t, dir, "", "consume", "prices", "--json", "--count", "1", "--offset", "latest")
	assert.Empty(t, r.stdout, "latest: nothing to read without --follow")
	r = mustRun(t, dir, "", "consume", "prices", "--json")
	var m messageJSON
	decode(t, lines(r.stdout)[0], &m)
	require.NotNil(t, m.Key)
	assert.Equal(t, []headerJSON{{Key: "src", Value: ptr("test")}, {Key: "v", Value: ptr("1")}}, m.Headers)
	assert.WithinDuration(t, time.Now(), m.Timestamp, time.Minute)
}

// produce dropped a trailing "\r" (bufio.ScanLines does): a message is
// every byte up to the newline.
func TestProduceKeepsCarriageReturn(t *testing.T) {
	dir := newTopic(t, "crlf", "1")
	mustRun(t, dir, "dos line\r\nunix line\nlast\r", "produce", "crlf")
	r := mustRun(t, dir, "", "consume", "crlf", "--format", "%v|")
	assert.Equal(t, "dos line\r|unix line|last\r|", r.stdout)
}

func TestProducePartitionAndRoundRobin(t *testing.T) {
	dir := newTopic(t, "t", "3")
	mustRun(t, dir, "a\nb\nc\nd\ne\nf\n", "produce", "t") // round-robin: two each
	mustRun(t, dir, "x\ny\n", "produce", "t", "-p", "2", "--key", "k")

	var info topicInfo
	decode(t, mustRun(t, dir, "", "topics", "describe", "t", "--json").stdout, &info)
	for p, want := range []int64{2, 2, 4} {
		assert.Equal(t, want, info.Partitions[p].Messages, "partition %d", p)
	}

	r := mustRun(t, dir, "", "consume", "t", "-p", "2", "--format", `%o:%k:%v\n`)
	assert.Equal(t, []string{"0::c", "1::f", "2:k:x", "3:k:y"}, lines(r.stdout))
	r = mustRun(t, dir, "", "consume", "t", "-p", "2", "-o", "1", "-c", "2", "--format", `%v `)
	assert.Equal(t, "f x ", r.stdout)
	r = mustRun(t, dir, "", "consume", "t", "-p", "2", "-o", "-1")
	assert.Equal(t, "y\n", r.stdout)
	r = mustRun(t, dir, "", "consume", "t", "-p", "2", "-o", "-100", "-c", "1")
	assert.Equal(t, "c\n", r.stdout, "-N before the start is the start")
}

func TestProduceErrors(t *testing.T) {
	dir := newTopic(t, "small", "2", "--max-message-bytes", "8")
	tests := []struct {
		name, stdin string
		args        []string
		code        int
		stderr      []string
	}{
		{"no separator", "k:v\nnosep\nk:w\n", []string{"--key-sep", ":"}, exitError,
			[]string{"1 message produced to small", `line 2 has no key separator ":"`}},
		{"too large", "ok\nthis line is too long\n", nil, exitError,
			[]string{"1 message produced to small", "line 2 is longer than 8 bytes, the most a message of this topic can hold", "hint:"}},
		{"too large with key", "123456\n", []string{"--key", "abc"}, exitError,
			[]string{"0 messages produced", "message too large"}},
		{"bad partition", "x\n", []string{"-p", "2"}, exitError, []string{"invalid partition: small/2 (topic has partitions 0..1)"}},
		{"negative partition", "x\n", []string{"-p", "-1"}, exitUsage, []string{"--partition must be 0 or more"}},
		{"key and key-sep", "x\n", []string{"-k", "a", "-K", ":"}, exitUsage, []string{"cannot be used together"}},
		{"bad header", "x\n", []string{"-H", "novalue"}, exitUsage, []string{"want KEY=VALUE"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := brookIn(t, dir, tt.stdin, append([]string{"produce", "small"}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			for _, s := range tt.stderr {
				assert.Contains(t, r.stderr, s)
			}
		})
	}
	r := brookIn(t, dir, "x\n", "produce", "nope")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, `unknown topic: "nope"`)
}

func TestConsumeErrors(t *testing.T) {
	dir := newTopic(t, "t", "2")
	mustRun(t, dir, "a\nb\n", "produce", "t", "-p", "0")
	tests := []struct {
		name   string
		args   []string
		code   int
		stderr string
	}{
		{"unknown topic", []string{"nope"}, exitError, `unknown topic: "nope"`},
		{"bad partition", []string{"t", "-p", "5"}, exitError, "invalid partition: t/5 (topic has partitions 0..1)"},
		{"offset out of range", []string{"t", "-p", "0", "-o", "7"}, exitError, "offset 7, the partition holds 0..1 (next 2)"},
		{"bad offset", []string{"t", "-o", "middle"}, exitUsage, `--offset "middle"`},
		{"bad format", []string{"t", "--format", "%x"}, exitUsage, "unknown %x"},
		{"lone percent", []string{"t", "--format", "%v%"}, exitUsage, "ends with a lone '%'"},
		{"format and json", []string{"t", "--format", "%v", "--json"}, exitUsage, "cannot be used together"},
		{"group and partition", []string{"t", "-G", "g", "-p", "0"}, exitUsage, "--partition cannot be used with --group"},
		{"group and number", []string{"t", "-G", "g", "-o", "3"}, exitUsage, "with --group, --offset is earliest or latest"},
		{"negative count", []string{"t", "-c", "-1"}, exitUsage, "--count must be"},
		{"invalid group", []string{"t", "-G", "bad group"}, exitError, "invalid group ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := brookCmd(t, dir, append([]string{"consume"}, tt.args...)...)
			assert.Equal(t, tt.code, r.code, "stderr: %s", r.stderr)
			assert.Contains(t, r.stderr, tt.stderr)
			assert.Empty(t, r.stdout)
		})
	}
}

func TestConsumeFollow(t *testing.T) {
	dir := newTopic(t, "t", "2")
	mustRun(t, dir, "a\nb\n", "produce", "t")

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, errb := newSyncBuffer(), newSyncBuffer()
	done := make(chan int, 1)
	go func() {
		done <- run(ctx, []string{"--dir", dir, "consume", "t", "--follow", "--format", `%p:%v\n`}, strings.NewReader(""), out, errb)
	}()
	deadline := time.After(10 * time.Second)
	for len(lines(out.String())) < 2 {
		select {
		case <-out.wrote:
		case <-deadline:
			t.Fatalf("follow printed %q; want both messages", out.String())
		}
	}
	select {
	case code := <-done:
		t.Fatalf("--follow returned %d at the end of the messages; stderr: %s", code, errb.String())
	default:
	}
	cancel() // as Ctrl-C does
	select {
	case code := <-done:
		assert.Equal(t, exitOK, code, "stderr: %s", errb.String())
	case <-time.After(10 * time.Second):
		t.Fatal("--follow did not stop when its context ended")
	}
	assert.ElementsMatch(t, []string{"0:a", "1:b"}, lines(out.String()))
}

func TestFollowStopsAtCount(t *testing.T) {
	dir := newTopic(t, "t", "3")
	mustRun(t, dir, "1\n2\n3\n4\n5\n6\n", "produce", "t")
	r := mustRun(t, dir, "", "consume", "t", "--follow", "--count", "4")
	assert.Len(t, lines(r.stdout), 4)
}

func TestParseFormat(t *testing.T) {
	f, err := parseFormat(`a\\b%%c\t%v|%k|%h|%T\r\n`)
	require.NoError(t, err)
	var buf bytes.Buffer
	w := bufio.NewWriter(&buf)
	f.write(w, &brook.Message{Value: []byte("V"), Headers: []brook.Header{{Key: "h", Value: []byte("1")}},
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 6, time.FixedZone("X", 3600))})
	require.NoError(t, w.Flush())
	assert.Equal(t, "a\\b%c\tV||h=1|2026-01-02T02:04:05.000000006Z\r\n", buf.String())
	for _, bad := range []string{`%`, `\`, `%q`, `\x`, `%V`} {
		_, err := parseFormat(bad)
		assert.Error(t, err, bad)
	}
}
