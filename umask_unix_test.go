//go:build unix

package brook

import (
	"syscall"
	"testing"
)

// clearUmask sets the process umask to 0 for the test, so that the modes
// files are created with are the modes they get.
func clearUmask(t *testing.T) {
	old := syscall.Umask(0)
	t.Cleanup(func() { syscall.Umask(old) })
}
