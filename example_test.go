package brook_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"sync"
	"time"

	"github.com/brookmq/brook"
)

// The README's quick start. Only the first lines differ: instead of the
// process-wide broker's default directory, the example gives it a
// temporary one with SetBrokerInstance.
func Example() {
	{ // a temporary directory instead of ./brook-data
		dir, err := os.MkdirTemp("", "brook-example-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(dir)
		b, err := brook.Open(dir, nil)
		if err != nil {
			log.Fatal(err)
		}
		if err := brook.SetBrokerInstance(b); err != nil {
			log.Fatal(err)
		}
	}

	// The quick start, as in the README:
	broker := brook.GetorSetBrokerInstance() // process-wide broker ($BROOK_DATA_DIR or ./brook-data)
	defer broker.Close()                     // closes its producers and consumers too

	if _, err := broker.CreateNewTopic("stock-price-update", 8); err != nil {
		log.Fatal(err)
	}
	producer := brook.CreateProducer("ticker")
	defer producer.Close()
	msg := brook.CreateMessage("stock-price-update", []byte("AAPL 191.2"), 3) // topic, value, partition
	if err := producer.Publish("stock-price-update", msg); err != nil {       // durable when it returns
		log.Fatal(err)
	}

	consumer := brook.CreateConsumer("price-analyzer", "analytics") // name, group
	defer consumer.Close()                                          // commits what was handled, leaves the group
	if err := consumer.Subscribe("stock-price-update"); err != nil {
		log.Fatal(err)
	}
	ctx, stop := context.WithTimeout(context.Background(), 10*time.Second)
	defer stop()
	err := consumer.Run(ctx, func(ctx context.Context, m *brook.Message) error {
		fmt.Printf("%s/%d@%d %s\n", m.Topic, m.Partition, m.Offset, m.Value)
		stop()     // one message is enough here: Run returns when ctx ends
		return nil // nil commits the message
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output:
	// stock-price-update/3@0 AAPL 191.2
}

// Poll reads messages one at a time instead of through a handler.
func ExampleConsumer_Poll() {
	dir, _ := os.MkdirTemp("", "brook-example-")
	defer os.RemoveAll(dir)
	broker, _ := brook.Open(dir, nil)
	defer broker.Close()
	broker.CreateNewTopic("news", 1)
	p := broker.CreateProducer("wire")
	for _, s := range []string{"rates up", "earnings beat"} {
		p.Publish("news", brook.CreateMessage("news", []byte(s), 0))
	}
	c := broker.CreateConsumer("reader", "newsroom")
	defer c.Close()
	c.Subscribe("news")
	for i := 0; i < 2; i++ {
		m, err := c.Poll(context.Background())
		if err != nil {
			panic(err)
		}
		fmt.Println(m.Offset, string(m.Value))
	}
	// Output:
	// 0 rates up
	// 1 earnings beat
}

// Messages without an explicit partition: by key, as Kafka would place them.
func ExampleMessage_byKey() {
	dir, _ := os.MkdirTemp("", "brook-example-")
	defer os.RemoveAll(dir)
	broker, _ := brook.Open(dir, nil)
	defer broker.Close()
	broker.CreateNewTopic("orders", 3)
	m := &brook.Message{Key: []byte("AAPL"), Value: []byte("buy 10"), Partition: brook.PartitionByKey}
	if err := broker.CreateProducer("p").Publish("orders", m); err != nil {
		panic(err)
	}
	fmt.Println("partition", m.Partition)
	// Output:
	// partition 0
}

// Fetch reads a partition outside any consumer group, as kcat -o does:
// nothing is committed.
func ExampleBroker_Fetch() {
	dir, _ := os.MkdirTemp("", "brook-example-")
	defer os.RemoveAll(dir)
	broker, _ := brook.Open(dir, nil)
	defer broker.Close()
	broker.CreateNewTopic("audit", 1)
	p := broker.CreateProducer("auditor")
	for _, s := range []string{"login", "view", "logout"} {
		p.Publish("audit", brook.CreateMessage("audit", []byte(s), 0))
	}
	msgs, err := broker.Fetch(context.Background(), "audit", 0, brook.OffsetOldest, 2) // max 2 messages
	if err != nil {
		panic(err)
	}
	for _, m := range msgs {
		fmt.Println(m.Offset, string(m.Value))
	}
	_, err = broker.Fetch(context.Background(), "audit", 0, 7, 0)
	fmt.Println(err)
	// Output:
	// 0 login
	// 1 view
	// brook: offset out of range: audit/0: offset 7, the partition holds 0..2 (next 3)
}

// With ManualCommit, a message counts as processed only once Commit says
// so: here every second one, so the group resumes after the last committed.
func ExampleConsumer_Commit() {
	dir, _ := os.MkdirTemp("", "brook-example-")
	defer os.RemoveAll(dir)
	broker, _ := brook.Open(dir, nil)
	defer broker.Close()
	broker.CreateNewTopic("jobs", 1)
	p := broker.CreateProducer("scheduler")
	for i := range 5 {
		p.Publish("jobs", brook.CreateMessage("jobs", fmt.Appendf(nil, "job-%d", i), 0))
	}
	c := broker.CreateConsumerWith("worker", "workers", brook.ConsumerOptions{ManualCommit: true})
	c.Subscribe("jobs")
	ctx, cancel := context.WithCancel(context.Background())
	c.Run(ctx, func(ctx context.Context, m *brook.Message) error {
		if m.Offset%2 == 1 {
			if err := c.Commit(ctx, m); err != nil {
				return err
			}
		}
		if m.Offset == 4 {
			cancel()
		}
		return nil
	})
	c.Close()
	stats, _ := broker.GroupStats("workers")
	fmt.Println("committed:", stats.Partitions[0].Committed) // the next offset to read
	// Output:
	// committed: 4
}

// PublishAsync returns at once; done reports each result, and Flush waits
// for all of them.
func ExampleProducer_PublishAsync() {
	dir, _ := os.MkdirTemp("", "brook-example-")
	defer os.RemoveAll(dir)
	broker, _ := brook.Open(dir, nil)
	defer broker.Close()
	broker.CreateNewTopic("clicks", 1)
	p := broker.CreateProducer("web")
	var mu sync.Mutex
	var offsets []int64
	for range 100 {
		p.PublishAsync("clicks", brook.CreateMessage("clicks", []byte("click"), 0), func(m *brook.Message, err error) {
			if err != nil {
				panic(err)
			}
			mu.Lock()
			offsets = append(offsets, m.Offset)
			mu.Unlock()
		})
	}
	if err := p.Flush(context.Background()); err != nil {
		panic(err)
	}
	fmt.Println(len(offsets), "durable, the last at offset", offsets[len(offsets)-1])
	// Output:
	// 100 durable, the last at offset 99
}

// The callbacks say which partitions a consumer holds: OnAssigned when it
// gets them, OnRevoked when it gives them up cleanly (here: on Close),
// OnLost when they are taken without a clean hand-back.
func ExampleConsumerOptions_callbacks() {
	dir, _ := os.MkdirTemp("", "brook-example-")
	defer os.RemoveAll(dir)
	broker, _ := brook.Open(dir, nil)
	defer broker.Close()
	broker.CreateNewTopic("prices", 2)
	assigned := make(chan []brook.TopicPartition, 1)
	c := broker.CreateConsumerWith("analyst", "analytics", brook.ConsumerOptions{
		OnAssigned: func(tps []brook.TopicPartition) { assigned <- tps },
		OnRevoked:  func(tps []brook.TopicPartition) { fmt.Println("revoked", tps) },
		OnLost:     func(tps []brook.TopicPartition) { fmt.Println("lost", tps) },
	})
	c.Subscribe("prices")
	done := make(chan error)
	go func() {
		done <- c.Run(context.Background(), func(context.Context, *brook.Message) error { return nil })
	}()
	fmt.Println("assigned", <-assigned)
	c.Close()
	<-done
	// Output:
	// assigned [prices/0 prices/1]
	// revoked [prices/0 prices/1]
}

// ResetOffsets moves a stopped group back, as kafka-consumer-groups.sh
// --reset-offsets does; it is refused while the group has members.
func ExampleBroker_ResetOffsets() {
	dir, _ := os.MkdirTemp("", "brook-example-")
	defer os.RemoveAll(dir)
	broker, _ := brook.Open(dir, nil)
	defer broker.Close()
	broker.CreateNewTopic("orders", 2)
	p := broker.CreateProducer("shop")
	for i := range 6 {
		p.Publish("orders", brook.CreateMessage("orders", []byte("order"), i%2))
	}
	res, err := broker.ResetOffsets("billing", "orders", brook.ToLatest()) // skip what is there
	if err != nil {
		panic(err)
	}
	fmt.Println(res)
	res, _ = broker.ResetOffsets("billing", "orders", brook.ToOffset(1), 0) // partition 0 only
	fmt.Println(res)
	// Output:
	// [{0 -1 3} {1 -1 3}]
	// [{0 3 1}]
}

// AlterTopic changes a topic's settings after its creation; nil fields stay.
func ExampleBroker_AlterTopic() {
	dir, _ := os.MkdirTemp("", "brook-example-")
	defer os.RemoveAll(dir)
	broker, _ := brook.Open(dir, nil)
	defer broker.Close()
	broker.CreateNewTopic("logs", 1)
	cfg, err := broker.AlterTopic("logs", brook.TopicUpdate{
		RetentionAge: new(24 * time.Hour),
		Sync:         new(brook.SyncInterval),
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(cfg.RetentionAge, cfg.Sync, cfg.MaxMessageBytes)
	// Output:
	// 24h0m0s interval 1048576
}

// A producer asked once to place by key: messages only set Key.
func ExampleBroker_CreateProducerWith() {
	dir, _ := os.MkdirTemp("", "brook-example-")
	defer os.RemoveAll(dir)
	broker, _ := brook.Open(dir, nil)
	defer broker.Close()
	broker.CreateNewTopic("orders", 3)
	p := broker.CreateProducerWith("shop", brook.ProducerOptions{Partitioner: brook.KeyPartitioner})
	for _, sym := range []string{"AAPL", "TSLA", "AAPL"} {
		m := &brook.Message{Key: []byte(sym), Value: []byte("buy")}
		p.Publish("orders", m)
		fmt.Println(sym, "->", m.Partition, "=", brook.KeyPartition([]byte(sym), 3))
	}
	// Output:
	// AAPL -> 0 = 0
	// TSLA -> 2 = 2
	// AAPL -> 0 = 0
}
