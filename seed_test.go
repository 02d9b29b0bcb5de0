package brook

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSeedFlow runs the seed's snippet, as DESIGN.md gives it, unchanged
// but for the surrounding test scaffolding.
func TestSeedFlow(t *testing.T) {
	freshSingleton(t, t.TempDir())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var mu sync.Mutex
	var got []string

	broker := GetorSetBrokerInstance()
	topic, err := broker.CreateNewTopic("stock-price-update", 8)
	require.NoError(t, err)
	require.Equal(t, 8, topic.Partitions())
	consumer := CreateConsumer("price-analyzer", "analytics")
	err = consumer.Subscribe("stock-price-update")
	require.NoError(t, err)
	go consumer.Run(ctx, func(ctx context.Context, m *Message) error {
		mu.Lock()
		got = append(got, fmt.Sprintf("%s/%d@%d %s", m.Topic, m.Partition, m.Offset, m.Value))
		mu.Unlock()
		return nil
	})
	producer := CreateProducer("ticker")
	msg := CreateMessage("stock-price-update", []byte("AAPL 191.2"), 3)
	err = producer.Publish("stock-price-update", msg)
	require.NoError(t, err)
	assert.Equal(t, int64(0), msg.Offset)

	eventually(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(got) == 1 }, "delivered")
	assert.Equal(t, []string{"stock-price-update/3@0 AAPL 191.2"}, got)
}

// TestSeedDefects holds one regression test per defect of the seed pubsub.
func TestSeedDefects(t *testing.T) {
	t.Run("no partition without owner when P mod M >= 2", func(t *testing.T) {
		for _, m := range []int{3, 5, 6, 7} { // 8 mod m = 2, 3, 2, 1
			b := openTest(t, nil)
			mustTopic(t, b, "t", 8)
			var cs []*Consumer
			for i := 0; i < m; i++ {
				c := b.CreateConsumer(fmt.Sprint("c", i), "g")
				require.NoError(t, c.Subscribe("t"))
				runConsumer(t, c, func(context.Context, *Message) error { return nil })
				cs = append(cs, c)
			}
			eventually(t, func() bool {
				owned := map[TopicPartition]int{}
				for _, c := range cs {
					for _, tp := range c.Assignment() {
						owned[tp]++
					}
				}
				return len(owned) == 8
			}, "all 8 partitions owned with %d members", m)
		}
	})
	t.Run("closing twice", func(t *testing.T) {
		b, err := Open(t.TempDir(), nil)
		require.NoError(t, err)
		p, c := b.CreateProducer("p"), b.CreateConsumer("c", "g")
		for i := 0; i < 2; i++ {
			assert.NoError(t, p.Close())
			assert.NoError(t, c.Close())
			assert.NoError(t, b.Close())
		}
	})
	t.Run("slow handler never blocks Publish", func(t *testing.T) {
		b := openTest(t, nil)
		mustTopic(t, b, "t", 1)
		block := make(chan struct{})
		defer close(block)
		c := b.CreateConsumer("c", "g")
		require.NoError(t, c.Subscribe("t"))
		started := make(chan struct{}, 1)
		runConsumer(t, c, func(ctx context.Context, _ *Message) error {
			select {
			case started <- struct{}{}:
			default:
			}
			select {
			case <-block:
			case <-ctx.Done():
			}
			return nil
		})
		p := b.CreateProducer("p")
		require.NoError(t, p.Publish("t", CreateMessage("t", nil, 0)))
		<-started
		done := make(chan struct{})
		go func() {
			defer close(done)
			for i := 0; i < 1000; i++ {
				assert.NoError(t, p.Publish("t", CreateMessage("t", nil, 0)))
			}
		}()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			t.Fatal("Publish blocked behind a slow handler")
		}
	})
	// Subscribing twice, unknown topics, bad indexes, a message for another
	// topic, messages published before subscribing and members that leave:
	// TestSubscribeTwiceAndUnknownTopic, TestPublishValidation,
	// TestPublishedBeforeSubscribeIsDelivered, TestLeavingMemberHandsOver.
}
