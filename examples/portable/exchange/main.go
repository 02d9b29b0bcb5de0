// Command exchange is examples/exchange (seed 001's publisher and
// subscriber on a direct and a fanout exchange) with the Kafka backend
// registered, so that the programs run as separate processes, at the same
// time, through any Kafka listener: `brook serve` (seed 001's `python3
// broker.py`) or a Kafka cluster. The URL is the seed's
// Connection('host'):
//
//	go run ./cmd/brook serve --dir /tmp/b --kafka 127.0.0.1:9092   # the broker, from the repository root
//
//	cd examples/portable
//	go run ./exchange subscribe -queue topic2                  # a subscriber, until interrupted
//	go run ./exchange subscribe -queue audit                   # another, on the fanout exchange
//	echo "topic2: hello" | go run ./exchange publish            # the publisher
//
// The default URL is kafka://127.0.0.1:9092; -url takes any other, mem://
// and brook:// included. The flags and commands are examples/exchange's
// (package examples/internal/exchangecmd).
package main

import (
	"github.com/brookmq/brook/examples/internal/exchangecmd"
	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/kafka"
)

func main() {
	reg := &pubsub.Registry{}
	reg.Register("kafka", kafka.Opener{})
	exchangecmd.Command{Registry: reg, DefaultURL: "kafka://127.0.0.1:9092"}.Main()
}
