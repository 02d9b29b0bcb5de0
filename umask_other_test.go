//go:build !unix

package brook

import "testing"

// clearUmask skips the test: file modes are Unix permissions, which this
// platform does not have.
func clearUmask(t *testing.T) {
	t.Skip("file modes 0700/0600 are Unix permissions; this platform has none")
}
