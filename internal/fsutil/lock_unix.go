//go:build unix

package fsutil

import (
	"errors"
	"os"
	"syscall"
)

// Lock takes an exclusive, non-blocking lock on the file name, creating it
// (mode 0600) if needed, and writes into it which process holds it. The
// lock is held until the returned file is closed. It returns a
// *LockedError (matching ErrLocked) naming the holder when the file is
// locked already, in this process or another.
func Lock(name string) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, &LockedError{Name: name, Holder: readHolder(name)}
		}
		return nil, &os.PathError{Op: "flock", Path: name, Err: err}
	}
	writeHolder(f)
	return f, nil
}
