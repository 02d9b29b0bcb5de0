//go:build linux && amd64

package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"testing"
	"time"
)

// BenchmarkFsyncFiles asks whether fsyncs of different files serialize on
// this file system, which decides whether durable publishes to several
// partitions could share fsync rounds (workload 2a). Each iteration
// appends 117 bytes (one encoded 100-byte record) to each of files files
// and makes them durable, then reports the mean time of one fsync (us/sync)
// and of one round, the time a caller waits when its write needs every
// file of the round synced (us/round). Strategies:
//
//   - parallel: one goroutine per file, each writing and fsyncing its own
//     file in a loop, as Brook's per-partition group commit does; a round
//     is counted per fsync;
//   - sequential: one goroutine writes every file, then fsyncs them one
//     after the other;
//   - round: one goroutine writes every file, then fsyncs them all at once
//     (a goroutine each) and waits for the slowest, as a broker-wide
//     commit round would;
//   - syncfs: one goroutine writes every file, then makes the whole file
//     system durable with one syncfs(2).
//
// files=1 is the lone fsync. Run it alone, the figures swing with the
// machine's other disk traffic:
//
//	go test -run '^$' -bench FsyncFiles -benchtime 400x ./internal/bench/
func BenchmarkFsyncFiles(b *testing.B) {
	for _, n := range []int{1, 8} {
		for _, s := range []string{"parallel", "sequential", "round", "syncfs"} {
			if n == 1 && s != "parallel" {
				continue
			}
			b.Run(fmt.Sprintf("files=%d/%s", n, s), func(b *testing.B) {
				files := openFsyncFiles(b, n)
				fn := fsyncRoundFuncs[s]
				var rounds []time.Duration
				b.ResetTimer()
				if s == "parallel" {
					rounds = fsyncParallel(b, files)
				} else {
					for b.Loop() {
						start := time.Now()
						if err := fn(files); err != nil {
							b.Fatal(err)
						}
						rounds = append(rounds, time.Since(start))
					}
				}
				b.StopTimer()
				syncs := len(rounds)
				if s != "parallel" { // a round makes every file durable
					syncs *= n
				}
				var total time.Duration
				for _, d := range rounds {
					total += d
				}
				b.ReportMetric(float64(total.Microseconds())/float64(len(rounds)), "us/round")
				slices.Sort(rounds)
				b.ReportMetric(float64(rounds[len(rounds)/2].Microseconds()), "p50-us/round")
				b.ReportMetric(float64(syncs)/b.Elapsed().Seconds(), "files-synced/s")
			})
		}
	}
}

// sysSyncfs is syncfs(2)'s number on linux/amd64 (package syscall does
// not name it).
const sysSyncfs = 306

// entry is what each write appends: one encoded 100-byte record.
var entry = make([]byte, 117)

func openFsyncFiles(b *testing.B, n int) []*os.File {
	dir := b.TempDir()
	files := make([]*os.File, n)
	for i := range files {
		f, err := os.OpenFile(filepath.Join(dir, fmt.Sprint(i)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { f.Close() })
		files[i] = f
	}
	return files
}

// fsyncParallel runs b.N write+fsync rounds on each file, a goroutine per
// file, and returns the duration of every one.
func fsyncParallel(b *testing.B, files []*os.File) []time.Duration {
	var mu sync.Mutex
	var all []time.Duration
	errs := make([]error, len(files))
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() {
			lat := make([]time.Duration, 0, b.N)
			for range b.N {
				start := time.Now()
				if _, err := f.Write(entry); err != nil {
					errs[i] = err
					return
				}
				if err := f.Sync(); err != nil {
					errs[i] = err
					return
				}
				lat = append(lat, time.Since(start))
			}
			mu.Lock()
			all = append(all, lat...)
			mu.Unlock()
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			b.Fatal(err)
		}
	}
	return all
}

// fsyncRoundFuncs are the strategies that write every file and then make
// them all durable, once per call.
var fsyncRoundFuncs = map[string]func([]*os.File) error{
	"sequential": func(files []*os.File) error {
		if err := writeAll(files); err != nil {
			return err
		}
		for _, f := range files {
			if err := f.Sync(); err != nil {
				return err
			}
		}
		return nil
	},
	"round": func(files []*os.File) error {
		if err := writeAll(files); err != nil {
			return err
		}
		errs := make([]error, len(files))
		var wg sync.WaitGroup
		for i, f := range files {
			wg.Go(func() { errs[i] = f.Sync() })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return err
			}
		}
		return nil
	},
	"syncfs": func(files []*os.File) error {
		if err := writeAll(files); err != nil {
			return err
		}
		if _, _, e := syscall.Syscall(sysSyncfs, files[0].Fd(), 0, 0); e != 0 {
			return e
		}
		return nil
	},
}

func writeAll(files []*os.File) error {
	for _, f := range files {
		if _, err := f.Write(entry); err != nil {
			return err
		}
	}
	return nil
}
