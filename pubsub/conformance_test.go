package pubsub_test

import (
	"context"
	"testing"

	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/brookmq/brook/pubsub/drivertest"
	"github.com/stretchr/testify/require"
)

// openBackend opens rawURL's backend with the built-in opener, for the
// conformance suite (which wraps it in a Client of its own).
func openBackend(t *testing.T, rawURL string) driver.Backend {
	t.Helper()
	var reg pubsub.Registry
	b, err := reg.OpenBackend(context.Background(), rawURL)
	require.NoError(t, err, rawURL)
	return b
}

func TestConformanceMem(t *testing.T) {
	drivertest.RunConformanceTests(t, func(t *testing.T) driver.Backend { return openBackend(t, "mem://") })
}

func TestConformanceBrookDir(t *testing.T) {
	drivertest.RunConformanceTests(t, func(t *testing.T) driver.Backend {
		return openBackend(t, "brook://"+t.TempDir())
	})
}
