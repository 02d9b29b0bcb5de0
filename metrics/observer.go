package metrics

import (
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ObserverOptions configure an Observer. The zero value of every field
// means its default, and a nil *ObserverOptions means all defaults.
type ObserverOptions struct {
	// Buckets are the upper bounds, in seconds, of the append and fsync
	// latency histograms. Default: 16 buckets from 50µs doubling to about
	// 1.6s.
	Buckets []float64
}

// Observer is a brook.Observer that turns what the broker reports into
// Prometheus counters and histograms; it is also the prometheus.Collector
// that exports them. Set it in brook.Options.Observer when opening the
// broker and register it next to the broker's Collector. It is safe for
// concurrent use. A nil *Observer observes nothing, so that a program can
// pass one it did not create to brook.Options.Observer.
type Observer struct {
	produced, producedBytes, consumed *prometheus.CounterVec
	appendDur, fsyncDur               *prometheus.HistogramVec
}

// NewObserver returns an Observer with no observations yet.
func NewObserver(o *ObserverOptions) *Observer {
	buckets := prometheus.ExponentialBuckets(50e-6, 2, 16)
	if o != nil && len(o.Buckets) > 0 {
		buckets = append([]float64(nil), o.Buckets...)
	}
	tp := []string{"topic", "partition"}
	return &Observer{
		produced: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brook_produced_messages_total", Help: "Messages appended to the partition.",
		}, tp),
		producedBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brook_produced_bytes_total", Help: "Bytes appended to the partition, as stored on disk.",
		}, tp),
		consumed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "brook_consumed_messages_total", Help: "Messages of the partition handled by the group's consumers.",
		}, []string{"group", "topic", "partition"}),
		appendDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "brook_append_duration_seconds",
			Help:    "Duration of one group commit of a partition of the topic: write, and fsync under sync=always.",
			Buckets: buckets,
		}, []string{"topic"}),
		fsyncDur: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "brook_fsync_duration_seconds", Help: "Duration of one fsync of a partition of the topic.", Buckets: buckets,
		}, []string{"topic"}),
	}
}

// ObserveAppend counts a group commit's messages and bytes and records its
// duration. It implements brook.Observer.
func (o *Observer) ObserveAppend(topic string, partition, records, bytes int, d time.Duration) {
	if o == nil {
		return
	}
	p := strconv.Itoa(partition)
	o.produced.WithLabelValues(topic, p).Add(float64(records))
	o.producedBytes.WithLabelValues(topic, p).Add(float64(bytes))
	o.appendDur.WithLabelValues(topic).Observe(d.Seconds())
}

// ObserveSync records an fsync's duration. It implements brook.Observer.
func (o *Observer) ObserveSync(topic string, _ int, d time.Duration) {
	if o == nil {
		return
	}
	o.fsyncDur.WithLabelValues(topic).Observe(d.Seconds())
}

// ObserveConsume counts handled messages. It implements brook.Observer.
func (o *Observer) ObserveConsume(group, topic string, partition, messages int) {
	if o == nil {
		return
	}
	o.consumed.WithLabelValues(group, topic, strconv.Itoa(partition)).Add(float64(messages))
}

// Describe sends the descriptors of the Observer's metrics.
func (o *Observer) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range o.collectors() {
		c.Describe(ch)
	}
}

// Collect sends the Observer's current counters and histograms.
func (o *Observer) Collect(ch chan<- prometheus.Metric) {
	for _, c := range o.collectors() {
		c.Collect(ch)
	}
}

func (o *Observer) collectors() []prometheus.Collector {
	return []prometheus.Collector{o.produced, o.producedBytes, o.consumed, o.appendDur, o.fsyncDur}
}
