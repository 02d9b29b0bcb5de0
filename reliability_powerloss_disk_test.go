//go:build unix

package brook

import (
	"math/rand/v2"
	"os"
	"path"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// plDisk is the parent's model of what a power loss keeps of the data
// directory: the durable entries of each directory (its listing at its
// last fsync), the durable length of each file (its size at its last
// fsync), the renames not yet made durable and the removals that can be
// undone. It starts from the directory as it is (all durable: the machine
// was shut down cleanly between rounds) and follows the child's reports.
// Paths are relative to the data directory, "." being the directory itself.
type plDisk struct {
	root    string
	durable map[string]map[string]bool // directory -> durable entry names
	synced  map[string]int64           // file -> durable length
	removed map[string]plKept          // file removed, not durably yet -> its copy
	renames []plRename                 // not durable yet, in order
	st      plCutStats
}

type plKept struct {
	link   string // hard link in the shadow directory
	synced int64
}

type plRename struct {
	old, new string
	kept     plKept // what new was before the rename, if a file ("-" link: nothing)
}

// plCutStats counts what the simulated power losses did.
type plCutStats struct {
	filesCut, bytesCut, entriesDropped, renamesUndone, removalsUndone, zeroTails, partialTails int
}

func newPLDisk(t *testing.T, root string) *plDisk {
	d := &plDisk{root: root, durable: map[string]map[string]bool{}, synced: map[string]int64{}, removed: map[string]plKept{}}
	var walk func(rel string)
	walk = func(rel string) {
		ents, err := os.ReadDir(filepath.Join(root, rel))
		require.NoError(t, err)
		names := map[string]bool{}
		for _, e := range ents {
			names[e.Name()] = true
			erel := path.Join(rel, e.Name())
			if e.IsDir() {
				walk(erel)
				continue
			}
			fi, err := e.Info()
			require.NoError(t, err)
			d.synced[erel] = fi.Size()
		}
		d.durable[rel] = names
	}
	walk(".")
	return d
}

// apply takes one report of the child: F (a file fsynced at a length), D
// (a directory fsynced with these entries), R (a rename, with the copy of
// the file it replaced) or X (a removal, with a copy of the file).
func (d *plDisk) apply(t *testing.T, f []string) {
	switch f[0] {
	case "F":
		require.Len(t, f, 3, "report %q", f)
		n, err := strconv.ParseInt(f[2], 10, 64)
		require.NoError(t, err)
		d.synced[f[1]] = n
	case "D":
		names := map[string]bool{}
		for _, n := range f[2:] {
			names[n] = true
		}
		d.durable[f[1]] = names
		for p := range d.removed {
			if path.Dir(p) == f[1] && !names[path.Base(p)] {
				delete(d.removed, p) // the removal is durable now
			}
		}
		pending := d.renames[:0]
		for _, r := range d.renames {
			// A rename is one journal transaction on the file systems
			// Brook targets: an fsync of either directory makes it durable.
			if path.Dir(r.new) != f[1] && path.Dir(r.old) != f[1] {
				pending = append(pending, r)
			}
		}
		d.renames = pending
	case "R":
		require.Len(t, f, 4, "report %q", f)
		r := plRename{old: f[1], new: f[2], kept: plKept{link: f[3], synced: d.synced[f[2]]}}
		d.forget(r.new)
		d.move(r.old, r.new)
		d.renames = append(d.renames, r)
	case "X":
		require.Len(t, f, 3, "report %q", f)
		if f[2] != "-" {
			d.removed[f[1]] = plKept{link: f[2], synced: d.synced[f[1]]}
		}
		delete(d.synced, f[1])
	default:
		t.Fatalf("unknown report %q", f)
	}
}

func under(p, dir string) bool { return p == dir || strings.HasPrefix(p, dir+"/") }

func rebase(p, from, to string) string { return to + p[len(from):] }

// forget drops what is known of p and everything under it.
func (d *plDisk) forget(p string) {
	for k := range d.synced {
		if under(k, p) {
			delete(d.synced, k)
		}
	}
	for k := range d.durable {
		if under(k, p) {
			delete(d.durable, k)
		}
	}
}

// move makes what is known of from (and under it) known of to: a rename
// keeps the inode, with its durable content and entries.
func (d *plDisk) move(from, to string) {
	for k, v := range d.synced {
		if under(k, from) {
			delete(d.synced, k)
			d.synced[rebase(k, from, to)] = v
		}
	}
	for k, v := range d.durable {
		if under(k, from) {
			delete(d.durable, k)
			d.durable[rebase(k, from, to)] = v
		}
	}
	for k, v := range d.removed {
		if under(k, from) {
			delete(d.removed, k)
			d.removed[rebase(k, from, to)] = v
		}
	}
}

// powerCut turns the data directory into what a power loss at this moment
// may leave: renames not made durable are undone (newest first), entries
// created since their directory's last fsync are dropped, removals not made
// durable are undone, and every file is cut back to its durable length,
// sometimes keeping a part of what followed (written back by the OS in
// time) or zeros in its place (the size reached the disk, the data not).
func (d *plDisk) powerCut(t *testing.T, rng *rand.Rand) {
	for i := len(d.renames) - 1; i >= 0; i-- {
		r := d.renames[i]
		oldAbs, newAbs := filepath.Join(d.root, r.old), filepath.Join(d.root, r.new)
		if _, err := os.Lstat(newAbs); err != nil {
			continue // moved or removed since: nothing to undo here
		}
		if _, err := os.Stat(filepath.Dir(oldAbs)); err != nil {
			continue
		}
		require.NoError(t, os.Rename(newAbs, oldAbs))
		d.move(r.new, r.old)
		if r.kept.link != "-" {
			require.NoError(t, os.Link(r.kept.link, newAbs))
			d.synced[r.new] = r.kept.synced
		}
		d.st.renamesUndone++
	}
	d.renames = nil
	d.fix(t, ".", rng)
}

func (d *plDisk) fix(t *testing.T, rel string, rng *rand.Rand) {
	abs := filepath.Join(d.root, rel)
	ents, err := os.ReadDir(abs)
	require.NoError(t, err)
	dur := d.durable[rel] // nil: never fsynced, nothing in it is durable
	present := map[string]bool{}
	for _, e := range ents {
		erel := path.Join(rel, e.Name())
		if !dur[e.Name()] {
			require.NoError(t, os.RemoveAll(filepath.Join(abs, e.Name())))
			d.st.entriesDropped++
			continue
		}
		present[e.Name()] = true
		if e.IsDir() {
			d.fix(t, erel, rng)
		} else {
			d.cut(t, erel, rng)
		}
	}
	for name := range dur {
		erel := path.Join(rel, name)
		k, ok := d.removed[erel]
		if present[name] || !ok {
			continue
		}
		require.NoError(t, os.Link(k.link, filepath.Join(abs, name)))
		d.synced[erel] = k.synced
		d.st.removalsUndone++
		d.cut(t, erel, rng)
	}
}

func (d *plDisk) cut(t *testing.T, rel string, rng *rand.Rand) {
	name := filepath.Join(d.root, rel)
	fi, err := os.Lstat(name)
	require.NoError(t, err)
	size, keep := fi.Size(), d.synced[rel]
	if size <= keep {
		return // at its durable length (or shorter: see the test's doc)
	}
	to := keep
	switch rng.IntN(4) {
	case 0: // part of the unsynced tail was written back in time
		to = keep + rng.Int64N(size-keep+1)
		d.st.partialTails++
	case 1: // the size was, the data was not
		to = keep + 1 + rng.Int64N(size-keep)
		f, err := os.OpenFile(name, os.O_WRONLY, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(make([]byte, to-keep), keep)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		d.st.zeroTails++
	}
	require.NoError(t, os.Truncate(name, to))
	d.st.filesCut++
	d.st.bytesCut += int(size - to)
}
