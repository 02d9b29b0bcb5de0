package gcppubsub

import (
	"context"
	"os"
	"strconv"
	"testing"

	"github.com/brookmq/brook/pubsub"
	"github.com/brookmq/brook/pubsub/drivertest"
)

// BenchmarkWorkload is the throughput workload on pstest through
// the client (drivertest.Workload, as for every backend): messages of 100
// bytes published in slices of 1,000 with Client.Publish to one partition
// (Pub/Sub topics have one), then consumed by a group of 4, that is four
// subscribers of one subscription. The count is BROOK_PUBSUB_BENCH_MSGS,
// else 5,000: the 1M scaled down, because pstest, a test fake,
// hands each streaming-pull stream about one message per 10 ms tick (it
// offers messages on an unbuffered channel from a 10 ms timer), so its
// consumption measures pstest, not this backend or Pub/Sub:
//
//	go test -run '^$' -bench Workload -benchtime 1x ./...
func BenchmarkWorkload(b *testing.B) {
	n := 5_000
	if s := os.Getenv("BROOK_PUBSUB_BENCH_MSGS"); s != "" {
		var err error
		if n, err = strconv.Atoi(s); err != nil || n < 1 {
			b.Fatalf("BROOK_PUBSUB_BENCH_MSGS=%q: want a positive count", s)
		}
	}
	ctx := context.Background()
	var prod, cons float64
	for b.Loop() {
		c := pubsub.NewClient(openBackend(b, ""), pubsub.Options{})
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
