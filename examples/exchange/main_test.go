package main

import (
	"bytes"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain checks that a run leaves no goroutine behind.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func lines(s string) []string {
	out := strings.Split(strings.TrimSpace(s), "\n")
	slices.Sort(out)
	return out
}

// The demo prints every message typed, once per queue that takes it.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	in := strings.NewReader("hello\ntopic2: second\nnobody: lost\n\n")
	require.NoError(t, run(t.Context(), []string{"-url", "mem://"}, in, &out))
	assert.Equal(t, lines(`no queue is bound to "nobody" on topic: not sent there
[topic1] topic/topic1: hello
[topic2] topic/topic2: second
[audit] broadcast/topic1: hello
[audit] broadcast/topic2: second
[audit] broadcast/nobody: lost
[mirror] broadcast/topic1: hello
[mirror] broadcast/topic2: second
[mirror] broadcast/nobody: lost`), lines(out.String()))
}

// The seed's two programs, one after the other on one brook:// directory:
// what the publisher sent waits in the queues for the subscriber.
func TestPublishThenSubscribe(t *testing.T) {
	url := "brook://" + t.TempDir()
	var out bytes.Buffer
	require.NoError(t, run(t.Context(), []string{"-url", url, "publish"}, strings.NewReader("topic2: one\ntwo\n"), &out))
	assert.Empty(t, out.String())

	out.Reset()
	require.NoError(t, run(t.Context(), []string{"-url", url, "subscribe", "-queue", "topic2", "-idle", "500ms"}, nil, &out))
	assert.Equal(t, "[topic2] topic/topic2: one\n", out.String())

	out.Reset()
	require.NoError(t, run(t.Context(), []string{"-url", url, "subscribe", "-queue", "audit", "-idle", "500ms"}, nil, &out))
	assert.Equal(t, "[audit] broadcast/topic2: one\n[audit] broadcast/topic1: two\n", out.String())

	out.Reset()
	require.NoError(t, run(t.Context(), []string{"-url", url, "subscribe", "-queue", "audit", "-idle", "500ms"}, nil, &out))
	assert.Empty(t, out.String(), "the queue was consumed")
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	assert.ErrorContains(t, run(t.Context(), []string{"-url", "mem://", "shout"}, nil, &out), "unknown command")
}
