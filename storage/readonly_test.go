package storage

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dirContents maps each file of dir to its bytes.
func dirContents(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		m[e.Name()] = string(b)
	}
	return m
}

// TestReadOnlyAgreesWithOpen damages a log in every way TestRecovery
// does: a read-only open ends where Open's repair ends, fails where Open
// fails, and changes nothing.
func TestReadOnlyAgreesWithOpen(t *testing.T) {
	rl := newRecoveryLog(t)
	for _, tc := range recoveryRows(rl) {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, rl.dir)
			tc.damage(t, dir)
			before := dirContents(t, dir)
			l, err := Open(dir, &Options{ReadOnly: true})
			if tc.openErr != nil {
				var ce *CorruptError
				require.ErrorAs(t, err, &ce)
				assert.Equal(t, tc.openErr.Segment, filepath.Base(ce.Segment))
				assert.Equal(t, tc.openErr.Offset, ce.Offset)
				assert.Equal(t, before, dirContents(t, dir), "nothing written")
				readOnlyOpenDamagedAgrees(t, dir)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, int64(tc.next), l.NextOffset())
			assert.Zero(t, l.Recovery(), "nothing repaired")
			if tc.readErr != nil {
				_, err := l.Read(tc.readErr.Offset, 1, 0)
				require.ErrorIs(t, err, ErrCorrupt)
			} else {
				requireRecs(t, readAll(t, l, 0), 0)
			}
			require.NoError(t, l.Close())
			assert.Equal(t, before, dirContents(t, dir), "nothing written")
			rw, err := Open(dir, &Options{SegmentSize: recoverySegSize})
			require.NoError(t, err)
			assert.Equal(t, int64(tc.next), rw.NextOffset(), "Open agrees")
			require.NoError(t, rw.Close())
		})
	}
}

// readOnlyOpenDamagedAgrees opens dir, damaged so that Open fails, with
// OpenDamaged twice: read-only, then writable. Both report the same damage
// and serve the same records before it.
func readOnlyOpenDamagedAgrees(t *testing.T, dir string) {
	t.Helper()
	ro, err := Open(dir, &Options{ReadOnly: true, OpenDamaged: true})
	require.NoError(t, err)
	roRecs := readUntilErr(t, ro)
	roDamage := ro.Damage()
	require.NoError(t, ro.Close())
	rw, err := Open(dir, &Options{SegmentSize: recoverySegSize, OpenDamaged: true})
	require.NoError(t, err)
	defer rw.Close()
	assert.Equal(t, rw.NextOffset(), int64(len(roRecs)), "read-only serves what precedes the damage")
	assert.Equal(t, readUntilErr(t, rw), roRecs)
	assert.Equal(t, rw.Damage(), roDamage)
}

// readUntilErr reads l from offset 0 one record at a time until a read
// fails, and returns the values read.
func readUntilErr(t *testing.T, l *Log) []string {
	t.Helper()
	var vals []string
	for off := l.FirstOffset(); ; off++ {
		recs, err := l.Read(off, 1, 0)
		if err != nil || len(recs) == 0 {
			return vals
		}
		vals = append(vals, string(recs[0].Value))
	}
}

// TestReadOnlyIncompleteBatch cuts the last batch (which spans a segment
// roll) at each of its frames: a read-only log ends before the batch, and
// sees it whole once the rest of the bytes arrive.
func TestReadOnlyIncompleteBatch(t *testing.T) {
	const segSize = 1024
	src := t.TempDir()
	l, err := Open(src, &Options{SegmentSize: segSize})
	require.NoError(t, err)
	before := 0
	for ; before < 14; before += 2 {
		appendN(t, l, before, 2)
	}
	const n = 12
	appendN(t, l, before, n)
	require.NoError(t, l.Close())
	segs := segFiles(t, src)
	full := map[string][]byte{}
	for _, s := range segs {
		full[s], err = os.ReadFile(s)
		require.NoError(t, err)
	}
	off := 0
	for si, path := range segs {
		starts := frameStarts(t, path)
		for i, p := range starts[:len(starts)-1] {
			if off+i < before+1 {
				continue // cut inside the batch, after its first record began
			}
			dir := t.TempDir()
			for _, s := range segs[:si+1] {
				data := full[s]
				if s == path {
					data = data[:p+3]
				}
				require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(s)), data, 0o600))
			}
			ro, err := Open(dir, &Options{ReadOnly: true})
			require.NoError(t, err)
			assert.Equal(t, int64(before), ro.NextOffset(), "cut at byte %d of %s", p+3, filepath.Base(path))
			requireRecs(t, readAll(t, ro, 0), 0)
			// The writer finishes the batch.
			for _, s := range segs {
				require.NoError(t, os.WriteFile(filepath.Join(dir, filepath.Base(s)), full[s], 0o600))
			}
			advanced, err := ro.Refresh()
			require.NoError(t, err)
			assert.True(t, advanced)
			assert.Equal(t, int64(before+n), ro.NextOffset())
			requireRecs(t, readAll(t, ro, 0), 0)
			require.NoError(t, ro.Close())
		}
		off += len(starts) - 1
	}
}

// TestReadOnlyFollowsWriter reads, through Notify, every record a writer
// appends in batches across many segment rolls, in order, while the writer
// holds the directory.
func TestReadOnlyFollowsWriter(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, dir, &Options{SegmentSize: 1024, Sync: SyncNever})
	appendN(t, w, 0, 3)
	_, err := Open(dir, nil)
	require.ErrorIs(t, err, ErrLocked, "the writer holds the directory")
	ro := openT(t, dir, &Options{ReadOnly: true, PollInterval: 2 * time.Millisecond})
	require.Equal(t, int64(3), ro.NextOffset())

	const total = 600
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := 3; i < total; {
			n := min(1+i%5, total-i)
			recs := make([]Record, n)
			for j := range recs {
				recs[j] = rec(i + j)
			}
			if _, err := w.Append(context.Background(), recs); err != nil {
				t.Error(err)
				return
			}
			i += n
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var got []Record
	for int64(len(got)) < total {
		ch := ro.Notify()
		if int64(len(got)) < ro.NextOffset() {
			recs, err := ro.Read(int64(len(got)), 0, 0)
			require.NoError(t, err)
			got = append(got, recs...)
			continue
		}
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("read %d of %d records: %v", len(got), total, ctx.Err())
		}
	}
	wg.Wait()
	requireRecs(t, got, 0)
	assert.Greater(t, len(segFiles(t, dir)), 5, "the writer rolled segments")
}

// TestReadOnlyRetention: the writer's retention moves a read-only log's
// FirstOffset on Refresh, and reads before it are out of range.
func TestReadOnlyRetention(t *testing.T) {
	dir := t.TempDir()
	w := openT(t, dir, &Options{SegmentSize: 1024})
	for i := 0; i < 100; i += 10 {
		appendN(t, w, i, 10)
	}
	ro := openT(t, dir, &Options{ReadOnly: true})
	first, err := w.TruncateFront(50)
	require.NoError(t, err)
	require.Positive(t, first)
	_, err = ro.Refresh()
	require.NoError(t, err)
	assert.Equal(t, first, ro.FirstOffset())
	_, err = ro.Read(0, 1, 0)
	assert.ErrorIs(t, err, ErrOffsetOutOfRange)
	requireRecs(t, readAll(t, ro, first), int(first))
}

// TestReadOnlyRefusesWrites: nothing writes through a read-only log, and
// opening one creates nothing.
func TestReadOnlyRefusesWrites(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "none")
	_, err := Open(missing, &Options{ReadOnly: true})
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = os.Stat(missing)
	require.ErrorIs(t, err, fs.ErrNotExist, "not created")

	dir := t.TempDir()
	ro := openT(t, dir, &Options{ReadOnly: true})
	assert.Equal(t, int64(0), ro.NextOffset(), "an empty directory is an empty log")
	_, err = ro.Append(context.Background(), []Record{rec(0)})
	assert.ErrorIs(t, err, ErrClosed)
	done := make(chan error, 1)
	ro.AppendAsync([]Record{rec(0)}, func(_ int64, err error) { done <- err })
	assert.ErrorIs(t, <-done, ErrClosed)
	assert.ErrorIs(t, ro.Sync(), ErrReadOnly)
	assert.ErrorIs(t, ro.SetSync(SyncNever), ErrReadOnly)
	_, err = ro.TruncateFront(1)
	assert.ErrorIs(t, err, ErrReadOnly)
	_, err = ro.TruncateFrontToSize(1)
	assert.ErrorIs(t, err, ErrReadOnly)
	require.NoError(t, ro.Close())
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, ents, "nothing created")
	_, err = ro.Read(0, 1, 0)
	assert.True(t, errors.Is(err, ErrClosed))
	_, err = ro.Refresh()
	assert.ErrorIs(t, err, ErrClosed)
}
