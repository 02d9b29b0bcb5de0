package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tinyConfig runs every workload on a few thousand messages: it checks
// that the workloads and the report work, not how fast anything is.
func tinyConfig(t *testing.T) Config {
	t.Helper()
	return Config{
		Dir:                 t.TempDir(),
		Reps:                1,
		Partitions:          2,
		Batch:               100,
		Depth:               2,
		SegmentSize:         64 << 10,
		ProduceRecords:      2000,
		SyncGoroutines:      8,
		SyncDuration:        100 * time.Millisecond,
		ConsumeRecords:      2000,
		ConsumeMembers:      2,
		LatencyRate:         500,
		LatencyDuration:     100 * time.Millisecond,
		LagGroups:           3,
		LagRecords:          1500, // about 2.5 segments of 64 KiB each
		RebalanceMembers:    3,
		RebalancePartitions: 8,
		ReopenRecords:       []int{1000, 3000},
		ReopenPartitions:    4,
	}
}

func TestRunTinyConfigReportsEveryRow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var progress bytes.Buffer
	rep, err := Run(ctx, tinyConfig(t), &progress)
	require.NoError(t, err, "progress:\n%s", progress.String())

	ids := make([]string, len(rep.Rows))
	for i, r := range rep.Rows {
		ids[i] = r.ID
	}
	assert.Equal(t, []string{"C1", "C2", "C1e", "C2e", "C3", "1", "1b", "2a", "2b", "3", "3b", "4", "5a", "5b", "6", "7", "8a", "8b", "8c", "8d"}, ids)
	for _, r := range rep.Rows {
		assert.Greater(t, r.Median, 0.0, "row %s %q", r.ID, r.Name)
		assert.Len(t, r.Samples, 1, "row %s", r.ID)
		assert.NotEmpty(t, r.Unit, "row %s", r.ID)
		if r.Target != "" {
			assert.Contains(t, []string{"yes", "no"}, r.Met, "row %s", r.ID)
		}
	}
	for _, id := range []string{"1", "3"} {
		for _, r := range rep.Rows {
			if r.ID == id {
				assert.Greater(t, r.Ratio, 0.0, "row %s has a ratio to its ceiling", id)
			}
		}
	}
	assert.Contains(t, progress.String(), "rep 1/1")

	var table bytes.Buffer
	require.NoError(t, rep.WriteTable(&table))
	for _, id := range ids {
		assert.Contains(t, table.String(), "\n"+id+" ", "table row %s", id)
	}
	var js bytes.Buffer
	require.NoError(t, rep.WriteJSON(&js))
	var back Report
	require.NoError(t, json.Unmarshal(js.Bytes(), &back))
	assert.Len(t, back.Rows, len(rep.Rows))
}

func TestRunSelectsWorkloads(t *testing.T) {
	cfg := tinyConfig(t)
	cfg.Workloads = []int{3}
	rep, err := Run(context.Background(), cfg, nil)
	require.NoError(t, err)
	var ids []string
	for _, r := range rep.Rows {
		ids = append(ids, r.ID)
	}
	assert.Equal(t, []string{"C2", "C2e", "3", "3b"}, ids)
}

func TestConfigRejectsBadValues(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown workload", Config{Workloads: []int{9}}, "unknown workload"},
		{"negative size", Config{ProduceRecords: -1}, "negative"},
		{"sizes out of order", Config{ReopenRecords: []int{10, 5}}, "increase"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg, nil)
			require.Error(t, err)
			assert.True(t, strings.Contains(err.Error(), tt.want), err.Error())
		})
	}
}

func TestQuickDefaultsAreSmaller(t *testing.T) {
	full, err := Config{}.withDefaults()
	require.NoError(t, err)
	quick, err := Config{Quick: true}.withDefaults()
	require.NoError(t, err)
	assert.Equal(t, 1, quick.Reps)
	assert.Less(t, quick.ProduceRecords, full.ProduceRecords)
	assert.Equal(t, []int{1_000_000}, quick.ReopenRecords)
	assert.Equal(t, []int{1_000_000, 10_000_000}, full.ReopenRecords)
}
