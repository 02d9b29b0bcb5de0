package brook

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeleteTopicScanDoesNotStallPublishers: while DeleteTopic changes the
// offsets of a group on disk that is not loaded (file I/O, held up here by
// a hook), lookups of and publishes to other topics go on, and a load of
// that group waits for the scan and then sees the topic's offsets gone.
func TestDeleteTopicScanDoesNotStallPublishers(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "gone", 1)
	mustTopic(t, b, "other", 1)
	publishN(t, b, "gone", 1, 3, "m")
	require.NoError(t, b.SetCommittedOffsets("slow", map[TopicPartition]int64{{Topic: "gone", Partition: 0}: 3}))
	require.NoError(t, b.Close())

	fsys := storagetest.New()
	b, err = Open(dir, &Options{fs: fsys, meta: fsys})
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	reached, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	fsys.SetHook(func(c storagetest.Call, do func() error) error {
		if strings.Contains(c.Path, "groups/slow") {
			once.Do(func() { close(reached) })
			<-release
		}
		return do()
	})
	deleted := make(chan error, 1)
	go func() { deleted <- b.DeleteTopic("gone") }()
	select {
	case <-reached:
	case <-time.After(10 * time.Second):
		t.Fatal("DeleteTopic never opened the unloaded group's offsets")
	}

	published := make(chan error, 1)
	go func() {
		if _, err := b.Topic("other"); err != nil {
			published <- err
			return
		}
		p := b.CreateProducer("p")
		defer p.Close()
		published <- p.Publish("other", CreateMessage("other", []byte("v"), 0))
	}()
	select {
	case err := <-published:
		require.NoError(t, err, "a publish to another topic during the scan")
	case <-time.After(10 * time.Second):
		close(release)
		t.Fatal("a publish to another topic waited for DeleteTopic's scan of groups on disk")
	}

	loaded := make(chan map[TopicPartition]int64, 1)
	go func() {
		offs, err := b.CommittedOffsets("slow")
		assert.NoError(t, err)
		loaded <- offs
	}()
	select {
	case <-loaded:
		t.Fatal("the group loaded while DeleteTopic was changing its offsets")
	case <-time.After(50 * time.Millisecond): // it waits: nothing to observe but its absence
	}
	close(release)
	require.NoError(t, <-deleted)
	assert.Empty(t, <-loaded, "loaded after the scan: the deleted topic's offsets are gone")
	fsys.SetHook(nil)
}
