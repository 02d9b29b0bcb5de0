package storage

import (
	"context"
	"os"
	"runtime"
	"testing"
)

// TestMemoryPerLog reports the heap one open log holds after writing a few
// segments (set BROOK_MEM=1).
func TestMemoryPerLog(t *testing.T) {
	if os.Getenv("BROOK_MEM") == "" {
		t.Skip("set BROOK_MEM=1")
	}
	for _, seg := range []int{1 << 20, 4 << 20, 16 << 20} {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		l := openT(t, t.TempDir(), &Options{SegmentSize: seg, Sync: SyncNever})
		recs := benchRecords(1000, 100)
		for l.Size() < int64(3*seg+seg/2) {
			if _, err := l.Append(context.Background(), recs); err != nil {
				t.Fatal(err)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		t.Logf("SegmentSize %d MiB: heap in use %.1f MiB", seg>>20, float64(after.HeapAlloc-before.HeapAlloc)/(1<<20))
		l.Close()
	}
}
