package exchange_test

import (
	"context"
	"fmt"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/exchange"
	"github.com/brookmq/brook/pubsub"
)

// A topic exchange with one queue: the message whose routing key the
// binding matches is delivered, the other is dropped.
func Example() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	client, err := pubsub.Open(ctx, "mem://")
	if err != nil {
		panic(err)
	}
	defer client.Close()
	conn, err := exchange.Open(ctx, client)
	if err != nil {
		panic(err)
	}
	defer conn.Close()

	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(conn.ExchangeDeclare(ctx, "logs", exchange.Topic, exchange.ExchangeOptions{}))
	must(conn.QueueDeclare(ctx, "errors", exchange.QueueOptions{}))
	must(conn.QueueBind(ctx, "errors", "*.error", "logs")) // queue, key, exchange
	must(conn.Publish(ctx, "logs", "web.info", exchange.Publishing{Body: []byte("all fine")}))
	must(conn.Publish(ctx, "logs", "web.error", exchange.Publishing{Body: []byte("disk full")}))

	err = conn.Publish(ctx, "logs", "db.warning", exchange.Publishing{Mandatory: true})
	fmt.Println(err)

	must(conn.Consume(ctx, "errors", "worker", func(_ context.Context, m *brook.Message) error {
		fmt.Printf("%s %s: %s\n", exchange.ExchangeName(m), exchange.RoutingKey(m), m.Value)
		cancel() // one is enough here
		return nil
	}))
	// Output:
	// exchange: unroutable mandatory message: exchange "logs", key "db.warning"
	// logs web.error: disk full
}
