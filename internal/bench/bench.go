// Package bench runs Brook's performance workloads on temporary data
// directories and compares each figure with a ceiling measured in the same
// run: raw github.com/tidwall/wal written the same way (the same number of
// logs in parallel, the same batch and segment size, with and without
// fsync). `brook bench` is its command line.
//
// The machines Brook is measured on are noisy (figures move by ±30% between
// runs), so every workload is repeated Config.Reps times, the table shows
// the median, and every target is a ratio to a ceiling of the same run
// where one applies. Nothing here asserts speed: the test of this package
// only checks that a tiny run produces every row.
package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"time"

	"github.com/brookmq/brook"
)

// Config sizes a run. Zero fields mean the defaults of the mode (full or
// Quick), given with each field as full / quick.
type Config struct {
	// Dir is where the run makes its temporary directory (removed at the
	// end). Default: os.TempDir().
	Dir string `json:"dir,omitempty"`

	// Quick selects small sizes and one repetition: a run of about a
	// minute, for a smoke check. Default: false.
	Quick bool `json:"quick"`

	// Reps is how many times each workload is measured; the table shows
	// the median. Default: 5 / 1.
	Reps int `json:"reps"`

	// RecordSize is the value size of every message, and the entry size
	// of the raw WAL ceiling. Default: 100.
	RecordSize int `json:"record_size"`

	// Partitions is the number of partitions of workloads 1 to 4, and so
	// the number of raw WAL logs written in parallel for the ceilings.
	// Default: 8.
	Partitions int `json:"partitions"`

	// Batch is the raw WAL's batch size, and the chunk of PublishAsync
	// calls a producer goroutine issues between checks of its window.
	// Default: 1000.
	Batch int `json:"batch"`

	// Depth is how many chunks of Batch messages one producer goroutine
	// keeps in flight with PublishAsync (its window is Depth × Batch).
	// Default: 4.
	Depth int `json:"depth"`

	// SegmentSize is Options.SegmentSize of every broker, and the raw
	// WAL's segment size. Default: 4 MiB.
	SegmentSize int `json:"segment_size"`

	// ProduceRecords is the number of messages of one repetition of the
	// produce workloads (1 and 3), over all partitions. Default: 4M / 1M.
	ProduceRecords int `json:"produce_records"`

	// SyncGoroutines is the number of goroutines calling Publish in
	// workload 2. Default: 64.
	SyncGoroutines int `json:"sync_goroutines"`

	// SyncDuration is how long one repetition of workload 2 publishes.
	// Default: 2s / 1s.
	SyncDuration time.Duration `json:"sync_duration_ns"`

	// ConsumeRecords is the size of the full topic of workload 4.
	// Default: 8M / 2M.
	ConsumeRecords int `json:"consume_records"`

	// ConsumeMembers is the size of the group of workload 4. Default: 4.
	ConsumeMembers int `json:"consume_members"`

	// LatencyRate is the paced publish rate of workload 5, in messages per
	// second. Default: 2000.
	LatencyRate int `json:"latency_rate"`

	// LatencyDuration is how long one repetition of workload 5 publishes,
	// per policy. Default: 2s / 1s.
	LatencyDuration time.Duration `json:"latency_duration_ns"`

	// LagGroups is the number of lagging groups of workload 6. Default: 3.
	LagGroups int `json:"lag_groups"`

	// LagRecords is how many messages each lagging group reads; group g
	// starts at offset g × LagRecords, so each starts in its own sealed
	// segment. Default: 1M / 500k.
	LagRecords int `json:"lag_records"`

	// RebalanceMembers and RebalancePartitions size workload 7: one member
	// joins a group of RebalanceMembers over RebalancePartitions
	// partitions. Default: 16 and 256.
	RebalanceMembers    int `json:"rebalance_members"`
	RebalancePartitions int `json:"rebalance_partitions"`

	// RebalancePace is the interval at which workload 7 publishes one
	// message to every partition, which bounds how precisely "delivering
	// again" is seen. Default: 5ms.
	RebalancePace time.Duration `json:"rebalance_pace_ns"`

	// ReopenRecords are the data sizes at which workload 8 reopens its
	// directory, in increasing order (the directory grows from one to the
	// next). Default: [1M 10M] / [1M].
	ReopenRecords []int `json:"reopen_records"`

	// ReopenPartitions is the partition count of workload 8. Default: 64.
	ReopenPartitions int `json:"reopen_partitions"`

	// Workloads selects workloads by number (1-8). Default: all.
	Workloads []int `json:"workloads,omitempty"`

	// ReopenChild, if set, measures one reopen of dir in a fresh process
	// (so that its peak RSS is the reopen's alone), usually by running
	// MeasureReopen there. Default: nil, measure in this process, where
	// peak memory is sampled from the Go heap instead.
	ReopenChild func(ctx context.Context, dir string) (ReopenResult, error) `json:"-"`
}

// withDefaults fills the zero fields for the mode and validates the rest.
func (c Config) withDefaults() (Config, error) {
	full, quick := func(f, q int) int {
		if c.Quick {
			return q
		}
		return f
	}, c.Quick
	setInt := func(p *int, v int) {
		if *p == 0 {
			*p = v
		}
	}
	setDur := func(p *time.Duration, full, q time.Duration) {
		if *p == 0 {
			*p = full
			if quick {
				*p = q
			}
		}
	}
	if c.Dir == "" {
		c.Dir = os.TempDir()
	}
	setInt(&c.Reps, full(5, 1))
	setInt(&c.RecordSize, 100)
	setInt(&c.Partitions, 8)
	setInt(&c.Batch, 1000)
	setInt(&c.Depth, 4)
	setInt(&c.SegmentSize, 4<<20)
	setInt(&c.ProduceRecords, full(4_000_000, 1_000_000))
	setInt(&c.SyncGoroutines, 64)
	setDur(&c.SyncDuration, 2*time.Second, time.Second)
	setInt(&c.ConsumeRecords, full(8_000_000, 2_000_000))
	setInt(&c.ConsumeMembers, 4)
	setInt(&c.LatencyRate, 2000)
	setDur(&c.LatencyDuration, 2*time.Second, time.Second)
	setInt(&c.LagGroups, 3)
	setInt(&c.LagRecords, full(1_000_000, 500_000))
	setInt(&c.RebalanceMembers, 16)
	setInt(&c.RebalancePartitions, 256)
	setDur(&c.RebalancePace, 5*time.Millisecond, 5*time.Millisecond)
	if len(c.ReopenRecords) == 0 {
		c.ReopenRecords = []int{1_000_000, 10_000_000}
		if quick {
			c.ReopenRecords = []int{1_000_000}
		}
	}
	setInt(&c.ReopenPartitions, 64)
	if len(c.Workloads) == 0 {
		c.Workloads = []int{1, 2, 3, 4, 5, 6, 7, 8}
	}
	return c, c.validate()
}

// validate reports a configuration that cannot run.
func (c Config) validate() error {
	for _, n := range []int{c.Reps, c.RecordSize, c.Partitions, c.Batch, c.Depth, c.SegmentSize,
		c.ProduceRecords, c.SyncGoroutines, c.ConsumeRecords, c.ConsumeMembers, c.LatencyRate,
		c.LagGroups, c.LagRecords, c.RebalanceMembers, c.RebalancePartitions, c.ReopenPartitions} {
		if n < 0 {
			return errors.New("bench: negative size in config")
		}
	}
	if c.RecordSize < 16 {
		return errors.New("bench: RecordSize must be at least 16 (latency stamps)")
	}
	if !slices.IsSorted(c.ReopenRecords) {
		return errors.New("bench: ReopenRecords must increase")
	}
	for _, w := range c.Workloads {
		if w < 1 || w > 8 {
			return fmt.Errorf("bench: unknown workload %d (want 1-8)", w)
		}
	}
	return nil
}

// runner carries one run: its configuration, where it writes progress and
// temporary data, and the samples measured so far.
type runner struct {
	cfg   Config
	out   io.Writer
	root  string
	start time.Time
	res   results
}

// Run measures the workloads of cfg and returns the report. It writes a
// line of progress to progress (which may be nil) as each measurement
// ends, and every few seconds during long preparations. It stops early,
// returning ctx's error, when ctx ends. Temporary data goes under cfg.Dir
// and is removed before Run returns.
func Run(ctx context.Context, cfg Config, progress io.Writer) (Report, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return Report{}, err
	}
	if progress == nil {
		progress = io.Discard
	}
	root, err := os.MkdirTemp(c.Dir, "brook-bench-")
	if err != nil {
		return Report{}, fmt.Errorf("bench: temporary directory: %w", err)
	}
	defer os.RemoveAll(root)
	r := &runner{cfg: c, out: progress, root: root, start: time.Now()}
	r.logf("brook bench: %d repetition(s), %d-byte records, %d partitions, segments of %d MiB, GOMAXPROCS=%d, data in %s",
		c.Reps, c.RecordSize, c.Partitions, c.SegmentSize>>20, runtime.GOMAXPROCS(0), root)
	steps := []struct {
		n  int
		fn func(context.Context) error
	}{
		{1, r.produceDurable}, {2, r.produceSyncMany}, {3, r.produceUnsynced}, {4, r.consumeGroup},
		{5, r.latency}, {6, r.laggingGroups}, {7, r.rebalance}, {8, r.reopen},
	}
	for _, s := range steps {
		if !slices.Contains(c.Workloads, s.n) {
			continue
		}
		if err := s.fn(ctx); err != nil {
			return Report{}, fmt.Errorf("bench: workload %d: %w", s.n, err)
		}
	}
	return r.report(), nil
}

// logf writes one line of progress, stamped with the time since the start.
func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.out, "[%6.1fs] %s\n", time.Since(r.start).Seconds(), fmt.Sprintf(format, args...))
}

// tempDir returns a new, empty directory for one measurement.
func (r *runner) tempDir(name string) (string, error) {
	return os.MkdirTemp(r.root, name+"-")
}

// openBroker opens a broker on dir with the run's segment size and policy.
func (r *runner) openBroker(dir string, sync brook.SyncPolicy) (*brook.Broker, error) {
	return brook.Open(dir, &brook.Options{Sync: sync, SegmentSize: r.cfg.SegmentSize})
}

// scratchBroker opens a broker on a fresh temporary directory named after
// the workload; done closes it and removes the directory.
func (r *runner) scratchBroker(name string, sync brook.SyncPolicy) (b *brook.Broker, done func(), err error) {
	dir, err := r.tempDir(name)
	if err != nil {
		return nil, nil, err
	}
	b, err = r.openBroker(dir, sync)
	if err != nil {
		removeAll(dir)
		return nil, nil, err
	}
	return b, func() { b.Close(); removeAll(dir) }, nil
}

// ticker calls fn every interval until the returned stop function is
// called; it is used to show progress during long preparations.
func ticker(interval time.Duration, fn func()) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				fn()
			case <-done:
				return
			}
		}
	}()
	return func() { close(done); <-finished }
}

// waitFor waits for ch to close, ctx to end, or the timeout.
func waitFor(ctx context.Context, ch <-chan struct{}, timeout time.Duration, what string) error {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return fmt.Errorf("timed out after %v waiting for %s", timeout, what)
	}
}

// share is part i's share of total split over n parts.
func share(total, n, i int) int {
	s := total / n
	if i < total%n {
		s++
	}
	return s
}

// removeAll removes a measurement's directory; a failure only costs disk.
func removeAll(dir string) { _ = os.RemoveAll(dir) }

// join is filepath.Join, short.
func join(elem ...string) string { return filepath.Join(elem...) }
