package metrics_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/metrics"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A partition damaged inside its segment shows as brook_partition_failed 1.
func TestMetricsPartitionFailed(t *testing.T) {
	dir := t.TempDir()
	b, err := brook.Open(dir, nil)
	require.NoError(t, err)
	_, err = b.CreateNewTopic("orders", 2)
	require.NoError(t, err)
	p := b.CreateProducer("p")
	for i := range 6 {
		require.NoError(t, p.Publish("orders", brook.CreateMessage("orders", []byte("order"), i%2)))
	}
	p.Close()
	require.NoError(t, b.Close())
	seg := filepath.Join(dir, "topics", "orders", "0", "00000000000000000001")
	data, err := os.ReadFile(seg)
	require.NoError(t, err)
	data[4] ^= 0x5a // inside the first record; valid ones follow: not a torn tail
	require.NoError(t, os.WriteFile(seg, data, 0o600))

	b, err = brook.Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	c := metrics.NewCollector(b)
	expected := `
# HELP brook_partition_failed 1 when the partition has failed (damage found, or a write error) and refuses writes, else 0.
# TYPE brook_partition_failed gauge
brook_partition_failed{partition="0",topic="orders"} 1
brook_partition_failed{partition="1",topic="orders"} 0
`
	assert.NoError(t, testutil.CollectAndCompare(c, strings.NewReader(expected), "brook_partition_failed"))
	problems, err := testutil.CollectAndLint(c)
	require.NoError(t, err)
	assert.Empty(t, problems)
}
