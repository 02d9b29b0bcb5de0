package brook

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAlterTopic(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, &Options{MaxMessageBytes: 1000})
	require.NoError(t, err)
	mustTopic(t, b, "t", 2)
	p := b.CreateProducer("p")
	big := CreateMessage("t", make([]byte, 3000), 1)
	assert.ErrorIs(t, p.Publish("t", big), ErrMessageTooLarge)

	cfg, err := b.AlterTopic("t", TopicUpdate{
		RetentionAge:    new(7 * 24 * time.Hour),
		RetentionBytes:  new(int64(1 << 30)),
		MaxMessageBytes: new(4000),
		Sync:            new(SyncNever),
	})
	require.NoError(t, err)
	want := TopicConfig{Partitions: 2, RetentionAge: 7 * 24 * time.Hour, RetentionBytes: 1 << 30, MaxMessageBytes: 4000, Sync: SyncNever}
	assert.Equal(t, want, cfg)
	tp, err := b.Topic("t")
	require.NoError(t, err)
	assert.Equal(t, want, tp.Config())
	require.NoError(t, p.Publish("t", big), "the larger limit applies to the next publish, in storage too")

	cfg, err = b.AlterTopic("t", TopicUpdate{RetentionAge: new(time.Duration(0))})
	require.NoError(t, err)
	want.RetentionAge = 0
	assert.Equal(t, want, cfg, "a pointer to zero returns to the default; nil fields stay")

	require.NoError(t, b.AddPartitions("t", 3))
	require.NoError(t, p.Publish("t", CreateMessage("t", make([]byte, 3000), 2)), "new partitions take the altered settings")
	require.NoError(t, b.Close())

	b, err = Open(dir, &Options{MaxMessageBytes: 1000})
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	tp, err = b.Topic("t")
	require.NoError(t, err)
	want.Partitions = 3
	assert.Equal(t, want, tp.Config(), "the change is in topic.json")
	require.NoError(t, b.CreateProducer("p").Publish("t", CreateMessage("t", make([]byte, 3000), 0)))

	cfg, err = b.AlterTopic("t", TopicUpdate{Sync: new(SyncDefault), MaxMessageBytes: new(0)})
	require.NoError(t, err)
	assert.Equal(t, SyncAlways, cfg.Sync, "SyncDefault inherits the broker's policy")
	assert.Equal(t, 1000, cfg.MaxMessageBytes, "0 inherits the broker's limit")

	_, err = b.AlterTopic("nope", TopicUpdate{})
	assert.ErrorIs(t, err, ErrUnknownTopic)
	_, err = b.AlterTopic("t", TopicUpdate{RetentionBytes: new(int64(-1))})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = b.AlterTopic("t", TopicUpdate{MaxMessageBytes: new(MaxMessageBytesLimit + 1)})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	_, err = b.AlterTopic("t", TopicUpdate{Sync: new(SyncNever + 1)})
	assert.ErrorIs(t, err, ErrInvalidConfig)
	assert.Equal(t, 1000, tp.Config().MaxMessageBytes, "a refused change changes nothing")
}

// TestAlterTopicWhilePublishing changes the policy and the size limit of a
// topic under load: every publish succeeds, and the race detector sees the
// settings read by the writers.
func TestAlterTopicWhilePublishing(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 2)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for part := range 2 {
		wg.Go(func() {
			p := b.CreateProducer("p")
			for ctx.Err() == nil {
				if !assert.NoError(t, p.Publish("t", CreateMessage("t", []byte("x"), part))) {
					return
				}
			}
		})
	}
	for i := range 20 {
		_, err := b.AlterTopic("t", TopicUpdate{Sync: new([]SyncPolicy{SyncNever, SyncInterval, SyncAlways}[i%3]), MaxMessageBytes: new(1000 + i)})
		require.NoError(t, err)
	}
	cancel()
	wg.Wait()
	tp, err := b.Topic("t")
	require.NoError(t, err)
	assert.Equal(t, SyncInterval, tp.Config().Sync)
}

// TestAlterTopicRetention shortens a topic's retention after creation and
// checks that the next retention run applies it.
func TestAlterTopicRetention(t *testing.T) {
	b := openTest(t, &Options{SegmentSize: 4 << 10, RetentionCheckInterval: 5 * time.Millisecond})
	mustTopic(t, b, "t", 1)
	publishN(t, b, "t", 1, 400, strings.Repeat("m", 100)) // about 50 KiB, 12 segments
	tp, err := b.Topic("t")
	require.NoError(t, err)
	assert.Zero(t, tp.Stats().Partitions[0].FirstOffset)
	_, err = b.AlterTopic("t", TopicUpdate{RetentionBytes: new(int64(8 << 10))})
	require.NoError(t, err)
	eventually(t, func() bool { return tp.Stats().Partitions[0].FirstOffset > 0 }, "retention dropped old segments")
}
