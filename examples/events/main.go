// Command events runs seed 002's flow on Brook: an HTTP front that turns
// POST /quote into a request event, and a pricing service, bound with a
// nested router, that answers it through request/reply. The example's body
// is package examples/internal/eventscmd; this build knows the built-in
// backends, mem:// and brook://.
//
// By default both services run in this process, on one mem:// backend.
// With -role front or -role pricing, each runs alone; for two processes at
// once, use the build in the nested module examples/portable (cd
// examples/portable; go run ./events -url kafka://127.0.0.1:9092 -role
// ...), which registers the Kafka backend, against `brook serve`: see the
// README.
//
// Usage:
//
//	go run ./examples/events [-addr 127.0.0.1:8080] [-url mem://] [-role all|front|pricing]
//
// Then:
//
//	curl -s -X POST localhost:8080/quote -d '{"sku":"B-17","qty":12}'
package main

import "github.com/brookmq/brook/examples/internal/eventscmd"

func main() { eventscmd.Command{}.Main() }
