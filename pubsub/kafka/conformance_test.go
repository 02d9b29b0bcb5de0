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

// TestConformanceOnBrookListener runs the same suite against Brook's own
// Kafka listener (package kafkaserver) over an embedded broker on a
// temporary directory, in the test process on 127.0.0.1: the Kafka backend
// pointed at `brook serve` behaves like the embedded one.
func TestConformanceOnBrookListener(t *testing.T) {
	raw := newBrookListener(t)
	drivertest.RunConformanceTests(t, func(t *testing.T) driver.Backend {
		return openURL(t, raw)
	})
}
