package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
)

// healthyDir returns a data directory with a topic of two partitions and a
// group that has committed offsets.
func healthyDir(t *testing.T) string {
	t.Helper()
	dir := newTopic(t, "t", "2")
	mustRun(t, dir, "a\nb\nc\nd\ne\n", "produce", "t")
	mustRun(t, dir, "", "consume", "t", "--group", "g", "--count", "2")
	return dir
}

func TestCheckHealthy(t *testing.T) {
	dir := healthyDir(t)
	r := mustRun(t, dir, "", "check")
	out := lines(r.stdout)
	require.Len(t, out, 6, r.stdout)
	assert.Equal(t, []string{"LOG", "STATUS", "RECORDS", "BYTES", "FIRST", "NEXT", "REPAIR"}, strings.Fields(out[0]))
	assert.Equal(t, []string{"topics/t/0", "ok", "3", "60", "B", "0", "3", "-"}, strings.Fields(out[1]))
	assert.Equal(t, []string{"topics/t/1", "ok", "2", "40", "B", "0", "2", "-"}, strings.Fields(out[2]))
	assert.Equal(t, "groups/g", strings.Fields(out[3])[0])
	assert.Equal(t, "3 logs checked: 3 ok, 0 repaired, 0 damaged", out[5])

	r = mustRun(t, dir, "", "check", "--json")
	var rep checkReport
	decode(t, r.stdout, &rep)
	assert.True(t, rep.Healthy)
	assert.Equal(t, 3, rep.OK)
	require.Len(t, rep.Logs, 3)
	require.NotNil(t, rep.Logs[1].Partition)
	assert.Equal(t, checkResult{Log: "topics/t/1", Topic: "t", Partition: rep.Logs[1].Partition, Status: "ok",
		Records: 2, Bytes: 40, NextOffset: 2}, rep.Logs[1])
	assert.Equal(t, "g", rep.Logs[2].Group)

	r = mustRun(t, dir, "", "check", "t", "--json")
	decode(t, r.stdout, &rep)
	assert.Len(t, rep.Logs, 2, "only the topic named")

	r = mustRun(t, dir, "", "check", "--repair")
	assert.Contains(t, r.stdout, "3 logs checked: 3 ok, 0 repaired, 0 damaged")
}

func TestCheckCorruptSegment(t *testing.T) {
	dir := healthyDir(t)
	flipByte(t, segment(t, filepath.Join(dir, "topics", "t", "0")), 30) // inside the second of three records

	r := brookCmd(t, dir, "check")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stdout, "1 damaged")
	assert.Regexp(t, `topics/t/0: storage: log corrupt: segment .*00000000000000000001, offset 1: checksum mismatch`, r.stdout)
	assert.Contains(t, r.stderr, "error: 1 of 3 logs in "+dir+" are damaged")
	assert.Contains(t, r.stderr, "hint: the problems above name each damaged segment")

	r = brookCmd(t, dir, "check", "--json")
	assert.Equal(t, exitError, r.code)
	var rep checkReport
	decode(t, r.stdout, &rep)
	assert.False(t, rep.Healthy)
	assert.Equal(t, statusCorrupt, rep.Logs[0].Status)
	assert.Equal(t, statusOK, rep.Logs[1].Status)

	r = brookCmd(t, dir, "topics", "list")
	assert.Equal(t, exitOK, r.code, "the broker opens; the damaged partition fails alone")
	assert.Contains(t, r.stderr, "log damaged at open")
}

func TestCheckRepairsTornTail(t *testing.T) {
	dir := healthyDir(t)
	seg := segment(t, filepath.Join(dir, "topics", "t", "0"))
	fi, err := os.Stat(seg)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(seg, fi.Size()-5)) // a crash in the middle of the last record

	r := mustRun(t, dir, "", "check")
	assert.Contains(t, r.stdout, "3 logs checked: 3 ok, 0 repaired, 0 damaged", "read-only: nothing cut")
	saved, err := filepath.Glob(filepath.Join(dir, "topics", "t", "0", "corrupt-*.bin"))
	require.NoError(t, err)
	assert.Empty(t, saved, "without --repair nothing is written")

	r = mustRun(t, dir, "", "check", "--repair")
	// produce batches lines, and a batch is cut whole: how many of the
	// three records go depends on how the producer grouped them.
	assert.Regexp(t, `topics/t/0 +repaired +[0-2] +\d+ B +0 +[0-2] +cut \d+ bytes \([1-3] records?\) to corrupt-\d+\.bin`, r.stdout)
	assert.Regexp(t, `topics/t/0: repaired on open: truncated entry(, then incomplete batch from offset \d \(\d of its records written\))? at offset \d \(byte \d+ of 00000000000000000001\)`, r.stdout)
	assert.Contains(t, r.stdout, "3 logs checked: 2 ok, 1 repaired, 0 damaged")
	saved, err = filepath.Glob(filepath.Join(dir, "topics", "t", "0", "corrupt-*.bin"))
	require.NoError(t, err)
	assert.Len(t, saved, 1, "the cut bytes are kept")

	r = mustRun(t, dir, "", "check", "--json")
	var rep checkReport
	decode(t, r.stdout, &rep)
	assert.Equal(t, statusOK, rep.Logs[0].Status, "repaired once, healthy since")
}

func TestCheckSkipsDamagedSealedSegment(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	b, err := brook.Open(dir, &brook.Options{SegmentSize: 1024})
	require.NoError(t, err)
	_, err = b.CreateNewTopic("big", 1)
	require.NoError(t, err)
	p := b.CreateProducer("test")
	for i := range 300 {
		require.NoError(t, p.Publish("big", brook.CreateMessage("big", fmt.Appendf(nil, "message %03d", i), 0)))
	}
	require.NoError(t, b.Close())
	pdir := filepath.Join(dir, "topics", "big", "0")
	segs, err := filepath.Glob(filepath.Join(pdir, "000*"))
	require.NoError(t, err)
	require.Greater(t, len(segs), 3, "several segments")
	flipByte(t, segs[1], 100)

	r := brookCmd(t, dir, "check", "--json")
	assert.Equal(t, exitError, r.code)
	var rep checkReport
	decode(t, r.stdout, &rep)
	require.Len(t, rep.Logs, 1)
	l := rep.Logs[0]
	assert.Equal(t, statusCorrupt, l.Status)
	assert.Equal(t, int64(300), l.NextOffset)
	require.Len(t, l.Problems, 1)
	assert.Contains(t, l.Problems[0], filepath.Base(segs[1]))
	require.Len(t, l.Damage, 1)
	assert.Equal(t, segs[1], l.Damage[0].Segment)
	assert.GreaterOrEqual(t, l.Damage[0].Offset, segmentBase(t, segs[1]), "inside the damaged segment")
	assert.Less(t, l.Damage[0].Offset, segmentBase(t, segs[2]), "inside the damaged segment")
	base, next := segmentBase(t, segs[1]), segmentBase(t, segs[2])
	assert.Equal(t, 300-(next-base), l.Records, "every record but those of the damaged segment")
}

// segmentBase returns the first offset of a segment file from its name.
func segmentBase(t *testing.T, path string) int64 {
	t.Helper()
	var idx int64
	_, err := fmt.Sscanf(filepath.Base(path), "%d", &idx)
	require.NoError(t, err)
	return idx - 1
}

func TestCheckMissingPartitionAndBadMeta(t *testing.T) {
	dir := healthyDir(t)
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "topics", "t", "1")))
	r := brookCmd(t, dir, "check", "t")
	assert.Equal(t, exitError, r.code)
	assert.Regexp(t, `topics/t/1 +missing`, r.stdout)

	require.NoError(t, os.WriteFile(filepath.Join(dir, "topics", "t", "topic.json"), []byte("{"), 0o600))
	r = brookCmd(t, dir, "check", "--json", "t")
	assert.Equal(t, exitError, r.code)
	var rep checkReport
	decode(t, r.stdout, &rep)
	require.Len(t, rep.Logs, 2, "topic.json, then the partition directories found")
	assert.Equal(t, "topics/t/topic.json", rep.Logs[0].Log)
	assert.Equal(t, statusCorrupt, rep.Logs[0].Status)
	assert.Equal(t, statusOK, rep.Logs[1].Status)

	r = brookCmd(t, dir, "check", "nope")
	assert.Equal(t, exitError, r.code)
	assert.Contains(t, r.stderr, `unknown topic: "nope"`)
}

func TestCheckNotesOffsetPastEnd(t *testing.T) {
	dir := healthyDir(t)
	b, err := brook.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, b.SetCommittedOffsets("g", map[brook.TopicPartition]int64{{Topic: "t", Partition: 0}: 3}))
	require.NoError(t, b.Close())
	seg := segment(t, filepath.Join(dir, "topics", "t", "0"))
	fi, err := os.Stat(seg)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(seg, fi.Size()-5)) // the last record lost

	r := mustRun(t, dir, "", "check")
	// produce batches lines, and a torn batch is cut whole: the end is 1 or 2.
	assert.Regexp(t, `groups/g: note: committed offset 3 of t/0 is past its end ([12]); the group moves it back to ([12]) when it loads`, r.stdout)
	r = mustRun(t, dir, "", "check", "--json")
	var rep checkReport
	decode(t, r.stdout, &rep)
	require.Len(t, rep.Logs, 3)
	assert.Len(t, rep.Logs[2].Notes, 1)
	assert.Contains(t, rep.Logs[2].Committed, committedJSON{Topic: "t", Partition: 0, Offset: 3})
}

func TestCheckListsStrayFiles(t *testing.T) {
	dir := healthyDir(t)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "topics", "notes.txt"), []byte("mine"), 0o600))
	r := mustRun(t, dir, "", "check")
	assert.Contains(t, r.stdout, "topics/notes.txt: not written by Brook; left alone")
	assert.Contains(t, r.stdout, "3 logs checked: 3 ok, 0 repaired, 0 damaged", "a stray file is not damage")
	var rep checkReport
	decode(t, mustRun(t, dir, "", "check", "--json").stdout, &rep)
	assert.Equal(t, []string{filepath.Join("topics", "notes.txt")}, rep.Stray)
}
