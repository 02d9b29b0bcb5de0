package kafkaserver

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that no test leaves a goroutine behind: every server's
// connection goroutines end in Close and Shutdown.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
