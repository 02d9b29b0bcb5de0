//go:build linux

package bench

import (
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFsyncStrategies asks whether durable latency (workload 5b) could
// beat "wait for the fsync in flight, then for your own" on this disk. A
// writer publishes 100-byte messages at 2000/s, open loop, for 3 s per
// iteration; each message's latency runs from its scheduled time to the
// end of the fsync that covers it. Strategies:
//
//   - serial: one committer writes everything pending and fsyncs, as
//     Brook's group commit does;
//   - overlapped: each message is written (under a lock) and fsynced by its
//     own goroutine, so fsyncs overlap;
//   - prezeroed: as serial, but into a file pre-filled with zeros and
//     synced, overwritten in place and made durable with fdatasync, so no
//     fsync has to commit a size change.
//
// Run it alone: go test -run '^$' -bench FsyncStrategies -benchtime 3x ./internal/bench/
func BenchmarkFsyncStrategies(b *testing.B) {
	for _, s := range []string{"serial", "overlapped", "prezeroed"} {
		b.Run(s, func(b *testing.B) {
			var all []time.Duration
			for b.Loop() {
				lat, err := pacedFsync(filepath.Join(b.TempDir(), "data"), s, 2000, 6000)
				if err != nil {
					b.Fatal(err)
				}
				all = append(all, lat...)
			}
			slices.Sort(all)
			ms := func(q float64) float64 { return float64(all[int(q*float64(len(all)-1))]) / 1e6 }
			b.ReportMetric(ms(0.5), "p50-ms")
			b.ReportMetric(ms(0.99), "p99-ms")
			b.ReportMetric(ms(1), "max-ms")
		})
	}
}

// pacedFsync writes n messages at rate a second into a new file at path
// with the given strategy and returns each one's latency.
func pacedFsync(path, strategy string, rate, n int) ([]time.Duration, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if strategy == "prezeroed" {
		if _, err := f.Write(make([]byte, n*100+1<<20)); err != nil {
			return nil, err
		}
		if err := f.Sync(); err != nil {
			return nil, err
		}
	}
	c := &fsyncCommitter{f: f, strategy: strategy, lat: make([]time.Duration, n), sched: make([]time.Time, n)}
	c.cond = sync.NewCond(&c.mu)
	if strategy != "overlapped" {
		go c.run()
	}
	interval := time.Second / time.Duration(rate)
	start := time.Now()
	for i := range n {
		at := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(at))
		c.sched[i] = at
		c.wg.Add(1)
		if strategy == "overlapped" {
			go c.writeAndSync(i)
			continue
		}
		c.mu.Lock()
		c.pending = append(c.pending, i)
		c.cond.Signal()
		c.mu.Unlock()
	}
	c.wg.Wait()
	c.mu.Lock()
	c.stop = true
	c.cond.Signal()
	c.mu.Unlock()
	return c.lat, c.firstErr()
}

// fsyncCommitter is the state of one pacedFsync run.
type fsyncCommitter struct {
	f        *os.File
	strategy string
	lat      []time.Duration
	sched    []time.Time
	wg       sync.WaitGroup

	mu      sync.Mutex
	cond    *sync.Cond
	pending []int
	stop    bool
	off     int64
	err     error
}

var fsyncMessage = make([]byte, 100)

// run is the serial and prezeroed committer.
func (c *fsyncCommitter) run() {
	for {
		c.mu.Lock()
		for len(c.pending) == 0 && !c.stop {
			c.cond.Wait()
		}
		if len(c.pending) == 0 {
			c.mu.Unlock()
			return
		}
		batch := c.pending
		c.pending = nil
		c.mu.Unlock()
		var err error
		for range batch {
			if c.strategy == "prezeroed" {
				_, err = c.f.WriteAt(fsyncMessage, c.off)
				c.off += int64(len(fsyncMessage))
			} else {
				_, err = c.f.Write(fsyncMessage)
			}
		}
		if err == nil && c.strategy == "prezeroed" {
			err = syscall.Fdatasync(int(c.f.Fd()))
		} else if err == nil {
			err = c.f.Sync()
		}
		c.done(batch, err)
	}
}

// writeAndSync is the overlapped strategy for message i.
func (c *fsyncCommitter) writeAndSync(i int) {
	c.mu.Lock()
	_, err := c.f.Write(fsyncMessage)
	c.mu.Unlock()
	if err == nil {
		err = c.f.Sync()
	}
	c.done([]int{i}, err)
}

func (c *fsyncCommitter) done(msgs []int, err error) {
	now := time.Now()
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	for _, i := range msgs {
		c.lat[i] = now.Sub(c.sched[i])
	}
	c.mu.Unlock()
	for range msgs {
		c.wg.Done()
	}
}

func (c *fsyncCommitter) firstErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
