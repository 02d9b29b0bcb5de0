package main

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/brookmq/brook/examples/portable/internal/xproctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAcrossProcesses runs seed 001's programs as separate processes
// through a Kafka listener over Brook, as the README's terminals do: a
// subscriber per queue, started first and running along, then the
// publisher. Each subscriber prints exactly what its queue's bindings
// route to it; a subscriber started again afterwards prints nothing,
// since its group committed over the wire what the first one handled.
func TestAcrossProcesses(t *testing.T) {
	url := xproctest.Serve(t)
	bin := xproctest.Build(t, ".")

	want := map[string][]string{
		"topic1": {"[topic1] topic/topic1: hello"},
		"topic2": {"[topic2] topic/topic2: second"},
		"audit":  {"[audit] broadcast/topic1: hello", "[audit] broadcast/topic2: second", "[audit] broadcast/nobody: lost"},
		"mirror": {"[mirror] broadcast/topic1: hello", "[mirror] broadcast/topic2: second", "[mirror] broadcast/nobody: lost"},
	}
	subs := map[string]*xproctest.Proc{}
	for q := range want {
		subs[q] = xproctest.Start(t, nil, bin, "-url", url, "subscribe", "-queue", q)
	}

	pub := xproctest.Start(t, strings.NewReader("hello\ntopic2: second\nnobody: lost\n"), bin, "-url", url, "publish")
	require.NoError(t, pub.Wait(t, xproctest.Step), "%s:\n%s", pub, pub.Output())
	assert.Equal(t, "no queue is bound to \"nobody\" on topic: not sent there\n", pub.Output())

	for q, lines := range want {
		for _, l := range lines {
			subs[q].WaitFor(t, regexp.MustCompile("(?m)^"+regexp.QuoteMeta(l)+"$"), xproctest.Step)
		}
	}
	for _, p := range subs {
		p.Interrupt(t) // all at once: each takes a moment to leave its group
	}
	for q, lines := range want {
		p := subs[q]
		require.NoError(t, p.Wait(t, xproctest.Step), "%s:\n%s", p, p.Output())
		assert.Equal(t, sorted(lines), sorted(strings.Split(strings.TrimSpace(p.Output()), "\n")), "%s", p)
	}

	again := xproctest.Start(t, nil, bin, "-url", url, "subscribe", "-queue", "audit", "-idle", "500ms")
	require.NoError(t, again.Wait(t, xproctest.Step), "%s:\n%s", again, again.Output())
	assert.Empty(t, again.Output(), "the queue was consumed and committed")
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
