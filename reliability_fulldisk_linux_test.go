//go:build linux

package brook

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mountTmpfs mounts a tmpfs of size on a new directory, unmounted when the
// test ends. It needs root; without it, or when mount fails, the test is
// skipped, saying why, unless BROOK_REQUIRE_TOOLS=1 (CI runs as root),
// which makes it fail instead.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	unable := func(why string) {
		if os.Getenv("BROOK_REQUIRE_TOOLS") == "1" {
			t.Fatalf("cannot mount a tmpfs (%s) and BROOK_REQUIRE_TOOLS=1", why)
		}
		t.Skipf("needs a real tmpfs of %s: %s; set BROOK_REQUIRE_TOOLS=1 to fail instead", size, why)
	}
	if os.Geteuid() != 0 {
		unable("not running as root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		unable(fmt.Sprintf("mount -t tmpfs: %v: %s", err, strings.TrimSpace(string(out))))
	}
	t.Cleanup(func() { // runs before TempDir's removal
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// fillFile writes zeros to path until the file system is full.
func fillFile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	buf := make([]byte, 4096)
	for {
		if _, err := f.Write(buf); err != nil {
			require.ErrorIs(t, err, syscall.ENOSPC)
			break
		}
	}
	for len(buf) > 1 { // the last bytes of a partial block
		buf = buf[:len(buf)/2]
		_, _ = f.Write(buf)
	}
}

// TestReliabilityFullTmpfs fills a real 2 MiB tmpfs through the broker,
// fills what is left with a file of its own, then reopens the broker on
// the full file system: everything acknowledged is read back, the group's
// offsets too; creating a topic fails with ENOSPC and leaves nothing;
// deleting a topic frees space and publishing works again. A last reopen
// checks the data, and no file a failed write made is left behind.
func TestReliabilityFullTmpfs(t *testing.T) {
	mnt := mountTmpfs(t, "2m")
	dir := filepath.Join(mnt, "data")
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "a", 2)
	mustTopic(t, b, "b", 1)
	d := &fullDiskData{acked: map[TopicPartition][]string{}}
	p := b.CreateProducer("p")
	for i := range 30 {
		require.NoError(t, d.publish(p, "a", i%2, fmt.Appendf(nil, "a-%d", i)))
		require.NoError(t, d.publish(p, "b", 0, fmt.Appendf(nil, "b-%d", i)))
	}
	consumeAndCommit(t, b, d, "a", "b")
	pad := strings.Repeat("x", 1000)
	for i := 0; err == nil; i++ {
		topic, part := "a", i%2
		if i%3 == 2 {
			topic, part = "b", 0
		}
		err = d.publish(p, topic, part, fmt.Appendf(nil, "fill-%d-%s", i, pad))
	}
	require.ErrorIs(t, err, syscall.ENOSPC, "the broker fills the file system")
	t.Logf("filled with %d messages in a, %d in b: %v", len(d.acked[TopicPartition{"a", 0}])+len(d.acked[TopicPartition{"a", 1}]),
		len(d.acked[TopicPartition{"b", 0}]), err)
	assert.ErrorIs(t, b.Close(), ErrPartitionFailed)
	fillFile(t, filepath.Join(mnt, "filler"))

	logs := newCountingHandler()
	b, err = Open(dir, &Options{Logger: slog.New(logs)})
	require.NoError(t, err, "a full disk must not keep the broker from opening")
	d.check(t, b)
	gs, err := b.GroupStats("g")
	require.NoError(t, err)
	assert.Len(t, gs.Partitions, 3)
	_, err = b.CreateNewTopic("c", 1)
	assert.ErrorIs(t, err, syscall.ENOSPC, "a write on a full disk says so")
	require.NoError(t, b.DeleteTopic("b"), "a topic can be deleted on a full disk")
	p = b.CreateProducer("p")
	require.NoError(t, d.publish(p, "a", 0, []byte("after the delete")), "publishing works once a deletion freed space")
	require.NoError(t, d.publish(p, "a", 1, []byte("after the delete")))
	_, err = b.CreateNewTopic("c", 1)
	require.NoError(t, err)
	require.NoError(t, d.publish(p, "c", 0, []byte("c-0")))
	closeErr := b.Close()
	if closeErr != nil {
		// The group's offsets log failed while the disk was full: its
		// final flush says so. Nothing else may fail.
		assert.True(t, errors.Is(closeErr, syscall.ENOSPC) && !errors.Is(closeErr, ErrPartitionFailed), "Close: %v", closeErr)
	}
	requireNoLeftovers(t, dir)

	delete(d.acked, TopicPartition{Topic: "b"})
	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	names, err := b.Topics()
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "c"}, names)
	d.check(t, b)
	gs, err = b.GroupStats("g")
	require.NoError(t, err)
	for _, ps := range gs.Partitions {
		assert.NotEqual(t, "b", ps.Topic, "the deleted topic's offsets were dropped")
	}
	requireNoLeftovers(t, dir)
}
