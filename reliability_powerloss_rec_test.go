//go:build unix

package brook

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/brookmq/brook/internal/fsutil"
	"github.com/brookmq/brook/storage"
)

// plRecorder is the power-loss child's file system: it does what the
// operating system does and reports on stdout, after each fsync returns,
// what that fsync made durable (see TestReliabilityPowerLoss for the
// protocol). It is both the storage FS of every partition and offsets log
// and the metaFS of the broker's own metadata writes. Paths are reported
// relative to the data directory.
//
// Before a file is removed or replaced by a rename, it is hard-linked into
// the shadow directory (outside the data directory), so that the parent
// can bring it back when the removal was never made durable. That is the
// only thing it does beyond the operating system, and it does not touch
// the data directory.
type plRecorder struct {
	root, shadow string
	out          *plOut
	base         storage.FS
	shadowN      atomic.Int64

	mu     sync.Mutex
	sealed map[string]map[string]bool // log dir -> segments reported sealed
}

// plOut writes whole lines to stdout, one write each, so that a kill never
// leaves half a line and the order of lines is the order of the writes.
type plOut struct{ mu sync.Mutex }

func (o *plOut) printf(format string, args ...any) {
	b := fmt.Appendf(nil, format+"\n", args...)
	o.mu.Lock()
	_, _ = os.Stdout.Write(b)
	o.mu.Unlock()
}

func newPLRecorder(root, shadow string, out *plOut) *plRecorder {
	return &plRecorder{root: root, shadow: shadow, out: out, base: storage.OSFS(), sealed: map[string]map[string]bool{}}
}

func (r *plRecorder) rel(path string) string {
	rel, err := filepath.Rel(r.root, path)
	if err != nil || strings.HasPrefix(rel, "..") {
		panic(fmt.Sprintf("power-loss recorder: %s is outside %s", path, r.root))
	}
	return filepath.ToSlash(rel)
}

// reportSize reports that path is durable up to its current size.
func (r *plRecorder) reportSize(path string) {
	if fi, err := os.Stat(path); err == nil {
		r.out.printf("F %s %d", r.rel(path), fi.Size())
	}
}

// syncDir lists dir, fsyncs it and reports the listing as the directory's
// durable entries. Listing first errs on the safe side: an entry created
// while the fsync runs is taken as not durable, one removed meanwhile as
// still there.
func (r *plRecorder) syncDir(dir string) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if err := fsutil.SyncDir(dir); err != nil {
		return err
	}
	names := make([]string, 0, len(ents)+2)
	names = append(names, "D", r.rel(dir))
	for _, e := range ents {
		names = append(names, e.Name())
	}
	r.out.printf("%s", strings.Join(names, " "))
	return nil
}

// keep hard-links path into the shadow directory and returns the link, or
// "-" when path is not a regular file.
func (r *plRecorder) keep(path string) string {
	fi, err := os.Lstat(path)
	if err != nil || !fi.Mode().IsRegular() {
		return "-"
	}
	link := filepath.Join(r.shadow, fmt.Sprint(r.shadowN.Add(1)))
	if err := os.Link(path, link); err != nil {
		panic(fmt.Sprintf("power-loss recorder: link %s: %v", path, err))
	}
	return link
}

// metaFS

func (r *plRecorder) SyncFile(f *os.File) error {
	if err := f.Sync(); err != nil {
		return err
	}
	r.reportSize(f.Name())
	return nil
}

func (r *plRecorder) Rename(oldpath, newpath string) error {
	kept := r.keep(newpath)
	if err := os.Rename(oldpath, newpath); err != nil {
		if kept != "-" {
			os.Remove(kept)
		}
		return err
	}
	r.out.printf("R %s %s %s", r.rel(oldpath), r.rel(newpath), kept)
	return nil
}

func (r *plRecorder) SyncDir(dir string) error { return r.syncDir(dir) }

// storage.FS

func (r *plRecorder) MkdirAll(dir string, perm fs.FileMode) error { return r.base.MkdirAll(dir, perm) }

func (r *plRecorder) ReadDir(dir string) ([]fs.DirEntry, error) { return r.base.ReadDir(dir) }

func (r *plRecorder) OpenFile(name string, flag int, perm fs.FileMode) (storage.File, error) {
	f, err := r.base.OpenFile(name, flag, perm)
	if err != nil {
		return nil, err
	}
	return plFile{File: f, r: r, name: name}, nil
}

func (r *plRecorder) Remove(name string) error {
	kept := r.keep(name)
	if err := r.base.Remove(name); err != nil {
		if kept != "-" {
			os.Remove(kept)
		}
		return err
	}
	r.out.printf("X %s %s", r.rel(name), kept)
	return nil
}

// Lock is called once per Open of a log: what was known about a log that
// had this directory before (a deleted topic's) is forgotten.
func (r *plRecorder) Lock(name string) (io.Closer, error) {
	c, err := r.base.Lock(name)
	if err == nil {
		r.mu.Lock()
		delete(r.sealed, filepath.Dir(name))
		r.mu.Unlock()
	}
	return c, err
}

// WALWrite infers tidwall/wal's own fsyncs: when a write rolls the log to
// a new segment, wal's cycle() has fsynced the segment it sealed, at its
// final size, before creating the next one. So after the write, every
// segment but the newest is durable at its size.
func (r *plRecorder) WALWrite(dir string, _ int, write func() error) error {
	if err := write(); err != nil {
		return err
	}
	segs := walSegments(dir)
	r.mu.Lock()
	done := r.sealed[dir]
	if done == nil {
		done = map[string]bool{}
		r.sealed[dir] = done
	}
	var fresh []string
	for _, s := range segs[:max(len(segs)-1, 0)] {
		if !done[s] {
			done[s] = true
			fresh = append(fresh, s)
		}
	}
	r.mu.Unlock()
	for _, s := range fresh {
		r.reportSize(filepath.Join(dir, s))
	}
	return nil
}

// WALSync reports the tail segment durable at its size. storage calls it
// with the log's writes stopped, so the size read after the fsync is the
// size that was synced.
func (r *plRecorder) WALSync(dir string, sync func() error) error {
	if err := sync(); err != nil {
		return err
	}
	if segs := walSegments(dir); len(segs) > 0 {
		r.reportSize(filepath.Join(dir, segs[len(segs)-1]))
	}
	return nil
}

// walSegments lists the segment files of a log directory (tidwall/wal's
// 20-digit names), oldest first.
func walSegments(dir string) []string {
	ents, _ := os.ReadDir(dir)
	var segs []string
	for _, e := range ents {
		if isWALSegment(e.Name()) {
			segs = append(segs, e.Name())
		}
	}
	slices.Sort(segs)
	return segs
}

func isWALSegment(name string) bool {
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

// plFile reports the fsyncs storage makes itself (a repaired tail, saved
// cut bytes).
type plFile struct {
	storage.File
	r    *plRecorder
	name string
}

func (f plFile) Sync() error {
	if err := f.File.Sync(); err != nil {
		return err
	}
	f.r.reportSize(f.name)
	return nil
}
