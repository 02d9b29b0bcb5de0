//go:build windows

package fsutil

import (
	"errors"
	"os"
	"syscall"
)

// errSharingViolation is ERROR_SHARING_VIOLATION: the file is open
// elsewhere with a sharing mode that excludes this open.
const errSharingViolation syscall.Errno = 32

// Lock takes an exclusive lock on the file name, creating it if needed, by
// opening it with no sharing allowed: every other open of the file fails
// until the returned file is closed or the process ends. It writes which
// process holds it into the file, but no other process can read that while
// the lock is held: the *LockedError (matching ErrLocked) it returns when
// the file is open already names no holder.
func Lock(name string) (*os.File, error) {
	p, err := syscall.UTF16PtrFromString(name)
	if err != nil {
		return nil, &os.PathError{Op: "lock", Path: name, Err: err}
	}
	h, err := syscall.CreateFile(p, syscall.GENERIC_READ|syscall.GENERIC_WRITE,
		0, nil, syscall.OPEN_ALWAYS, syscall.FILE_ATTRIBUTE_NORMAL, 0)
	if err != nil {
		if errors.Is(err, errSharingViolation) {
			return nil, &LockedError{Name: name}
		}
		return nil, &os.PathError{Op: "lock", Path: name, Err: err}
	}
	f := os.NewFile(uintptr(h), name)
	writeHolder(f)
	return f, nil
}
