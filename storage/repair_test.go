package storage

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// damagedLog writes n records one per batch over several segments, closes
// the log and returns its directory and segment files.
func damagedLog(t *testing.T, n int) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	l, err := Open(dir, &Options{SegmentSize: recoverySegSize})
	require.NoError(t, err)
	for i := range n {
		appendN(t, l, i, 1)
	}
	require.NoError(t, l.Close())
	segs := segFiles(t, dir)
	require.GreaterOrEqual(t, len(segs), 4)
	return dir, segs
}

// readUntilError reads from 0 and returns the records read before the
// first error, and that error.
func readUntilError(l *Log) ([]Record, error) {
	var out []Record
	from := int64(0)
	for from < l.NextOffset() {
		recs, err := l.Read(from, 0, 0)
		out = append(out, recs...)
		if err != nil {
			return out, err
		}
		from = recs[len(recs)-1].Offset + 1
	}
	return out, nil
}

func TestDamageIsStickyAndRefusesAppends(t *testing.T) {
	dir, segs := damagedLog(t, 100)
	frames := frameStarts(t, segs[1])
	flipByte(t, segs[1], frames[2]+4)
	base, _ := parseSegmentName(filepath.Base(segs[1]))

	l := openT(t, dir, &Options{SegmentSize: recoverySegSize})
	assert.NoError(t, l.Damage(), "damage in a sealed segment is found by a reader, not by Open")
	_, err := l.Append(context.Background(), []Record{rec(100)})
	require.NoError(t, err, "nothing met the damage yet")

	got, err := readUntilError(l)
	var ce *CorruptError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, segs[1], ce.Segment)
	requireRecs(t, got, 0)
	assert.Len(t, got, int(base), "everything before the damaged segment is served")
	require.ErrorIs(t, l.Damage(), ErrCorrupt)
	assert.ErrorIs(t, l.Failure(), ErrCorrupt)

	next := l.NextOffset()
	_, err = l.Append(context.Background(), []Record{rec(101)})
	assert.ErrorIs(t, err, ErrCorrupt, "a damaged log refuses appends")
	done := make(chan error, 1)
	l.AppendAsync([]Record{rec(101)}, func(_ int64, err error) { done <- err })
	assert.ErrorIs(t, <-done, ErrCorrupt)
	assert.Equal(t, next, l.NextOffset())
	recs, err := l.Read(next-1, 0, 0)
	require.NoError(t, err, "reads that do not reach the damage still work")
	assert.Len(t, recs, 1)
}

func TestRepairFlippedByte(t *testing.T) {
	dir, segs := damagedLog(t, 100)
	frames := frameStarts(t, segs[1])
	flipByte(t, segs[1], frames[2]+4)
	base, _ := parseSegmentName(filepath.Base(segs[1]))
	cutAt := base + 2

	l, err := Open(dir, nil)
	require.NoError(t, err)
	_, err = Repair(dir, nil)
	require.ErrorIs(t, err, ErrLocked, "Repair needs the directory free")
	require.NoError(t, l.Close())

	res, err := Repair(dir, nil)
	require.NoError(t, err)
	require.NotNil(t, res.Damage)
	assert.Equal(t, segs[1], res.Damage.Segment)
	assert.Equal(t, cutAt, res.Damage.Offset)
	assert.Equal(t, cutAt, res.CutAt)
	assert.Equal(t, 100-cutAt, res.DroppedRecords)
	require.Len(t, res.SavedTo, len(segs)-1, "one file per later segment and one for the cut part")
	saved := int64(0)
	for _, p := range res.SavedTo {
		assert.Equal(t, dir, filepath.Dir(p))
		fi, err := os.Stat(p)
		require.NoError(t, err)
		saved += fi.Size()
	}
	cut := int64(frames[len(frames)-1] - frames[2])
	for _, p := range segs[2:] {
		_, err := os.Stat(p)
		assert.ErrorIs(t, err, os.ErrNotExist, "segment %s after the damage is removed", p)
	}
	assert.Greater(t, saved, cut, "the cut part and every later segment are kept")

	l = openT(t, dir, nil)
	assert.Equal(t, cutAt, l.NextOffset())
	requireRecs(t, readAll(t, l, 0), 0)
	appendN(t, l, int(cutAt), 3)
	assert.NoError(t, l.Damage())

	res, err = Repair(dir, nil)
	require.ErrorIs(t, err, ErrLocked)
	require.NoError(t, l.Close())
	res, err = Repair(dir, nil)
	require.NoError(t, err)
	assert.Nil(t, res.Damage, "an intact log is left alone")
}

func TestRepairMissingSegment(t *testing.T) {
	dir, segs := damagedLog(t, 100)
	require.NoError(t, os.Remove(segs[2]))
	base1, _ := parseSegmentName(filepath.Base(segs[1]))
	base2, _ := parseSegmentName(filepath.Base(segs[2]))

	l := openT(t, dir, nil)
	got, err := readUntilError(l)
	require.ErrorIs(t, err, ErrCorrupt)
	assert.Len(t, got, int(base1), "the segments before the one whose count is wrong are served")
	require.NoError(t, l.Close())

	res, err := Repair(dir, nil)
	require.NoError(t, err)
	assert.Equal(t, segs[1], res.Damage.Segment, "the segment before the hole holds fewer entries than implied")
	assert.Equal(t, base2, res.CutAt)
	assert.Equal(t, 100-base2, res.DroppedRecords, "the lost segment's records count too")
	assert.Len(t, res.SavedTo, len(segs)-3)

	l = openT(t, dir, nil)
	assert.Equal(t, base2, l.NextOffset())
	requireRecs(t, readAll(t, l, 0), 0)
	appendN(t, l, int(base2), 1)
}

func TestRepairFirstSegmentToEmpty(t *testing.T) {
	dir, segs := damagedLog(t, 100)
	flipByte(t, segs[0], 4)

	res, err := Repair(dir, nil)
	require.NoError(t, err)
	assert.Equal(t, int64(0), res.CutAt)
	assert.Equal(t, int64(100), res.DroppedRecords)
	l := openT(t, dir, nil)
	assert.Equal(t, int64(0), l.NextOffset())
	appendN(t, l, 0, 2)
	requireRecs(t, readAll(t, l, 0), 0)
}
