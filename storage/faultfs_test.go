package storage

import (
	"context"
	"errors"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// faultFS is the OS file system with one injected fault: the Nth wal write
// or wal sync (counting from 1) fails, either instead of happening (like
// ENOSPC) or after happening (like EIO reported by fsync).
type faultFS struct {
	FS
	mu        sync.Mutex
	writes    int
	syncs     int
	dirSyncs  int
	failWrite int
	failSync  int
	failDir   int
	after     bool // perform the operation, then fail
	err       error
	triggered bool
}

func (f *faultFS) hit(n *int, at int) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	*n++
	if at > 0 && *n == at {
		f.triggered = true
		return true
	}
	return false
}

func (f *faultFS) WALWrite(dir string, nbytes int, write func() error) error {
	if f.hit(&f.writes, f.failWrite) {
		if f.after {
			write()
		}
		return f.err
	}
	return write()
}

func (f *faultFS) WALSync(dir string, sync func() error) error {
	if f.hit(&f.syncs, f.failSync) {
		if f.after {
			sync()
		}
		return f.err
	}
	return sync()
}

func (f *faultFS) SyncDir(dir string) error {
	if f.hit(&f.dirSyncs, f.failDir) {
		return f.err
	}
	return f.FS.SyncDir(dir)
}

// TestFaults fails one write or sync and checks the contract: the appender
// gets an error wrapping the cause, the log is failed (sticky), nothing
// acknowledged is lost, and reopening gives a consistent log.
func TestFaults(t *testing.T) {
	tests := []struct {
		name string
		fs   *faultFS
	}{
		{"write refused (disk full)", &faultFS{failWrite: 5, err: syscall.ENOSPC}},
		{"write done then EIO", &faultFS{failWrite: 5, after: true, err: syscall.EIO}},
		{"fsync refused", &faultFS{failSync: 5, err: syscall.EIO}},
		{"fsync done then EIO", &faultFS{failSync: 5, after: true, err: syscall.EIO}},
		{"directory fsync after a segment roll", &faultFS{failDir: 2, err: syscall.EIO}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.fs.FS = OSFS()
			l, err := Open(dir, &Options{FS: tc.fs, SegmentSize: 200})
			require.NoError(t, err)
			acked := 0
			var failErr error
			for i := 0; i < 100 && failErr == nil; i++ {
				_, err := l.Append(context.Background(), []Record{rec(acked), rec(acked + 1)})
				if err != nil {
					failErr = err
					break
				}
				acked += 2
			}
			require.Error(t, failErr, "the fault must trigger")
			assert.ErrorIs(t, failErr, ErrFailed)
			assert.ErrorIs(t, failErr, tc.fs.err, "wraps the cause")
			assert.Equal(t, int64(acked), l.NextOffset(), "the failed batch is not acknowledged")

			checkFailed(t, l, dir, acked)
		})
	}
}

// checkFailed checks that a failed log refuses appends, still serves what
// it acknowledged, and reopens consistent.
func checkFailed(t *testing.T, l *Log, dir string, acked int) {
	_, err := l.Append(context.Background(), []Record{rec(acked)})
	assert.ErrorIs(t, err, ErrFailed)
	errc := make(chan error, 1)
	l.AppendAsync([]Record{rec(acked)}, func(_ int64, err error) { errc <- err })
	assert.ErrorIs(t, <-errc, ErrFailed)
	assert.ErrorIs(t, l.Sync(), ErrFailed)
	requireRecs(t, readAll(t, l, 0), 0)
	l.Close()

	l = openT(t, dir, nil)
	next := int(l.NextOffset())
	assert.True(t, next == acked || next == acked+2, "acked %d, reopened with %d", acked, next)
	requireRecs(t, readAll(t, l, 0), 0)
	appendN(t, l, next, 2)
	requireRecs(t, readAll(t, l, 0), 0)
}

// TestFaultInterval fails the background fsync of SyncInterval.
func TestFaultInterval(t *testing.T) {
	fsys := &faultFS{FS: OSFS(), failSync: 1, err: syscall.EIO}
	l := openT(t, t.TempDir(), &Options{FS: fsys, Sync: SyncInterval, SyncInterval: 1})
	var err error
	for i := 0; err == nil; i++ {
		_, err = l.Append(context.Background(), []Record{rec(i)})
		if err == nil {
			err = l.Sync()
		}
	}
	assert.ErrorIs(t, err, ErrFailed)
	assert.ErrorIs(t, err, syscall.EIO)
	assert.False(t, errors.Is(err, ErrClosed))
}

// hookFS is the OS file system calling onSync (with the count, from 1)
// before each wal fsync.
type hookFS struct {
	FS
	mu     sync.Mutex
	n      int
	onSync func(n int)
}

func (h *hookFS) WALSync(dir string, sync func() error) error {
	h.mu.Lock()
	h.n++
	n := h.n
	h.mu.Unlock()
	h.onSync(n)
	return sync()
}

// TestCallbackNotDelayedByNextCommit queues a second batch while the first
// is being committed and holds the second commit's fsync until the first
// batch's done has run: done must not wait for later commits.
func TestCallbackNotDelayedByNextCommit(t *testing.T) {
	var l *Log
	firstDone := make(chan struct{})
	secondDone := make(chan struct{})
	fsys := &hookFS{FS: OSFS()}
	fsys.onSync = func(n int) {
		switch n {
		case 1: // the first commit: queue a second batch behind it
			l.AppendAsync([]Record{rec(1)}, func(_ int64, err error) {
				assert.NoError(t, err)
				close(secondDone)
			})
		case 2:
			select {
			case <-firstDone:
			case <-time.After(5 * time.Second):
				t.Error("the first batch's done waited for the next commit")
			}
		}
	}
	l = openT(t, t.TempDir(), &Options{FS: fsys})
	l.AppendAsync([]Record{rec(0)}, func(_ int64, err error) {
		assert.NoError(t, err)
		close(firstDone)
	})
	<-secondDone
	requireRecs(t, readAll(t, l, 0), 0)
}
