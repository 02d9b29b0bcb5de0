package storage

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// syncObserver sums the fsyncs an Observer is told about.
type syncObserver struct {
	n, ns atomic.Int64
}

func (o *syncObserver) ObserveAppend(int, int, time.Duration) {}

func (o *syncObserver) ObserveSync(d time.Duration) {
	o.n.Add(1)
	o.ns.Add(int64(d))
}

// BenchmarkSyncAppendMany is workload 2 of brook bench at the storage
// level: 64 goroutines call Append (SyncAlways, one 100-byte record) in a
// loop, spread evenly over logs logs, each log in its own directory as a
// partition is. Besides msgs/s it reports how many requests a group commit
// served (reqs/commit, at most 64/logs) and the mean fsync (us/fsync):
// with logs=8, that mean against the lone fsync of
// BenchmarkFsyncFiles/files=1 (internal/bench) shows what fsyncs of
// different files in flight at once cost each other.
func BenchmarkSyncAppendMany(b *testing.B) {
	const callers = 64
	for _, logs := range []int{8, 1} {
		b.Run(fmt.Sprintf("logs=%d", logs), func(b *testing.B) {
			dir := b.TempDir()
			obs := &syncObserver{}
			ls := make([]*Log, logs)
			for i := range ls {
				l, err := Open(filepath.Join(dir, strconv.Itoa(i)), &Options{Observer: obs})
				require.NoError(b, err)
				b.Cleanup(func() { l.Close() })
				ls[i] = l
			}
			val := make([]byte, 100)
			var left atomic.Int64
			left.Store(int64(b.N))
			errs := make([]error, callers)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for g := range callers {
				wg.Go(func() {
					l := ls[g%logs]
					for left.Add(-1) >= 0 {
						if _, err := l.Append(context.Background(), []Record{{Value: val}}); err != nil {
							errs[g] = err
							return
						}
					}
				})
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			for _, err := range errs {
				require.NoError(b, err)
			}
			var commits, reqs uint64
			for _, l := range ls {
				c, r := commitStats(l)
				commits += c
				reqs += r
			}
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
			b.ReportMetric(float64(reqs)/float64(max(commits, 1)), "reqs/commit")
			if n := obs.n.Load(); n > 0 {
				b.ReportMetric(float64(obs.ns.Load())/float64(n)/1e3, "us/fsync")
			}
		})
	}
}
