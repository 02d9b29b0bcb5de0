package brook

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestKeyPartitionerProducer: a user who sets only Key on every message asks
// the producer once, and every publishing call places by key.
func TestKeyPartitionerProducer(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "orders", 5)
	p := b.CreateProducerWith("p", ProducerOptions{Partitioner: KeyPartitioner})
	defer p.Close()
	keys := []string{"AAPL", "MSFT", "GOOG", "AMZN", "TSLA", "NVDA"}

	for _, k := range keys {
		m := &Message{Key: []byte(k), Value: []byte("v")} // Partition left at zero
		require.NoError(t, p.Publish("orders", m))
		assert.Equal(t, KeyPartition([]byte(k), 5), m.Partition, "Publish %s", k)
	}
	batch := make([]*Message, len(keys))
	for i, k := range keys {
		batch[i] = &Message{Key: []byte(k), Partition: 3} // an explicit index is not read
	}
	require.NoError(t, p.PublishBatch("orders", batch))
	for i, k := range keys {
		assert.Equal(t, KeyPartition([]byte(k), 5), batch[i].Partition, "PublishBatch %s", k)
	}
	done := make(chan *Message, len(keys))
	for _, k := range keys {
		p.PublishAsync("orders", &Message{Key: []byte(k)}, func(m *Message, err error) {
			assert.NoError(t, err)
			done <- m
		})
	}
	require.NoError(t, p.Flush(context.Background()))
	for range keys {
		m := <-done
		assert.Equal(t, KeyPartition(m.Key, 5), m.Partition, "PublishAsync %s", m.Key)
	}

	// Without a key: round-robin, as PartitionByKey does.
	seen := map[int]bool{}
	for range 5 {
		m := &Message{Value: []byte("no key")}
		require.NoError(t, p.Publish("orders", m))
		seen[m.Partition] = true
	}
	assert.Len(t, seen, 5)

	// The default producer keeps the seed's explicit partition.
	m := &Message{Key: []byte("AAPL")}
	require.NoError(t, b.CreateProducer("manual").Publish("orders", m))
	assert.Equal(t, 0, m.Partition)
}

func TestRoundRobinPartitionerProducer(t *testing.T) {
	b := openTest(t, nil)
	mustTopic(t, b, "t", 3)
	p := b.CreateProducerWith("p", ProducerOptions{Partitioner: RoundRobinPartitioner})
	var got []int
	for i := range 6 {
		m := &Message{Key: []byte("same key"), Partition: 2, Value: fmt.Append(nil, i)}
		require.NoError(t, p.Publish("t", m))
		got = append(got, m.Partition)
	}
	assert.Equal(t, []int{0, 1, 2, 0, 1, 2}, got)

	bad := b.CreateProducerWith("bad", ProducerOptions{Partitioner: RoundRobinPartitioner + 1})
	assert.ErrorIs(t, bad.Publish("t", &Message{}), ErrInvalidConfig)
	assert.ErrorIs(t, bad.PublishBatch("t", []*Message{{}}), ErrInvalidConfig)
	assert.Equal(t, "manual", ManualPartitioner.String())
	assert.Equal(t, "key", KeyPartitioner.String())
	assert.Equal(t, "round-robin", RoundRobinPartitioner.String())
	assert.Equal(t, "Partitioner(3)", (RoundRobinPartitioner + 1).String())
}
