// Command exchange is seed 001's two programs on Brook's exchanges: a
// publisher that types messages into an exchange, and a subscriber that
// prints a queue, on a direct exchange "topic" (queues topic1, topic2) and
// a fanout exchange "broadcast" (queues audit, mirror). The example's body
// is package examples/internal/exchangecmd; this build knows the built-in
// backends, mem:// and brook://.
//
// Usage:
//
//	go run ./examples/exchange [-url URL]                 # both programs in one process, until EOF
//	go run ./examples/exchange [-url URL] publish         # the publisher: lines "key: text" from stdin
//	go run ./examples/exchange [-url URL] subscribe [-queue topic1] [-idle 2s]
//
// The URL is brook://./exchange-data (the default) or mem://. On brook://
// the two programs run one after the other (the data directory takes one
// process at a time); what the publisher sent waits in the queues,
// durably:
//
//	echo "topic2: hello" | go run ./examples/exchange publish
//	go run ./examples/exchange subscribe -queue topic2 -idle 1s
//
// To run them at the same time, as separate processes, use the build in
// the nested module examples/portable (cd examples/portable; go run
// ./exchange -url kafka://127.0.0.1:9092 ...), which registers the Kafka
// backend, against `brook serve`: see the README.
package main

import "github.com/brookmq/brook/examples/internal/exchangecmd"

func main() { exchangecmd.Command{}.Main() }
