package gcppubsub

import (
	"testing"

	"github.com/brookmq/brook/pubsub/driver"
	"github.com/brookmq/brook/pubsub/drivertest"
)

// TestConformance runs the pubsub conformance suite against pstest, one
// fake server in the test process shared by the subtests (each uses names
// of its own), with a new backend per subtest. The suite skips what the
// backend's Capabilities (all false) rule out.
func TestConformance(t *testing.T) {
	addr := newServer(t)
	drivertest.RunConformanceTests(t, func(t *testing.T) driver.Backend {
		return openBackend(t, addr)
	})
}
