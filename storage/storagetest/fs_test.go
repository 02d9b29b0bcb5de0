package storagetest_test

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/brookmq/brook/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var errBoom = errors.New("boom")

// A fault with Nth fires on exactly that matching call, once; one without
// fires on every matching call until Clear. Other paths are untouched.
func TestFaultsFireWhereTheySay(t *testing.T) {
	fsys := storagetest.New()
	fsys.Inject(storagetest.Fault{Op: storagetest.OpWALSync, Path: "/a", Nth: 2, Err: errBoom})
	fsys.Inject(storagetest.Fault{Op: storagetest.OpWALWrite, Path: "/b", Err: errBoom})
	ran := 0
	op := func() error { ran++; return nil }
	assert.NoError(t, fsys.WALSync("/x/a", op))
	assert.NoError(t, fsys.WALSync("/x/c", op))
	assert.ErrorIs(t, fsys.WALSync("/x/a", op), errBoom)
	assert.NoError(t, fsys.WALSync("/x/a", op), "an Nth fault fires once")
	assert.Equal(t, 3, ran, "a refused call is not performed")
	for range 3 {
		assert.ErrorIs(t, fsys.WALWrite("/y/b", 10, op), errBoom)
	}
	fsys.Clear()
	assert.NoError(t, fsys.WALWrite("/y/b", 10, op))
	assert.Equal(t, 4, fsys.Fired())
	assert.Equal(t, 3, fsys.Count(storagetest.OpWALSync, "/a"))
	assert.Equal(t, 4, fsys.Count(storagetest.OpWALSync, ""))

	fsys.Inject(storagetest.Fault{Op: storagetest.OpWALSync, Nth: 1, After: true, Err: errBoom})
	assert.ErrorIs(t, fsys.WALSync("/z", op), errBoom)
	assert.Equal(t, 5, ran, "After performs the call")
}

// A full disk writes what fits, fails with ENOSPC, and refuses new
// directories; SetSpace(-1) makes room.
func TestSpaceLimit(t *testing.T) {
	dir := t.TempDir()
	fsys := storagetest.New()
	f, err := fsys.OpenFile(filepath.Join(dir, "f"), os.O_CREATE|os.O_WRONLY, 0o600)
	require.NoError(t, err)
	defer f.Close()
	fsys.SetSpace(5)
	n, err := f.Write([]byte("0123456789"))
	assert.Equal(t, 5, n)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.Zero(t, fsys.Space())
	assert.ErrorIs(t, fsys.MkdirAll(filepath.Join(dir, "new"), 0o700), syscall.ENOSPC)
	assert.NoError(t, fsys.MkdirAll(dir, 0o700), "an existing directory needs no space")
	meta, err := os.CreateTemp(dir, "meta")
	require.NoError(t, err)
	defer meta.Close()
	_, err = meta.WriteString("x")
	require.NoError(t, err)
	assert.ErrorIs(t, fsys.SyncFile(meta), syscall.ENOSPC, "SyncFile charges the file's size")

	fsys.SetSpace(-1)
	assert.Equal(t, int64(-1), fsys.Space())
	_, err = f.Write([]byte("more"))
	assert.NoError(t, err)
	assert.NoError(t, fsys.SyncFile(meta))
	data, err := os.ReadFile(filepath.Join(dir, "f"))
	require.NoError(t, err)
	assert.Equal(t, "01234more", string(data))
}

// The hook sees every call with its paths, and its result is the call's.
func TestHook(t *testing.T) {
	dir := t.TempDir()
	fsys := storagetest.New()
	var calls []string
	fsys.SetHook(func(c storagetest.Call, do func() error) error {
		calls = append(calls, c.Op.String())
		if c.Op == storagetest.OpRemove {
			return errBoom
		}
		return do()
	})
	old, renamed := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	require.NoError(t, os.WriteFile(old, nil, 0o600))
	require.NoError(t, fsys.Rename(old, renamed))
	assert.ErrorIs(t, fsys.Remove(renamed), errBoom)
	require.NoError(t, fsys.SyncDir(dir))
	assert.Equal(t, []string{"rename", "remove", "syncdir"}, calls)
	_, err := os.Stat(renamed)
	assert.NoError(t, err, "the hook refused the removal")
	assert.Equal(t, "rename "+old+" -> "+renamed, storagetest.Call{Op: storagetest.OpRename, Path: old, NewPath: renamed}.String())
}
