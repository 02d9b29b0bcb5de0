// Package metrics exports a Brook broker's state and activity to
// Prometheus. It is a separate package so that a program that does not
// import it does not link client_golang.
//
// Two collectors cover it, to be registered together:
//
//   - Collector reads the broker's stats at each scrape, as client_golang's
//     own collectors do: partition offsets and sizes, and per consumer group
//     its members, generation, rebalances, committed offsets and lag. It
//     keeps no state and costs nothing between scrapes.
//   - Observer is a brook.Observer, set in brook.Options.Observer when the
//     broker opens: it counts produced and consumed messages (rates come
//     from these counters) and keeps append and fsync latency histograms.
//
// Usage:
//
//	obs := metrics.NewObserver(nil)
//	b, err := brook.Open(dir, &brook.Options{Observer: obs})
//	...
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(metrics.NewCollector(b), obs)
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Names follow the Prometheus conventions: the brook_ prefix, base units
// (seconds, bytes), _total on counters. The full list, with labels:
//
//	brook_partition_first_offset{topic,partition}           gauge
//	brook_partition_next_offset{topic,partition}            gauge
//	brook_partition_size_bytes{topic,partition}             gauge
//	brook_partition_failed{topic,partition}                 gauge (1: refuses writes, see PartitionStats.Failure)
//	brook_topic_partitions{topic}                           gauge
//	brook_group_members{group}                              gauge
//	brook_group_generation{group}                           gauge
//	brook_group_rebalances_total{group}                     counter
//	brook_group_member_assigned_partitions{group,member}    gauge
//	brook_group_committed_offset{group,topic,partition}     gauge
//	brook_group_lag{group,topic,partition}                  gauge
//	brook_produced_messages_total{topic,partition}          counter
//	brook_produced_bytes_total{topic,partition}             counter
//	brook_consumed_messages_total{group,topic,partition}    counter
//	brook_append_duration_seconds{topic}                    histogram
//	brook_fsync_duration_seconds{topic}                     histogram
package metrics
