package storage

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/brookmq/brook/internal/fsutil"
)

// FS is the file system a Log works through: everything the storage package
// itself does to files and directories. It exists so that tests can inject
// faults (a full disk, EIO) at a chosen write or sync.
//
// What it covers, honestly: tidwall/wal opens, writes, fsyncs and creates
// segment files with package os directly, so its I/O cannot be routed
// through an FS. Instead, every call storage makes into the wal that writes
// or fsyncs goes through WALWrite or WALSync, which run the real operation
// and may replace or add an error: an implementation can refuse the write
// before it happens (as a full disk would) or report a failure after it
// happened (as EIO on fsync would). Either way the Log treats the error as
// a failed write or sync and becomes failed (ErrFailed). Reads of segment
// files, recovery (truncating a torn tail, saving the cut bytes), retention
// (removing segments), directory fsyncs and the lock file do go through FS.
// wal.Open's own reading of the tail segment does not.
//
// Implementations must be safe for concurrent use. Package storagetest
// has one for tests: it fails chosen calls, runs out of space and hooks
// every call.
type FS interface {
	// MkdirAll is os.MkdirAll.
	MkdirAll(dir string, perm fs.FileMode) error
	// ReadDir is os.ReadDir.
	ReadDir(dir string) ([]fs.DirEntry, error)
	// OpenFile is os.OpenFile.
	OpenFile(name string, flag int, perm fs.FileMode) (File, error)
	// Remove is os.Remove.
	Remove(name string) error
	// SyncDir fsyncs directory dir, making creations and removals of the
	// files in it durable.
	SyncDir(dir string) error
	// Lock takes an exclusive, non-blocking lock on the file name (creating
	// it if needed), held until the returned Closer is closed. It returns
	// an error matching ErrLocked when someone else holds it.
	Lock(name string) (io.Closer, error)
	// WALWrite performs write, which appends nbytes of entries to the log in
	// dir through tidwall/wal, and returns its error. A fault-injecting
	// implementation may skip write or replace its result.
	WALWrite(dir string, nbytes int, write func() error) error
	// WALSync performs sync, an fsync of the log's tail segment in dir
	// through tidwall/wal, and returns its error. A fault-injecting
	// implementation may skip sync or replace its result.
	WALSync(dir string, sync func() error) error
}

// File is an open file of an FS. *os.File implements it.
type File interface {
	io.ReaderAt
	io.Writer
	Stat() (fs.FileInfo, error)
	Truncate(size int64) error
	Sync() error
	Close() error
}

// OSFS returns the FS of the operating system.
func OSFS() FS { return osFS{} }

type osFS struct{}

func (osFS) MkdirAll(dir string, perm fs.FileMode) error { return os.MkdirAll(dir, perm) }

func (osFS) ReadDir(dir string) ([]fs.DirEntry, error) { return os.ReadDir(dir) }

func (osFS) OpenFile(name string, flag int, perm fs.FileMode) (File, error) {
	f, err := os.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err // not a typed nil *os.File
	}
	return f, nil
}

func (osFS) Remove(name string) error { return os.Remove(name) }

func (osFS) SyncDir(dir string) error { return fsutil.SyncDir(dir) }

// Lock takes the lock of fsutil.Lock: a flock on Unix, an open that shares
// nothing on Windows.
func (osFS) Lock(name string) (io.Closer, error) {
	f, err := fsutil.Lock(name)
	var le *fsutil.LockedError
	if errors.As(err, &le) {
		return nil, fmt.Errorf("%w: %s, %s", ErrLocked, name, le.Held())
	}
	if err != nil {
		return nil, err // not a typed nil *os.File
	}
	return f, nil
}

func (osFS) WALWrite(_ string, _ int, write func() error) error { return write() }

func (osFS) WALSync(_ string, sync func() error) error { return sync() }

// lockFileName is the lock file inside a log directory. tidwall/wal ignores
// files whose names are not 20-digit indexes.
const lockFileName = "LOCK"

func lockDir(fsys FS, dir string) (io.Closer, error) {
	c, err := fsys.Lock(filepath.Join(dir, lockFileName))
	if err != nil {
		if errors.Is(err, ErrLocked) {
			return nil, err
		}
		return nil, fmt.Errorf("storage: lock %s: %w", dir, err)
	}
	return c, nil
}
