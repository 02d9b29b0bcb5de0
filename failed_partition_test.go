package brook

import (
	"context"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// segmentFiles lists the segment files of a partition, sorted.
func segmentFiles(t *testing.T, dir, topic string, p int) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, "topics", topic, string(rune('0'+p)), "[0-9]*"))
	require.NoError(t, err)
	sort.Strings(m)
	return m
}

// damagedBroker publishes 200 messages to each of two partitions with small
// segments, closes, damages partition 0 and returns the data directory.
func damagedBroker(t *testing.T, damage func(t *testing.T, segs []string)) (string, *Options) {
	dir := t.TempDir()
	opts := &Options{SegmentSize: 2048}
	b, err := Open(dir, opts)
	require.NoError(t, err)
	mustTopic(t, b, "t", 2)
	publishN(t, b, "t", 2, 2*perPartition, "m")
	require.NoError(t, b.Close())
	segs := segmentFiles(t, dir, "t", 0)
	require.Greater(t, len(segs), 3)
	damage(t, segs)
	return dir, opts
}

// perPartition is how many messages damagedBroker publishes to each partition.
const perPartition = 630

func flipSegmentByte(t *testing.T, segs []string) {
	seg := segs[min(1, len(segs)-1)]
	data, err := os.ReadFile(seg)
	require.NoError(t, err)
	data[len(data)/2] ^= 0x5a
	require.NoError(t, os.WriteFile(seg, data, 0o600))
}

func removeMiddleSegment(t *testing.T, segs []string) { require.NoError(t, os.Remove(segs[2])) }

func TestDamagedPartitionFailsAlone(t *testing.T) {
	for name, damage := range map[string]func(*testing.T, []string){
		"flipped byte in a sealed segment": flipSegmentByte,
		"missing middle segment file":      removeMiddleSegment,
		"flipped byte inside the tail segment": func(t *testing.T, segs []string) {
			tail := segs[len(segs)-1]
			data, err := os.ReadFile(tail)
			require.NoError(t, err)
			require.Greater(t, len(data), 200, "valid entries follow the damage: not a torn tail")
			data[4] ^= 0x5a // inside the first entry
			require.NoError(t, os.WriteFile(tail, data, 0o600))
		},
	} {
		t.Run(name, func(t *testing.T) { testDamagedPartition(t, damage) })
	}
}

func testDamagedPartition(t *testing.T, damage func(*testing.T, []string)) {
	dir, opts := damagedBroker(t, damage)
	b, err := Open(dir, opts)
	require.NoError(t, err)

	var mu sync.Mutex
	var failures []error
	failed := make(chan struct{}, 10)
	healthy := 0
	allHealthy := make(chan struct{})
	c := b.CreateConsumerWith("c", "g", ConsumerOptions{OnPartitionFailed: func(tp TopicPartition, err error) {
		mu.Lock()
		failures = append(failures, err)
		mu.Unlock()
		assert.Equal(t, TopicPartition{Topic: "t", Partition: 0}, tp)
		failed <- struct{}{}
	}})
	require.NoError(t, c.Subscribe("t"))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- c.Run(ctx, func(_ context.Context, m *Message) error {
			if m.Partition == 1 {
				mu.Lock()
				if healthy++; healthy == perPartition {
					close(allHealthy)
				}
				mu.Unlock()
			}
			return nil
		})
	}()
	deadline := time.After(20 * time.Second)
	for _, ch := range []<-chan struct{}{failed, allHealthy} {
		select {
		case <-ch:
		case err := <-done:
			t.Fatalf("Run ended: %v", err)
		case <-deadline:
			t.Fatal("timed out")
		}
	}
	// The healthy partition keeps flowing after the failure.
	p := b.CreateProducer("p")
	defer p.Close()
	require.NoError(t, p.Publish("t", CreateMessage("t", []byte("late"), 1)))
	err = p.Publish("t", CreateMessage("t", []byte("refused"), 0))
	assert.ErrorIs(t, err, ErrPartitionFailed, "a damaged partition refuses writes")
	assert.ErrorIs(t, err, ErrCorrupt)
	require.Eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return healthy == perPartition+1 }, 10*time.Second, 5*time.Millisecond)

	mu.Lock()
	require.Len(t, failures, 1, "OnPartitionFailed fires once")
	assert.ErrorIs(t, failures[0], ErrPartitionFailed)
	assert.ErrorIs(t, failures[0], ErrCorrupt)
	assert.Contains(t, failures[0].Error(), filepath.Join("topics", "t", "0"), "the error names the segment")
	mu.Unlock()

	st, err := b.Stats()
	require.NoError(t, err)
	assert.Contains(t, st.Topics[0].Partitions[0].Failure, "offset")
	assert.Empty(t, st.Topics[0].Partitions[1].Failure)
	gs, err := b.GroupStats("g")
	require.NoError(t, err)
	assert.NotEmpty(t, gs.Partitions[0].Failure)
	assert.Empty(t, gs.Partitions[1].Failure)
	cancel()
	assert.NoError(t, <-done, "Run ends only when asked")
	c.Close()
	p.Close()
	require.NoError(t, b.Close())

	// A restart before the repair fails the same partition again, only it.
	b, err = Open(dir, opts)
	require.NoError(t, err)
	_, err = b.Fetch(context.Background(), "t", 1, 0, 1000)
	assert.NoError(t, err)
	var ferr error
	for off := int64(0); ferr == nil; {
		var msgs []*Message
		msgs, ferr = b.Fetch(context.Background(), "t", 0, off, 1000)
		if ferr == nil {
			off = msgs[len(msgs)-1].Offset + 1
		}
	}
	assert.ErrorIs(t, ferr, ErrPartitionFailed)
	_, err = RepairPartition(dir, "t", 0, nil)
	assert.ErrorIs(t, err, ErrLocked, "repair needs the directory free")
	require.NoError(t, b.Close())

	res, err := RepairPartition(dir, "t", 0, nil)
	require.NoError(t, err)
	assert.NotEmpty(t, res.Damage)
	assert.Equal(t, perPartition-res.CutAt, res.DroppedRecords)
	require.NotEmpty(t, res.SavedTo)
	for _, f := range res.SavedTo {
		assert.FileExists(t, f)
	}

	b, err = Open(dir, opts)
	require.NoError(t, err)
	defer b.Close()
	tp, err := b.Topic("t")
	require.NoError(t, err)
	ps := tp.Stats().Partitions[0]
	assert.Equal(t, res.CutAt, ps.NextOffset)
	assert.Empty(t, ps.Failure)
	p2 := b.CreateProducer("p2")
	defer p2.Close()
	m := CreateMessage("t", []byte("after repair"), 0)
	require.NoError(t, p2.Publish("t", m))
	assert.Equal(t, res.CutAt, m.Offset)
	if res.CutAt > 0 {
		msgs, err := b.Fetch(context.Background(), "t", 0, 0, 100000)
		require.NoError(t, err)
		assert.Equal(t, int64(0), msgs[0].Offset)
	}
}
