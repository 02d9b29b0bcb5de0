//go:build !unix

package storage

import (
	"io"
	"os"
)

// lockFile only creates the lock file: on this platform a second Open of
// the same directory is not detected.
func lockFile(name string) (io.Closer, error) {
	return os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
}
