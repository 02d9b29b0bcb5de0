package storagetest

import (
	"github.com/brookmq/brook/storage"
)

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
