//go:build !unix && !windows

package fsutil

import "os"

// Lock only creates the file name: this platform has no file lock that
// Brook uses, so a second user of the file is not detected.
func Lock(name string) (*os.File, error) {
	return os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
}
