package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestRunTinyReportsEveryRow runs every workload on every system with a few
// thousand messages: it checks that the harness and the report work, and
// that nothing it started is left running, not how fast anything is.
func TestRunTinyReportsEveryRow(t *testing.T) {
	defer goleak.VerifyNone(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg := Config{Dir: t.TempDir(), Reps: 1, Messages: 20_000, ProduceCap: 2 * time.Second, Window: 1000,
		LatencyRate: 1000, LatencyDuration: 300 * time.Millisecond}
	var progress bytes.Buffer
	rep, err := Run(ctx, cfg, &progress)
	if err != nil {
		t.Fatalf("Run: %v\nprogress:\n%s", err, progress.String())
	}
	if want := len(workloads) * len(systemNames()); len(rep.Rows) != want {
		t.Fatalf("got %d rows, want %d", len(rep.Rows), want)
	}
	for _, r := range rep.Rows {
		if r.Mode == "n/a" {
			if r.ID != "C" || (r.System != "kgo-null" && r.System != "jetstream") {
				t.Errorf("row %s %s: n/a", r.ID, r.System)
			}
			continue
		}
		if r.ID == "C" {
			if r.Median <= 0 || r.P50 <= 0 || r.P50 > r.Median || r.Max < r.Median || len(r.Samples) != 1 {
				t.Errorf("row C %s: p99 %v ms, p50 %v ms, max %v ms, %d samples", r.System, r.Median, r.P50, r.Max, len(r.Samples))
			}
			continue
		}
		if r.Median <= 0 || r.MBPerSec <= 0 || len(r.Samples) != 1 {
			t.Errorf("row %s %s: median %v, MB/s %v, %d samples", r.ID, r.System, r.Median, r.MBPerSec, len(r.Samples))
		}
		if r.System != "brook" && r.Ratio <= 0 {
			t.Errorf("row %s %s: no ratio to Brook", r.ID, r.System)
		}
	}
	var table bytes.Buffer
	if err := rep.WriteTable(&table); err != nil {
		t.Fatal(err)
	}
	for _, s := range systemNames() {
		if got := strings.Count(table.String(), "  "+s+"  "); got != len(workloads) {
			t.Errorf("table has %d rows for %s, want %d:\n%s", got, s, len(workloads), table.String())
		}
	}
}
