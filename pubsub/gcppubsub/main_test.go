package gcppubsub

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine of ours outlives the tests.
// Two of the Google client's are let go: opencensus's worker, started by
// a package init, and the stream keep-alive loop of a finished Receive,
// which only looks at its stop signals when its next ping timer fires.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("go.opencensus.io/stats/view.(*worker).start"),
		goleak.IgnoreTopFunction("cloud.google.com/go/pubsub/v2.(*messageIterator).streamKeepAliveHandler"),
	)
}
