package bench

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"runtime/metrics"
	"sync"
	"time"

	"github.com/brookmq/brook"
)

// ReopenResult is one measurement of opening a data directory.
type ReopenResult struct {
	// OpenSeconds is how long brook.Open took.
	OpenSeconds float64 `json:"open_s"`
	// PeakRSSBytes is the peak resident memory of the process that
	// opened the directory (0 when it could not be measured, or when the
	// process did other work before, as in-process measurements do).
	PeakRSSBytes int64 `json:"peak_rss_bytes"`
	// PeakHeapBytes is the largest Go heap (live and not yet collected
	// objects) sampled every millisecond during Open.
	PeakHeapBytes int64 `json:"peak_heap_bytes"`
	// HeapAfterBytes is the live heap once Open has returned, after a
	// garbage collection: what an open broker keeps.
	HeapAfterBytes int64 `json:"heap_after_bytes"`
}

// MeasureReopen opens the broker in dir, measures the time Open takes and
// the memory it uses, and closes it. Run it in a fresh process (see
// Config.ReopenChild) for PeakRSSBytes to mean the reopen alone.
func MeasureReopen(dir string) (ReopenResult, error) {
	runtime.GC()
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	read := func() {
		metrics.Read(sample)
		if v := sample[0].Value; v.Kind() == metrics.KindUint64 {
			peak = max(peak, v.Uint64())
		}
	}
	read()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				read()
			case <-done:
				return
			}
		}
	}()
	start := time.Now()
	b, err := brook.Open(dir, nil)
	elapsed := time.Since(start)
	close(done)
	wg.Wait()
	if err != nil {
		return ReopenResult{}, err
	}
	read()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res := ReopenResult{
		OpenSeconds:    elapsed.Seconds(),
		PeakRSSBytes:   peakRSS(),
		PeakHeapBytes:  int64(peak),
		HeapAfterBytes: int64(ms.HeapAlloc),
	}
	return res, b.Close()
}

// reopenSize is workload 8's measurements at one data size.
type reopenSize struct {
	Records int            `json:"records"`
	Reps    []ReopenResult `json:"reps"`
}

// reopen is workload 8: a directory with one topic of ReopenPartitions
// partitions grows through the sizes of ReopenRecords; at each size the
// broker is closed and opened again Reps times. The page cache is warm
// (the data was just written); a cold open reads the same bytes from disk.
func (r *runner) reopen(ctx context.Context) error {
	c := r.cfg
	dir, err := r.tempDir("reopen")
	if err != nil {
		return err
	}
	defer removeAll(dir)
	written := 0
	for _, size := range c.ReopenRecords {
		if err := r.growReopen(ctx, dir, size-written); err != nil {
			return err
		}
		written = size
		rs := reopenSize{Records: size}
		for rep := 1; rep <= c.Reps; rep++ {
			res, err := r.measureReopen(ctx, dir)
			if err != nil {
				return err
			}
			rs.Reps = append(rs.Reps, res)
			r.logf("8 reopen %s records in %d partitions rep %d/%d: %.3f s, peak RSS %s, peak heap %s, heap after %s",
				SI(float64(size)), c.ReopenPartitions, rep, c.Reps, res.OpenSeconds,
				mib(res.PeakRSSBytes), mib(res.PeakHeapBytes), mib(res.HeapAfterBytes))
		}
		r.res.w8 = append(r.res.w8, rs)
	}
	return nil
}

// growReopen publishes n more messages to the reopen topic.
func (r *runner) growReopen(ctx context.Context, dir string, n int) error {
	b, err := r.openBroker(dir, brook.SyncAlways)
	if err != nil {
		return err
	}
	err = r.fillTopic(ctx, b, "reopen", r.cfg.ReopenPartitions, n)
	return errors.Join(err, b.Close())
}

func (r *runner) measureReopen(ctx context.Context, dir string) (ReopenResult, error) {
	if r.cfg.ReopenChild != nil {
		res, err := r.cfg.ReopenChild(ctx, dir)
		if err != nil {
			return res, fmt.Errorf("reopen in a child process: %w", err)
		}
		return res, nil
	}
	res, err := MeasureReopen(dir)
	res.PeakRSSBytes = 0 // this process did other work before: not the reopen's
	return res, err
}

func mib(n int64) string {
	if n == 0 {
		return "-"
	}
	return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
}
