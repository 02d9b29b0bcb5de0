// Command events is examples/events (seed 002's HTTP front and pricing
// service, answering through request/reply) with the Kafka backend
// registered, so that the two services run as separate processes through
// any Kafka listener: `brook serve` or a Kafka cluster.
//
//	go run ./cmd/brook serve --dir /tmp/b --kafka 127.0.0.1:9092   # the broker, from the repository root
//
//	cd examples/portable
//	go run ./events -role pricing                               # the pricing service
//	go run ./events -role front -addr 127.0.0.1:8080            # the HTTP front
//	curl -s -X POST localhost:8080/quote -d '{"sku":"B-17","qty":12}'
//
// The default URL is kafka://127.0.0.1:9092; -url takes any other. The
// flags are examples/events' (package examples/internal/eventscmd).
package main

import (
	"github.com/brookmq/brook/examples/internal/eventscmd"
	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/kafka"
)

func main() {
	reg := &pubsub.Registry{}
	reg.Register("kafka", kafka.Opener{})
	eventscmd.Command{Registry: reg, DefaultURL: "kafka://127.0.0.1:9092"}.Main()
}
