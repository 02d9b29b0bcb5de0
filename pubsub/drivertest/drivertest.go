// Package drivertest is the conformance suite of pubsub backends: one call,
// RunConformanceTests, checks that a driver.Backend behaves as the embedded
// broker does when used through a pubsub.Client, as go-cloud's drivertest
// does for its drivers. The built-in backends, the Kafka and Google Pub/Sub
// modules and a custom backend all run it from their tests:
//
//	func TestConformance(t *testing.T) {
//		drivertest.RunConformanceTests(t, func(t *testing.T) driver.Backend {
//			return newMyBackend(t) // a fresh backend; the suite closes it
//		})
//	}
//
// Each subtest gets its own backend from newBackend and closes it (through
// the client) when it ends; it uses topic and group names of its own, so
// backends that share one cluster between subtests see no collision. The
// subtests run in parallel. A subtest is skipped only where the backend's
// declared driver.Capabilities rule it out, and the skip names the
// capability. Message counts are small and every wait is bounded, so the
// suite takes seconds on the embedded broker.
package drivertest

import (
	"testing"

	"github.com/brookmq/brook/pubsub/driver"
)

// RunConformanceTests runs the conformance suite against the backends
// newBackend returns, one per subtest.
func RunConformanceTests(t *testing.T, newBackend func(*testing.T) driver.Backend) {
	t.Helper()
	tests := []struct {
		name string
		fn   func(t *testing.T, e *env)
	}{
		{"LateGroupGetsHistory", testLateGroup},
		{"StartLatest", testStartLatest},
		{"RoundTrip", testRoundTrip},
		{"KeyPlacement", testKeyPlacement},
		{"RoundRobinReachesEveryPartition", testRoundRobin},
		{"Errors", testErrors},
		{"ErrClosed", testClosed},
		{"TwoGroupsEachGetEverything", testTwoGroups},
		{"OneMemberPerMessage", testOneMemberPerMessage},
		{"NoRedeliveryAfterCleanClose", testNoRedelivery},
		{"NoGroupReadsAllCommitsNothing", testNoGroup},
		{"ReceiveResumesAfterResubscribe", testResume},
		{"ManualCommit", testManualCommit},
		{"StopOnError", testStopOnError},
		{"SkipOnError", testSkipOnError},
		{"DeadLetter", testDeadLetter},
		{"SubscriptionClose", testSubscriptionClose},
		{"DeleteGroup", testDeleteGroup},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.fn(t, newEnv(t, newBackend))
		})
	}
}
