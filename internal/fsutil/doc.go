// Package fsutil holds the two file system helpers that the root package
// and the storage package both need, so that each exists once: an
// exclusive lock on a file (the lock of a data or log directory) and the
// fsync of a directory (which makes the creation, rename or removal of its
// entries survive a power loss).
//
// What it promises per platform:
//
//   - Unix (Linux, macOS, the BSDs): Lock is a BSD flock, held by the open
//     file description, so a second Lock of the same file conflicts in the
//     same process as in another; the kernel drops it when the process
//     dies, so a crash never leaves a stale lock. The holder writes its
//     process ID, program, host and the time into the file, and a refused
//     Lock reports them. SyncDir fsyncs the directory.
//   - Windows: Lock opens the file with no sharing allowed, so a second
//     open of it, in any process, fails until the handle is closed (or the
//     process dies). SyncDir does nothing: Windows cannot flush a directory
//     handle, and NTFS journals its metadata itself.
//   - Other platforms (wasm, plan9): Lock only creates the file and detects
//     no second user; SyncDir fsyncs the directory if the platform can.
package fsutil

import "errors"

// ErrLocked is matched by the *LockedError that Lock returns when another
// holder has the file locked. Callers wrap it in their own sentinel.
var ErrLocked = errors.New("fsutil: file is locked")
