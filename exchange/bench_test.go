package exchange

import (
	"context"
	"fmt"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/require"
)

// BenchmarkDirectFanIn states the cost of filtering at read time: queues
// bound to one direct exchange, each by its own key, so each queue delivers
// 1/queues of what it reads. Each iteration publishes a batch spread evenly
// over the keys and waits until every queue has delivered its share. It
// reports the messages each queue delivers per second and the read
// amplification (messages read by all queues per message delivered).
func BenchmarkDirectFanIn(b *testing.B) {
	for _, queues := range []int{1, 10, 100} {
		b.Run(fmt.Sprintf("queues=%d", queues), func(b *testing.B) { benchFanIn(b, queues) })
	}
}

func benchFanIn(b *testing.B, queues int) {
	const batch = 1000
	ctx := b.Context()
	client, err := pubsub.Open(ctx, "mem://")
	require.NoError(b, err)
	b.Cleanup(func() { client.Close() })
	conn, err := Open(ctx, client)
	require.NoError(b, err)
	b.Cleanup(func() { conn.Close() })
	require.NoError(b, conn.ExchangeDeclare(ctx, "d", Direct, ExchangeOptions{}))
	var delivered, target atomic.Int64
	reached := make(chan struct{}, 1)
	assigned := make(chan struct{}, queues)
	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, queues)
	b.Cleanup(func() {
		cancel()
		for range queues {
			<-done
		}
	})
	keys := make([]string, queues)
	for i := range queues {
		q := "q" + strconv.Itoa(i)
		keys[i] = "k" + strconv.Itoa(i)
		var once atomic.Bool
		require.NoError(b, conn.QueueDeclare(ctx, q, QueueOptions{Consumer: pubsub.SubscribeOptions{
			OnAssigned: func([]brook.TopicPartition) {
				if once.CompareAndSwap(false, true) {
					assigned <- struct{}{}
				}
			},
		}}))
		require.NoError(b, conn.QueueBind(ctx, q, keys[i], "d"))
		go func() {
			done <- conn.Consume(cctx, q, q, func(context.Context, *brook.Message) error {
				if delivered.Add(1) == target.Load() {
					reached <- struct{}{}
				}
				return nil
			})
		}()
	}
	for range queues { // measure deliveries, not the groups' first join
		select {
		case <-assigned:
		case <-time.After(time.Minute):
			b.Fatal("queues not assigned")
		}
	}
	body := make([]byte, 100)
	readsBefore, deliveredBefore := conn.reads.Load(), conn.delivered.Load()
	var want int64
	for b.Loop() {
		want += batch
		target.Store(want)
		for i := range batch {
			require.NoError(b, conn.Publish(ctx, "d", keys[i%queues], Publishing{Body: body}))
		}
		select {
		case <-reached:
		case <-time.After(time.Minute):
			b.Fatalf("delivered %d of %d", delivered.Load(), want)
		}
	}
	sec := b.Elapsed().Seconds()
	perQueue := float64(want) / float64(queues)
	b.ReportMetric(perQueue/sec, "msgs/s/queue")
	b.ReportMetric(float64(want)/sec, "msgs/s")
	reads, got := conn.reads.Load()-readsBefore, conn.delivered.Load()-deliveredBefore
	b.ReportMetric(float64(reads)/float64(got), "read-amplification")
	b.ReportMetric(0, "ns/op")
}
