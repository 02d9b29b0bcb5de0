package event

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// BenchmarkRequestReply measures request/reply round trips on the embedded
// backend (mem://, no fsync) with 1, 64 and 1,000 requests in flight: each
// of that many goroutines makes Requests one after another, answered by an
// echo service Listening on a 4-partition topic. It reports round trips per
// second and the p50 and p99 latency of one Request. The references are
// NATS request/reply (one respMux subscription per connection, the design
// followed here) and Watermill's requestreply component, which subscribes
// per request.
func BenchmarkRequestReply(b *testing.B) {
	for _, inflight := range []int{1, 64, 1000} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			c := memClient(b, map[string]int{"echo": 4})
			front := newBus(b, c, Options{Service: "front", ReplyPartitions: 4})
			back := newBus(b, c, Options{Service: "echo"})
			listen(b, back, "echo", []string{"echo"}, HandlerFunc(func(_ context.Context, e *Event) (*Event, error) {
				r := e.reply()
				r.Data = e.Data
				return r, nil
			}))
			ctx := context.Background()
			data := json.RawMessage(`{"sku":"B-17","qty":3}`)
			if _, err := front.Request(ctx, "echo", &Event{Name: "echo", Data: data}); err != nil {
				b.Fatal(err) // warm up: the responder has joined its group
			}

			var next atomic.Int64
			lat := make([][]time.Duration, inflight)
			var failed atomic.Value
			b.ReportAllocs()
			b.ResetTimer()
			start := time.Now()
			var wg sync.WaitGroup
			for w := range inflight {
				wg.Go(func() {
					for next.Add(1) <= int64(b.N) {
						t0 := time.Now()
						if _, err := front.Request(ctx, "echo", &Event{Name: "echo", Data: data}); err != nil {
							failed.Store(err)
							return
						}
						lat[w] = append(lat[w], time.Since(t0))
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			if err, _ := failed.Load().(error); err != nil {
				b.Fatal(err)
			}
			all := slices.Concat(lat...)
			slices.Sort(all)
			q := func(p float64) float64 {
				return float64(all[min(len(all)-1, int(p*float64(len(all))))].Microseconds())
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "round_trips/s")
			b.ReportMetric(q(0.50), "p50-µs")
			b.ReportMetric(q(0.99), "p99-µs")
		})
	}
}
