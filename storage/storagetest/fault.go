// Package storagetest is a test helper for code built on package storage:
// a file system (FS) that does what the operating system does, and fails
// the calls you choose or runs a hook around each of them. It is how
// storage's own tests, and the brook package's fault and power-loss suites,
// give a log a full disk, an EIO at the fifth fsync, or a record of every
// fsync, rename and removal. Users of the storage package can use it the
// same way in their tests; it is not meant for production.
//
// What it can reach is what storage.FS reaches (see its doc): tidwall/wal
// writes and fsyncs segment files itself, so those calls are seen as
// WALWrite and WALSync, with the directory of the log, and the injected
// error replaces or precedes the real one.
//
// A typical use:
//
//	fsys := storagetest.New()
//	fsys.Inject(storagetest.Fault{Op: storagetest.OpWALSync, Nth: 5, Err: syscall.EIO})
//	l, err := storage.Open(dir, &storage.Options{FS: fsys})
//
// The promises: without faults, hooks or a space limit, an FS behaves
// exactly as storage.OSFS; a fault fires on exactly the call it names; and
// every method is safe for concurrent use.
package storagetest

import (
	"fmt"
	"strings"
)

// Op names a kind of call an FS sees.
type Op int

// The calls an FS counts, hooks and can fail. ReadDir, and a File's ReadAt,
// Stat and Close, are passed through untouched.
const (
	// OpMkdir is MkdirAll; Path is the directory.
	OpMkdir Op = iota + 1
	// OpOpen is OpenFile; Path is the file.
	OpOpen
	// OpRemove is Remove; Path is the file.
	OpRemove
	// OpRename is Rename (the brook package's metadata seam); Path is the
	// old path, NewPath the new one.
	OpRename
	// OpSyncDir is SyncDir; Path is the directory.
	OpSyncDir
	// OpLock is Lock; Path is the lock file.
	OpLock
	// OpWALWrite is WALWrite; Path is the log directory, Bytes what is
	// appended.
	OpWALWrite
	// OpWALSync is WALSync; Path is the log directory.
	OpWALSync
	// OpWrite is a Write to a File opened through the FS; Path is the
	// file, Bytes the length written.
	OpWrite
	// OpSync is an fsync of a file: a File's Sync, or SyncFile (the brook
	// package's metadata seam); Path is the file.
	OpSync
	// OpTruncate is a File's Truncate; Path is the file, Bytes the new
	// size.
	OpTruncate
)

var opNames = map[Op]string{
	OpMkdir: "mkdir", OpOpen: "open", OpRemove: "remove", OpRename: "rename",
	OpSyncDir: "syncdir", OpLock: "lock", OpWALWrite: "walwrite", OpWALSync: "walsync",
	OpWrite: "write", OpSync: "sync", OpTruncate: "truncate",
}

// String returns the operation's lower-case name, such as "walsync".
func (o Op) String() string {
	if s, ok := opNames[o]; ok {
		return s
	}
	return fmt.Sprintf("Op(%d)", int(o))
}

// Call is one call an FS sees, as given to a Hook.
type Call struct {
	Op      Op
	Path    string // the file or directory (the old path of a rename)
	NewPath string // the new path of a rename; empty otherwise
	Bytes   int64  // bytes written (OpWALWrite, OpWrite), size (OpTruncate)
}

// String describes the call, for test messages.
func (c Call) String() string {
	s := c.Op.String() + " " + c.Path
	if c.NewPath != "" {
		s += " -> " + c.NewPath
	}
	if c.Bytes != 0 {
		s += fmt.Sprintf(" (%d bytes)", c.Bytes)
	}
	return s
}

// Fault makes calls fail. A fault matches a call of its Op whose Path (or
// NewPath) ends with Path.
type Fault struct {
	// Op is the kind of call that fails.
	Op Op
	// Path selects the calls by suffix, such as "/topics/t/1" for one
	// partition of the brook package. Default: every path.
	Path string
	// Nth fails the Nth matching call counted from the Inject (1: the
	// next one), and only that one. Default (0): every matching call,
	// until Clear.
	Nth int
	// Err is what the failing call returns, as it is. It must be set.
	Err error
	// After performs the call, then returns Err, as an fsync reporting
	// EIO after the fact. Default: Err is returned instead, and nothing
	// happens, as a full disk refusing a write.
	After bool
}

// fault is an injected Fault and its count of matching calls.
type fault struct {
	Fault
	seen int
}

func (f *fault) matches(c Call) bool {
	if f.Op != c.Op {
		return false
	}
	return strings.HasSuffix(c.Path, f.Path) || (c.NewPath != "" && strings.HasSuffix(c.NewPath, f.Path))
}
