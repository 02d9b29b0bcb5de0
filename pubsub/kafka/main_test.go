package kafka

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the package when a goroutine outlives the tests: every
// subscription's client and every backend is closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
