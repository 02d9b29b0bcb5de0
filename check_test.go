package brook

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook/storage"
)

// checkDir returns a closed data directory with a topic "t" of two
// partitions (3 and 2 messages) and a group "g" with committed offsets.
func checkDir(t *testing.T, opts *Options) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	b, err := Open(dir, opts)
	require.NoError(t, err)
	mustTopic(t, b, "t", 2)
	publishN(t, b, "t", 2, 5, "m")
	require.NoError(t, b.SetCommittedOffsets("g", map[TopicPartition]int64{{Topic: "t", Partition: 0}: 2, {Topic: "t", Partition: 1}: 1}))
	require.NoError(t, b.Close())
	return dir
}

func TestCheckHealthyDirectory(t *testing.T) {
	dir := checkDir(t, nil)
	rep, err := Check(dir, nil)
	require.NoError(t, err)
	assert.True(t, rep.Healthy(), "%+v", rep)
	assert.NoError(t, rep.OpenError)
	require.Len(t, rep.Logs, 3)
	p1 := rep.Logs[1]
	assert.Equal(t, filepath.Join("topics", "t", "1"), p1.Path)
	assert.Equal(t, "t", p1.Topic)
	assert.Equal(t, 1, p1.Partition)
	assert.Equal(t, CheckOK, p1.Status)
	assert.Equal(t, int64(2), p1.Records)
	assert.Equal(t, int64(0), p1.FirstOffset)
	assert.Equal(t, int64(2), p1.NextOffset)
	assert.Positive(t, p1.Bytes)
	g := rep.Logs[2]
	assert.Equal(t, "g", g.Group)
	assert.Equal(t, -1, g.Partition)
	assert.Equal(t, map[TopicPartition]int64{{Topic: "t", Partition: 0}: 2, {Topic: "t", Partition: 1}: 1}, g.Committed)

	rep, err = Check(dir, &CheckOptions{Topics: []string{"t"}})
	require.NoError(t, err)
	assert.Len(t, rep.Logs, 2, "only the topic named")
	_, err = Check(dir, &CheckOptions{Topics: []string{"nope"}})
	assert.ErrorIs(t, err, ErrUnknownTopic)
	_, err = Check(dir, &CheckOptions{Topics: []string{"bad name"}})
	assert.ErrorIs(t, err, ErrInvalidTopicName)
	_, err = Check(t.TempDir(), nil)
	assert.ErrorIs(t, err, ErrNotDataDir, "an empty directory holds no data directory")
	_, err = os.Stat(filepath.Join(dir, "missing"))
	require.ErrorIs(t, err, fs.ErrNotExist)
	_, err = Check(filepath.Join(dir, "missing"), nil)
	assert.ErrorIs(t, err, ErrNotDataDir)
	assert.NoDirExists(t, filepath.Join(dir, "missing"), "Check never creates")
}

// TestCheckAgreesWithOpen: for every damage, Check reports it and is
// unhealthy exactly when Open (or loading the group) fails, with the same
// sentinel in OpenError; damage that Open lets a partition fail alone is
// in the partition's report.
func TestCheckAgreesWithOpen(t *testing.T) {
	cases := map[string]struct {
		damage   func(t *testing.T, dir string)
		openErr  error  // what Open returns; nil: it opens
		anyOpen  bool   // Open may fail or open the rest (a missing partition fails alone since #18 item 4)
		groupErr bool   // loading group g fails
		log      string // the log reported damaged, "" for none but OpenError
	}{
		"topic.json of an unknown version": {openErr: ErrCorrupt, log: "topics/t/topic.json", damage: func(t *testing.T, dir string) {
			path := filepath.Join(dir, "topics", "t", "topic.json")
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, []byte(strings.Replace(string(data), `"version": 1`, `"version": 7`, 1)), 0o600))
		}},
		"topic.json missing": {openErr: ErrCorrupt, log: "topics/t/topic.json", damage: func(t *testing.T, dir string) {
			require.NoError(t, os.Remove(filepath.Join(dir, "topics", "t", "topic.json")))
		}},
		"a directory in topics/ with an invalid name": {openErr: ErrCorrupt, log: "topics/bad name", damage: func(t *testing.T, dir string) {
			require.NoError(t, os.Mkdir(filepath.Join(dir, "topics", "bad name"), 0o700))
		}},
		"a missing partition directory": {anyOpen: true, log: "topics/t/1", damage: func(t *testing.T, dir string) {
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "topics", "t", "1")))
		}},
		"a partition directory that is a link": {openErr: ErrUnexpectedFile, log: "topics/t/1", damage: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "topics", "t", "1")
			require.NoError(t, os.Rename(p, filepath.Join(dir, "elsewhere")))
			require.NoError(t, os.Symlink(filepath.Join(dir, "elsewhere"), p))
		}},
		"a topic directory that is a link": {openErr: ErrUnexpectedFile, log: "topics/t", damage: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "topics", "t")
			require.NoError(t, os.Rename(p, filepath.Join(dir, "elsewhere")))
			require.NoError(t, os.Symlink(filepath.Join(dir, "elsewhere"), p))
		}},
		"an offsets record that does not decode": {groupErr: true, log: "groups/g", damage: func(t *testing.T, dir string) {
			l, err := storage.Open(filepath.Join(dir, "groups", "g"), nil)
			require.NoError(t, err)
			_, err = l.Append(context.Background(), []storage.Record{{Value: []byte{9, 9, 9}}})
			require.NoError(t, err)
			require.NoError(t, l.Close())
		}},
		"a group directory that is a link": {groupErr: true, log: "groups/g", damage: func(t *testing.T, dir string) {
			p := filepath.Join(dir, "groups", "g")
			require.NoError(t, os.Rename(p, filepath.Join(dir, "elsewhere")))
			require.NoError(t, os.Symlink(filepath.Join(dir, "elsewhere"), p))
		}},
		"a flipped byte in the only segment": {log: "topics/t/0", damage: func(t *testing.T, dir string) {
			flipSegmentByte(t, segmentFiles(t, dir, "t", 0))
		}},
		"no damage": {},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			dir := checkDir(t, nil)
			if c.damage != nil {
				c.damage(t, dir)
			}
			var groupErr error
			b, openErr := Open(dir, nil)
			if openErr == nil {
				_, groupErr = b.GroupStats("g")
				require.NoError(t, b.Close())
			}
			switch {
			case c.openErr != nil:
				require.ErrorIs(t, openErr, c.openErr)
			case !c.anyOpen:
				require.NoError(t, openErr)
			}
			if openErr == nil {
				assert.Equal(t, c.groupErr, groupErr != nil, "loading the group: %v", groupErr)
			}

			rep, err := Check(dir, nil)
			require.NoError(t, err)
			assert.Equal(t, openErr == nil && groupErr == nil && c.log == "", rep.Healthy(), "%+v", rep)
			if openErr != nil {
				require.Error(t, rep.OpenError, "Open fails, and Check says so")
				for _, sentinel := range []error{ErrCorrupt, ErrUnexpectedFile, ErrNotDataDir} {
					assert.Equal(t, errors.Is(openErr, sentinel), errors.Is(rep.OpenError, sentinel), "%v / %v", openErr, rep.OpenError)
				}
			} else {
				assert.NoError(t, rep.OpenError)
			}
			var damaged []string
			for _, l := range rep.Logs {
				if l.Status.Damaged() {
					damaged = append(damaged, filepath.ToSlash(l.Path))
					assert.NotEmpty(t, l.Problems, l.Path)
				}
			}
			if c.log != "" {
				assert.Equal(t, []string{c.log}, damaged)
			} else {
				assert.Empty(t, damaged)
			}
			if c.log != "topics/t" { // a link is not followed, so its partitions are not read
				assert.Contains(t, paths(rep), "topics/t/0", "the other logs are still checked")
			}
		})
	}
}

func paths(rep *CheckReport) []string {
	var out []string
	for _, l := range rep.Logs {
		out = append(out, filepath.ToSlash(l.Path))
	}
	return out
}

// TestCheckReportsEveryDamage: reading goes on past damage, so two damaged
// sealed segments are both reported, with segment and offset, and every
// other record is counted.
func TestCheckReportsEveryDamage(t *testing.T) {
	dir, _ := damagedBroker(t, func(t *testing.T, segs []string) {
		for _, s := range []string{segs[1], segs[3]} {
			data, err := os.ReadFile(s)
			require.NoError(t, err)
			data[len(data)/2] ^= 0x5a
			require.NoError(t, os.WriteFile(s, data, 0o600))
		}
	})
	segs := segmentFiles(t, dir, "t", 0)
	rep, err := Check(dir, nil)
	require.NoError(t, err)
	assert.False(t, rep.Healthy())
	assert.NoError(t, rep.OpenError, "the partition fails alone; the broker opens")
	p0 := rep.Logs[0]
	assert.Equal(t, CheckCorrupt, p0.Status)
	require.Len(t, p0.Damage, 2, "%+v", p0.Problems)
	assert.Equal(t, segs[1], p0.Damage[0].Segment)
	assert.Equal(t, segs[3], p0.Damage[1].Segment)
	assert.Greater(t, p0.Damage[1].Offset, p0.Damage[0].Offset)
	lost := segBase(t, segs[2]) - segBase(t, segs[1]) + segBase(t, segs[4]) - segBase(t, segs[3])
	assert.Equal(t, int64(perPartition)-lost, p0.Records, "every record outside the damaged segments")
	assert.Equal(t, CheckOK, rep.Logs[1].Status)
}

// segBase is the first offset of a segment file, from its name.
func segBase(t *testing.T, path string) int64 {
	t.Helper()
	idx, err := strconv.ParseInt(filepath.Base(path), 10, 64)
	require.NoError(t, err)
	return idx - 1
}

// TestCheckWhileHeld: Check works while a broker holds the directory,
// writing nothing; what writes (RepairTails, RepairPartition) is refused
// with an ErrLocked that names the holder.
func TestCheckWhileHeld(t *testing.T) {
	dir := checkDir(t, nil)
	b, err := Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	publishN(t, b, "t", 2, 4, "more")
	before := tree(t, dir)

	rep, err := Check(dir, nil)
	require.NoError(t, err)
	assert.True(t, rep.Healthy(), "%+v", rep)
	assert.Equal(t, int64(5), rep.Logs[0].Records, "what the running broker published is read")
	assert.Equal(t, before, tree(t, dir), "nothing created, written or removed")

	_, err = Check(dir, &CheckOptions{RepairTails: true})
	assert.ErrorIs(t, err, ErrLocked)
	_, err = RepairPartition(dir, "t", 0, nil)
	require.ErrorIs(t, err, ErrLocked)
	assert.Contains(t, err.Error(), strconv.Itoa(os.Getpid()), "the error names the process holding the lock")
}

// tree lists every file under dir with its size and modification time.
func tree(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		out[path] = strconv.FormatInt(info.Size(), 10) + " " + info.ModTime().Format(time.RFC3339Nano)
		return nil
	}))
	return out
}

// TestCheckRepairTails: read-only, a torn tail is reported as ok (Open
// would cut it) and left alone; RepairTails cuts it as Open does and
// reports the cut.
func TestCheckRepairTails(t *testing.T) {
	dir := checkDir(t, nil)
	seg := segmentFiles(t, dir, "t", 0)[0]
	fi, err := os.Stat(seg)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(seg, fi.Size()-5)) // a crash in the middle of the last record

	rep, err := Check(dir, nil)
	require.NoError(t, err)
	assert.True(t, rep.Healthy())
	assert.Nil(t, rep.Logs[0].TailRepair)
	saved, err := filepath.Glob(filepath.Join(dir, "topics", "t", "0", "corrupt-*.bin"))
	require.NoError(t, err)
	assert.Empty(t, saved, "read-only: nothing cut")

	rep, err = Check(dir, &CheckOptions{RepairTails: true})
	require.NoError(t, err)
	assert.True(t, rep.Healthy())
	p0 := rep.Logs[0]
	assert.Equal(t, CheckRepaired, p0.Status)
	require.NotNil(t, p0.TailRepair)
	assert.Positive(t, p0.TailRepair.TruncatedBytes)
	assert.FileExists(t, p0.TailRepair.SavedTo)
	assert.NotEmpty(t, p0.TailRepair.Reason)

	rep, err = Check(dir, nil)
	require.NoError(t, err)
	assert.Equal(t, CheckOK, rep.Logs[0].Status, "repaired once, healthy since")
}

// TestCheckStrayFiles: what Brook did not write and Open leaves alone is
// listed, not damage, and left in place.
func TestCheckStrayFiles(t *testing.T) {
	dir := checkDir(t, nil)
	notes := filepath.Join(dir, "topics", "notes.txt")
	require.NoError(t, os.WriteFile(notes, []byte("mine"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "groups", "README"), []byte("mine"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "topics", "t", "0.bak"), []byte("mine"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "topics", "t", "7"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "backup.tar"), nil, 0o600))
	rep, err := Check(dir, nil)
	require.NoError(t, err)
	assert.True(t, rep.Healthy(), "%+v", rep)
	assert.Len(t, rep.Logs, 3, "a directory past the partition count is not a partition")
	assert.Equal(t, []string{"backup.tar", filepath.Join("topics", "notes.txt"), filepath.Join("topics", "t", "0.bak"),
		filepath.Join("topics", "t", "7"), filepath.Join("groups", "README")}, rep.Stray)
	assert.FileExists(t, notes)
}

// TestRepairPartitionRefusals: RepairPartition names what is not there.
func TestRepairPartitionRefusals(t *testing.T) {
	dir := checkDir(t, nil)
	_, err := RepairPartition(dir, "nope", 0, nil)
	assert.ErrorIs(t, err, ErrUnknownTopic)
	_, err = RepairPartition(dir, "t", 2, nil)
	assert.ErrorIs(t, err, ErrInvalidPartition)
	_, err = RepairPartition(dir, "bad name", 0, nil)
	assert.ErrorIs(t, err, ErrInvalidTopicName)
	_, err = RepairPartition(t.TempDir(), "t", 0, nil)
	assert.ErrorIs(t, err, ErrNotDataDir)
	res, err := RepairPartition(dir, "t", 0, &RepairOptions{})
	require.NoError(t, err)
	assert.Equal(t, RepairResult{}, res, "no damage: nothing changed")
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "topics", "t", "1")))
	_, err = RepairPartition(dir, "t", 1, nil)
	assert.ErrorIs(t, err, ErrCorrupt, "a missing partition cannot be repaired, only restored")
	assert.ErrorContains(t, err, "is missing")
	assert.NoDirExists(t, filepath.Join(dir, "topics", "t", "1"), "never recreated")
}

// TestCheckNotesOffsetPastEnd: a committed offset past its partition's end
// (an unsynced tail lost) is noted, not damage: the group moves it back.
func TestCheckNotesOffsetPastEnd(t *testing.T) {
	dir := checkDir(t, nil)
	b, err := Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, b.SetCommittedOffsets("g", map[TopicPartition]int64{{Topic: "t", Partition: 0}: 3}))
	require.NoError(t, b.Close())
	seg := segmentFiles(t, dir, "t", 0)[0]
	fi, err := os.Stat(seg)
	require.NoError(t, err)
	require.NoError(t, os.Truncate(seg, fi.Size()-5)) // the last record lost

	rep, err := Check(dir, nil)
	require.NoError(t, err)
	assert.True(t, rep.Healthy(), "%+v", rep)
	g := rep.Logs[2]
	require.Equal(t, "g", g.Group)
	assert.Equal(t, []string{"committed offset 3 of t/0 is past its end 2; the group moves it back to 2 when it loads"}, g.Notes)
}
