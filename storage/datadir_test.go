//go:build unix

package storage

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A segment that is a symbolic link is refused, naming the path, and the
// file it points to is left exactly as it was. Before, recovery sized the
// link with Lstat, saw a "torn" entry and truncated the target.
func TestOpenRefusesSymlinkedSegment(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, nil)
	require.NoError(t, err)
	appendN(t, l, 0, 100)
	require.NoError(t, l.Close())

	seg := segFiles(t, dir)[0]
	elsewhere := filepath.Join(t.TempDir(), "moved-segment")
	require.NoError(t, os.Rename(seg, elsewhere))
	require.NoError(t, os.Symlink(elsewhere, seg))
	before, err := os.ReadFile(elsewhere)
	require.NoError(t, err)

	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrUnexpectedFile)
	assert.Contains(t, err.Error(), seg)
	assert.Contains(t, err.Error(), "symbolic link")
	after, err := os.ReadFile(elsewhere)
	require.NoError(t, err)
	assert.Equal(t, before, after, "the link's target is untouched")
}

// A planted link to a file that is not a log at all must not get that file
// truncated (it was, to 0 bytes).
func TestOpenLeavesLinkTargetAlone(t *testing.T) {
	dir := t.TempDir()
	victim := filepath.Join(t.TempDir(), "victim.txt")
	require.NoError(t, os.WriteFile(victim, []byte("not a segment, keep me"), 0o600))
	require.NoError(t, os.Symlink(victim, filepath.Join(dir, segmentName(0))))
	_, err := Open(dir, nil)
	require.ErrorIs(t, err, ErrUnexpectedFile)
	data, err := os.ReadFile(victim)
	require.NoError(t, err)
	assert.Equal(t, "not a segment, keep me", string(data))
}

// A FIFO in place of a segment made Open block forever in its read.
func TestOpenRefusesFIFOSegment(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, syscall.Mkfifo(filepath.Join(dir, segmentName(0)), 0o600))
	_, err := Open(dir, nil)
	require.ErrorIs(t, err, ErrUnexpectedFile)
	assert.Contains(t, err.Error(), "named pipe")
}

// openFDs counts this process's open descriptors.
func openFDs(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count descriptors without /proc/self/fd: %v", err)
	}
	return len(ents)
}

// Reading history opened every sealed segment and kept its descriptor until
// Close. Now at most maxOpenSegments read handles stay open per log.
func TestReadingHistoryBoundsDescriptors(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, &Options{SegmentSize: 4096, Sync: SyncNever})
	require.NoError(t, err)
	defer l.Close()
	for i := 0; i < 500; i++ {
		appendN(t, l, i*20, 20)
	}
	require.Greater(t, len(segFiles(t, dir)), 100, "the test needs many segments")
	require.NoError(t, l.Close())

	l, err = Open(dir, &Options{SegmentSize: 4096, Sync: SyncNever})
	require.NoError(t, err)
	defer l.Close()
	before := openFDs(t)
	requireRecs(t, readAll(t, l, 0), 0)
	_, err = l.OffsetForTime(rec(9999).Timestamp)
	require.NoError(t, err)
	assert.LessOrEqual(t, openFDs(t)-before, maxOpenSegments,
		"descriptors held after reading %d segments", len(segFiles(t, dir)))
}
