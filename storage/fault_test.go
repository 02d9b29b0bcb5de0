package storage_test

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brookmq/brook/storage"
	"github.com/brookmq/brook/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestFaults fails one write or sync and checks the contract: the appender
// gets an error wrapping the cause, the log is failed (sticky), nothing
// acknowledged is lost, and reopening gives a consistent log.
func TestFaults(t *testing.T) {
	tests := []struct {
		name  string
		fault storagetest.Fault
	}{
		{"write refused (disk full)", storagetest.Fault{Op: storagetest.OpWALWrite, Nth: 5, Err: syscall.ENOSPC}},
		{"write done then EIO", storagetest.Fault{Op: storagetest.OpWALWrite, Nth: 5, After: true, Err: syscall.EIO}},
		{"fsync refused", storagetest.Fault{Op: storagetest.OpWALSync, Nth: 5, Err: syscall.EIO}},
		{"fsync done then EIO", storagetest.Fault{Op: storagetest.OpWALSync, Nth: 5, After: true, Err: syscall.EIO}},
		{"directory fsync after a segment roll", storagetest.Fault{Op: storagetest.OpSyncDir, Nth: 2, Err: syscall.EIO}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			fsys := storagetest.New()
			fsys.Inject(tc.fault)
			l, err := storage.Open(dir, &storage.Options{FS: fsys, SegmentSize: 200})
			require.NoError(t, err)
			acked := 0
			var failErr error
			for i := 0; i < 100 && failErr == nil; i++ {
				_, err := l.Append(context.Background(), []storage.Record{storage.Rec(acked), storage.Rec(acked + 1)})
				if err != nil {
					failErr = err
					break
				}
				acked += 2
			}
			require.Error(t, failErr, "the fault must trigger")
			assert.Equal(t, 1, fsys.Fired())
			assert.ErrorIs(t, failErr, storage.ErrFailed)
			assert.ErrorIs(t, failErr, tc.fault.Err, "wraps the cause")
			assert.Equal(t, int64(acked), l.NextOffset(), "the failed batch is not acknowledged")

			checkFailed(t, l, dir, acked)
		})
	}
}

// checkFailed checks that a failed log refuses appends, still serves what
// it acknowledged, and reopens consistent.
func checkFailed(t *testing.T, l *storage.Log, dir string, acked int) {
	_, err := l.Append(context.Background(), []storage.Record{storage.Rec(acked)})
	assert.ErrorIs(t, err, storage.ErrFailed)
	errc := make(chan error, 1)
	l.AppendAsync([]storage.Record{storage.Rec(acked)}, func(_ int64, err error) { errc <- err })
	assert.ErrorIs(t, <-errc, storage.ErrFailed)
	assert.ErrorIs(t, l.Sync(), storage.ErrFailed)
	storage.RequireRecs(t, storage.ReadAll(t, l, 0), 0)
	l.Close()

	l = storage.OpenT(t, dir, nil)
	next := int(l.NextOffset())
	assert.True(t, next == acked || next == acked+2, "acked %d, reopened with %d", acked, next)
	storage.RequireRecs(t, storage.ReadAll(t, l, 0), 0)
	storage.AppendN(t, l, next, 2)
	storage.RequireRecs(t, storage.ReadAll(t, l, 0), 0)
}

// TestFaultInterval fails the background fsync of SyncInterval.
func TestFaultInterval(t *testing.T) {
	fsys := storagetest.New()
	fsys.Inject(storagetest.Fault{Op: storagetest.OpWALSync, Nth: 1, Err: syscall.EIO})
	l := storage.OpenT(t, t.TempDir(), &storage.Options{FS: fsys, Sync: storage.SyncInterval, SyncInterval: 1})
	var err error
	for i := 0; err == nil; i++ {
		_, err = l.Append(context.Background(), []storage.Record{storage.Rec(i)})
		if err == nil {
			err = l.Sync()
		}
	}
	assert.ErrorIs(t, err, storage.ErrFailed)
	assert.ErrorIs(t, err, syscall.EIO)
	assert.False(t, errors.Is(err, storage.ErrClosed))
}

// TestFullDiskTearsTheTail writes until the disk is full: the write that
// does not fit is written in part, as a real short write, and fails with
// ENOSPC. The log reopens on the still-full disk (the torn entry cut
// without saving it, no empty file left), and appends once there is room.
func TestFullDiskTearsTheTail(t *testing.T) {
	dir := t.TempDir()
	fsys := storagetest.New()
	l, err := storage.Open(dir, &storage.Options{FS: fsys})
	require.NoError(t, err)
	storage.AppendN(t, l, 0, 3)
	fsys.SetSpace(2000)
	acked := 3
	for ; err == nil; acked++ {
		_, err = l.Append(context.Background(), []storage.Record{storage.Rec(acked)})
	}
	acked--
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.ErrorIs(t, err, storage.ErrFailed)
	assert.Zero(t, fsys.Space())
	l.Close()

	l, err = storage.Open(dir, &storage.Options{FS: fsys})
	require.NoError(t, err, "a full disk does not keep the log from opening")
	assert.Equal(t, int64(acked), l.NextOffset())
	assert.Contains(t, l.Recovery().Reason, "not saved: no space left")
	storage.RequireRecs(t, storage.ReadAll(t, l, 0), 0)
	matches, err := filepath.Glob(filepath.Join(dir, "corrupt-*"))
	require.NoError(t, err)
	assert.Empty(t, matches, "no empty file left behind")
	_, err = l.Append(context.Background(), []storage.Record{storage.Rec(acked)})
	assert.ErrorIs(t, err, syscall.ENOSPC)
	l.Close()

	fsys.SetSpace(-1)
	l = storage.OpenT(t, dir, &storage.Options{FS: fsys})
	storage.AppendN(t, l, acked, 2)
	storage.RequireRecs(t, storage.ReadAll(t, l, 0), 0)
}

// TestCallbackNotDelayedByNextCommit queues a second batch while the first
// is being committed and holds the second commit's fsync until the first
// batch's done has run: done must not wait for later commits.
func TestCallbackNotDelayedByNextCommit(t *testing.T) {
	var l *storage.Log
	firstDone := make(chan struct{})
	secondDone := make(chan struct{})
	fsys := storagetest.New()
	var mu sync.Mutex
	n := 0
	fsys.SetHook(func(c storagetest.Call, do func() error) error {
		if c.Op != storagetest.OpWALSync {
			return do()
		}
		mu.Lock()
		n++
		nth := n
		mu.Unlock()
		switch nth {
		case 1: // the first commit: queue a second batch behind it
			l.AppendAsync([]storage.Record{storage.Rec(1)}, func(_ int64, err error) {
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
		return do()
	})
	l = storage.OpenT(t, t.TempDir(), &storage.Options{FS: fsys})
	l.AppendAsync([]storage.Record{storage.Rec(0)}, func(_ int64, err error) {
		assert.NoError(t, err)
		close(firstDone)
	})
	<-secondDone
	storage.RequireRecs(t, storage.ReadAll(t, l, 0), 0)
}

// TestSetSync changes the policy of an open log and checks, by counting
// fsyncs, that each policy is in force from the next commit on.
func TestSetSync(t *testing.T) {
	f := storagetest.New()
	syncs := func() int { return f.Count(storagetest.OpWALSync, "") }
	l := storage.OpenT(t, t.TempDir(), &storage.Options{FS: f, Sync: storage.SyncNever, SyncInterval: 5 * time.Millisecond})
	storage.AppendN(t, l, 0, 3)
	assert.Zero(t, syncs(), "SyncNever does not fsync")

	require.NoError(t, l.SetSync(storage.SyncAlways))
	assert.Equal(t, 1, syncs(), "changing to SyncAlways fsyncs what was written")
	storage.AppendN(t, l, 3, 1)
	storage.AppendN(t, l, 4, 1)
	assert.Equal(t, 3, syncs(), "one fsync per commit under SyncAlways")

	require.NoError(t, l.SetSync(storage.SyncInterval))
	before := syncs()
	storage.AppendN(t, l, 5, 1)
	require.Eventually(t, func() bool { return syncs() > before }, 5*time.Second, time.Millisecond,
		"the background fsync runs under SyncInterval")

	require.NoError(t, l.SetSync(storage.SyncNever))
	require.NoError(t, l.SetSync(storage.SyncNever), "the same policy again")
	assert.Error(t, l.SetSync(storage.SyncNever+1))
	storage.RequireRecs(t, storage.ReadAll(t, l, 0), 0)
	require.NoError(t, l.Close())
	assert.ErrorIs(t, l.SetSync(storage.SyncAlways), storage.ErrClosed)
}

// On a full disk a torn tail is still cut, so that the log opens and an
// operator can free space; the Recovery says the bytes were not kept, and
// no empty corrupt-*.bin is left behind.
func TestOpenTornTailOnFullDisk(t *testing.T) {
	dir := t.TempDir()
	l, err := storage.Open(dir, nil)
	require.NoError(t, err)
	for i := range 10 {
		storage.AppendN(t, l, i, 1)
	}
	require.NoError(t, l.Close())
	seg := storage.SegFiles(t, dir)[0]
	starts := storage.FrameStarts(t, seg)
	storage.TruncateFile(t, seg, starts[9]+3) // tear the last record

	fsys := storagetest.New()
	fsys.Inject(storagetest.Fault{Op: storagetest.OpOpen, Path: ".bin", Err: syscall.ENOSPC})
	l, err = storage.Open(dir, &storage.Options{FS: fsys})
	require.NoError(t, err, "a full disk must not keep the log from opening")
	defer l.Close()
	assert.Equal(t, 1, fsys.Fired())
	assert.Equal(t, 1, fsys.Count(storagetest.OpOpen, ".bin"), "the one refused is the saved bytes' file")
	rec := l.Recovery()
	assert.Equal(t, "", rec.SavedTo)
	assert.Contains(t, rec.Reason, "not saved: no space left")
	assert.Equal(t, int64(9), l.NextOffset())
	storage.RequireRecs(t, storage.ReadAll(t, l, 0), 0)
	matches, err := filepath.Glob(filepath.Join(dir, "corrupt-*"))
	require.NoError(t, err)
	assert.Empty(t, matches)
}

// saveCut removes what it created when the write or sync fails.
func TestSaveCutLeavesNoPartialFile(t *testing.T) {
	for _, ft := range []storagetest.Fault{
		{Op: storagetest.OpSyncDir, Nth: 1, Err: syscall.EIO},
		{Op: storagetest.OpSync, Nth: 1, Err: syscall.EIO},
		{Op: storagetest.OpWrite, Nth: 1, Err: syscall.ENOSPC},
	} {
		t.Run(ft.Op.String(), func(t *testing.T) {
			dir := t.TempDir()
			fsys := storagetest.New()
			fsys.Inject(ft)
			_, err := storage.SaveCut(dir, fsys, []byte("cut bytes"))
			require.ErrorIs(t, err, ft.Err)
			matches, err := filepath.Glob(filepath.Join(dir, "corrupt-*"))
			require.NoError(t, err)
			assert.Empty(t, matches)
		})
	}
}
