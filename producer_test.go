package brook

import (
	"context"
	"strings"
	"sync"
	"testing"

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
		assert.Equal(t, keyPartition([]byte(key), 5), m.Partition, key)
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
