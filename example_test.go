package brook_test

import (
	"context"
	"fmt"
	"log"
	"os"
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
