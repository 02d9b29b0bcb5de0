package kafka

import (
	"testing"

	"github.com/brookmq/brook/pubsub/driver"
	"github.com/brookmq/brook/pubsub/drivertest"
)

// TestConformance runs the pubsub conformance suite against kfake, one
// cluster in the test process shared by the subtests (each uses names of
// its own), with a new backend per subtest.
func TestConformance(t *testing.T) {
	raw := newCluster(t)
	drivertest.RunConformanceTests(t, func(t *testing.T) driver.Backend {
		return openURL(t, raw)
	})
}
