package storage

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// frameStarts returns the byte position of every frame of a segment file,
// plus its size.
func frameStarts(t testing.TB, path string) []int {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []int
	p := 0
	for p < len(data) {
		out = append(out, p)
		_, size, complete, _, bad := nextFrame(data[p:])
		require.True(t, complete && !bad)
		p += size
	}
	return append(out, p)
}

// copyDir copies the segment files of src into a new temporary directory.
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := t.TempDir()
	for _, p := range segFiles(t, src) {
		data, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dst, filepath.Base(p)), data, 0o600))
	}
	return dst
}

func truncateFile(t *testing.T, path string, size int) {
	t.Helper()
	require.NoError(t, os.Truncate(path, int64(size)))
}

func appendFile(t *testing.T, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(b)
	require.NoError(t, err)
	require.NoError(t, f.Close())
}

func flipByte(t *testing.T, path string, pos int) {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	data[pos] ^= 0x5a
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

const recoverySegSize = 1024 // about 20 records of ~47 bytes per segment

// recoveryLog is a closed log of several segments, and where its records
// are, to be copied and damaged by TestRecovery.
type recoveryLog struct {
	dir        string
	n          int    // records
	tailName   string // the last segment file's name
	tailBase   int64
	tailFrames []int // frame positions in the tail, then its size
	midName    string
	midBase    int64
	midFrames  []int
}

func newRecoveryLog(t *testing.T) recoveryLog {
	rl := recoveryLog{dir: t.TempDir()}
	l, err := Open(rl.dir, &Options{SegmentSize: recoverySegSize})
	require.NoError(t, err)
	for ; rl.n < 200; rl.n++ {
		appendN(t, l, rl.n, 1) // batches of one: TestRecoveryBatches covers larger ones
	}
	for ; len(frameStarts(t, segFiles(t, rl.dir)[len(segFiles(t, rl.dir))-1])) < 8; rl.n++ {
		appendN(t, l, rl.n, 1) // until the tail segment holds a few records
	}
	require.NoError(t, l.Close())
	segs := segFiles(t, rl.dir)
	require.Greater(t, len(segs), 3)
	rl.tailName = filepath.Base(segs[len(segs)-1])
	rl.tailBase, _ = parseSegmentName(rl.tailName)
	rl.tailFrames = frameStarts(t, segs[len(segs)-1])
	rl.midName = filepath.Base(segs[1])
	rl.midBase, _ = parseSegmentName(rl.midName)
	rl.midFrames = frameStarts(t, segs[1])
	return rl
}

// recoveryRow is one way to damage the log, and what must survive.
type recoveryRow struct {
	name    string
	damage  func(t *testing.T, dir string)
	openErr *CorruptError // Open must fail with this segment and offset
	readErr *CorruptError // Read of readErr.Offset must fail like this
	next    int           // NextOffset after reopening: records 0..next-1 survive
	cut     int64         // Recovery().TruncatedBytes
	cutRecs int           // Recovery().TruncatedRecords
}

func recoveryRows(rl recoveryLog) []recoveryRow {
	n, tf := rl.n, rl.tailFrames
	lastStart, lastEnd := tf[len(tf)-2], tf[len(tf)-1]
	tail := func(dir string) string { return filepath.Join(dir, rl.tailName) }
	var rows []recoveryRow
	for c := lastStart; c < lastEnd; c++ {
		rows = append(rows, recoveryRow{
			name:   fmt.Sprintf("cut tail at byte %d of the last record", c-lastStart),
			damage: func(t *testing.T, dir string) { truncateFile(t, tail(dir), c) },
			next:   n - 1, cut: int64(c - lastStart), cutRecs: min(c-lastStart, 1),
		})
	}
	garbage := make([]byte, 1000)
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range garbage {
		garbage[i] = byte(rng.Uint32())
	}
	return append(rows,
		recoveryRow{name: "4 KiB of zeros appended",
			damage: func(t *testing.T, dir string) { appendFile(t, tail(dir), make([]byte, 4096)) },
			next:   n, cut: 4096, cutRecs: 0},
		recoveryRow{name: "garbage appended",
			damage: func(t *testing.T, dir string) { appendFile(t, tail(dir), garbage) },
			next:   n, cut: int64(len(garbage)), cutRecs: countFrames(garbage)},
		recoveryRow{name: "byte flipped in the last record",
			damage: func(t *testing.T, dir string) { flipByte(t, tail(dir), lastEnd-1) },
			next:   n - 1, cut: int64(lastEnd - lastStart), cutRecs: 1},
		recoveryRow{name: "zero region over the last two records",
			damage: func(t *testing.T, dir string) { zeroFrom(t, tail(dir), tf[len(tf)-3]) },
			next:   n - 2, cut: int64(lastEnd - tf[len(tf)-3]), cutRecs: 0},
		recoveryRow{name: "byte flipped in a middle record of the tail segment",
			damage:  func(t *testing.T, dir string) { flipByte(t, tail(dir), tf[1]+3) },
			openErr: &CorruptError{Segment: rl.tailName, Offset: rl.tailBase + 1}},
		recoveryRow{name: "length prefix flipped in a middle record of the tail segment",
			damage:  func(t *testing.T, dir string) { flipByte(t, tail(dir), tf[1]) },
			openErr: &CorruptError{Segment: rl.tailName, Offset: rl.tailBase + 1}},
		recoveryRow{name: "byte flipped in a middle record of a sealed segment",
			damage:  func(t *testing.T, dir string) { flipByte(t, filepath.Join(dir, rl.midName), rl.midFrames[2]+4) },
			next:    n,
			readErr: &CorruptError{Segment: rl.midName, Offset: rl.midBase + 2}},
		recoveryRow{name: "tail segment cut to nothing after a segment roll",
			damage: func(t *testing.T, dir string) { truncateFile(t, tail(dir), 0) },
			next:   int(rl.tailBase), cut: 0},
		recoveryRow{name: "tail segment cut inside its first record after a segment roll",
			damage: func(t *testing.T, dir string) { truncateFile(t, tail(dir), 7) },
			next:   int(rl.tailBase), cut: 7, cutRecs: 1},
	)
}

func zeroFrom(t *testing.T, path string, pos int) {
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	clear(data[pos:])
	require.NoError(t, os.WriteFile(path, data, 0o600))
}

// TestRecovery damages a closed log one way per row and reopens it.
func TestRecovery(t *testing.T) {
	rl := newRecoveryLog(t)
	for _, tc := range recoveryRows(rl) {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, rl.dir)
			tc.damage(t, dir)
			l, err := Open(dir, &Options{SegmentSize: recoverySegSize})
			if tc.openErr != nil {
				var ce *CorruptError
				require.ErrorAs(t, err, &ce)
				assert.ErrorIs(t, err, ErrCorrupt)
				assert.Equal(t, tc.openErr.Segment, filepath.Base(ce.Segment))
				assert.Equal(t, tc.openErr.Offset, ce.Offset)
				return
			}
			require.NoError(t, err)
			defer l.Close()
			checkRecovered(t, l, rl, tc)
		})
	}
}

func checkRecovered(t *testing.T, l *Log, rl recoveryLog, tc recoveryRow) {
	rec := l.Recovery()
	assert.Equal(t, int64(tc.next), l.NextOffset(), "records that survive")
	assert.Equal(t, tc.cut, rec.TruncatedBytes)
	assert.Equal(t, tc.cutRecs, rec.TruncatedRecords)
	if tc.cut > 0 {
		assert.NotEmpty(t, rec.Reason)
		saved, err := os.ReadFile(rec.SavedTo)
		require.NoError(t, err)
		assert.Len(t, saved, int(tc.cut))
	} else {
		assert.Equal(t, Recovery{}, rec)
	}
	if tc.readErr != nil {
		_, err := l.Read(tc.readErr.Offset, 1, 0)
		var ce *CorruptError
		require.ErrorAs(t, err, &ce)
		assert.Equal(t, tc.readErr.Segment, filepath.Base(ce.Segment))
		assert.Equal(t, tc.readErr.Offset, ce.Offset)
		_, err = l.Read(rl.midBase, 0, 0) // the whole segment is refused
		assert.ErrorIs(t, err, ErrCorrupt)
		requireRecs(t, readAll(t, l, rl.tailBase), int(rl.tailBase))
		return
	}
	requireRecs(t, readAll(t, l, 0), 0)
	// The repaired log takes appends where it stopped.
	appendN(t, l, int(tc.next), 3)
	requireRecs(t, readAll(t, l, 0), 0)
}

// TestRecoveryReopenTwice checks that a repaired log reopens cleanly.
func TestRecoveryReopenTwice(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, nil)
	appendN(t, l, 0, 5)
	require.NoError(t, l.Close())
	appendFile(t, segFiles(t, dir)[0], []byte{3, 1, 2})
	l, err := Open(dir, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(3), l.Recovery().TruncatedBytes)
	require.NoError(t, l.Close())
	l = openT(t, dir, nil)
	assert.Equal(t, Recovery{}, l.Recovery())
	assert.Equal(t, int64(5), l.NextOffset())
}

// TestRecoveryBatches: a batch is kept whole or not at all across a crash.
// A log ends with a batch of size n (1 to 12, one of them spanning a
// segment roll); its write is cut at every record boundary and inside
// every record, and the reopened log must end right before that batch, or
// after it when nothing of it was cut.
func TestRecoveryBatches(t *testing.T) {
	const segSize = 1024
	for _, n := range []int{1, 2, 3, 5, 12} {
		t.Run(fmt.Sprintf("batch=%d", n), func(t *testing.T) {
			src := t.TempDir()
			l, err := Open(src, &Options{SegmentSize: segSize})
			require.NoError(t, err)
			before := 0
			for ; before < 14; before += 2 {
				appendN(t, l, before, 2)
			}
			appendN(t, l, before, n)
			require.NoError(t, l.Close())
			// The bytes of the last batch, in file order over the segments.
			type pos struct {
				seg string
				at  int
			}
			var cuts []pos
			segs := segFiles(t, src)
			off := 0
			for _, path := range segs {
				starts := frameStarts(t, path)
				for i, p := range starts[:len(starts)-1] {
					if off+i >= before {
						cuts = append(cuts, pos{path, p}, pos{path, p + 3})
					}
				}
				off += len(starts) - 1
			}
			require.Equal(t, before+n, off)
			spans := cuts[0].seg != cuts[len(cuts)-1].seg
			if n == 12 {
				require.True(t, spans, "the test needs the batch of 12 to span a segment roll")
			}
			for _, c := range cuts {
				dir := copyDir(t, src)
				seg := filepath.Join(dir, filepath.Base(c.seg))
				truncateFile(t, seg, c.at)
				// Segments after the cut were never written.
				for _, later := range segs {
					if later > c.seg {
						require.NoError(t, os.Remove(filepath.Join(dir, filepath.Base(later))))
					}
				}
				l, err := Open(dir, &Options{SegmentSize: segSize})
				require.NoError(t, err, "cut at byte %d of %s", c.at, filepath.Base(c.seg))
				assert.Equal(t, int64(before), l.NextOffset(), "cut at byte %d of %s", c.at, filepath.Base(c.seg))
				requireRecs(t, readAll(t, l, 0), 0)
				appendN(t, l, before, 3) // takes appends where the whole batches end
				require.NoError(t, l.Close())
				l, err = Open(dir, &Options{SegmentSize: segSize})
				require.NoError(t, err)
				assert.Equal(t, int64(before+3), l.NextOffset())
				requireRecs(t, readAll(t, l, 0), 0)
				require.NoError(t, l.Close())
			}
			l, err = Open(src, &Options{SegmentSize: segSize})
			require.NoError(t, err)
			assert.Equal(t, int64(before+n), l.NextOffset(), "the whole batch is kept")
			require.NoError(t, l.Close())
		})
	}
}

// TestOpenFormat1 opens a log written by the format 1 encoder (the
// committed fixture testdata/format1: 60 records over three segments) and
// reads it; new appends are format 2 in the same log.
func TestOpenFormat1(t *testing.T) {
	dir := t.TempDir()
	ents, err := os.ReadDir("testdata/format1")
	require.NoError(t, err)
	for _, e := range ents {
		data, err := os.ReadFile(filepath.Join("testdata/format1", e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, e.Name()), data, 0o600))
	}
	first, err := os.ReadFile(filepath.Join(dir, segmentName(0)))
	require.NoError(t, err)
	e, _, _, _, _ := nextFrame(first)
	require.Equal(t, byte(entryVersion1), e[0], "the fixture is format 1")

	l, err := Open(dir, &Options{SegmentSize: 1024})
	require.NoError(t, err)
	assert.Equal(t, Recovery{}, l.Recovery())
	assert.Equal(t, int64(60), l.NextOffset())
	requireRecs(t, readAll(t, l, 0), 0)
	got, err := l.OffsetForTime(rec(30).Timestamp)
	require.NoError(t, err)
	assert.Equal(t, int64(30), got)
	appendN(t, l, 60, 5)
	require.NoError(t, l.Close())
	l = openT(t, dir, &Options{SegmentSize: 1024})
	assert.Equal(t, int64(65), l.NextOffset())
	requireRecs(t, readAll(t, l, 0), 0)
}
