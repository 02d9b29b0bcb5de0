//go:build unix

package brook

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/brookmq/brook/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Opening a directory that is not Brook's removed its tmp/ (the load
// cleaned "its" staging directory). Now it is refused and nothing in it is
// touched.
func TestOpenRefusesForeignDirectory(t *testing.T) {
	project := t.TempDir()
	notes := filepath.Join(project, "tmp", "build", "notes.txt")
	require.NoError(t, os.MkdirAll(filepath.Dir(notes), 0o700))
	require.NoError(t, os.WriteFile(notes, []byte("mine"), 0o600))

	_, err := Open(project, nil)
	require.ErrorIs(t, err, ErrNotDataDir)
	assert.Contains(t, err.Error(), project)
	data, err := os.ReadFile(notes)
	require.NoError(t, err, "the user's file survives")
	assert.Equal(t, "mine", string(data))
	ents, err := os.ReadDir(project)
	require.NoError(t, err)
	assert.Len(t, ents, 1, "nothing was added either")
}

func TestOpenMarksAndRecognisesItsDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	_, err := Open(dir, &Options{NoCreate: true})
	require.ErrorIs(t, err, ErrNotDataDir, "NoCreate never creates")
	_, err = os.Stat(dir)
	require.ErrorIs(t, err, fs.ErrNotExist)

	empty := t.TempDir()
	_, err = Open(empty, &Options{NoCreate: true})
	require.ErrorIs(t, err, ErrNotDataDir, "an empty directory is not a data directory yet")

	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	require.NoError(t, b.Close())
	data, err := os.ReadFile(filepath.Join(dir, markerName))
	require.NoError(t, err)
	assert.Equal(t, markerContent, string(data))
	b, err = Open(dir, &Options{NoCreate: true})
	require.NoError(t, err)
	require.NoError(t, b.Close())

	// A marker of a format this release does not know is refused.
	require.NoError(t, os.WriteFile(filepath.Join(dir, markerName), []byte(`{"brook": "data directory", "format": 9}`), 0o600))
	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrNotDataDir)
	assert.Contains(t, err.Error(), "format 9")
}

// A data directory written before the marker existed is adopted.
func TestOpenAdoptsUnmarkedBrookLayout(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 2)
	publishN(t, b, "t", 2, 4, "m")
	require.NoError(t, b.Close())
	require.NoError(t, os.Remove(filepath.Join(dir, markerName)))

	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	assert.Len(t, readAll(t, b, "t", 0), 2)
	_, err = os.Stat(filepath.Join(dir, markerName))
	assert.NoError(t, err, "adopted: the marker is written")
}

// newTopicDir creates topic t with n partitions in a new data directory
// and closes the broker.
func newTopicDir(t *testing.T, n int) string {
	t.Helper()
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", n)
	publishN(t, b, "t", n, 2*n, "m")
	require.NoError(t, b.Close())
	return dir
}

// A topic directory that is a link vanished (Topics() was empty); a linked
// partition directory was followed and written through.
func TestOpenRefusesLinksInside(t *testing.T) {
	t.Run("topic directory", func(t *testing.T) {
		dir := newTopicDir(t, 1)
		topic := filepath.Join(dir, "topics", "t")
		elsewhere := filepath.Join(t.TempDir(), "t")
		require.NoError(t, os.Rename(topic, elsewhere))
		require.NoError(t, os.Symlink(elsewhere, topic))
		_, err := Open(dir, nil)
		require.ErrorIs(t, err, ErrUnexpectedFile)
		assert.Contains(t, err.Error(), topic)
	})
	t.Run("partition directory", func(t *testing.T) {
		dir := newTopicDir(t, 2)
		part := filepath.Join(dir, "topics", "t", "1")
		elsewhere := filepath.Join(t.TempDir(), "1")
		require.NoError(t, os.Rename(part, elsewhere))
		require.NoError(t, os.Symlink(elsewhere, part))
		_, err := Open(dir, nil)
		require.ErrorIs(t, err, ErrUnexpectedFile)
		assert.Contains(t, err.Error(), part)
	})
	t.Run("topic.json", func(t *testing.T) {
		dir := newTopicDir(t, 1)
		meta := filepath.Join(dir, "topics", "t", "topic.json")
		elsewhere := filepath.Join(t.TempDir(), "topic.json")
		require.NoError(t, os.Rename(meta, elsewhere))
		require.NoError(t, os.Symlink(elsewhere, meta))
		_, err := Open(dir, nil)
		require.ErrorIs(t, err, ErrUnexpectedFile)
	})
	t.Run("group directory", func(t *testing.T) {
		dir := newTopicDir(t, 1)
		elsewhere := t.TempDir()
		group := filepath.Join(dir, "groups", "g")
		require.NoError(t, os.Symlink(elsewhere, group))
		b, err := Open(dir, nil)
		require.NoError(t, err)
		defer b.Close()
		c := b.CreateConsumer("c", "g")
		require.NoError(t, c.Subscribe("t"))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_, err = c.Poll(ctx)
		require.ErrorIs(t, err, ErrUnexpectedFile)
		require.NoError(t, c.Close())
		ents, err := os.ReadDir(elsewhere)
		require.NoError(t, err)
		assert.Empty(t, ents, "nothing written through the link")
	})
	t.Run("the data directory itself may be a link", func(t *testing.T) {
		dir := newTopicDir(t, 1)
		link := filepath.Join(t.TempDir(), "link")
		require.NoError(t, os.Symlink(dir, link))
		b, err := Open(link, nil)
		require.NoError(t, err)
		assert.Len(t, readAll(t, b, "t", 0), 2)
		require.NoError(t, b.Close())
	})
}

// A missing partition directory was silently recreated empty, with the
// group's committed offset past its new end; then it failed the whole
// Open. It fails that partition only: the others read and write, the
// missing one reports ErrPartitionFailed naming the path, and it is never
// recreated.
func TestOpenReportsMissingPartition(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 3)
	publishN(t, b, "t", 3, 30, "m")
	require.NoError(t, b.SetCommittedOffsets("old", map[TopicPartition]int64{{Topic: "t", Partition: 0}: 10, {Topic: "t", Partition: 1}: 10}))
	require.NoError(t, b.Close())
	part := filepath.Join(dir, "topics", "t", "1")
	require.NoError(t, os.RemoveAll(part))

	var failedMu sync.Mutex
	var failed []error
	b, err = Open(dir, nil)
	require.NoError(t, err, "one missing partition does not fail the Open")
	defer b.Close()
	tp, err := b.Topic("t")
	require.NoError(t, err)
	p := b.CreateProducer("p")

	assertMissing := func(err error, call string) {
		t.Helper()
		require.Error(t, err, call)
		assert.ErrorIs(t, err, ErrPartitionFailed, call)
		assert.ErrorIs(t, err, ErrCorrupt, call)
		var pe *PartitionError
		if assert.ErrorAs(t, err, &pe, call) {
			assert.Equal(t, 1, pe.Partition, call)
		}
		assert.Contains(t, err.Error(), part, call+": the cause names the path")
		var pathErr *fs.PathError
		if assert.ErrorAs(t, err, &pathErr, call) {
			assert.Equal(t, part, pathErr.Path, call)
		}
		assert.ErrorIs(t, err, fs.ErrNotExist, call)
	}
	assertMissing(p.Publish("t", CreateMessage("t", []byte("x"), 1)), "Publish")
	assertMissing(p.PublishBatch("t", []*Message{CreateMessage("t", []byte("x"), 1)}), "PublishBatch")
	async := make(chan error, 1)
	p.PublishAsync("t", CreateMessage("t", []byte("x"), 1), func(_ *Message, err error) { async <- err })
	assertMissing(<-async, "PublishAsync")
	_, err = b.Fetch(context.Background(), "t", 1, 0, 0)
	assertMissing(err, "Fetch")
	_, err = tp.ReadPartition(1, 0, 0, 0)
	assertMissing(err, "ReadPartition")
	_, _, err = tp.PartitionOffsets(1)
	assertMissing(err, "PartitionOffsets")
	st := tp.Stats()
	require.Len(t, st.Partitions, 3)
	assert.Contains(t, st.Partitions[1].Failure, part)
	assert.Empty(t, st.Partitions[0].Failure)

	for _, i := range []int{0, 2} {
		require.NoError(t, p.Publish("t", CreateMessage("t", fmt.Appendf(nil, "after-%d", i), i)), "partition %d takes writes", i)
		assert.Len(t, readAll(t, b, "t", i), 11, "partition %d reads", i)
	}

	// A consumer reads the healthy partitions and is told of the missing one.
	c := b.CreateConsumerWith("c", "g", ConsumerOptions{OnPartitionFailed: func(tp TopicPartition, err error) {
		failedMu.Lock()
		defer failedMu.Unlock()
		failed = append(failed, err)
	}})
	require.NoError(t, c.Subscribe("t"))
	ta := newTally()
	stop := runConsumer(t, c, ta.handler("c", nil))
	eventually(t, func() bool { return ta.count() == 22 }, "the healthy partitions' 22 messages are consumed")
	eventually(t, func() bool {
		failedMu.Lock()
		defer failedMu.Unlock()
		return len(failed) == 1
	}, "OnPartitionFailed reports the missing partition")
	require.NoError(t, stop())
	failedMu.Lock()
	assertMissing(failed[0], "OnPartitionFailed")
	failedMu.Unlock()
	gs, err := b.GroupStats("g")
	require.NoError(t, err)
	for _, ps := range gs.Partitions {
		if ps.Partition == 1 {
			assert.Equal(t, int64(-1), ps.Committed, "nothing is committed for the missing partition")
		}
	}

	old, err := b.GroupStats("old")
	require.NoError(t, err)
	for _, ps := range old.Partitions {
		if ps.Partition < 2 {
			assert.Equal(t, int64(10), ps.Committed, "partition %d: a committed offset stays as it was", ps.Partition)
			assert.Equal(t, int64(-1), ps.ClampedFrom, "partition %d: not clamped to an end nobody knows", ps.Partition)
		}
	}

	require.NoError(t, b.Close())
	_, err = os.Stat(part)
	assert.ErrorIs(t, err, fs.ErrNotExist, "never recreated")
}

// A FIFO named topic.json hung Open forever.
func TestOpenRefusesFIFOs(t *testing.T) {
	dir := newTopicDir(t, 1)
	meta := filepath.Join(dir, "topics", "t", "topic.json")
	require.NoError(t, os.Remove(meta))
	require.NoError(t, syscall.Mkfifo(meta, 0o600))
	done := make(chan error, 1)
	go func() {
		b, err := Open(dir, nil)
		if err == nil {
			b.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		require.ErrorIs(t, err, ErrUnexpectedFile)
		assert.Contains(t, err.Error(), meta)
	case <-time.After(10 * time.Second):
		// Unblock the stuck open so the test can end.
		if f, err := os.OpenFile(meta, os.O_WRONLY, 0); err == nil {
			f.Close()
		}
		t.Fatal("Open blocked on a FIFO")
	}
}

// An unreadable topic.json was reported as corrupt; a permission error
// must match fs.ErrPermission instead. Root reads any file, so as root the
// check runs in a child process of this test binary with another user ID.
func TestOpenUnreadableMetadataIsPermission(t *testing.T) {
	if dir := os.Getenv("BROOK_TEST_UNREADABLE_DIR"); dir != "" {
		_, err := Open(dir, nil)
		if !errors.Is(err, fs.ErrPermission) || errors.Is(err, ErrCorrupt) {
			t.Fatalf("Open = %v; want fs.ErrPermission, not ErrCorrupt", err)
		}
		return
	}
	base := worldTempDir(t)
	dir := filepath.Join(base, "data")
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	require.NoError(t, b.Close())
	if os.Geteuid() != 0 {
		require.NoError(t, os.Chmod(filepath.Join(dir, "topics", "t", "topic.json"), 0))
		_, err := Open(dir, nil)
		require.ErrorIs(t, err, fs.ErrPermission)
		assert.NotErrorIs(t, err, ErrCorrupt)
		return
	}
	runAsNobody(t, "TestOpenUnreadableMetadataIsPermission", dir, "BROOK_TEST_UNREADABLE_DIR="+dir)
}

// runAsNobody re-runs this test binary's test as user and group 65534,
// owning dir but for its topic.json, which it cannot read.
func runAsNobody(t *testing.T, test, dir string, env ...string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, 65534, 65534)
	}))
	require.NoError(t, os.Chown(filepath.Join(dir, "topics", "t", "topic.json"), 0, 0))
	require.NoError(t, os.Chmod(filepath.Join(dir, "topics", "t", "topic.json"), 0o600))
	// The test binary lives in a directory only root may enter: copy it.
	exe, err := os.Executable()
	require.NoError(t, err)
	data, err := os.ReadFile(exe)
	require.NoError(t, err)
	bin := filepath.Join(worldTempDir(t), "brook.test")
	require.NoError(t, os.WriteFile(bin, data, 0o755))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-test.run", "^"+test+"$")
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "child as uid 65534: %s", out)
}

// worldTempDir is a temporary directory that every user may enter (t.TempDir
// is inside one only its owner may).
func worldTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "brook-world-")
	require.NoError(t, err)
	t.Cleanup(func() { os.RemoveAll(dir) })
	require.NoError(t, os.Chmod(dir, 0o755))
	return dir
}

const markerKillDirEnv = "BROOK_MARKER_KILL_DIR"

// TestOpenAfterKillDuringFirstOpen kills a process in the middle of the
// first Open of a new data directory, while the BROOK marker's temporary
// file is written: the next Open must accept the directory. Before, the
// temporary file sat beside the layout, so the directory, unmarked and
// not only Brook's layout, was refused as foreign (ErrNotDataDir) for
// ever. TestReliabilityCrash found it, once in a while, in its first
// round on a loaded machine (a kill within 80 ms of the start).
func TestOpenAfterKillDuringFirstOpen(t *testing.T) {
	if dir := os.Getenv(markerKillDirEnv); dir != "" {
		fsys := storagetest.New()
		fsys.SetHook(func(c storagetest.Call, do func() error) error {
			if c.Op == storagetest.OpSync && strings.HasPrefix(filepath.Base(c.Path), ".tmp-") {
				fmt.Println("WRITING MARKER")
				time.Sleep(time.Minute) // the parent kills this process long before
			}
			return do()
		})
		_, err := Open(dir, &Options{fs: fsys, meta: fsys})
		fmt.Printf("ERR open returned: %v\n", err)
		os.Exit(3)
	}
	dir := filepath.Join(t.TempDir(), "data")
	cmd := exec.Command(os.Args[0], "-test.run=^TestOpenAfterKillDuringFirstOpen$", "-test.count=1")
	cmd.Env = append(os.Environ(), markerKillDirEnv+"="+dir)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	inWindow := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "WRITING MARKER") || strings.HasPrefix(sc.Text(), "ERR") {
				inWindow <- sc.Text()
				return
			}
		}
		inWindow <- "child ended"
	}()
	select {
	case line := <-inWindow:
		require.Equal(t, "WRITING MARKER", line)
	case <-time.After(60 * time.Second):
		t.Fatal("the child never reached the marker's fsync")
	}
	require.NoError(t, cmd.Process.Kill())
	_ = cmd.Wait()

	b, err := Open(dir, nil)
	require.NoError(t, err, "a directory whose first Open was killed is still Brook's")
	mustTopic(t, b, "t", 1)
	require.NoError(t, b.Close())
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	assert.ElementsMatch(t, []string{"BROOK", "LOCK", "groups", "tmp", "topics"}, names, "nothing beside the layout")
}
