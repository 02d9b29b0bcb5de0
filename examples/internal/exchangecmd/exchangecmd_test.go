package exchangecmd

import (
	"bytes"
	"context"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
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
	require.NoError(t, Command{}.Run(t.Context(), []string{"-url", "mem://"}, in, &out))
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
	require.NoError(t, Command{}.Run(t.Context(), []string{"-url", url, "publish"}, strings.NewReader("topic2: one\ntwo\n"), &out))
	assert.Empty(t, out.String())

	out.Reset()
	require.NoError(t, Command{}.Run(t.Context(), []string{"-url", url, "subscribe", "-queue", "topic2", "-idle", "500ms"}, nil, &out))
	assert.Equal(t, "[topic2] topic/topic2: one\n", out.String())

	out.Reset()
	require.NoError(t, Command{}.Run(t.Context(), []string{"-url", url, "subscribe", "-queue", "audit", "-idle", "500ms"}, nil, &out))
	assert.Equal(t, "[audit] broadcast/topic2: one\n[audit] broadcast/topic1: two\n", out.String())

	out.Reset()
	require.NoError(t, Command{}.Run(t.Context(), []string{"-url", url, "subscribe", "-queue", "audit", "-idle", "500ms"}, nil, &out))
	assert.Empty(t, out.String(), "the queue was consumed")
}

func TestUnknownCommand(t *testing.T) {
	var out bytes.Buffer
	assert.ErrorContains(t, Command{}.Run(t.Context(), []string{"-url", "mem://", "shout"}, nil, &out), "unknown command")
}

// A Command opens its default URL through its own Registry: the nested
// module's build registers kafka:// that way.
func TestCommandRegistry(t *testing.T) {
	reg := &pubsub.Registry{}
	opened := 0
	reg.Register("other", pubsub.OpenerFunc(func(ctx context.Context, _ *url.URL) (driver.Backend, error) {
		opened++
		return (&pubsub.Registry{}).OpenBackend(ctx, "mem://")
	}))
	var out bytes.Buffer
	cmd := Command{Registry: reg, DefaultURL: "other://"}
	require.NoError(t, cmd.Run(t.Context(), nil, strings.NewReader("topic2: hi\n"), &out))
	assert.Equal(t, 1, opened)
	assert.Contains(t, out.String(), "[topic2] topic/topic2: hi\n")

	out.Reset()
	err := cmd.Run(t.Context(), []string{"-url", "nats://x"}, nil, &out)
	assert.ErrorIs(t, err, pubsub.ErrUnknownScheme)
	assert.ErrorContains(t, err, "other")
}
