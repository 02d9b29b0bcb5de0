package brook

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/brookmq/brook/storage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// inputEnv is the broker the bad-input cases run against: topic "t" with
// four partitions holding inputKept messages, which no case may change.
type inputEnv struct {
	b   *Broker
	dir string
}

const inputKept = 8

func nop(context.Context, *Message) error { return nil }

// closedProducer returns a producer that has been closed.
func (e *inputEnv) closedProducer(t *testing.T) *Producer {
	p := e.b.CreateProducer("closed-producer")
	require.NoError(t, p.Close())
	return p
}

func (e *inputEnv) closedConsumer(t *testing.T) *Consumer {
	c := e.b.CreateConsumer("closed-consumer", "g")
	require.NoError(t, c.Subscribe("t"))
	require.NoError(t, c.Close())
	return c
}

// asyncErr runs PublishAsync and returns the error its callback got.
func asyncErr(p *Producer, topic string, m *Message) error {
	ch := make(chan error, 1)
	p.PublishAsync(topic, m, func(_ *Message, err error) { ch <- err })
	select {
	case err := <-ch:
		return err
	case <-time.After(10 * time.Second):
		return fmt.Errorf("PublishAsync never called back")
	}
}

// freshDir returns a data directory holding topic "t", closed.
func freshDir(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "data")
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	require.NoError(t, b.Close())
	return dir
}

// openErr returns Open's error, closing the broker if it opened anyway.
func openErr(dir string, opts *Options) error {
	b, err := Open(dir, opts)
	if err == nil {
		b.Close()
	}
	return err
}

// TestReliabilityBadInput runs bad input through the whole API. Each case
// must return an error that matches the documented sentinel and whose text
// names what was wrong; none may panic, and none may change the data.
func TestReliabilityBadInput(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	b, err := Open(dir, &Options{MaxMessageBytes: 100})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	mustTopic(t, b, "t", 4)
	publishN(t, b, "t", 4, inputKept, "kept")
	e := &inputEnv{b: b, dir: dir}
	big := strings.Repeat("x", 101)
	tests := []struct {
		name string
		call func(t *testing.T, e *inputEnv) error
		want error
		says string // a piece of the error's text that says what was wrong
	}{
		// Names.
		{"empty topic name", func(t *testing.T, e *inputEnv) error { _, err := e.b.CreateNewTopic("", 1); return err },
			ErrInvalidTopicName, `""`},
		{"topic name escaping the directory", func(t *testing.T, e *inputEnv) error { _, err := e.b.CreateNewTopic("../../etc", 1); return err },
			ErrInvalidTopicName, "../../etc"},
		{"absolute topic name", func(t *testing.T, e *inputEnv) error { _, err := e.b.CreateNewTopic("/tmp/x", 1); return err },
			ErrInvalidTopicName, "/tmp/x"},
		{"topic name dot-dot", func(t *testing.T, e *inputEnv) error { _, err := e.b.CreateNewTopic("..", 1); return err },
			ErrInvalidTopicName, `".."`},
		{"topic name with NUL", func(t *testing.T, e *inputEnv) error { _, err := e.b.CreateNewTopic("a\x00b", 1); return err },
			ErrInvalidTopicName, `a\x00b`},
		{"topic name of 250 characters", func(t *testing.T, e *inputEnv) error {
			_, err := e.b.CreateNewTopic(strings.Repeat("n", 250), 1)
			return err
		}, ErrInvalidTopicName, "nnnn"},
		{"publish to an invalid topic name", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateProducer("p").Publish("a/b", CreateMessage("a/b", nil, 0))
		}, ErrInvalidTopicName, "a/b"},
		{"group ID escaping the directory", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateConsumer("c", "../groups").Subscribe("t")
		}, ErrInvalidGroupID, "../groups"},
		{"empty group ID", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateConsumer("c", "").Run(context.Background(), nop)
		},
			ErrInvalidGroupID, `""`},
		{"group stats of an invalid group ID", func(t *testing.T, e *inputEnv) error { _, err := e.b.GroupStats("g/h"); return err },
			ErrInvalidGroupID, "g/h"},
		{"subscribe to an invalid topic name", func(t *testing.T, e *inputEnv) error { return e.b.CreateConsumer("c", "g").Subscribe("t", "") },
			ErrInvalidTopicName, `""`},

		// Unknown things.
		{"publish to an unknown topic", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateProducer("p").Publish("nope", CreateMessage("nope", nil, 0))
		}, ErrUnknownTopic, "nope"},
		{"subscribe to an unknown topic", func(t *testing.T, e *inputEnv) error { return e.b.CreateConsumer("c", "g").Subscribe("nope") },
			ErrUnknownTopic, "nope"},
		{"delete an unknown topic", func(t *testing.T, e *inputEnv) error { return e.b.DeleteTopic("nope") },
			ErrUnknownTopic, "nope"},
		{"grow an unknown topic", func(t *testing.T, e *inputEnv) error { return e.b.AddPartitions("nope", 9) },
			ErrUnknownTopic, "nope"},
		{"fetch from an unknown topic", func(t *testing.T, e *inputEnv) error {
			_, err := e.b.Fetch(context.Background(), "nope", 0, 0, 1)
			return err
		}, ErrUnknownTopic, "nope"},

		// Indexes and counts.
		{"partition past the end", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateProducer("p").Publish("t", CreateMessage("t", nil, 4))
		}, ErrInvalidPartition, "0..3"},
		{"negative partition", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateProducer("p").Publish("t", CreateMessage("t", nil, -5))
		}, ErrInvalidPartition, "t/-5"},
		{"zero partitions", func(t *testing.T, e *inputEnv) error { _, err := e.b.CreateNewTopic("z", 0); return err },
			ErrInvalidPartition, "partition count 0"},
		{"more than MaxPartitions", func(t *testing.T, e *inputEnv) error { _, err := e.b.CreateNewTopic("z", MaxPartitions+1); return err },
			ErrInvalidPartition, fmt.Sprint(MaxPartitions + 1)},
		{"existing topic with another partition count", func(t *testing.T, e *inputEnv) error { _, err := e.b.CreateNewTopic("t", 5); return err },
			ErrTopicExists, `brook: topic already exists with 4 partitions, not the 5 asked for: "t"`},
		{"shrink a topic", func(t *testing.T, e *inputEnv) error { return e.b.AddPartitions("t", 2) },
			ErrInvalidPartition, "from 4 to 2"},
		{"grow past MaxPartitions", func(t *testing.T, e *inputEnv) error { return e.b.AddPartitions("t", MaxPartitions+1) },
			ErrInvalidPartition, fmt.Sprint(MaxPartitions + 1)},
		{"fetch past the end", func(t *testing.T, e *inputEnv) error {
			_, err := e.b.Fetch(context.Background(), "t", 0, 99, 1)
			return err
		}, ErrOffsetOutOfRange, "99"},
		{"fetch a negative offset", func(t *testing.T, e *inputEnv) error {
			_, err := e.b.Fetch(context.Background(), "t", 0, -3, 1)
			return err
		}, ErrOffsetOutOfRange, "offset -3, the partition holds"},
		{"fetch a partition past the end", func(t *testing.T, e *inputEnv) error {
			_, err := e.b.Fetch(context.Background(), "t", 7, 0, 1)
			return err
		}, ErrInvalidPartition, "0..3"},
		{"seek a partition not assigned", func(t *testing.T, e *inputEnv) error { return e.b.CreateConsumer("c", "g").Seek("t", 1, 0) },
			ErrNotAssigned, "t/1"},
		{"commit a message not assigned", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateConsumer("c", "g").Commit(context.Background(), &Message{Topic: "t", Partition: 2, Offset: 1})
		}, ErrNotAssigned, "t/2"},

		// Sizes and configuration.
		{"value over MaxMessageBytes", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateProducer("p").Publish("t", CreateMessage("t", []byte(big), 0))
		}, ErrMessageTooLarge, "101 bytes, limit 100"},
		{"key and headers over MaxMessageBytes", func(t *testing.T, e *inputEnv) error {
			m := &Message{Topic: "t", Key: make([]byte, 50), Headers: []Header{{Key: "k", Value: make([]byte, 50)}}}
			return asyncErr(e.b.CreateProducer("p"), "t", m)
		}, ErrMessageTooLarge, "101 bytes"},
		{"negative retention", func(t *testing.T, e *inputEnv) error {
			_, err := e.b.CreateTopic("z", TopicConfig{Partitions: 1, RetentionAge: -time.Second})
			return err
		}, ErrInvalidConfig, "negative"},
		{"unknown sync policy", func(t *testing.T, e *inputEnv) error {
			_, err := e.b.CreateTopic("z", TopicConfig{Partitions: 1, Sync: SyncPolicy(9)})
			return err
		}, ErrInvalidConfig, "sync policy"},
		{"MaxMessageBytes that would overflow", func(t *testing.T, e *inputEnv) error {
			_, err := e.b.CreateTopic("z", TopicConfig{Partitions: 1, MaxMessageBytes: 1 << 62})
			return err
		}, ErrInvalidConfig, "MaxMessageBytes"},
		{"negative consumer option", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateConsumerWith("c", "g", ConsumerOptions{PollTimeout: -1}).Subscribe("t")
		}, ErrInvalidConfig, "negative"},
		{"empty data directory", func(t *testing.T, e *inputEnv) error { return openErr("", nil) },
			ErrInvalidConfig, "empty data directory"},
		{"negative broker option", func(t *testing.T, e *inputEnv) error { return openErr(t.TempDir(), &Options{SegmentSize: -1}) },
			ErrInvalidConfig, "negative"},
		{"broker MaxMessageBytes that would overflow", func(t *testing.T, e *inputEnv) error {
			return openErr(t.TempDir(), &Options{MaxMessageBytes: 1 << 62})
		}, ErrInvalidConfig, "MaxMessageBytes"},

		// Nil messages and handlers.
		{"publish a nil message", func(t *testing.T, e *inputEnv) error { return e.b.CreateProducer("p").Publish("t", nil) },
			ErrNilMessage, "nil message"},
		{"publish a nil message asynchronously", func(t *testing.T, e *inputEnv) error { return asyncErr(e.b.CreateProducer("p"), "t", nil) },
			ErrNilMessage, "nil message"},
		{"commit a nil message", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateConsumer("c", "g").Commit(context.Background(), nil)
		}, ErrNilMessage, "nil message"},
		{"message for another topic", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateProducer("p").Publish("t", CreateMessage("u", nil, 0))
		}, ErrTopicMismatch, `"u"`},
		{"run a nil handler", func(t *testing.T, e *inputEnv) error {
			c := e.b.CreateConsumer("c", "g")
			require.NoError(t, c.Subscribe("t"))
			return c.Run(context.Background(), nil)
		}, ErrNilHandler, "nil handler"},
		{"run without a subscription", func(t *testing.T, e *inputEnv) error {
			return e.b.CreateConsumer("c", "g").Run(context.Background(), nop)
		},
			ErrNoSubscription, "no subscription"},

		// Handles used after Close.
		{"publish after the producer's Close", func(t *testing.T, e *inputEnv) error {
			return e.closedProducer(t).Publish("t", CreateMessage("t", nil, 0))
		}, ErrClosed, "closed-producer"},
		{"publish asynchronously after Close", func(t *testing.T, e *inputEnv) error {
			return asyncErr(e.closedProducer(t), "t", CreateMessage("t", nil, 0))
		}, ErrClosed, "closed"},
		{"run after the consumer's Close", func(t *testing.T, e *inputEnv) error { return e.closedConsumer(t).Run(context.Background(), nop) },
			ErrClosed, "closed"},
		{"poll after Close", func(t *testing.T, e *inputEnv) error {
			_, err := e.closedConsumer(t).Poll(context.Background())
			return err
		},
			ErrClosed, "closed"},
		{"subscribe after Close", func(t *testing.T, e *inputEnv) error { return e.closedConsumer(t).Subscribe("t") },
			ErrClosed, "closed"},
		{"unsubscribe after Close", func(t *testing.T, e *inputEnv) error { return e.closedConsumer(t).Unsubscribe("t") },
			ErrClosed, "closed"},
		{"use a closed broker", func(t *testing.T, e *inputEnv) error {
			other, err := Open(t.TempDir(), nil)
			require.NoError(t, err)
			require.NoError(t, other.Close())
			_, err = other.Stats()
			return err
		}, ErrClosed, "closed"},
		{"create a topic on a closed broker", func(t *testing.T, e *inputEnv) error {
			other, err := Open(t.TempDir(), nil)
			require.NoError(t, err)
			require.NoError(t, other.Close())
			_, err = other.CreateNewTopic("x", 1)
			return err
		}, ErrClosed, "closed"},

		// Directories and files.
		{"a locked directory", func(t *testing.T, e *inputEnv) error { return openErr(e.dir, nil) },
			ErrLocked, e.dir},
		{"corrupted topic metadata", func(t *testing.T, e *inputEnv) error {
			dir := freshDir(t)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "topics", "t", "topic.json"), []byte(`{"version":1,"name":`), 0o600))
			return openErr(dir, nil)
		}, ErrCorrupt, "topic.json"},
		{"topic metadata naming another topic", func(t *testing.T, e *inputEnv) error {
			dir := freshDir(t)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "topics", "t", "topic.json"),
				[]byte(`{"version":1,"name":"other","partitions":1}`), 0o600))
			return openErr(dir, nil)
		}, ErrCorrupt, "invalid content"},
		{"topic metadata with an overflowing size", func(t *testing.T, e *inputEnv) error {
			dir := freshDir(t)
			require.NoError(t, os.WriteFile(filepath.Join(dir, "topics", "t", "topic.json"),
				[]byte(`{"version":1,"name":"t","partitions":1,"max_message_bytes":4611686018427387904}`), 0o600))
			return openErr(dir, nil)
		}, ErrCorrupt, "topic.json"},
		{"topic metadata missing", func(t *testing.T, e *inputEnv) error {
			dir := freshDir(t)
			require.NoError(t, os.Remove(filepath.Join(dir, "topics", "t", "topic.json")))
			return openErr(dir, nil)
		}, ErrCorrupt, "topic.json"},
		{"corrupted committed offsets", func(t *testing.T, e *inputEnv) error {
			l, err := storage.Open(filepath.Join(e.dir, "groups", "broken"), nil)
			require.NoError(t, err)
			_, err = l.Append(context.Background(), []storage.Record{{Value: []byte{7, 7, 7}}})
			require.NoError(t, err)
			require.NoError(t, l.Close())
			_, err = e.b.GroupStats("broken")
			return err
		}, ErrCorrupt, "committed offsets"},
		{"data directory under a regular file", func(t *testing.T, e *inputEnv) error {
			file := filepath.Join(t.TempDir(), "file")
			require.NoError(t, os.WriteFile(file, nil, 0o600))
			return openErr(filepath.Join(file, "data"), nil)
		}, syscall.ENOTDIR, "/file/data: not a directory"},
		{"data directory is a regular file", func(t *testing.T, e *inputEnv) error {
			file := filepath.Join(t.TempDir(), "file")
			require.NoError(t, os.WriteFile(file, nil, 0o600))
			return openErr(file, nil)
		}, syscall.ENOTDIR, "file"},
		{"topics is a regular file", func(t *testing.T, e *inputEnv) error {
			dir := filepath.Join(t.TempDir(), "data")
			require.NoError(t, os.MkdirAll(dir, 0o700))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "topics"), nil, 0o600))
			return openErr(dir, nil)
		}, ErrNotDataDir, "no BROOK marker"},
		{"topics is a regular file in a data directory", func(t *testing.T, e *inputEnv) error {
			dir := filepath.Join(t.TempDir(), "data")
			b, err := Open(dir, nil)
			require.NoError(t, err)
			require.NoError(t, b.Close())
			require.NoError(t, os.RemoveAll(filepath.Join(dir, "topics")))
			require.NoError(t, os.WriteFile(filepath.Join(dir, "topics"), nil, 0o600))
			return openErr(dir, nil)
		}, ErrUnexpectedFile, "topics is not a directory"},
	}
	require.GreaterOrEqual(t, len(tests), 25)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = tc.call(t, e) })
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), tc.says, "the error says what was wrong")
		})
	}

	// Nothing was lost or added, and nothing reached the file system.
	names, err := b.Topics()
	require.NoError(t, err)
	assert.Equal(t, []string{"t"}, names)
	kept := 0
	for p := 0; p < 4; p++ {
		for _, m := range readAll(t, b, "t", p) {
			assert.True(t, strings.HasPrefix(string(m.Value), "kept-"), "%s", m.Value)
			kept++
		}
	}
	assert.Equal(t, inputKept, kept)
	entries, err := os.ReadDir(filepath.Join(dir, "topics"))
	require.NoError(t, err)
	assert.Len(t, entries, 1, "only topic t has a directory")
	groups, err := os.ReadDir(filepath.Join(dir, "groups"))
	require.NoError(t, err)
	for _, g := range groups {
		assert.True(t, validName(g.Name()) && slices.Contains([]string{"g", "broken"}, g.Name()), "group directory %q", g.Name())
	}
}
