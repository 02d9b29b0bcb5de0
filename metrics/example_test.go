package metrics_test

import (
	"fmt"
	"os"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/metrics"
	"github.com/prometheus/client_golang/prometheus"
)

// Register both collectors: the Observer must be in the broker's Options
// from the start.
func Example() {
	dir, _ := os.MkdirTemp("", "brook-metrics-")
	defer os.RemoveAll(dir)
	obs := metrics.NewObserver(nil)
	b, err := brook.Open(dir, &brook.Options{Observer: obs})
	if err != nil {
		panic(err)
	}
	defer b.Close()
	b.CreateNewTopic("orders", 1)
	b.CreateProducer("shop").Publish("orders", brook.CreateMessage("orders", []byte("order-1"), 0))

	reg := prometheus.NewRegistry()
	reg.MustRegister(metrics.NewCollector(b), obs)
	families, _ := reg.Gather()
	for _, f := range families {
		switch f.GetName() {
		case "brook_partition_next_offset":
			fmt.Println(f.GetName(), f.GetMetric()[0].GetGauge().GetValue())
		case "brook_produced_messages_total":
			fmt.Println(f.GetName(), f.GetMetric()[0].GetCounter().GetValue())
		case "brook_append_duration_seconds":
			fmt.Println(f.GetName(), "samples:", f.GetMetric()[0].GetHistogram().GetSampleCount())
		}
	}
	// Output:
	// brook_append_duration_seconds samples: 1
	// brook_partition_next_offset 1
	// brook_produced_messages_total 1
}
