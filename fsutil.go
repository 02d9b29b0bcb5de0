package brook

import (
	"os"
	"path/filepath"

	"github.com/brookmq/brook/internal/fsutil"
)

// metaFS is the seam of Brook's own metadata writes: the fsync of a file
// written by writeFileAtomic (topic.json, the data-directory marker), the
// renames that put those files and topic directories in place or move them
// out of the way, and directory fsyncs. The power-loss test records through
// it what reached the disk; everything else uses osMeta, the operating
// system. Implementations must be safe for concurrent use.
type metaFS interface {
	// SyncFile fsyncs f.
	SyncFile(f *os.File) error
	// Rename is os.Rename.
	Rename(oldpath, newpath string) error
	// SyncDir fsyncs directory dir, so that entries created, renamed or
	// removed in it survive a power loss.
	SyncDir(dir string) error
}

// osMeta is the metaFS of the operating system.
type osMeta struct{}

func (osMeta) SyncFile(f *os.File) error { return f.Sync() }

func (osMeta) Rename(oldpath, newpath string) error { return os.Rename(oldpath, newpath) }

func (osMeta) SyncDir(dir string) error { return fsutil.SyncDir(dir) }

// writeFileAtomic writes data to path through a temporary file in the same
// directory, fsyncs it, renames it over path and fsyncs the directory, so a
// crash leaves either the old content or the new, never a mix.
func writeFileAtomic(m metaFS, path string, data []byte) error {
	return writeFileVia(m, filepath.Dir(path), path, data)
}

// writeFileVia is writeFileAtomic with the temporary file made in stage, a
// directory of the same file system. The data directory's marker is
// staged in tmp/: a crash while it is written then leaves nothing beside
// the layout that would make the directory look foreign to the next Open.
func writeFileVia(m metaFS, stage, path string, data []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(stage, ".tmp-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after the rename
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return err
	}
	if err := m.SyncFile(f); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := m.Rename(tmp, path); err != nil {
		return err
	}
	return m.SyncDir(dir)
}
