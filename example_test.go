package brook_test

import (
	"context"
	"fmt"
	"os"

	"github.com/brookmq/brook"
)

// The quick start: a topic, a consumer group member and a producer.
func Example() {
	dir, _ := os.MkdirTemp("", "brook-example-")
	defer os.RemoveAll(dir)
	broker, err := brook.Open(dir, nil)
	if err != nil {
		panic(err)
	}
	defer broker.Close()

	if _, err := broker.CreateNewTopic("stock-price-update", 8); err != nil {
		panic(err)
	}
	producer := broker.CreateProducer("ticker")
	msg := brook.CreateMessage("stock-price-update", []byte("AAPL 191.2"), 3)
	if err := producer.Publish("stock-price-update", msg); err != nil {
		panic(err)
	}
	fmt.Println("published at", msg.Partition, msg.Offset)

	ctx, cancel := context.WithCancel(context.Background())
	consumer := broker.CreateConsumer("price-analyzer", "analytics")
	if err := consumer.Subscribe("stock-price-update"); err != nil {
		panic(err)
	}
	_ = consumer.Run(ctx, func(ctx context.Context, m *brook.Message) error {
		fmt.Printf("%s/%d@%d %s\n", m.Topic, m.Partition, m.Offset, m.Value)
		cancel() // one message is enough here
		return nil
	})
	// Output:
	// published at 3 0
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
