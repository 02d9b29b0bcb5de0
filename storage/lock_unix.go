//go:build unix

package storage

import (
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"
)

// lockFile takes a BSD flock on name. flock locks belong to the open file
// description, so a second Open in the same process conflicts too.
func lockFile(name string) (io.Closer, error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w: %s", ErrLocked, name)
		}
		return nil, err
	}
	return f, nil
}
