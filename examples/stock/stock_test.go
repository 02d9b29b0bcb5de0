package main

import (
	"bytes"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/brookmq/brook"
)

// testConfig is a short, repeatable run.
func testConfig(d time.Duration) config {
	return config{Duration: d, Seed: 7, Rate: 200, Drain: 10 * time.Second}
}

// TestPipeline runs the pipeline twice on one data directory, then once more
// through run, and checks the invariants of each run and the resume.
func TestPipeline(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("BROOK_DATA_DIR", dir)
	t.Cleanup(func() { _ = brook.GetorSetBrokerInstance().Close() }) // in case a run stopped half-way
	goroutines := runtime.NumGoroutine()
	ctx := t.Context()

	// The first run opens the process-wide broker itself; each later run,
	// as a new process would, gets a new one on the same directory, since
	// a closed process-wide broker stays closed.
	var out1 bytes.Buffer
	res1, err := execute(ctx, testConfig(1500*time.Millisecond), &out1)
	require.NoError(t, err, out1.String())
	t.Log("first run:\n" + out1.String())
	assert.NoError(t, res1.verify())
	for _, ti := range res1.Topics {
		assert.False(t, ti.Reused, "topic %s on a fresh directory", ti.Name)
	}
	assertExactlyOnce(t, res1)
	assertRebalanced(t, res1)
	assertBookMatchesLog(t, dir, res1)

	reopen(t, dir)
	var out2 bytes.Buffer
	res2, err := execute(ctx, testConfig(1500*time.Millisecond), &out2)
	require.NoError(t, err, out2.String())
	t.Log("second run:\n" + out2.String())
	assert.NoError(t, res2.verify())
	assertExactlyOnce(t, res2)
	assertRebalanced(t, res2)
	assertResumed(t, res1, res2)
	assertBookMatchesLog(t, dir, res2)

	reopen(t, dir)
	var out3 bytes.Buffer
	require.NoError(t, run(ctx, testConfig(500*time.Millisecond), &out3), out3.String())
	assert.Contains(t, out3.String(), "OK: nothing lost, nothing processed twice")
	assert.Contains(t, out3.String(), "(reused)")

	assertNoLeak(t, goroutines)
}

// reopen opens a broker on dir and makes it the process-wide broker, after
// a run closed the previous one.
func reopen(t *testing.T, dir string) {
	t.Helper()
	b, err := brook.Open(dir, nil)
	require.NoError(t, err)
	require.NoError(t, brook.SetBrokerInstance(b))
}

// assertExactlyOnce checks that the predictors and the alerts each
// processed every tick of the run exactly once, per partition, and nothing
// that had been committed before.
func assertExactlyOnce(t *testing.T, r *result) {
	t.Helper()
	for _, group := range []string{groupPredictors, groupAlerts} {
		cs := r.Counts[groupTopic{group, topicPrices}]
		require.Len(t, cs, pricePartitions, group)
		for _, c := range cs {
			assert.Positive(t, c.Published, "%s partition %d published", group, c.Partition)
			assert.Equal(t, c.Published, c.Processed, "%s partition %d processed", group, c.Partition)
			assert.Zero(t, c.Duplicates, "%s partition %d duplicates", group, c.Partition)
			assert.Zero(t, c.Lost(), "%s partition %d lost", group, c.Partition)
			assert.Zero(t, c.Stray, "%s partition %d reprocessed committed", group, c.Partition)
		}
		assert.Equal(t, r.Ticks, total(cs).Published, group)
	}
}

// assertRebalanced checks that the predictors' assignment covered all
// partitions in balanced shares before the leave, after it and after the
// join, and that it changed.
func assertRebalanced(t *testing.T, r *result) {
	t.Helper()
	require.Len(t, r.Assignments, 3, "assignments at start, after the leave, after the join")
	for _, a := range r.Assignments {
		assert.True(t, a.balanced(pricePartitions), "%s: %v", a.Label, a.Members)
	}
	before, left, after := r.Assignments[0], r.Assignments[1], r.Assignments[2]
	assert.Len(t, before.Members, predictorMembers)
	assert.Len(t, left.Members, predictorMembers-1)
	assert.Len(t, after.Members, predictorMembers)
	assert.NotEqual(t, before.owners(), after.owners())
	assert.Contains(t, names(before), "predictor-2")
	assert.NotContains(t, names(after), "predictor-2")
	assert.Contains(t, names(after), "predictor-4")
	assert.Less(t, before.Generation, after.Generation)
}

// names returns the members' names.
func names(a assignment) []string {
	var ns []string
	for _, m := range a.Members {
		ns = append(ns, m.Name)
	}
	return ns
}

// assertResumed checks that the second run reused the first run's topics,
// continued each partition where the first ended, had no backlog (the first
// drained and committed everything) and rebuilt the books.
func assertResumed(t *testing.T, r1, r2 *result) {
	t.Helper()
	for _, ti := range r2.Topics {
		assert.True(t, ti.Reused, "topic %s reused", ti.Name)
	}
	for group, n := range r2.Backlog {
		assert.Zero(t, n, "backlog of %s", group)
	}
	c1 := r1.Counts[groupTopic{groupPredictors, topicPrices}]
	c2 := r2.Counts[groupTopic{groupPredictors, topicPrices}]
	for i := range c2 {
		assert.Equal(t, c1[i].Start+int64(c1[i].Published), c2[i].Start, "partition %d continues", i)
	}
	assert.Equal(t, len(r2.Symbols), r2.Resumed, "every symbol's walk continues")
	assert.Equal(t, r1.Portfolio.Trades, r2.Rebuilt)
	assert.Equal(t, r1.Portfolio.Trades, r2.Replayed)
	made := 0
	for _, n := range r2.TradesMade {
		made += n
	}
	assert.Equal(t, r1.Portfolio.Trades+made, r2.Portfolio.Trades)
}

// assertBookMatchesLog rebuilds the book from trade-executions on disk and
// checks that the portfolio's positions, cash and value are those of its
// trades, and that the trader kept its limits.
func assertBookMatchesLog(t *testing.T, dir string, r *result) {
	t.Helper()
	b, err := brook.Open(dir, nil)
	require.NoError(t, err)
	defer func() { require.NoError(t, b.Close()) }()
	want := newBook()
	_, err = replayTrades(t.Context(), b, func(ps brook.PartitionStats) int64 { return ps.NextOffset }, want.apply)
	require.NoError(t, err)
	assert.Positive(t, want.Trades, "the trader traded")
	assert.True(t, sameBook(want, r.Portfolio), "portfolio %+v, trades on disk %+v", r.Portfolio, want)
	value := want.Cash
	for sym, n := range want.Shares {
		assert.GreaterOrEqual(t, n, 0, "no short position in %s", sym)
		assert.LessOrEqual(t, n, maxPosition, sym)
		value += float64(n) * r.Last[sym]
	}
	assert.GreaterOrEqual(t, want.Cash, 0.0)
	assert.InDelta(t, value, r.Portfolio.value(r.Last), 1e-6)
}

// assertNoLeak waits until the goroutines started by the runs have ended.
func assertNoLeak(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond) // goroutine exit has no event to wait on
	}
	if n := runtime.NumGoroutine(); n > before {
		buf := make([]byte, 1<<20)
		t.Errorf("%d goroutines left running, %d before:\n%s", n, before, buf[:runtime.Stack(buf, true)])
	}
}

func TestSparkline(t *testing.T) {
	tests := []struct {
		name  string
		vals  []float64
		width int
		want  string
	}{
		{"empty", nil, 8, ""},
		{"rising", []float64{1, 2, 3, 4, 5, 6, 7, 8}, 8, "▁▂▃▄▅▆▇█"},
		{"flat", []float64{5, 5, 5}, 8, "▅▅▅"},
		{"averaged into buckets", []float64{1, 1, 9, 9}, 2, "▁█"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, sparkline(tt.vals, tt.width))
		})
	}
}

func TestForecastFollowsTrend(t *testing.T) {
	var f forecast
	for p := 100.0; p < 110; p++ {
		f = f.observe(p)
	}
	assert.Greater(t, f.Next, 109.0, "a rising series is forecast to keep rising")
	assert.Equal(t, 9, f.Errors)
	assert.Positive(t, f.MAE())
}

func TestAssignmentBalanced(t *testing.T) {
	tests := []struct {
		name    string
		members [][]int
		want    bool
	}{
		{"3/3/2", [][]int{{0, 1, 2}, {3, 4, 5}, {6, 7}}, true},
		{"4/4", [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}}, true},
		{"a partition missing", [][]int{{0, 1, 2}, {3, 4, 5}, {6}}, false},
		{"a partition twice", [][]int{{0, 1, 2}, {2, 3, 4}, {5, 6, 7}}, false},
		{"unbalanced 4/4/0", [][]int{{0, 1, 2, 3}, {4, 5, 6, 7}, {}}, false},
		{"no members", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a assignment
			for i, ps := range tt.members {
				a.Members = append(a.Members, memberAssignment{Name: string(rune('a' + i)), Partitions: slices.Clone(ps)})
			}
			assert.Equal(t, tt.want, a.balanced(pricePartitions))
		})
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-duration", "2s", "-seed", "42", "-rate", "50"}, &bytes.Buffer{})
	require.NoError(t, err)
	assert.Equal(t, config{Duration: 2 * time.Second, Seed: 42, Rate: 50, Drain: defaultConfig().Drain}, cfg)
	_, err = parseFlags([]string{"-rate", "0"}, &bytes.Buffer{})
	assert.Error(t, err)
}
