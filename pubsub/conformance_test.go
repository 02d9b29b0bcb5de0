package pubsub_test

import (
	"context"
	"testing"

	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/driver"
	"github.com/brookmq/brook/pubsub/drivertest"
	"github.com/stretchr/testify/assert"
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

// The throughput workload runs on any backend, adapting to one partition
// where the backend has no explicit partitions.
func TestWorkloadSmall(t *testing.T) {
	for name, b := range map[string]driver.Backend{"mem": openBackend(t, "mem://"), "custom": newMemlog()} {
		t.Run(name, func(t *testing.T) {
			c := pubsub.NewClient(b, pubsub.Options{})
			defer c.Close()
			res, err := drivertest.Workload{Messages: 2000, Batch: 100, Members: 2}.Run(t.Context(), c, "w", "g")
			require.NoError(t, err)
			assert.Equal(t, 2000, res.Messages)
			assert.Positive(t, res.ProduceRate())
			assert.Positive(t, res.ConsumeRate())
			ends, err := c.EndOffsets(t.Context(), "w")
			require.NoError(t, err)
			var sum int64
			for _, e := range ends {
				sum += e
			}
			assert.Equal(t, int64(2000), sum, "every message published once")
		})
	}
}
