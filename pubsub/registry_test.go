package pubsub_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain fails the package's tests if any goroutine outlives them.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestRegistryZeroValueKnowsBuiltins(t *testing.T) {
	var reg pubsub.Registry
	assert.Equal(t, []string{"brook", "mem"}, reg.Schemes())
	c, err := reg.Open(t.Context(), "mem://")
	require.NoError(t, err)
	assert.NoError(t, c.Close())
}

func TestRegisterPanicsOnDuplicate(t *testing.T) {
	var reg pubsub.Registry
	o := pubsub.OpenerFunc(func(context.Context, *url.URL) (driver.Backend, error) { return newMemlog(), nil })
	reg.Register("custom", o)
	assert.Equal(t, []string{"brook", "custom", "mem"}, reg.Schemes())
	for _, scheme := range []string{"custom", "brook", "mem"} {
		assert.Panics(t, func() { reg.Register(scheme, o) }, "Register %q again", scheme)
	}
	assert.Panics(t, func() { reg.Register("", o) }, "empty scheme")
	assert.Panics(t, func() { reg.Register("nil", nil) }, "nil opener")
	var other pubsub.Registry
	assert.NotPanics(t, func() { other.Register("custom", o) }, "registries share nothing")
}

func TestOpenErrors(t *testing.T) {
	ctx := t.Context()
	var reg pubsub.Registry
	reg.Register("custom", pubsub.OpenerFunc(func(context.Context, *url.URL) (driver.Backend, error) { return newMemlog(), nil }))
	tests := []struct {
		name string
		url  string
		want error
	}{
		{"unknown scheme", "nats://localhost", pubsub.ErrUnknownScheme},
		{"bare unknown scheme", "nats", pubsub.ErrUnknownScheme},
		{"no scheme", "/var/lib/x", pubsub.ErrBadURL},
		{"unparsable", "brook://%zz", pubsub.ErrBadURL},
		{"unknown key", "brook://" + t.TempDir() + "?fsync=1", pubsub.ErrBadURL},
		{"bad sync", "brook://" + t.TempDir() + "?sync=sometimes", pubsub.ErrBadURL},
		{"bad commit interval", "brook://" + t.TempDir() + "?commit_interval=soon", pubsub.ErrBadURL},
		{"negative commit interval", "brook://" + t.TempDir() + "?commit_interval=-1s", pubsub.ErrBadURL},
		{"bad segment size", "brook://" + t.TempDir() + "?segment_size=big", pubsub.ErrBadURL},
		{"keys on the singleton", "brook://?sync=never", pubsub.ErrBadURL},
		{"mem with a path", "mem://somewhere", pubsub.ErrBadURL},
		{"mem unknown key", "mem://?retention=1h", pubsub.ErrBadURL},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := reg.Open(ctx, tt.url)
			assert.ErrorIs(t, err, tt.want)
			assert.Nil(t, c)
		})
	}
	_, err := reg.Open(ctx, "nats://x")
	assert.ErrorContains(t, err, "brook, custom, mem", "ErrUnknownScheme lists the registered schemes")
}

func TestOpenDirURLs(t *testing.T) {
	ctx := t.Context()
	dir := filepath.Join(t.TempDir(), "data")
	c, err := pubsub.Open(ctx, "brook://"+dir+"?sync=interval&commit_interval=50ms&segment_size=65536")
	require.NoError(t, err)
	var b *brook.Broker
	require.True(t, c.As(&b), "As(**brook.Broker)")
	assert.Equal(t, dir, b.Dir())
	require.NoError(t, c.CreateTopic(ctx, "t", 2))
	require.NoError(t, c.Close())
	assert.ErrorIs(t, b.CreateProducer("p").Publish("t", &brook.Message{}), brook.ErrClosed, "the client closed the broker it owned")

	// A relative directory: host and path joined, as brook://./rel writes it.
	t.Chdir(t.TempDir())
	c, err = pubsub.Open(ctx, "brook://./rel/data")
	require.NoError(t, err)
	require.True(t, c.As(&b))
	assert.Equal(t, filepath.Join("rel", "data"), b.Dir())
	require.NoError(t, c.Close())
	_, err = os.Stat(filepath.Join("rel", "data", "topics"))
	assert.NoError(t, err, "the broker's directory is relative to the working directory")
}

func TestFailedOpenLeavesNothingLocked(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	c, err := pubsub.Open(ctx, "brook://"+dir)
	require.NoError(t, err)
	_, err = pubsub.Open(ctx, "brook://"+dir)
	assert.ErrorIs(t, err, brook.ErrLocked, "a second client on the same directory")
	require.NoError(t, c.Close())
	_, err = pubsub.Open(ctx, "brook://"+dir+"?bogus=1")
	require.ErrorIs(t, err, pubsub.ErrBadURL)
	c, err = pubsub.Open(ctx, "brook://"+dir)
	require.NoError(t, err, "the directory is free again after the failed opens")
	require.NoError(t, c.Close())
}

func TestMemRemovesItsDirectory(t *testing.T) {
	c, err := pubsub.Open(t.Context(), "mem://?segment_size=65536")
	require.NoError(t, err)
	var b *brook.Broker
	require.True(t, c.As(&b))
	dir := b.Dir()
	_, err = os.Stat(dir)
	require.NoError(t, err)
	require.NoError(t, c.Close())
	_, err = os.Stat(dir)
	assert.ErrorIs(t, err, os.ErrNotExist, "mem:// removes its directory on Close")
	assert.NoError(t, c.Close(), "Close is idempotent")
}

// The singleton broker behind "brook://" and the bare "brook" is shared and
// outlives the client.
func TestBrookSingletonStaysOpen(t *testing.T) {
	t.Setenv("BROOK_DATA_DIR", t.TempDir())
	ctx := t.Context()
	for _, raw := range []string{"brook://", "brook"} {
		c, err := pubsub.Open(ctx, raw)
		require.NoError(t, err, raw)
		var b *brook.Broker
		require.True(t, c.As(&b))
		assert.Same(t, brook.GetorSetBrokerInstance(), b, "%s is the process-wide broker", raw)
		require.NoError(t, c.CreateTopic(ctx, "shared", 1))
		require.NoError(t, c.Close())
		assert.ErrorIs(t, c.Send(ctx, "shared", []byte("x")), brook.ErrClosed, "the client is closed")
		_, err = b.Topic("shared")
		assert.NoError(t, err, "the process-wide broker is still open after the client's Close")
	}
	require.NoError(t, brook.GetorSetBrokerInstance().Close())
}

func TestAs(t *testing.T) {
	c, err := pubsub.Open(t.Context(), "mem://")
	require.NoError(t, err)
	defer c.Close()
	var b *brook.Broker
	assert.True(t, c.As(&b))
	assert.NotNil(t, b)
	var s string
	assert.False(t, c.As(&s), "another target")
	assert.False(t, c.As(b), "a *brook.Broker, not a pointer to one")
	assert.Equal(t, driver.All(), c.Capabilities(), "the embedded backend can do everything")

	custom := pubsub.NewClient(newMemlog(), pubsub.Options{})
	defer custom.Close()
	assert.False(t, custom.As(&b), "a backend without a client of its own")
	assert.False(t, custom.Capabilities().ExplicitPartitions, "declared by the backend's Capabilities method")
	_, err = custom.EndOffsets(t.Context(), "t")
	assert.ErrorIs(t, err, brook.ErrUnknownTopic)
	assert.ErrorIs(t, custom.CreateTopic(t.Context(), "t", 2), errors.ErrUnsupported, "more partitions than the backend can")
}
