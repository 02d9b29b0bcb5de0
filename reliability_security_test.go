package brook

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hostileNames are topic and group names that must never reach the file
// system: each one, joined to a directory, would name something else than
// a new child of it.
var hostileNames = []string{
	"", ".", "..", "../outside", "../../outside", "/tmp/outside", "a/b", "a/../../outside",
	`..\outside`, "a\x00b", "outside\n", " ..", "..%2f", "~", "$HOME", "prix€", "tab\t",
	strings.Repeat("x", 250), strings.Repeat("../", 30),
}

// TestReliabilityNamesStayInside feeds hostile topic and group names to
// every call that takes one and checks that all are refused and that
// nothing was created outside the data directory, or inside it under a
// name that is not a valid one.
func TestReliabilityNamesStayInside(t *testing.T) {
	sandbox := t.TempDir()
	dir := filepath.Join(sandbox, "data")
	b, err := Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	mustTopic(t, b, "t", 1)
	p := b.CreateProducer("p")
	ctx := context.Background()
	for _, name := range hostileNames {
		_, err := b.CreateNewTopic(name, 1)
		assert.ErrorIs(t, err, ErrInvalidTopicName, "CreateNewTopic(%q)", name)
		_, err = b.CreateTopic(name, TopicConfig{Partitions: 1})
		assert.ErrorIs(t, err, ErrInvalidTopicName, "CreateTopic(%q)", name)
		assert.ErrorIs(t, p.Publish(name, CreateMessage(name, []byte("x"), 0)), ErrInvalidTopicName, "Publish(%q)", name)
		assert.Error(t, b.DeleteTopic(name), "DeleteTopic(%q)", name)
		assert.Error(t, b.AddPartitions(name, 2), "AddPartitions(%q)", name)
		_, err = b.Fetch(ctx, name, 0, 0, 1)
		assert.Error(t, err, "Fetch(%q)", name)
		assert.ErrorIs(t, b.CreateConsumer("c", "g").Subscribe(name), ErrInvalidTopicName, "Subscribe(%q)", name)
		assert.ErrorIs(t, b.CreateConsumer("c", name).Subscribe("t"), ErrInvalidGroupID, "group %q", name)
		_, err = b.GroupStats(name)
		assert.ErrorIs(t, err, ErrInvalidGroupID, "GroupStats(%q)", name)
		_, err = b.CreateConsumer("c", name).Poll(ctx)
		assert.ErrorIs(t, err, ErrInvalidGroupID, "Poll in group %q", name)
	}

	// Valid names that look odd stay plain children of topics/.
	for _, name := range []string{"...", ".hidden", "-rf", "_", strings.Repeat("y", 249)} {
		mustTopic(t, b, name, 1)
		require.NoError(t, p.Publish(name, CreateMessage(name, []byte("x"), 0)))
		_, err := os.Stat(filepath.Join(dir, "topics", name, "topic.json"))
		assert.NoError(t, err, "topic %q lives in topics/%s", name, name)
	}

	// A dead-letter topic named after a group ID at the length limit would
	// be too long: it is refused up front, not made a file elsewhere.
	group := strings.Repeat("g", 249)
	c := b.CreateConsumerWith("c", group, ConsumerOptions{MaxAttempts: 1, ErrorPolicy: DeadLetterOnError})
	assert.ErrorIs(t, c.Subscribe("t"), ErrInvalidTopicName, "the dead-letter topic name is refused")
	err = c.Run(ctx, func(context.Context, *Message) error { return errors.New("refuse") })
	assert.ErrorIs(t, err, ErrInvalidTopicName, "the dead-letter topic name is refused")

	// Nothing outside the data directory; inside, only valid names.
	outside, err := os.ReadDir(sandbox)
	require.NoError(t, err)
	require.Len(t, outside, 1, "only the data directory in the sandbox")
	for _, sub := range []string{"topics", "groups"} {
		entries, err := os.ReadDir(filepath.Join(dir, sub))
		require.NoError(t, err)
		for _, e := range entries {
			assert.True(t, validName(e.Name()), "%s/%q", sub, e.Name())
		}
	}
	_, err = os.Stat("/tmp/outside")
	assert.ErrorIs(t, err, fs.ErrNotExist)
}

// TestReliabilityFileModes runs a workload that makes every kind of file
// and directory the broker writes (topics, partitions with several
// segments, committed offsets with snapshots, retention, a deleted topic,
// added partitions, the bytes cut from a torn tail) and checks that every
// directory is 0700 and every file 0600, with the umask cleared so that
// nothing is hidden by it.
func TestReliabilityFileModes(t *testing.T) {
	clearUmask(t)
	dir := filepath.Join(t.TempDir(), "data")
	b, err := Open(dir, &Options{SegmentSize: 4 << 10, CommitInterval: time.Millisecond, RetentionCheckInterval: 5 * time.Millisecond})
	require.NoError(t, err)
	mustTopic(t, b, "t", 2)
	_, err = b.CreateTopic("retained", TopicConfig{Partitions: 1, RetentionBytes: 8 << 10})
	require.NoError(t, err)
	publishN(t, b, "t", 2, 400, "m")
	rp := b.CreateProducer("retained")
	for i := 0; i < 400; i++ {
		rp.PublishAsync("retained", CreateMessage("retained", make([]byte, 200), 0), func(_ *Message, err error) { assert.NoError(t, err) })
	}
	flush(t, rp)
	ta := newTally()
	c := b.CreateConsumer("c", "g")
	require.NoError(t, c.Subscribe("t"))
	stop := runConsumer(t, c, ta.handler("c", nil))
	eventually(t, func() bool { return ta.count() == 400 }, "consumed")
	require.NoError(t, stop())
	require.NoError(t, b.AddPartitions("t", 3))
	mustTopic(t, b, "gone", 1)
	require.NoError(t, b.DeleteTopic("gone"))
	eventually(t, func() bool {
		tp, err := b.Topic("retained")
		return err == nil && tp.Stats().Partitions[0].FirstOffset > 0
	}, "retention dropped a segment")
	require.NoError(t, b.Close())

	// A torn tail, repaired on the next Open, leaves the cut bytes beside
	// the partition.
	segs, err := filepath.Glob(filepath.Join(dir, "topics", "t", "0", "0*"))
	require.NoError(t, err)
	require.NotEmpty(t, segs)
	f, err := os.OpenFile(segs[len(segs)-1], os.O_WRONLY|os.O_APPEND, 0)
	require.NoError(t, err)
	_, err = f.Write([]byte{0x40, 1, 2, 3})
	require.NoError(t, err)
	require.NoError(t, f.Close())
	b, err = Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, b.Close())
	cut, err := filepath.Glob(filepath.Join(dir, "topics", "t", "0", "corrupt-*"))
	require.NoError(t, err)
	assert.Len(t, cut, 1, "the repair kept the cut bytes")

	kinds := map[string]int{}
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		require.NoError(t, err)
		info, err := d.Info()
		require.NoError(t, err)
		want := fs.FileMode(0o600)
		if d.IsDir() {
			want = 0o700 | fs.ModeDir
			kinds["dir"]++
		} else {
			kinds[fileKind(filepath.Base(path))]++
		}
		assert.Equal(t, want.String(), info.Mode().String(), "%s", path)
		return nil
	}))
	for _, k := range []string{"dir", "segment", "LOCK", "topic.json", "corrupt-*.bin"} {
		assert.Positive(t, kinds[k], "the workload made a %s", k)
	}
	t.Logf("checked %v", kinds)
}

func fileKind(name string) string {
	switch {
	case strings.Trim(name, "0123456789") == "":
		return "segment"
	case strings.HasPrefix(name, "corrupt-"):
		return "corrupt-*.bin"
	}
	return name
}

// TestReliabilitySizeLimits checks that the limits on messages, batches
// and partition counts hold at their edges, and after a reopen.
func TestReliabilitySizeLimits(t *testing.T) {
	const limit = 64 << 10
	dir := t.TempDir()
	b, err := Open(dir, &Options{MaxMessageBytes: limit})
	require.NoError(t, err)
	mustTopic(t, b, "t", 2)
	_, err = b.CreateTopic("small", TopicConfig{Partitions: 1, MaxMessageBytes: 10})
	require.NoError(t, err)
	p := b.CreateProducer("p")

	exact := &Message{Key: make([]byte, 100), Value: make([]byte, limit-100-3-5),
		Headers: []Header{{Key: "abc", Value: []byte("12345")}}}
	require.NoError(t, p.Publish("t", exact), "a message of exactly MaxMessageBytes")
	over := &Message{Key: make([]byte, 100), Value: make([]byte, limit-100-3-5),
		Headers: []Header{{Key: "abc", Value: []byte("123456")}}}
	assert.ErrorIs(t, p.Publish("t", over), ErrMessageTooLarge, "one byte over, in a header")
	assert.ErrorIs(t, p.Publish("small", CreateMessage("small", make([]byte, 11), 0)), ErrMessageTooLarge, "the topic's own limit")
	require.NoError(t, p.Publish("small", CreateMessage("small", make([]byte, 10), 0)))
	// Headers count even when empty: many of them cannot smuggle a record
	// past the storage limit.
	many := &Message{Headers: make([]Header, 200_000)}
	assert.ErrorIs(t, p.Publish("t", many), ErrMessageTooLarge, "200k empty headers")

	// A burst of maximum-size messages is split into group commits that
	// the storage accepts; all arrive intact.
	var wg sync.WaitGroup
	var mu sync.Mutex
	var errs []error
	for i := 0; i < 64; i++ {
		wg.Add(1)
		v := make([]byte, limit)
		v[0], v[limit-1] = byte(i), byte(i)
		p.PublishAsync("t", CreateMessage("t", v, 1), func(_ *Message, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	waitGroup(t, &wg, "the PublishAsync callbacks")
	assert.Empty(t, errs)

	_, err = b.CreateNewTopic("huge", MaxPartitions+1)
	assert.ErrorIs(t, err, ErrInvalidPartition)
	assert.ErrorIs(t, b.AddPartitions("t", MaxPartitions+1), ErrInvalidPartition)
	require.NoError(t, b.Close())

	b, err = Open(dir, &Options{MaxMessageBytes: limit})
	require.NoError(t, err)
	defer b.Close()
	p = b.CreateProducer("p")
	assert.ErrorIs(t, p.Publish("small", CreateMessage("small", make([]byte, 11), 0)), ErrMessageTooLarge, "the topic's limit persists")
	assert.Len(t, readAll(t, b, "t", 0), 1, "nothing refused was written")
	burst := readAll(t, b, "t", 1)
	require.Len(t, burst, 64)
	for _, m := range burst {
		assert.Len(t, m.Value, limit)
		assert.Equal(t, m.Value[0], m.Value[limit-1])
	}
	assert.Len(t, readAll(t, b, "small", 0), 1)
}
