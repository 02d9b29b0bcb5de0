package storage

import (
	"context"
	"encoding/binary"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// seqRecord is record seq of appender g.
func seqRecord(g, seq int) Record {
	v := make([]byte, 8, 8+seq%50)
	binary.BigEndian.PutUint32(v, uint32(g))
	binary.BigEndian.PutUint32(v[4:], uint32(seq))
	return Record{Value: v[:8+seq%50]}
}

func seqOf(t testing.TB, r Record) (g, seq int) {
	require.GreaterOrEqual(t, len(r.Value), 8, "offset %d", r.Offset)
	return int(binary.BigEndian.Uint32(r.Value)), int(binary.BigEndian.Uint32(r.Value[4:]))
}

// TestConcurrent runs synchronous and asynchronous appenders, tail readers,
// lagging readers and retention at once. Every reader checks that offsets
// are contiguous and that each appender's records come in its order.
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, &Options{SegmentSize: 2048, CacheBytes: 4096, Sync: SyncNever})
	const appenders, perAppender = 8, 600
	var wg sync.WaitGroup
	for g := 0; g < appenders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runAppender(t, l, g, perAppender, g%2 == 1)
		}()
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	var read atomic.Int64
	for i := 0; i < 4; i++ {
		readers.Add(2)
		go func() { // a tail follower
			defer readers.Done()
			read.Add(runReader(t, l, stop, l.NextOffset(), 1+i*10))
		}()
		go func() { // a lagging reader
			defer readers.Done()
			read.Add(runReader(t, l, stop, l.FirstOffset(), 0))
		}()
	}
	readers.Add(1)
	go func() {
		defer readers.Done()
		runRetention(t, l, stop, 2000)
	}()
	wg.Wait()
	close(stop)
	readers.Wait()
	require.Equal(t, int64(appenders*perAppender), l.NextOffset())
	assert.Greater(t, read.Load(), int64(0))

	// What retention left is a contiguous suffix.
	recs := readAll(t, l, l.FirstOffset())
	require.NotEmpty(t, recs)
	assert.Equal(t, l.FirstOffset(), recs[0].Offset)
	assertSegmentsMatchDir(t, l)
}

// runAppender appends n records of appender g in batches of 1 to 7.
func runAppender(t *testing.T, l *Log, g, n int, async bool) {
	var pending sync.WaitGroup
	defer pending.Wait()
	for seq := 0; seq < n; {
		recs := make([]Record, 0, 1+seq%7)
		for len(recs) < cap(recs) && seq < n {
			recs = append(recs, seqRecord(g, seq))
			seq++
		}
		if !async {
			_, err := l.Append(context.Background(), recs)
			assert.NoError(t, err)
			continue
		}
		pending.Add(1)
		l.AppendAsync(recs, func(_ int64, err error) {
			assert.NoError(t, err)
			pending.Done()
		})
	}
}

// runReader follows the log from pos until stop, checking order, and
// returns the number of records read.
func runReader(t *testing.T, l *Log, stop <-chan struct{}, pos int64, maxRecords int) int64 {
	last := map[int]int{}
	n := int64(0)
	for {
		ch := l.Notify()
		if pos >= l.NextOffset() {
			select {
			case <-ch:
				continue
			case <-stop:
				return n
			}
		}
		recs, err := l.Read(pos, maxRecords, 512)
		if errors.Is(err, ErrOffsetOutOfRange) { // retention overtook us
			pos = l.FirstOffset()
			clear(last)
			continue
		}
		if !assert.NoError(t, err) {
			return n
		}
		for i, r := range recs {
			assert.Equal(t, pos+int64(i), r.Offset)
			g, seq := seqOf(t, r)
			if prev, ok := last[g]; ok {
				assert.Equal(t, prev+1, seq, "appender %d order", g)
			}
			last[g] = seq
		}
		pos += int64(len(recs))
		n += int64(len(recs))
	}
}

// runRetention keeps about keep records until stop.
func runRetention(t *testing.T, l *Log, stop <-chan struct{}, keep int64) {
	for {
		select {
		case <-stop:
			return
		case <-l.Notify():
		}
		_, err := l.TruncateFront(l.NextOffset() - keep)
		assert.NoError(t, err)
		_, err = l.OffsetForTime(time.Unix(0, 0))
		if !errors.Is(err, ErrOffsetOutOfRange) {
			assert.NoError(t, err)
		}
	}
}

// assertSegmentsMatchDir checks that the segments the log tracks are
// exactly the segment files of its directory, with their sizes.
func assertSegmentsMatchDir(t *testing.T, l *Log) {
	t.Helper()
	l.mu.RLock()
	var tracked []string
	sizes := map[string]int64{}
	for _, s := range l.segs {
		tracked = append(tracked, s.path)
		sizes[s.path] = s.size
	}
	l.mu.RUnlock()
	assert.Equal(t, segFiles(t, l.dir), tracked)
	for p, size := range sizes {
		st, err := os.Stat(p)
		if assert.NoError(t, err) {
			assert.Equal(t, size, st.Size(), filepath.Base(p))
		}
	}
}

// TestSegmentTracking rolls many segments with records of varied sizes
// (some larger than a segment, batches spanning several segments) and
// checks that the tracked segment list matches the directory.
func TestSegmentTracking(t *testing.T) {
	dir := t.TempDir()
	o := &Options{SegmentSize: 700, Sync: SyncNever}
	l := openT(t, dir, o)
	rng := rand.New(rand.NewPCG(7, 7))
	var values [][]byte
	for i := 0; i < 400; {
		n := 1 + rng.IntN(30)
		recs := make([]Record, n)
		for j := range recs {
			v := make([]byte, rng.IntN(100))
			if rng.IntN(50) == 0 {
				v = make([]byte, 700+rng.IntN(900)) // larger than a segment
			}
			for k := range v {
				v[k] = byte(rng.Uint32())
			}
			recs[j] = Record{Value: v}
			values = append(values, v)
		}
		_, err := l.Append(context.Background(), recs)
		require.NoError(t, err)
		i += n
		assertSegmentsMatchDir(t, l)
	}
	require.Greater(t, len(segFiles(t, dir)), 40)
	check := func(l *Log) {
		recs := readAll(t, l, 0)
		require.Len(t, recs, len(values))
		for i, r := range recs {
			require.Equal(t, len(values[i]), len(r.Value))
			if len(values[i]) > 0 {
				require.Equal(t, values[i], r.Value)
			}
		}
	}
	check(l)
	require.NoError(t, l.Close())
	l = openT(t, dir, o)
	assertSegmentsMatchDir(t, l)
	check(l)
	// Reopen with another segment size: the wal seals the oversized tail
	// before the next batch.
	require.NoError(t, l.Close())
	o.SegmentSize = 100
	l = openT(t, dir, o)
	appendN(t, l, len(values), 20)
	assertSegmentsMatchDir(t, l)
}

func TestTruncateFront(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, &Options{SegmentSize: 512})
	for i := 0; i < 200; i += 10 {
		appendN(t, l, i, 10)
	}
	before := l.Size()
	nsegs := len(segFiles(t, dir))
	first, err := l.TruncateFront(100)
	require.NoError(t, err)
	assert.LessOrEqual(t, first, int64(100))
	assert.Greater(t, first, int64(80))
	assert.Less(t, l.Size(), before)
	assert.Less(t, len(segFiles(t, dir)), nsegs)
	assertSegmentsMatchDir(t, l)
	requireRecs(t, readAll(t, l, first), int(first))
	// Never the tail, even past the end.
	first, err = l.TruncateFront(1 << 40)
	require.NoError(t, err)
	assert.Equal(t, l.FirstOffset(), first)
	assert.LessOrEqual(t, first, int64(200))
	require.NoError(t, l.Close())
	l = openT(t, dir, &Options{SegmentSize: 512})
	assert.Equal(t, first, l.FirstOffset())
	assert.Equal(t, int64(200), l.NextOffset())
	requireRecs(t, readAll(t, l, first), int(first))
}

// TestTruncateFrontToSize: records of uneven sizes (large old ones, small
// new ones). For each limit, the segments left hold at least the limit,
// and without the oldest of them would hold less (or only the tail is
// left); the files on disk match.
func TestTruncateFrontToSize(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, &Options{SegmentSize: 4 << 10})
	big, small := make([]Record, 40), make([]Record, 400)
	for i := range big {
		big[i] = Record{Value: make([]byte, 1000)}
	}
	for i := range small {
		small[i] = Record{Value: make([]byte, 20)}
	}
	for _, recs := range [][]Record{big, small} {
		for i := 0; i < len(recs); i += 10 {
			_, err := l.Append(context.Background(), recs[i:i+10])
			require.NoError(t, err)
		}
	}
	fileSizes := func() (sizes []int64, total int64) {
		for _, f := range segFiles(t, dir) {
			st, err := os.Stat(f)
			require.NoError(t, err)
			sizes = append(sizes, st.Size())
			total += st.Size()
		}
		return sizes, total
	}
	for _, limit := range []int64{30 << 10, 20 << 10, 8 << 10, 1 << 10, 0} {
		_, err := l.TruncateFrontToSize(limit)
		require.NoError(t, err)
		sizes, total := fileSizes()
		assert.Equal(t, total, l.Size(), "limit %d", limit)
		if len(sizes) > 1 {
			assert.GreaterOrEqual(t, total, limit, "limit %d: keeps at least the limit", limit)
			assert.Less(t, total-sizes[0], limit, "limit %d: the oldest segment left is needed", limit)
		}
		assertSegmentsMatchDir(t, l)
		recs := readAll(t, l, l.FirstOffset())
		require.Len(t, recs, int(l.NextOffset()-l.FirstOffset()))
		assert.Equal(t, l.FirstOffset(), recs[0].Offset)
	}
	assert.Len(t, segFiles(t, dir), 1, "a limit of 0 leaves only the tail")
	assert.Equal(t, int64(440), l.NextOffset())
}

// TestSyncAlwaysConcurrentCancelClose runs many one-record appenders under
// SyncAlways (where commits gather callers) whose contexts often end
// while they wait, then closes the log under them. Afterwards the log
// holds exactly the acknowledged records, at their offsets.
func TestSyncAlwaysConcurrentCancelClose(t *testing.T) {
	dir := t.TempDir()
	l, err := Open(dir, &Options{SegmentSize: 16 << 10})
	require.NoError(t, err)
	const appenders = 24
	type outcome struct {
		acked     map[int]int64 // seq -> offset
		cancelled map[int]bool
	}
	out := make([]outcome, appenders)
	var wg sync.WaitGroup
	for g := 0; g < appenders; g++ {
		out[g] = outcome{acked: map[int]int64{}, cancelled: map[int]bool{}}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for seq := 0; ; seq++ {
				ctx, cancel := context.Background(), context.CancelFunc(func() {})
				if seq%3 == g%3 {
					ctx, cancel = context.WithTimeout(ctx, time.Duration(seq%7)*50*time.Microsecond)
				}
				first, err := l.Append(ctx, []Record{seqRecord(g, seq)})
				cancel()
				switch {
				case err == nil:
					out[g].acked[seq] = first
				case errors.Is(err, context.DeadlineExceeded):
					out[g].cancelled[seq] = true
				case errors.Is(err, ErrClosed):
					return
				default:
					t.Error(err)
					return
				}
			}
		}()
	}
	time.Sleep(300 * time.Millisecond)
	commits, reqs := commitStats(l)
	require.NoError(t, l.Close())
	wg.Wait()
	cancelled := 0
	for g := range out {
		cancelled += len(out[g].cancelled)
	}
	t.Logf("%d commits of %.1f requests on average, %d appends cancelled", commits, float64(reqs)/float64(max(commits, 1)), cancelled)

	l = openT(t, dir, nil)
	recs := readAll(t, l, 0)
	n := 0
	for g := range out {
		n += len(out[g].acked)
	}
	require.Len(t, recs, n, "exactly the acknowledged records")
	for _, r := range recs {
		g, seq := seqOf(t, r)
		require.False(t, out[g].cancelled[seq], "cancelled append (%d, %d) written", g, seq)
		off, ok := out[g].acked[seq]
		require.True(t, ok, "(%d, %d) not acknowledged", g, seq)
		require.Equal(t, off, r.Offset)
	}
}
