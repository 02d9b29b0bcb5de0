package brook

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const roChildEnv = "BROOK_READONLY_CHILD_DIR"

// TestReadOnlyChild is the writer of TestReadOnlyWhileHeld, run as a
// child process: it publishes to topic "live" until its stdin closes.
func TestReadOnlyChild(t *testing.T) {
	dir := os.Getenv(roChildEnv)
	if dir == "" {
		t.Skip("helper process of TestReadOnlyWhileHeld")
	}
	b, err := Open(dir, &Options{Sync: SyncNever})
	require.NoError(t, err)
	_, err = b.CreateNewTopic("live", 1)
	require.NoError(t, err)
	p := b.CreateProducer("child")
	stop := make(chan struct{})
	go func() { io.Copy(io.Discard, os.Stdin); close(stop) }()
	for i := 0; ; i++ {
		require.NoError(t, p.Publish("live", &Message{Value: []byte(fmt.Sprint(i))}))
		if i == 10 {
			fmt.Println("ready")
		}
		select {
		case <-stop:
			require.NoError(t, b.Close())
			return
		default:
		}
	}
}

// TestReadOnlyWhileHeld: a read-only broker opens a directory another
// process holds and keeps publishing to, reads what it publishes, and
// refuses every write.
func TestReadOnlyWhileHeld(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestReadOnlyChild$")
	cmd.Env = append(os.Environ(), roChildEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = os.Stderr
	require.NoError(t, cmd.Start())
	defer func() {
		stdin.Close()
		assert.NoError(t, cmd.Wait())
	}()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	require.NoError(t, err)
	require.Equal(t, "ready\n", line)
	go io.Copy(io.Discard, stdout)

	_, err = Open(dir, nil)
	require.ErrorIs(t, err, ErrLocked, "the child holds the directory")
	b, err := Open(dir, &Options{ReadOnly: true})
	require.NoError(t, err)
	defer func() { assert.NoError(t, b.Close()) }()
	topics, err := b.Topics()
	require.NoError(t, err)
	assert.Equal(t, []string{"live"}, topics)
	t0, err := b.Topic("live")
	require.NoError(t, err)
	atOpen := t0.Stats().Partitions[0].NextOffset

	// Fetch follows the writer past where the log ended at Open.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	off := int64(0)
	for off <= atOpen+200 {
		msgs, err := b.Fetch(ctx, "live", 0, off, 0)
		require.NoError(t, err)
		for _, m := range msgs {
			require.Equal(t, off, m.Offset)
			require.Equal(t, fmt.Sprint(off), string(m.Value))
			off++
		}
	}

	_, err = b.CreateTopic("other", TopicConfig{Partitions: 1})
	assert.ErrorIs(t, err, ErrReadOnly)
	assert.ErrorIs(t, b.DeleteTopic("live"), ErrReadOnly)
	assert.ErrorIs(t, b.AddPartitions("live", 2), ErrReadOnly)
	_, err = b.AlterTopic("live", TopicUpdate{})
	assert.ErrorIs(t, err, ErrReadOnly)
	assert.ErrorIs(t, b.CreateProducer("p").Publish("live", &Message{Value: []byte("x")}), ErrReadOnly)
	_, err = b.ResetOffsets("g", "live", ToEarliest())
	assert.ErrorIs(t, err, ErrReadOnly)
	assert.ErrorIs(t, b.DeleteGroup("g"), ErrReadOnly)
	c := b.CreateConsumer("c", "g")
	assert.ErrorIs(t, c.Subscribe("live"), ErrReadOnly)
}

// TestReadOnlyCreatesNothing: a read-only open of a missing or empty
// directory fails as NoCreate does and creates nothing, and it runs the
// same validation as Open.
func TestReadOnlyCreatesNothing(t *testing.T) {
	missing := t.TempDir() + "/none"
	_, err := Open(missing, &Options{ReadOnly: true})
	require.ErrorIs(t, err, ErrNotDataDir)
	_, err = os.Stat(missing)
	require.ErrorIs(t, err, os.ErrNotExist)
	empty := t.TempDir()
	_, err = Open(empty, &Options{ReadOnly: true})
	require.ErrorIs(t, err, ErrNotDataDir)
	ents, _ := os.ReadDir(empty)
	assert.Empty(t, ents)

	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	_, err = b.CreateNewTopic("a", 2)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	require.NoError(t, os.RemoveAll(dir+"/topics/a/1"))
	ro, err := Open(dir, &Options{ReadOnly: true})
	require.NoError(t, err, "a missing partition fails alone, as Open reports it")
	_, err = ro.Fetch(context.Background(), "a", 1, 0, 0)
	assert.ErrorIs(t, err, ErrPartitionFailed)
	assert.ErrorIs(t, err, ErrCorrupt)
	require.NoError(t, ro.Close())
	_, err = os.Stat(dir + "/topics/a/1")
	assert.ErrorIs(t, err, os.ErrNotExist, "not recreated")
}

// TestReadOnlyLeavesInterruptedDeletions: a deletion left unfinished (its
// marker in deleting/, kept on purpose by a full disk) is finished by the
// next writable Open only: a read-only open, and so Check, changes nothing,
// not even the group offsets the deletion would drop.
func TestReadOnlyLeavesInterruptedDeletions(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "gone", 1)
	publishN(t, b, "gone", 1, 3, "m")
	require.NoError(t, b.SetCommittedOffsets("g", map[TopicPartition]int64{{Topic: "gone", Partition: 0}: 3}))
	require.NoError(t, b.Close())
	require.NoError(t, os.RemoveAll(filepath.Join(dir, "topics", "gone")))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "deleting"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "deleting", "gone"), nil, 0o600))
	before := tree(t, dir)

	ro, err := Open(dir, &Options{ReadOnly: true})
	require.NoError(t, err)
	require.NoError(t, ro.Close())
	_, err = Check(dir, nil)
	require.NoError(t, err)
	assert.Equal(t, before, tree(t, dir), "nothing written, removed or dropped")

	b, err = Open(dir, nil)
	require.NoError(t, err)
	offs, err := b.CommittedOffsets("g")
	require.NoError(t, err)
	assert.Empty(t, offs, "the writable Open finishes the deletion")
	require.NoError(t, b.Close())
	assert.NoFileExists(t, filepath.Join(dir, "deleting", "gone"))
}
