package brook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPublishValidation(t *testing.T) {
	b := openTest(t, &Options{MaxMessageBytes: 100})
	mustTopic(t, b, "t", 4)
	p := b.CreateProducer("p")
	tests := []struct {
		name  string
		topic string
		msg   *Message
		want  error
	}{
		{"nil message", "t", nil, ErrNilMessage},
		{"unknown topic", "nope", CreateMessage("nope", nil, 0), ErrUnknownTopic},
		{"invalid topic", "../x", CreateMessage("../x", nil, 0), ErrInvalidTopicName},
		{"other topic", "t", CreateMessage("u", nil, 0), ErrTopicMismatch},
		{"partition past end", "t", CreateMessage("t", nil, 4), ErrInvalidPartition},
		{"negative partition", "t", CreateMessage("t", nil, -7), ErrInvalidPartition},
		{"too large", "t", CreateMessage("t", []byte(strings.Repeat("x", 101)), 0), ErrMessageTooLarge},
		{"headers count", "t", &Message{Topic: "t", Headers: []Header{{Key: strings.Repeat("k", 60), Value: make([]byte, 41)}}}, ErrMessageTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := p.Publish(tc.topic, tc.msg)
			assert.ErrorIs(t, err, tc.want)
		})
	}
	tp, err := b.Topic("t")
	require.NoError(t, err)
	for _, ps := range tp.Stats().Partitions {
		assert.Zero(t, ps.NextOffset, "nothing was written")
	}
	err = p.Publish("t", CreateMessage("t", nil, 9))
	assert.Contains(t, err.Error(), "0..3", "the error says the valid range")
}

func TestPublishSetsOffsetAndTimestamp(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 2)
	p := b.CreateProducer("p")
	for i := 0; i < 3; i++ {
		m := CreateMessage("t", []byte("v"), 1)
		require.NoError(t, p.Publish("t", m))
		assert.Equal(t, int64(i), m.Offset)
		assert.Equal(t, 1, m.Partition)
		assert.False(t, m.Timestamp.IsZero())
	}
	m := &Message{Value: []byte("no topic set")}
	require.NoError(t, p.Publish("t", m))
	assert.Equal(t, "t", m.Topic)
}

func TestPartitioners(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 5)
	p := b.CreateProducer("p")
	for _, key := range []string{"AAPL", "MSFT", "user:42"} {
		m := &Message{Topic: "t", Key: []byte(key), Partition: PartitionByKey}
		require.NoError(t, p.Publish("t", m))
		assert.Equal(t, KeyPartition([]byte(key), 5), m.Partition, key)
	}
	counts := make([]int, 5)
	for i := 0; i < 50; i++ {
		m := &Message{Topic: "t", Key: []byte("ignored"), Partition: PartitionRoundRobin}
		require.NoError(t, p.Publish("t", m))
		counts[m.Partition]++
	}
	assert.Equal(t, []int{10, 10, 10, 10, 10}, counts)
	m := &Message{Topic: "t", Partition: PartitionByKey} // nil key: round-robin
	require.NoError(t, p.Publish("t", m))
}

func TestPublishAsyncAndFlush(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 4)
	p := b.CreateProducer("p")
	const n = 2000
	var mu sync.Mutex
	offsets := map[int]map[int64]bool{}
	var errs []error
	for i := 0; i < n; i++ {
		p.PublishAsync("t", CreateMessage("t", []byte("v"), i%4), func(m *Message, err error) {
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
				return
			}
			if offsets[m.Partition] == nil {
				offsets[m.Partition] = map[int64]bool{}
			}
			offsets[m.Partition][m.Offset] = true
		})
	}
	require.NoError(t, p.Flush(context.Background()))
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, errs)
	for part := 0; part < 4; part++ {
		assert.Len(t, offsets[part], n/4, "partition %d: every offset distinct", part)
	}
	var got error
	p.PublishAsync("t", nil, func(_ *Message, err error) { got = err })
	assert.ErrorIs(t, got, ErrNilMessage)
	require.NoError(t, p.Close())
	require.NoError(t, p.Close())
	assert.ErrorIs(t, p.Publish("t", CreateMessage("t", nil, 0)), ErrClosed)
}

func TestConcurrentPublishersGroupCommit(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	p := b.CreateProducer("p")
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				assert.NoError(t, p.Publish("t", CreateMessage("t", []byte("x"), 0)))
			}
		}()
	}
	wg.Wait()
	tp, _ := b.Topic("t")
	assert.Equal(t, int64(800), tp.Stats().Partitions[0].NextOffset)
}

// TestPublishAsyncBatchedInOrder publishes from one goroutine faster than
// the partitions write, so that messages are collected and sent in batches,
// and checks that each done is called once, in publish order, with the
// message's own offset, and that the log holds the messages in that order.
func TestPublishAsyncBatchedInOrder(t *testing.T) {
	b := openTest(t, &Options{Sync: SyncNever})
	mustTopic(t, b, "t", 2)
	p := b.CreateProducer("p")
	const n = 20000
	type result struct {
		seq    int
		offset int64
		err    error
	}
	var mu sync.Mutex
	got := map[int][]result{}
	for i := range n {
		m := CreateMessage("t", fmt.Appendf(nil, "%d", i), i%2)
		p.PublishAsync("t", m, func(m *Message, err error) {
			mu.Lock()
			defer mu.Unlock()
			got[m.Partition] = append(got[m.Partition], result{seq: i, offset: m.Offset, err: err})
			assert.False(t, m.Timestamp.IsZero())
		})
	}
	require.NoError(t, p.Close())
	mu.Lock()
	defer mu.Unlock()
	for part := range 2 {
		rs := got[part]
		require.Len(t, rs, n/2, "partition %d: one call per message", part)
		for j, r := range rs {
			require.NoError(t, r.err)
			require.Equal(t, 2*j+part, r.seq, "partition %d: done calls in publish order", part)
			require.Equal(t, int64(j), r.offset, "partition %d: offsets in publish order", part)
		}
		msgs := readAll(t, b, "t", part)
		require.Len(t, msgs, n/2)
		for j, m := range msgs {
			require.Equal(t, fmt.Sprint(2*j+part), string(m.Value))
		}
	}
}

// TestPublishAsyncFromCallback chains publishes from done callbacks, which
// run while the partition's batch is being reported, and checks that Flush
// waits for the whole chain.
func TestPublishAsyncFromCallback(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	p := b.CreateProducer("p")
	const chains, length = 8, 50
	var done atomic.Int64
	var next func(left int) func(*Message, error)
	next = func(left int) func(*Message, error) {
		return func(_ *Message, err error) {
			assert.NoError(t, err)
			if done.Add(1); left > 1 {
				p.PublishAsync("t", CreateMessage("t", nil, 0), next(left-1))
			}
		}
	}
	for range chains {
		p.PublishAsync("t", CreateMessage("t", nil, 0), next(length))
	}
	require.NoError(t, p.Flush(context.Background()))
	assert.Equal(t, int64(chains*length), done.Load())
}

// TestPublishAsyncErrorsReachEachMessage deletes a topic while messages to
// it are in flight and collected: every message gets exactly one call, and
// Flush returns.
func TestPublishAsyncErrorsReachEachMessage(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 1)
	p := b.CreateProducer("p")
	const n = 5000
	var calls, failed atomic.Int64
	deleted := make(chan struct{})
	defer func() { <-deleted }() // before the broker's cleanup closes it
	for i := range n {
		if i == n/2 {
			go func() {
				defer close(deleted)
				assert.NoError(t, b.DeleteTopic("t"))
			}()
		}
		p.PublishAsync("t", CreateMessage("t", nil, 0), func(_ *Message, err error) {
			calls.Add(1)
			if err != nil {
				failed.Add(1)
				assert.True(t, errors.Is(err, ErrClosed) || errors.Is(err, ErrUnknownTopic), "%v", err)
			}
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, p.Flush(ctx))
	assert.Equal(t, int64(n), calls.Load())
	t.Logf("%d of %d failed", failed.Load(), n)
}

// TestPublishAsyncOversizedAlone publishes, among small messages collected
// into one batch, a message within MaxMessageBytes whose many headers make
// it too large to store: it alone fails.
func TestPublishAsyncOversizedAlone(t *testing.T) {
	b := openTest(t, &Options{MaxMessageBytes: 100})
	mustTopic(t, b, "t", 1)
	p := b.CreateProducer("p")
	big := &Message{Topic: "t", Headers: make([]Header, 1000)} // 0 bytes counted, 2000+ encoded
	var errs [21]error
	for i := range errs {
		m := CreateMessage("t", []byte("v"), 0)
		if i == 10 {
			m = big
		}
		p.PublishAsync("t", m, func(_ *Message, err error) { errs[i] = err })
	}
	require.NoError(t, p.Flush(context.Background()))
	for i, err := range errs {
		if i == 10 {
			assert.ErrorIs(t, err, ErrMessageTooLarge)
		} else {
			assert.NoError(t, err, "message %d", i)
		}
	}
}

// TestPublishAsyncForgetsDeletedTopics publishes to many short-lived
// topics through one producer: the batching state it keeps per partition
// stays bounded, and publishing keeps working across the sweeps.
func TestPublishAsyncForgetsDeletedTopics(t *testing.T) {
	b := openTest(t, &Options{Sync: SyncNever})
	p := b.CreateProducer("p")
	const topics = 300
	for i := range topics {
		name := fmt.Sprint("t", i)
		mustTopic(t, b, name, 1)
		for range 3 {
			p.PublishAsync(name, CreateMessage(name, nil, 0), func(_ *Message, err error) { assert.NoError(t, err) })
		}
		require.NoError(t, p.Flush(context.Background()))
		require.NoError(t, b.DeleteTopic(name))
	}
	assert.LessOrEqual(t, p.nparts.Load(), int64(2*minSweep))
	n := 0
	p.parts.Range(func(any, any) bool { n++; return true })
	assert.Equal(t, p.nparts.Load(), int64(n), "the count matches the map")
}

// TestProducerFollowsRecreatedTopic publishes through one producer before
// and after its topic is deleted and created again under the same name:
// the producer's cached topic must not send messages to the deleted one.
func TestProducerFollowsRecreatedTopic(t *testing.T) {
	b := openTest(t, nil)
	p := b.CreateProducer("p")
	mustTopic(t, b, "t", 2)
	require.NoError(t, p.Publish("t", CreateMessage("t", []byte("old"), 1)))
	publishAsync := func(value string) error {
		errc := make(chan error, 1)
		p.PublishAsync("t", CreateMessage("t", []byte(value), 0), func(_ *Message, err error) { errc <- err })
		return <-errc
	}
	require.NoError(t, publishAsync("old"))

	require.NoError(t, b.DeleteTopic("t"))
	assert.ErrorIs(t, p.Publish("t", CreateMessage("t", nil, 0)), ErrUnknownTopic)
	assert.ErrorIs(t, publishAsync("gone"), ErrUnknownTopic)
	assert.ErrorIs(t, p.Publish("bad/name", CreateMessage("bad/name", nil, 0)), ErrInvalidTopicName)

	fresh := mustTopic(t, b, "t", 1)
	m := CreateMessage("t", []byte("new"), 0)
	require.NoError(t, p.Publish("t", m))
	assert.Equal(t, int64(0), m.Offset, "the first message of the new topic")
	require.NoError(t, publishAsync("new"))
	assert.Equal(t, int64(2), fresh.Stats().Partitions[0].NextOffset)
	assert.ErrorIs(t, p.Publish("t", CreateMessage("t", nil, 1)), ErrInvalidPartition, "the new topic has one partition")
}
