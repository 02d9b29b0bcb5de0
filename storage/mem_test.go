package storage

import (
	"context"
	"runtime"
	"testing"
)

// TestMemoryPerLog checks that an open log's heap is bounded by its segment
// size, not by its data: after writing six segments it holds about two
// (tidwall/wal's tail segment and the one before it) plus the tail cache.
func TestMemoryPerLog(t *testing.T) {
	for _, seg := range []int{1 << 20, 4 << 20} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := openT(t, t.TempDir(), &Options{SegmentSize: seg, Sync: SyncNever})
		recs := benchRecords(1000, 100)
		for l.Size() < int64(6*seg) {
			if _, err := l.Append(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		held := int64(after.HeapAlloc) - int64(before.HeapAlloc)
		t.Logf("SegmentSize %d MiB: heap in use %.1f MiB", seg>>20, float64(held)/(1<<20))
		if limit := int64(3*seg + 2<<20); held > limit {
			t.Errorf("SegmentSize %d MiB: an open log holds %d bytes, want at most %d", seg>>20, held, limit)
		}
		l.Close()
	}
}
