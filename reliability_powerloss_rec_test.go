//go:build unix

package brook

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/brookmq/brook/storage/storagetest"
)

// plRecorder is the power-loss child's file system: storagetest's FS,
// which does what the operating system does, with a hook that reports on
// stdout, after each fsync returns, what that fsync made durable (see
// TestReliabilityPowerLoss for the protocol). It is both the storage FS of
// every partition and offsets log and the metaFS of the broker's own
// metadata writes. Paths are reported relative to the data directory.
//
// Before a file is removed or replaced by a rename, it is hard-linked into
// the shadow directory (outside the data directory), so that the parent
// can bring it back when the removal was never made durable. That is the
// only thing it does beyond the operating system, and it does not touch
// the data directory.
type plRecorder struct {
	*storagetest.FS
	root, shadow string
	out          *plOut
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
	r := &plRecorder{FS: storagetest.New(), root: root, shadow: shadow, out: out, sealed: map[string]map[string]bool{}}
	r.SetHook(r.hook)
	return r
}

// hook performs c and reports what it made durable or undoable.
func (r *plRecorder) hook(c storagetest.Call, do func() error) error {
	switch c.Op {
	case storagetest.OpRename:
		return r.keepAround(c.NewPath, do, func(kept string) { r.out.printf("R %s %s %s", r.rel(c.Path), r.rel(c.NewPath), kept) })
	case storagetest.OpRemove:
		return r.keepAround(c.Path, do, func(kept string) { r.out.printf("X %s %s", r.rel(c.Path), kept) })
	case storagetest.OpSyncDir:
		return r.syncDir(c.Path, do)
	case storagetest.OpSync: // a file of the metaFS, a repaired tail, saved cut bytes
		err := do()
		if err == nil {
			r.reportSize(c.Path)
		}
		return err
	case storagetest.OpLock:
		// Once per Open of a log: what was known about a log that had
		// this directory before (a deleted topic's) is forgotten.
		err := do()
		if err == nil {
			r.mu.Lock()
			delete(r.sealed, filepath.Dir(c.Path))
			r.mu.Unlock()
		}
		return err
	case storagetest.OpWALWrite:
		err := do()
		if err == nil {
			r.walWritten(c.Path)
		}
		return err
	case storagetest.OpWALSync:
		// storage calls it with the log's writes stopped, so the size
		// read after the fsync is the size that was synced.
		err := do()
		if segs := storagetest.Segments(c.Path); err == nil && len(segs) > 0 {
			r.reportSize(filepath.Join(c.Path, segs[len(segs)-1]))
		}
		return err
	}
	return do()
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
func (r *plRecorder) syncDir(dir string, sync func() error) error {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	if err := sync(); err != nil {
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

// keepAround hard-links path into the shadow directory (when it is a
// regular file), performs do, and reports with the link ("-" for none)
// when do succeeded.
func (r *plRecorder) keepAround(path string, do func() error, report func(kept string)) error {
	kept := r.keep(path)
	if err := do(); err != nil {
		if kept != "-" {
			os.Remove(kept)
		}
		return err
	}
	report(kept)
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

// walWritten infers tidwall/wal's own fsyncs: when a write rolls the log
// to a new segment, wal's cycle() has fsynced the segment it sealed, at
// its final size, before creating the next one. So after the write, every
// segment but the newest is durable at its size.
func (r *plRecorder) walWritten(dir string) {
	segs := storagetest.Segments(dir)
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
}
