package storagetest

import (
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"

	"github.com/brookmq/brook/storage"
)

// FS is a storage.FS over the operating system's file system (through
// storage.OSFS) that counts every call, fails the ones its faults name,
// can run out of space, and runs an optional hook around each call. It
// also has SyncFile and Rename, so that it serves as the brook package's
// seam for its own metadata writes in that package's tests.
//
// The zero value is not usable: make one with New.
type FS struct {
	base storage.FS

	mu     sync.Mutex
	faults []*fault
	fired  int
	counts map[Op]map[string]int // calls by operation and path
	space  int64                 // bytes that may still be written; < 0: no limit
	hook   func(c Call, do func() error) error
}

// New returns an FS with no faults, no space limit and no hook.
func New() *FS {
	return &FS{base: storage.OSFS(), counts: map[Op]map[string]int{}, space: -1}
}

// Inject adds a fault. Faults fire independently; the first that matches
// a call decides its result.
func (f *FS) Inject(ft Fault) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = append(f.faults, &fault{Fault: ft})
}

// Clear removes every fault (not the space limit, not the hook).
func (f *FS) Clear() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.faults = nil
}

// Fired returns how many calls faults have failed so far, not counting a
// full disk's refusals.
func (f *FS) Fired() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fired
}

// Count returns how many calls of op whose path ends with suffix the FS
// has seen ("" counts them all), failed ones included.
func (f *FS) Count(op Op, suffix string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for p, c := range f.counts[op] {
		if strings.HasSuffix(p, suffix) {
			n += c
		}
	}
	return n
}

// SetSpace makes the disk full after n more bytes, counted over WAL
// writes, writes to files opened through the FS and files fsynced with
// SyncFile (at their size). Once full, those fail with an error matching
// syscall.ENOSPC, as does the creation of a new directory; a write that
// does not fit is written in part (a WAL write leaves a torn entry at the
// tail of its segment) and fails. Removing files frees nothing: call
// SetSpace again. n < 0 removes the limit (the default).
func (f *FS) SetSpace(n int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.space = n
}

// Space returns the bytes that may still be written, or -1 with no limit.
func (f *FS) Space() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return max(f.space, -1)
}

// SetHook makes every later call go through h, which must call do (at most
// once) to perform the call, faults and space limit included, and returns
// the call's result. The power-loss suite records what each fsync made
// durable this way; a hook may also delay a call or fail it itself. nil
// removes the hook. h runs without the FS's lock held and may be called
// concurrently.
func (f *FS) SetHook(h func(c Call, do func() error) error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hook = h
}

// call counts c, then performs it through the hook, the faults and real.
func (f *FS) call(c Call, real func() error) error {
	f.mu.Lock()
	if f.counts[c.Op] == nil {
		f.counts[c.Op] = map[string]int{}
	}
	f.counts[c.Op][c.Path]++
	h := f.hook
	f.mu.Unlock()
	do := func() error { return f.apply(c, real) }
	if h == nil {
		return do()
	}
	return h(c, do)
}

// apply performs c unless a fault says otherwise.
func (f *FS) apply(c Call, real func() error) error {
	f.mu.Lock()
	for i, ft := range f.faults {
		if !ft.matches(c) {
			continue
		}
		ft.seen++
		if ft.Nth != 0 && ft.seen != ft.Nth {
			continue
		}
		if ft.Nth != 0 {
			f.faults = slices.Delete(f.faults, i, i+1)
		}
		f.fired++
		f.mu.Unlock()
		if ft.After {
			_ = real()
		}
		return ft.Err
	}
	f.mu.Unlock()
	return real()
}

// take charges n bytes to the space left and returns how many fit.
func (f *FS) take(n int64) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.space < 0 {
		return n
	}
	got := min(n, f.space)
	f.space -= got
	return got
}

// full reports whether no byte may be written.
func (f *FS) full() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.space == 0
}

func noSpace(op, path string) error {
	return &fs.PathError{Op: op, Path: path, Err: syscall.ENOSPC}
}

// MkdirAll is os.MkdirAll; on a full disk, creating a directory fails.
func (f *FS) MkdirAll(dir string, perm fs.FileMode) error {
	return f.call(Call{Op: OpMkdir, Path: dir}, func() error {
		if _, err := os.Stat(dir); err != nil && f.full() {
			return noSpace("mkdir", dir)
		}
		return f.base.MkdirAll(dir, perm)
	})
}

// ReadDir is os.ReadDir, neither counted nor hooked.
func (f *FS) ReadDir(dir string) ([]fs.DirEntry, error) { return f.base.ReadDir(dir) }

// OpenFile is os.OpenFile; the File's Write, Sync and Truncate go through
// the FS.
func (f *FS) OpenFile(name string, flag int, perm fs.FileMode) (storage.File, error) {
	var file storage.File
	err := f.call(Call{Op: OpOpen, Path: name}, func() error {
		var err error
		file, err = f.base.OpenFile(name, flag, perm)
		return err
	})
	if err != nil {
		if file != nil {
			file.Close()
		}
		return nil, err
	}
	return &File{File: file, fs: f, name: name}, nil
}

// Remove is os.Remove.
func (f *FS) Remove(name string) error {
	return f.call(Call{Op: OpRemove, Path: name}, func() error { return f.base.Remove(name) })
}

// Rename is os.Rename (the brook package's metadata seam).
func (f *FS) Rename(oldpath, newpath string) error {
	return f.call(Call{Op: OpRename, Path: oldpath, NewPath: newpath}, func() error { return os.Rename(oldpath, newpath) })
}

// SyncDir fsyncs directory dir.
func (f *FS) SyncDir(dir string) error {
	return f.call(Call{Op: OpSyncDir, Path: dir}, func() error { return f.base.SyncDir(dir) })
}

// SyncFile fsyncs file (the brook package's metadata seam). With a space
// limit it charges the file's size first, and fails with ENOSPC, without
// the fsync, when that does not fit.
func (f *FS) SyncFile(file *os.File) error {
	return f.call(Call{Op: OpSync, Path: file.Name()}, func() error {
		fi, err := file.Stat()
		if err != nil {
			return err
		}
		if got := f.take(fi.Size()); got < fi.Size() {
			return noSpace("sync", file.Name())
		}
		return file.Sync()
	})
}

// Lock is storage.OSFS's Lock.
func (f *FS) Lock(name string) (io.Closer, error) {
	var c io.Closer
	err := f.call(Call{Op: OpLock, Path: name}, func() error {
		var err error
		c, err = f.base.Lock(name)
		return err
	})
	if err != nil {
		if c != nil {
			c.Close()
		}
		return nil, err
	}
	return c, nil
}

// WALWrite performs write, unless a fault or a full disk says otherwise.
// A write that does not fit in the space left is performed and then cut
// back to what fitted, leaving a torn entry at the tail of the newest
// segment (or refused when it rolled a segment), and fails with ENOSPC.
func (f *FS) WALWrite(dir string, nbytes int, write func() error) error {
	return f.call(Call{Op: OpWALWrite, Path: dir, Bytes: int64(nbytes)}, func() error {
		got := f.take(int64(nbytes))
		if got == int64(nbytes) {
			return write()
		}
		if got == 0 {
			return noSpace("write", dir)
		}
		seg, size := newestSegment(dir)
		if err := write(); err != nil {
			return err
		}
		if after, _ := newestSegment(dir); seg == "" || after != seg {
			return noSpace("write", dir) // rolled: wal's own file, left whole
		}
		_ = os.Truncate(seg, size+got)
		return noSpace("write", seg)
	})
}

// WALSync performs sync, unless a fault says otherwise.
func (f *FS) WALSync(dir string, sync func() error) error {
	return f.call(Call{Op: OpWALSync, Path: dir}, sync)
}

// newestSegment returns the path and size of the newest tidwall/wal
// segment (20-digit name) in dir, or "".
func newestSegment(dir string) (string, int64) {
	segs := Segments(dir)
	if len(segs) == 0 {
		return "", 0
	}
	p := filepath.Join(dir, segs[len(segs)-1])
	fi, err := os.Stat(p)
	if err != nil {
		return "", 0
	}
	return p, fi.Size()
}

// Segments lists the names of the segment files of a log directory
// (tidwall/wal's 20-digit names), oldest first.
func Segments(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var segs []string
	for _, e := range ents {
		if isSegment(e.Name()) {
			segs = append(segs, e.Name())
		}
	}
	slices.Sort(segs)
	return segs
}

func isSegment(name string) bool {
	if len(name) != 20 {
		return false
	}
	for _, c := range name {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// File is a file opened through an FS: its Write, Sync and Truncate are
// counted, hooked and may fail as the FS's faults and space limit say;
// everything else is the file's own.
type File struct {
	storage.File
	fs   *FS
	name string
}

// Name returns the path the file was opened with.
func (f *File) Name() string { return f.name }

// Write writes p; on a full disk it writes what fits and fails with
// ENOSPC.
func (f *File) Write(p []byte) (int, error) {
	n := 0
	err := f.fs.call(Call{Op: OpWrite, Path: f.name, Bytes: int64(len(p))}, func() error {
		got := f.fs.take(int64(len(p)))
		var err error
		n, err = f.File.Write(p[:got])
		if err == nil && got < int64(len(p)) {
			err = noSpace("write", f.name)
		}
		return err
	})
	return n, err
}

// Sync fsyncs the file.
func (f *File) Sync() error {
	return f.fs.call(Call{Op: OpSync, Path: f.name}, f.File.Sync)
}

// Truncate changes the file's size.
func (f *File) Truncate(size int64) error {
	return f.fs.call(Call{Op: OpTruncate, Path: f.name, Bytes: size}, func() error { return f.File.Truncate(size) })
}
