package bench

import (
	"context"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/tidwall/wal"
)

// The ceilings: github.com/tidwall/wal used directly, the way Brook's
// storage uses it (binary format, Options.SegmentSize segments, one
// segment cached, Brook's own fsync after each batch), with nothing of
// Brook on top: no record encoding, no checksum, no group commit, no
// acknowledgement to a caller.

// openRaw opens a tidwall/wal log in dir with Brook's settings.
func openRaw(dir string, segSize int) (*wal.Log, error) {
	return wal.Open(dir, &wal.Options{
		NoSync:           true,
		SegmentSize:      segSize,
		SegmentCacheSize: 1,
		AllowEmpty:       true,
		DirPerms:         0o700,
		FilePerms:        0o600,
	})
}

// rawParallel writes total entries of size bytes to logs WAL logs at once,
// one goroutine per log, in WriteBatch calls of batch entries, with one
// fsync after each batch when fsync is set. It returns entries per second,
// counted from the first write to the last goroutine's end (opening the
// logs is not timed, as opening Brook's topics is not).
func rawParallel(ctx context.Context, dir string, logs, total, size, batch, segSize int, fsync bool) (float64, error) {
	ws := make([]*wal.Log, logs)
	defer func() {
		for _, w := range ws {
			if w != nil {
				w.Close()
			}
		}
	}()
	for i := range ws {
		w, err := openRaw(join(dir, fmt.Sprint(i)), segSize)
		if err != nil {
			return 0, fmt.Errorf("raw wal: %w", err)
		}
		ws[i] = w
	}
	errs := make([]error, logs)
	var wg sync.WaitGroup
	start := time.Now()
	for i, w := range ws {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = rawWriter(ctx, w, share(total, logs, i), size, batch, fsync)
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	for _, err := range errs {
		if err != nil {
			return 0, err
		}
	}
	return float64(total) / elapsed.Seconds(), nil
}

// rawWriter writes n entries to w in batches.
func rawWriter(ctx context.Context, w *wal.Log, n, size, batch int, fsync bool) error {
	data := make([]byte, size)
	var b wal.Batch
	idx := uint64(1)
	for n > 0 {
		if err := ctx.Err(); err != nil {
			return err
		}
		k := min(batch, n)
		for range k {
			b.Write(idx, data)
			idx++
		}
		if err := w.WriteBatch(&b); err != nil {
			return fmt.Errorf("raw wal: write: %w", err)
		}
		if fsync {
			if err := w.Sync(); err != nil {
				return fmt.Errorf("raw wal: sync: %w", err)
			}
		}
		n -= k
	}
	return nil
}

// rawLatency writes one entry of size bytes and fsyncs it, rate times a
// second for d. It returns the time each write+fsync took (service), and
// the time from each write's scheduled start to the end of its fsync
// (open), which also counts the wait behind a previous fsync that ran
// past the next scheduled write, as a queued publish waits.
func rawLatency(ctx context.Context, dir string, rate int, d time.Duration, size, segSize int) (service, open []time.Duration, err error) {
	w, err := openRaw(dir, segSize)
	if err != nil {
		return nil, nil, fmt.Errorf("raw wal: %w", err)
	}
	defer w.Close()
	data := make([]byte, size)
	n := int(d * time.Duration(rate) / time.Second)
	service, open = make([]time.Duration, 0, n), make([]time.Duration, 0, n)
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	err = pace(ctx, rate, n, func(i int) error {
		t := time.Now()
		if err := w.Write(uint64(i)+1, data); err != nil {
			return fmt.Errorf("raw wal: write: %w", err)
		}
		if err := w.Sync(); err != nil {
			return fmt.Errorf("raw wal: sync: %w", err)
		}
		end := time.Now()
		service = append(service, end.Sub(t))
		open = append(open, end.Sub(start.Add(time.Duration(i)*interval)))
		return nil
	})
	return service, open, err
}

// pace calls fn(0) to fn(n-1) at rate calls a second, on schedule: a late
// call is made at once, not skipped (an open loop, so slow calls do not
// hide their own delay).
func pace(ctx context.Context, rate, n int, fn func(i int) error) error {
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		if wait := time.Until(start.Add(time.Duration(i) * interval)); wait > 0 {
			time.Sleep(wait)
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := fn(i); err != nil {
			return err
		}
	}
	return nil
}

// rawCeilingDir returns a fresh directory for one raw measurement.
func (r *runner) rawCeilingDir() (string, func(), error) {
	dir, err := r.tempDir("raw")
	if err != nil {
		return "", nil, err
	}
	return dir, func() { _ = os.RemoveAll(dir) }, nil
}
