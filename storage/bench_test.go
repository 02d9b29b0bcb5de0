package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/tidwall/wal"
)

var benchPolicies = []struct {
	name string
	p    SyncPolicy
}{{"always", SyncAlways}, {"interval", SyncInterval}, {"never", SyncNever}}

func benchRecords(n, size int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = Record{Value: make([]byte, size)}
	}
	return recs
}

func reportMsgs(b *testing.B, start time.Time, msgs int) {
	b.ReportMetric(float64(msgs)/time.Since(start).Seconds(), "msgs/s")
}

// BenchmarkAppend measures Append. With batch=1, 64 goroutines append one
// record each (group commit at work); otherwise one caller appends slices
// of the batch size.
func BenchmarkAppend(b *testing.B) {
	const size = 100
	for _, batch := range []int{1, 100, 1000} {
		for _, pol := range benchPolicies {
			name := fmt.Sprintf("size=%dB/batch=%d/sync=%s", size, batch, pol.name)
			b.Run(name, func(b *testing.B) {
				l, err := Open(b.TempDir(), &Options{Sync: pol.p})
				if err != nil {
					b.Fatal(err)
				}
				defer l.Close()
				b.SetBytes(int64(size * batch))
				b.ReportAllocs()
				if batch == 1 {
					benchConcurrentAppend(b, l, size, 64)
					return
				}
				recs := benchRecords(batch, size)
				start := time.Now()
				for b.Loop() {
					for i := range recs {
						recs[i].Timestamp = time.Time{}
					}
					if _, err := l.Append(context.Background(), recs); err != nil {
						b.Fatal(err)
					}
				}
				reportMsgs(b, start, b.N*batch)
			})
		}
	}
}

// benchConcurrentAppend hands each iteration to one of g goroutines that
// append one record synchronously.
func benchConcurrentAppend(b *testing.B, l *Log, size, g int) {
	work := make(chan struct{})
	var wg sync.WaitGroup
	for i := 0; i < g; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			recs := benchRecords(1, size)
			for range work {
				recs[0].Timestamp = time.Time{}
				if _, err := l.Append(context.Background(), recs); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	commits, reqs := commitStats(l)
	start := time.Now()
	for b.Loop() {
		work <- struct{}{}
	}
	close(work)
	wg.Wait()
	reportMsgs(b, start, b.N)
	commits2, reqs2 := commitStats(l)
	b.ReportMetric(float64(reqs2-reqs)/float64(max(commits2-commits, 1)), "reqs/commit")
}

// commitStats returns the number of group commits so far and of the
// requests they held.
func commitStats(l *Log) (commits, reqs uint64) {
	l.walMu.Lock()
	defer l.walMu.Unlock()
	return l.gatherSt.commits, l.gatherSt.reqs
}

// BenchmarkRawWAL is the ceiling: tidwall/wal WriteBatch of 100-byte
// entries, same segment size, with (always) or without (never) an fsync
// per batch. batch=1 is one Write (and fsync) per record.
//
// It also writes entries of the size that a 100-byte record takes once
// encoded in format 1 (size=117B: version, checksum, timestamp and lengths
// added): what tidwall/wal alone costs for the bytes that Append hands it.
// The size stays fixed at format 1's, so that a change of the header shows
// as a gain or a cost against the same ceiling (format 2's batch field
// adds one byte).
func BenchmarkRawWAL(b *testing.B) {
	one := batchPos{first: true}
	encoded := len(appendEntry(nil, &Record{Value: make([]byte, 100), Timestamp: time.Now()})) - uvarintLen(one.field())
	for _, size := range []int{100, encoded} {
		for _, batch := range []int{1, 100, 1000} {
			for _, sync := range []string{"always", "never"} {
				benchRawWAL(b, size, batch, sync)
			}
		}
	}
}

// benchRawWAL is one case of BenchmarkRawWAL.
func benchRawWAL(b *testing.B, size, batch int, sync string) {
	b.Run(fmt.Sprintf("size=%dB/batch=%d/sync=%s", size, batch, sync), func(b *testing.B) {
		w, err := wal.Open(b.TempDir(), &wal.Options{NoSync: true, SegmentSize: defaultSegmentSize,
			SegmentCacheSize: 1, AllowEmpty: true, DirPerms: 0o700, FilePerms: 0o600})
		if err != nil {
			b.Fatal(err)
		}
		defer w.Close()
		b.SetBytes(int64(size * batch))
		b.ReportAllocs()
		data := make([]byte, size)
		var wb wal.Batch
		idx := uint64(1)
		start := time.Now()
		for b.Loop() {
			for i := 0; i < batch; i++ {
				wb.Write(idx, data)
				idx++
			}
			if err := w.WriteBatch(&wb); err != nil {
				b.Fatal(err)
			}
			if sync == "always" {
				if err := w.Sync(); err != nil {
					b.Fatal(err)
				}
			}
		}
		reportMsgs(b, start, b.N*batch)
	})
}

// BenchmarkFileCeiling is what this package's appends would cost without
// tidwall/wal's write path: the same 1000 records encoded with our codec
// and framed as wal frames (a segment file tidwall/wal can open), written
// straight to the file in one write per batch, fsynced per batch when
// sync=always, a new file every SegmentSize bytes. No group commit, index
// or cache: a ceiling for a writer of our own, beside BenchmarkRawWAL's
// ceiling for writing through the wal.
func BenchmarkFileCeiling(b *testing.B) {
	for _, sync := range []string{"always", "never"} {
		b.Run("size=100B/batch=1000/sync="+sync, func(b *testing.B) {
			dir := b.TempDir()
			recs := benchRecords(1000, 100)
			buf := make([]byte, 0, 256<<10)
			var f *os.File
			size, segs := defaultSegmentSize, 0
			b.SetBytes(100 * 1000)
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				if size >= defaultSegmentSize {
					if f != nil {
						if err := errors.Join(f.Sync(), f.Close()); err != nil {
							b.Fatal(err)
						}
					}
					var err error
					if f, err = os.Create(filepath.Join(dir, fmt.Sprintf("%020d", segs))); err != nil {
						b.Fatal(err)
					}
					size, segs = 0, segs+1
				}
				buf = buf[:0]
				now := time.Now().UnixNano()
				for i := range recs {
					bp := batchPos{follow: uint64(len(recs) - 1 - i), first: i == 0}
					n := encodedSize(&recs[i]) - binary.MaxVarintLen64 + varintLen(now) - maxBatchField + uvarintLen(bp.field())
					buf = binary.AppendUvarint(buf, uint64(n))
					buf = appendEntryTS(buf, &recs[i], now, bp)
				}
				if _, err := f.Write(buf); err != nil {
					b.Fatal(err)
				}
				if sync == "always" {
					if err := f.Sync(); err != nil {
						b.Fatal(err)
					}
				}
				size += len(buf)
			}
			reportMsgs(b, start, b.N*1000)
			if err := f.Close(); err != nil {
				b.Fatal(err)
			}
		})
	}
}

// BenchmarkLaggingReaders has three readers, each in a different sealed
// segment, reading 100-byte records forward (1000 per Read) and wrapping
// around within their three-segment region; msgs/s is per reader. With
// appender=on, one goroutine appends batches of 100 at the tail meanwhile.
func BenchmarkLaggingReaders(b *testing.B) {
	l, err := Open(b.TempDir(), &Options{Sync: SyncNever})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	recs := benchRecords(1000, 100)
	for l.Size() < 10*defaultSegmentSize {
		if _, err := l.Append(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
	}
	perSeg := l.NextOffset() * defaultSegmentSize / l.Size()
	for _, bench := range []struct {
		appender string
		into     bool // readers reuse their record slice (ReadInto)
	}{{"off", false}, {"on", false}, {"off", true}, {"on", true}} {
		appender := bench.appender
		name := "appender=" + appender
		if bench.into {
			name += ",ReadInto"
		}
		b.Run(name, func(b *testing.B) {
			stop := make(chan struct{})
			var bg sync.WaitGroup
			if appender == "on" {
				bg.Add(1)
				go func() {
					defer bg.Done()
					benchAppendUntil(b, l, stop)
				}()
			}
			const perIter = 10000
			var pos [3]int64
			var bufs [3][]Record
			b.SetBytes(3 * perIter * 100)
			b.ReportAllocs()
			start := time.Now()
			for b.Loop() {
				var wg sync.WaitGroup
				for r := range pos {
					wg.Add(1)
					go func() {
						defer wg.Done()
						region := int64(r) * 3 * perSeg
						var buf *[]Record
						if bench.into {
							buf = &bufs[r]
						}
						pos[r] = benchReadRegion(b, l, buf, region, region+3*perSeg, pos[r], perIter)
					}()
				}
				wg.Wait()
			}
			b.ReportMetric(float64(b.N*perIter)/time.Since(start).Seconds(), "msgs/s")
			close(stop)
			bg.Wait()
		})
	}
}

// benchReadRegion reads n records from pos (relative to lo) in [lo, hi),
// wrapping around, and returns the next position. With buf not nil it
// reads with ReadInto into *buf.
func benchReadRegion(b *testing.B, l *Log, buf *[]Record, lo, hi, pos int64, n int) int64 {
	for read := 0; read < n; {
		var got []Record
		var err error
		if buf != nil {
			got, err = l.ReadInto(*buf, lo+pos, 1000, 1<<20)
			*buf = got
		} else {
			got, err = l.Read(lo+pos, 1000, 1<<20)
		}
		if err != nil {
			b.Error(err)
			return pos
		}
		read += len(got)
		if pos += int64(len(got)); lo+pos >= hi {
			pos = 0
		}
	}
	return pos
}

// BenchmarkCachedRead reads 100-byte records that are all in the tail
// cache (written in group commits of 1000), 1000 per call, cycling over
// them: the path of consumers that keep up with producers. ReadInto
// reuses the record slice.
func BenchmarkCachedRead(b *testing.B) {
	l, err := Open(b.TempDir(), &Options{Sync: SyncNever, CacheBytes: 16 << 20})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	recs := benchRecords(1000, 100)
	for range 100 {
		if _, err := l.Append(context.Background(), recs); err != nil {
			b.Fatal(err)
		}
	}
	if first := l.cache.first(); first != 0 {
		b.Fatalf("cache starts at %d", first)
	}
	end := l.NextOffset()
	for _, api := range []string{"Read", "ReadInto"} {
		b.Run("api="+api, func(b *testing.B) {
			b.SetBytes(1000 * 100)
			b.ReportAllocs()
			var buf []Record
			pos := int64(0)
			start := time.Now()
			for b.Loop() {
				var got []Record
				if api == "ReadInto" {
					got, err = l.ReadInto(buf, pos, 1000, 1<<20)
					buf = got
				} else {
					got, err = l.Read(pos, 1000, 1<<20)
				}
				if err != nil || len(got) != 1000 {
					b.Fatal(len(got), err)
				}
				if pos += 1000; pos >= end {
					pos = 0
				}
			}
			reportMsgs(b, start, b.N*1000)
		})
	}
}

// benchAppendUntil appends batches of 100 records until stop.
func benchAppendUntil(b *testing.B, l *Log, stop <-chan struct{}) {
	recs := benchRecords(100, 100)
	for {
		select {
		case <-stop:
			return
		default:
		}
		if _, err := l.Append(context.Background(), recs); err != nil {
			b.Error(err)
			return
		}
	}
}

// BenchmarkTruncateFront measures retention of one sealed segment of the
// default size (the appends that fill it are not timed).
func BenchmarkTruncateFront(b *testing.B) {
	l, err := Open(b.TempDir(), &Options{Sync: SyncNever})
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	recs := benchRecords(1000, 100)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		for n := len(segFiles(b, l.Dir())); len(segFiles(b, l.Dir())) < n+1; {
			if _, err := l.Append(context.Background(), recs); err != nil {
				b.Fatal(err)
			}
		}
		b.StartTimer()
		if _, err := l.TruncateFront(l.NextOffset()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAsyncAckLatency paces AppendAsync calls of one 100-byte record
// at a fixed rate under SyncAlways and reports the latency from the call
// to its done callback (p50 and p99, in µs). Each iteration is one record.
func BenchmarkAsyncAckLatency(b *testing.B) {
	for _, rate := range []int{2000, 10000} {
		b.Run(fmt.Sprintf("rate=%d", rate), func(b *testing.B) {
			l, err := Open(b.TempDir(), &Options{Sync: SyncAlways})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			interval := time.Second / time.Duration(rate)
			var mu sync.Mutex
			var lat []time.Duration
			var pending sync.WaitGroup
			next := time.Now()
			for b.Loop() {
				if d := time.Until(next); d > 0 {
					time.Sleep(d)
				}
				next = next.Add(interval)
				start := time.Now()
				pending.Add(1)
				l.AppendAsync(benchRecords(1, 100), func(_ int64, err error) {
					if err != nil {
						b.Error(err)
					}
					d := time.Since(start)
					mu.Lock()
					lat = append(lat, d)
					mu.Unlock()
					pending.Done()
				})
			}
			pending.Wait()
			slices.Sort(lat)
			q := func(p float64) float64 {
				return float64(lat[int(p*float64(len(lat)-1))].Microseconds())
			}
			b.ReportMetric(q(0.50), "p50-µs")
			b.ReportMetric(q(0.99), "p99-µs")
		})
	}
}
