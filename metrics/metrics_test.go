package metrics_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixture is a broker with topic "orders" (3 messages in partition 0, 2 in
// partition 1) and group "billing" whose one running member has handled
// them all.
type fixture struct {
	b   *brook.Broker
	obs *metrics.Observer
	reg *prometheus.Registry
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	obs := metrics.NewObserver(nil)
	b, err := brook.Open(t.TempDir(), &brook.Options{Observer: obs})
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	_, err = b.CreateNewTopic("orders", 2)
	require.NoError(t, err)
	p := b.CreateProducer("shop")
	for i, part := range []int{0, 0, 0, 1, 1} {
		require.NoError(t, p.Publish("orders", brook.CreateMessage("orders", fmt.Appendf(nil, "order-%d", i), part)))
	}

	c := b.CreateConsumer("biller-1", "billing")
	require.NoError(t, c.Subscribe("orders"))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = c.Run(ctx, func(context.Context, *brook.Message) error { return nil })
	}()
	t.Cleanup(func() { cancel(); wg.Wait(); c.Close() })
	require.Eventually(t, func() bool {
		gs, err := b.GroupStats("billing")
		if err != nil || len(gs.Members) != 1 || len(gs.Partitions) != 2 {
			return false
		}
		for _, p := range gs.Partitions {
			if p.Lag != 0 {
				return false
			}
		}
		return true
	}, 10*time.Second, 5*time.Millisecond, "the group catches up")

	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(metrics.NewCollector(b), obs)
	return &fixture{b: b, obs: obs, reg: reg}
}

func TestMetricsLint(t *testing.T) {
	f := newFixture(t)
	problems, err := testutil.GatherAndLint(f.reg)
	require.NoError(t, err)
	assert.Empty(t, problems)
	problems, err = testutil.CollectAndLint(metrics.NewCollector(f.b))
	require.NoError(t, err)
	assert.Empty(t, problems)
}

func TestMetricsValues(t *testing.T) {
	f := newFixture(t)
	st, err := f.b.Stats()
	require.NoError(t, err)
	require.Len(t, st.Topics, 1)
	parts := st.Topics[0].Partitions
	expected := fmt.Sprintf(`
# HELP brook_partition_next_offset The offset the partition's next message will get.
# TYPE brook_partition_next_offset gauge
brook_partition_next_offset{partition="0",topic="orders"} 3
brook_partition_next_offset{partition="1",topic="orders"} 2
# HELP brook_partition_first_offset The earliest offset the partition still holds.
# TYPE brook_partition_first_offset gauge
brook_partition_first_offset{partition="0",topic="orders"} 0
brook_partition_first_offset{partition="1",topic="orders"} 0
# HELP brook_partition_size_bytes Bytes the partition takes on disk.
# TYPE brook_partition_size_bytes gauge
brook_partition_size_bytes{partition="0",topic="orders"} %d
brook_partition_size_bytes{partition="1",topic="orders"} %d
# HELP brook_partition_failed 1 when the partition has failed (damage found, or a write error) and refuses writes, else 0.
# TYPE brook_partition_failed gauge
brook_partition_failed{partition="0",topic="orders"} 0
brook_partition_failed{partition="1",topic="orders"} 0
# HELP brook_topic_partitions Number of partitions of the topic.
# TYPE brook_topic_partitions gauge
brook_topic_partitions{topic="orders"} 2
# HELP brook_group_members Members of the consumer group now.
# TYPE brook_group_members gauge
brook_group_members{group="billing"} 1
# HELP brook_group_member_assigned_partitions Partitions assigned to the group member.
# TYPE brook_group_member_assigned_partitions gauge
brook_group_member_assigned_partitions{group="billing",member="biller-1-1"} 2
# HELP brook_group_committed_offset The group's committed offset (the next to read); absent when nothing is committed.
# TYPE brook_group_committed_offset gauge
brook_group_committed_offset{group="billing",partition="0",topic="orders"} 3
brook_group_committed_offset{group="billing",partition="1",topic="orders"} 2
# HELP brook_group_lag Messages of the partition the group has not yet committed.
# TYPE brook_group_lag gauge
brook_group_lag{group="billing",partition="0",topic="orders"} 0
brook_group_lag{group="billing",partition="1",topic="orders"} 0
# HELP brook_produced_messages_total Messages appended to the partition.
# TYPE brook_produced_messages_total counter
brook_produced_messages_total{partition="0",topic="orders"} 3
brook_produced_messages_total{partition="1",topic="orders"} 2
# HELP brook_produced_bytes_total Bytes appended to the partition, as stored on disk.
# TYPE brook_produced_bytes_total counter
brook_produced_bytes_total{partition="0",topic="orders"} %d
brook_produced_bytes_total{partition="1",topic="orders"} %d
# HELP brook_consumed_messages_total Messages of the partition handled by the group's consumers.
# TYPE brook_consumed_messages_total counter
brook_consumed_messages_total{group="billing",partition="0",topic="orders"} 3
brook_consumed_messages_total{group="billing",partition="1",topic="orders"} 2
`, parts[0].Bytes, parts[1].Bytes, parts[0].Bytes, parts[1].Bytes)
	assert.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(expected),
		"brook_partition_next_offset", "brook_partition_first_offset", "brook_partition_size_bytes",
		"brook_partition_failed", "brook_topic_partitions", "brook_group_members", "brook_group_member_assigned_partitions",
		"brook_group_committed_offset", "brook_group_lag",
		"brook_produced_messages_total", "brook_produced_bytes_total", "brook_consumed_messages_total"))

	gen, err := f.b.GroupStats("billing")
	require.NoError(t, err)
	assert.Positive(t, gen.Generation)
	mfs, err := f.reg.Gather()
	require.NoError(t, err)
	got := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			switch {
			case m.GetHistogram() != nil:
				got[mf.GetName()] += float64(m.GetHistogram().GetSampleCount())
			case m.GetGauge() != nil:
				got[mf.GetName()] += m.GetGauge().GetValue()
			case m.GetCounter() != nil:
				got[mf.GetName()] += m.GetCounter().GetValue()
			}
		}
	}
	assert.Equal(t, float64(gen.Generation), got["brook_group_generation"])
	assert.Equal(t, float64(gen.Generation), got["brook_group_rebalances_total"])
	// Five synchronous publishes: five commits, each fsynced (sync=always).
	assert.Equal(t, 5.0, got["brook_append_duration_seconds"], "one sample per group commit")
	assert.GreaterOrEqual(t, got["brook_fsync_duration_seconds"], 5.0, "one sample per commit's fsync, at least")
}

// The metrics are served by promhttp, in the text format a Prometheus
// server scrapes.
func TestMetricsScrape(t *testing.T) {
	f := newFixture(t)
	srv := httptest.NewServer(promhttp.HandlerFor(f.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.HTTPErrorOnError}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	for _, want := range []string{
		`brook_partition_next_offset{partition="0",topic="orders"} 3`,
		`brook_group_lag{group="billing",partition="1",topic="orders"} 0`,
		`brook_append_duration_seconds_bucket{topic="orders",le="+Inf"} 5`,
		`brook_fsync_duration_seconds_count{topic="orders"}`,
	} {
		assert.Contains(t, string(body), want)
	}
}

// A closed broker has nothing to report; the scrape still succeeds.
func TestMetricsClosedBroker(t *testing.T) {
	f := newFixture(t)
	require.NoError(t, f.b.Close())
	n := testutil.CollectAndCount(metrics.NewCollector(f.b))
	assert.Zero(t, n)
}

// A group with committed offsets but no members shows its lag growing as
// messages arrive, and no committed offset where it has none.
func TestMetricsLagGrows(t *testing.T) {
	f := newFixture(t)
	p := f.b.CreateProducer("late")
	_, err := f.b.CreateNewTopic("audit", 1)
	require.NoError(t, err)
	for range 4 {
		require.NoError(t, p.Publish("audit", brook.CreateMessage("audit", []byte("x"), 0)))
	}
	c := f.b.CreateConsumer("auditor", "audit-readers")
	require.NoError(t, c.Subscribe("audit"))
	msg, err := c.Poll(context.Background())
	require.NoError(t, err)
	require.EqualValues(t, 0, msg.Offset)
	require.NoError(t, c.Close()) // commits offset 1

	assert.NoError(t, testutil.GatherAndCompare(f.reg, strings.NewReader(`
# HELP brook_consumed_messages_total Messages of the partition handled by the group's consumers.
# TYPE brook_consumed_messages_total counter
brook_consumed_messages_total{group="audit-readers",partition="0",topic="audit"} 1
brook_consumed_messages_total{group="billing",partition="0",topic="orders"} 3
brook_consumed_messages_total{group="billing",partition="1",topic="orders"} 2
`), "brook_consumed_messages_total"), "Poll counts a message once the consumer moves past it")

	col := metrics.NewCollector(f.b)
	expected := `
# HELP brook_group_lag Messages of the partition the group has not yet committed.
# TYPE brook_group_lag gauge
brook_group_lag{group="audit-readers",partition="0",topic="audit"} 3
brook_group_lag{group="billing",partition="0",topic="orders"} 0
brook_group_lag{group="billing",partition="1",topic="orders"} 0
`
	assert.NoError(t, testutil.CollectAndCompare(col, strings.NewReader(expected), "brook_group_lag"))
	assert.NoError(t, testutil.CollectAndCompare(col, strings.NewReader(`
# HELP brook_group_members Members of the consumer group now.
# TYPE brook_group_members gauge
brook_group_members{group="audit-readers"} 0
brook_group_members{group="billing"} 1
`), "brook_group_members"))
}

// A nil *Observer in brook.Options is a non-nil interface: it must observe
// nothing rather than panic.
func TestNilObserver(t *testing.T) {
	var obs *metrics.Observer
	b, err := brook.Open(t.TempDir(), &brook.Options{Observer: obs})
	require.NoError(t, err)
	defer b.Close()
	_, err = b.CreateNewTopic("t", 1)
	require.NoError(t, err)
	assert.NoError(t, b.CreateProducer("p").Publish("t", brook.CreateMessage("t", []byte("x"), 0)))
	assert.NotPanics(t, func() { obs.ObserveConsume("g", "t", 0, 1) })
}
