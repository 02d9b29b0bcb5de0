package kafka

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/drivertest"
)

// benchMessages is the workload's message count: BROOK_PUBSUB_BENCH_MSGS,
// else def.
func benchMessages(b *testing.B, def int) int {
	s := os.Getenv("BROOK_PUBSUB_BENCH_MSGS")
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 8 {
		b.Fatalf("BROOK_PUBSUB_BENCH_MSGS=%q: want a count of at least 8", s)
	}
	return n
}

// BenchmarkWorkload is the throughput workload on kfake through
// the client: 1M messages (BROOK_PUBSUB_BENCH_MSGS) of 100 bytes to 8 partitions, one goroutine per
// partition publishing slices of 1,000 with Client.Publish, then consumed
// by a group of 4 (drivertest.Workload, as for every backend):
//
//	go test -run '^$' -bench Workload -benchtime 1x ./...
func BenchmarkWorkload(b *testing.B) {
	n := benchMessages(b, 1_000_000)
	ctx := context.Background()
	var prod, cons float64
	for b.Loop() {
		c := pubsub.NewClient(openURL(b, newCluster(b)), pubsub.Options{})
		res, err := drivertest.Workload{Messages: n}.Run(ctx, c, "bench", "bench")
		if err != nil {
			b.Fatal(err)
		}
		prod += res.ProduceRate()
		cons += res.ConsumeRate()
		if err := c.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(prod/float64(b.N), "produce-msg/s")
	b.ReportMetric(cons/float64(b.N), "consume-msg/s")
	b.ReportMetric(float64(n), "msgs")
}
