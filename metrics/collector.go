package metrics

import (
	"errors"
	"strconv"

	"github.com/brookmq/brook"
	"github.com/prometheus/client_golang/prometheus"
)

// Collector is a prometheus.Collector over one broker's stats, read at each
// scrape (Broker.Stats for topics, Broker.Groups and Broker.GroupStats for
// every group on disk or with members). It keeps nothing between scrapes.
// A closed broker yields no metrics; another error yields an invalid metric,
// which fails the scrape as client_golang does for a failing collector.
// It is safe for concurrent use.
type Collector struct {
	b *brook.Broker

	firstOffset, nextOffset, sizeBytes, partitions, failed *prometheus.Desc
	members, generation, rebalances, assigned              *prometheus.Desc
	committed, lag                                         *prometheus.Desc
}

// NewCollector returns a Collector for b. Register it with a
// prometheus.Registerer.
func NewCollector(b *brook.Broker) *Collector {
	tp := []string{"topic", "partition"}
	gtp := []string{"group", "topic", "partition"}
	g := []string{"group"}
	return &Collector{
		b: b,
		firstOffset: prometheus.NewDesc("brook_partition_first_offset",
			"The earliest offset the partition still holds.", tp, nil),
		nextOffset: prometheus.NewDesc("brook_partition_next_offset",
			"The offset the partition's next message will get.", tp, nil),
		sizeBytes: prometheus.NewDesc("brook_partition_size_bytes",
			"Bytes the partition takes on disk.", tp, nil),
		failed: prometheus.NewDesc("brook_partition_failed",
			"1 when the partition has failed (damage found, or a write error) and refuses writes, else 0.", tp, nil),
		partitions: prometheus.NewDesc("brook_topic_partitions",
			"Number of partitions of the topic.", []string{"topic"}, nil),
		members: prometheus.NewDesc("brook_group_members",
			"Members of the consumer group now.", g, nil),
		generation: prometheus.NewDesc("brook_group_generation",
			"The consumer group's generation, increased by each rebalance.", g, nil),
		rebalances: prometheus.NewDesc("brook_group_rebalances_total",
			"Rebalances of the consumer group since the broker loaded it.", g, nil),
		assigned: prometheus.NewDesc("brook_group_member_assigned_partitions",
			"Partitions assigned to the group member.", []string{"group", "member"}, nil),
		committed: prometheus.NewDesc("brook_group_committed_offset",
			"The group's committed offset (the next to read); absent when nothing is committed.", gtp, nil),
		lag: prometheus.NewDesc("brook_group_lag",
			"Messages of the partition the group has not yet committed.", gtp, nil),
	}
}

// Describe sends the descriptors of every metric Collect sends.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.firstOffset, c.nextOffset, c.sizeBytes, c.partitions, c.failed,
		c.members, c.generation, c.rebalances, c.assigned, c.committed, c.lag} {
		ch <- d
	}
}

// Collect reads the broker's stats and sends one metric per value.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st, err := c.b.Stats()
	if err != nil {
		c.fail(ch, err)
		return
	}
	for _, t := range st.Topics {
		ch <- prometheus.MustNewConstMetric(c.partitions, prometheus.GaugeValue, float64(len(t.Partitions)), t.Name)
		for _, p := range t.Partitions {
			ps := strconv.Itoa(p.Partition)
			ch <- prometheus.MustNewConstMetric(c.firstOffset, prometheus.GaugeValue, float64(p.FirstOffset), t.Name, ps)
			ch <- prometheus.MustNewConstMetric(c.nextOffset, prometheus.GaugeValue, float64(p.NextOffset), t.Name, ps)
			ch <- prometheus.MustNewConstMetric(c.sizeBytes, prometheus.GaugeValue, float64(p.Bytes), t.Name, ps)
			failed := 0.0
			if p.Failure != "" {
				failed = 1
			}
			ch <- prometheus.MustNewConstMetric(c.failed, prometheus.GaugeValue, failed, t.Name, ps)
		}
	}
	ids, err := c.b.Groups()
	if err != nil {
		c.fail(ch, err)
		return
	}
	for _, id := range ids {
		gs, err := c.b.GroupStats(id)
		if errors.Is(err, brook.ErrUnknownGroup) {
			continue // deleted since Groups listed it
		}
		if err != nil {
			c.fail(ch, err)
			return
		}
		c.collectGroup(ch, gs)
	}
}

func (c *Collector) collectGroup(ch chan<- prometheus.Metric, gs brook.GroupStats) {
	ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(len(gs.Members)), gs.ID)
	ch <- prometheus.MustNewConstMetric(c.generation, prometheus.GaugeValue, float64(gs.Generation), gs.ID)
	// The generation starts at 0 when the broker loads a group and grows by
	// one per rebalance, so it is the rebalance count since then.
	ch <- prometheus.MustNewConstMetric(c.rebalances, prometheus.CounterValue, float64(gs.Generation), gs.ID)
	for _, m := range gs.Members {
		ch <- prometheus.MustNewConstMetric(c.assigned, prometheus.GaugeValue, float64(len(m.Assigned)), gs.ID, m.ID)
	}
	for _, p := range gs.Partitions {
		ps := strconv.Itoa(p.Partition)
		if p.Committed >= 0 {
			ch <- prometheus.MustNewConstMetric(c.committed, prometheus.GaugeValue, float64(p.Committed), gs.ID, p.Topic, ps)
		}
		ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, float64(p.Lag), gs.ID, p.Topic, ps)
	}
}

// fail reports err as an invalid metric, except ErrClosed: a closed broker
// simply has nothing to report.
func (c *Collector) fail(ch chan<- prometheus.Metric, err error) {
	if errors.Is(err, brook.ErrClosed) {
		return
	}
	ch <- prometheus.NewInvalidMetric(c.partitions, err)
}
