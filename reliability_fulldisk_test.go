package brook

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/brookmq/brook/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fullDiskData is what a full-disk test published and the group committed.
type fullDiskData struct {
	acked map[TopicPartition][]string
}

func (d *fullDiskData) publish(p *Producer, topic string, part int, value []byte) error {
	m := CreateMessage(topic, value, part)
	err := p.Publish(topic, m)
	if err == nil {
		tp := TopicPartition{Topic: topic, Partition: part}
		d.acked[tp] = append(d.acked[tp], string(value))
	}
	return err
}

// check reads every partition it has data for and compares.
func (d *fullDiskData) check(t *testing.T, b *Broker, skip ...string) {
	t.Helper()
	for tp, want := range d.acked {
		if contains(skip, tp.Topic) {
			continue
		}
		msgs := readAll(t, b, tp.Topic, tp.Partition)
		got := make([]string, len(msgs))
		for i, m := range msgs {
			got[i] = string(m.Value)
		}
		assert.Equal(t, want, got, "%v holds exactly what was acknowledged", tp)
	}
}

// consumeAndCommit has group g handle everything of topics and commit it.
func consumeAndCommit(t *testing.T, b *Broker, d *fullDiskData, topics ...string) {
	t.Helper()
	total := 0
	for tp, v := range d.acked {
		if contains(topics, tp.Topic) {
			total += len(v)
		}
	}
	ta := newTally()
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe(topics...))
	stop := runConsumer(t, c, ta.handler("c", nil))
	eventually(t, func() bool { return ta.count() >= total }, "the group handles everything")
	require.NoError(t, stop())
	require.NoError(t, c.Close())
}

// requireNoLeftovers checks that the data directory holds no file a failed
// write left: no saved cut bytes, no temporary file, nothing in staging, and
// no empty file but a segment, a lock file or a deletion marker (those are
// empty by design: a new log's first segment, a LOCK whose holder line did
// not fit, a DeleteTopic marker a full disk kept).
func requireNoLeftovers(t *testing.T, dir string) {
	t.Helper()
	staged, err := os.ReadDir(filepath.Join(dir, "tmp"))
	require.NoError(t, err)
	assert.Empty(t, staged, "nothing left in the staging directory")
	require.NoError(t, filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		name := e.Name()
		assert.False(t, strings.HasPrefix(name, "corrupt-"), "saved cut bytes %s on a full disk", path)
		assert.False(t, strings.HasPrefix(name, ".tmp-"), "temporary file %s left behind", path)
		fi, err := e.Info()
		if err != nil {
			return err
		}
		if fi.Size() == 0 && !isSegmentName(name) && name != "LOCK" && filepath.Base(filepath.Dir(path)) != "deleting" {
			t.Errorf("empty file %s left behind", path)
		}
		return nil
	}))
}

// isSegmentName reports whether name is a segment file's (20 digits).
func isSegmentName(name string) bool {
	return len(name) == 20 && strings.Trim(name, "0123456789") == ""
}

// TestReliabilityFullDisk runs a whole broker on a disk that fills up
// (storagetest's space limit: every write, wal append, file write and
// metadata fsync fails with ENOSPC once it is used up, the write that does
// not fit torn in part). Before, a torn tail on a full disk was only cut
// without saving at the storage level; the broker's Open still wrote. Now
// the broker reopens on the full disk, serves every acknowledged message
// and the group's offsets, refuses writes with an error matching
// syscall.ENOSPC, deletes a topic, publishes again once there is room, and
// finishes the deferred parts of the deletion at the next Open.
func TestReliabilityFullDisk(t *testing.T) {
	dir := t.TempDir()
	fsys := storagetest.New()
	opts := func(logs *countingHandler) *Options {
		return &Options{fs: fsys, meta: fsys, Logger: slog.New(logs)}
	}
	b, err := Open(dir, opts(newCountingHandler()))
	require.NoError(t, err)
	mustTopic(t, b, "a", 2)
	mustTopic(t, b, "b", 1)
	d := &fullDiskData{acked: map[TopicPartition][]string{}}
	p := b.CreateProducer("p")
	for i := range 20 {
		require.NoError(t, d.publish(p, "a", i%2, fmt.Appendf(nil, "a-%d", i)))
		require.NoError(t, d.publish(p, "b", 0, fmt.Appendf(nil, "b-%d", i)))
	}
	consumeAndCommit(t, b, d, "a", "b")
	committed := map[TopicPartition]int64{}
	for tp, v := range d.acked {
		committed[tp] = int64(len(v))
	}

	// The disk fills up in the middle of a write to a/1.
	fsys.SetSpace(5000)
	for i := 0; err == nil; i++ {
		err = d.publish(p, "a", 1, fmt.Appendf(nil, "fill-%d-%s", i, strings.Repeat("x", 200)))
	}
	require.ErrorIs(t, err, syscall.ENOSPC)
	require.ErrorIs(t, err, ErrPartitionFailed)
	require.Zero(t, fsys.Space())
	assert.ErrorIs(t, b.Close(), ErrPartitionFailed)

	// Reopened on the full disk: a/1's torn tail is cut without saving it.
	logs := newCountingHandler()
	b, err = Open(dir, opts(logs))
	require.NoError(t, err, "a full disk must not keep the broker from opening")
	assert.Equal(t, 1, logs.count("brook: repaired partition tail"))
	names, err := b.Topics()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, names)
	d.check(t, b)
	gs, err := b.GroupStats("g")
	require.NoError(t, err)
	assert.Len(t, gs.Partitions, 3, "the group's offsets are readable")
	for _, ps := range gs.Partitions {
		assert.Equal(t, committed[ps.TopicPartition], ps.Committed, "%v", ps.TopicPartition)
	}

	// Writes fail, clearly, and leave nothing behind.
	p = b.CreateProducer("p")
	err = p.Publish("a", CreateMessage("a", []byte("refused"), 0))
	assert.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "no space left on device")
	_, err = b.CreateNewTopic("c", 1)
	assert.ErrorIs(t, err, syscall.ENOSPC)
	_, err = os.Lstat(filepath.Join(dir, "topics", "c"))
	assert.ErrorIs(t, err, fs.ErrNotExist)

	// Deleting a topic works; the groups' offsets of it are dropped later.
	require.NoError(t, b.DeleteTopic("b"), "a topic can be deleted on a full disk")
	assert.Equal(t, 1, logs.count("brook: no space to drop a deleted topic's committed offsets; the next Open, or creating the topic again, drops them"))
	names, err = b.Topics()
	require.NoError(t, err)
	assert.Equal(t, []string{"a"}, names)
	_, err = b.CreateNewTopic("b", 1)
	assert.ErrorIs(t, err, syscall.ENOSPC, "not created again before its old offsets are dropped")
	assert.ErrorIs(t, b.Close(), ErrPartitionFailed, "a/0 failed")

	// Reopened on the still-full disk with the deletion unfinished: the
	// group loads without the deleted topic's offsets.
	logs = newCountingHandler()
	b, err = Open(dir, opts(logs))
	require.NoError(t, err, "an unfinished deletion on a full disk must not keep the broker from opening")
	_, err = os.Lstat(filepath.Join(dir, "deleting", "b"))
	require.NoError(t, err, "the deletion marker stays until the offsets are dropped")
	gs, err = b.GroupStats("g")
	require.NoError(t, err)
	assert.Len(t, gs.Partitions, 2, "the deleted topic's offsets are dropped in memory")
	assert.Equal(t, 1, logs.count("brook: no space to drop the offsets of deleted topics; the group's commits fail until the broker is reopened with space"))
	p = b.CreateProducer("p")
	assert.ErrorIs(t, d.publish(p, "a", 0, []byte("refused again")), syscall.ENOSPC)

	// Space is freed: the partitions that did not fail take writes, new
	// topics can be made; a/0, which failed, waits for a reopen, and so
	// does the group, whose offsets log failed.
	fsys.SetSpace(-1)
	require.NoError(t, d.publish(p, "a", 1, []byte("after the space came back")))
	assert.ErrorIs(t, d.publish(p, "a", 0, []byte("a failed partition")), ErrPartitionFailed)
	_, err = b.CreateNewTopic("c", 1)
	require.NoError(t, err)
	require.NoError(t, d.publish(p, "c", 0, []byte("c-0")))
	_, err = b.CreateNewTopic("b", 1)
	assert.ErrorIs(t, err, syscall.ENOSPC, "the group's offsets log failed: b waits for the reopen")
	assert.ErrorIs(t, b.Close(), ErrPartitionFailed, "a/0 failed")
	requireNoLeftovers(t, dir)

	// The next Open finishes the deletion: the old offsets of b are gone,
	// and b made again starts from nothing.
	b, err = Open(dir, opts(newCountingHandler()))
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	_, err = os.Lstat(filepath.Join(dir, "deleting", "b"))
	assert.ErrorIs(t, err, fs.ErrNotExist, "the deletion marker is gone")
	delete(d.acked, TopicPartition{Topic: "b"})
	mustTopic(t, b, "b", 1)
	gs, err = b.GroupStats("g")
	require.NoError(t, err)
	for _, ps := range gs.Partitions {
		assert.NotEqual(t, "b", ps.Topic, "the deleted topic's offsets were dropped")
	}
	require.NoError(t, d.publish(b.CreateProducer("p"), "a", 0, []byte("a/0 after the reopen")))
	d.check(t, b)
	requireNoLeftovers(t, dir)
}

// TestCreateExistingTopicKeepsOffsets: a deletion marker left by a full
// disk (see dropDeferred) is for the deleted topic only: once the name is
// created again, creating it again (ErrTopicExists, or CreateNewTopic's
// "already there") must not drop the new topic's committed offsets.
func TestCreateExistingTopicKeepsOffsets(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	mustTopic(t, b, "x", 1)
	publishN(t, b, "x", 1, 3, "m")
	want := map[TopicPartition]int64{{Topic: "x", Partition: 0}: 3}
	require.NoError(t, b.SetCommittedOffsets("g", want))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "deleting"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "deleting", "x"), nil, 0o600))

	_, err = b.CreateNewTopic("x", 1)
	require.NoError(t, err)
	_, err = b.CreateTopic("x", TopicConfig{Partitions: 1})
	require.ErrorIs(t, err, ErrTopicExists)
	offs, err := b.CommittedOffsets("g")
	require.NoError(t, err)
	assert.Equal(t, want, offs)
}

// TestDropDeferredOnlyForNoSpace: a drop that failed for want of space in
// one group and for another reason in another is not deferred: the other
// error is reported.
func TestDropDeferredOnlyForNoSpace(t *testing.T) {
	b := &Broker{log: slog.New(slog.DiscardHandler)}
	enospc := fmt.Errorf("group a: %w", syscall.ENOSPC)
	assert.True(t, b.dropDeferred("t", errors.Join(enospc, enospc)))
	assert.False(t, b.dropDeferred("t", errors.Join(enospc, fmt.Errorf("group b: %w", ErrCorrupt))))
	assert.False(t, b.dropDeferred("t", errors.Join()))
	assert.False(t, b.dropDeferred("t", fs.ErrPermission))
}
