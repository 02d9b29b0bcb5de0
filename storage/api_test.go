package storage

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadOffsetErrors(t *testing.T) {
	l := openT(t, t.TempDir(), &Options{SegmentSize: 512})
	for i := 0; i < 100; i += 10 {
		appendN(t, l, i, 10)
	}
	first, err := l.TruncateFront(50)
	require.NoError(t, err)
	require.Greater(t, first, int64(0))
	require.LessOrEqual(t, first, int64(50))
	assert.Equal(t, first, l.FirstOffset())

	for _, from := range []int64{-1, 0, first - 1, 101, 1 << 40} {
		recs, err := l.Read(from, 0, 0)
		assert.Nil(t, recs)
		var oe *OffsetError
		require.ErrorAs(t, err, &oe, "from %d", from)
		assert.ErrorIs(t, err, ErrOffsetOutOfRange)
		assert.Equal(t, OffsetError{Offset: from, First: first, Next: 100}, *oe)
		assert.Contains(t, err.Error(), "99")
	}
	recs, err := l.Read(100, 0, 0)
	assert.NoError(t, err)
	assert.Nil(t, recs)
	recs, err = l.Read(first, 0, 0)
	require.NoError(t, err)
	requireRecs(t, recs, int(first))
}

func TestReadLimits(t *testing.T) {
	l := openT(t, t.TempDir(), &Options{SegmentSize: 1 << 20, CacheBytes: 1})
	appendN(t, l, 0, 300)
	recs, err := l.Read(10, 7, 0)
	require.NoError(t, err)
	assert.Len(t, recs, 7)
	requireRecs(t, recs, 10)
	recs, err = l.Read(10, 0, 1) // always at least one record
	require.NoError(t, err)
	assert.Len(t, recs, 1)
	recs, err = l.Read(10, 0, 500) // about 500 bytes of ~47-byte records
	require.NoError(t, err)
	assert.InDelta(t, 11, len(recs), 1)
	requireRecs(t, recs, 10)
}

func TestRecordTooLarge(t *testing.T) {
	l := openT(t, t.TempDir(), &Options{MaxRecordSize: 100})
	appendN(t, l, 0, 1)
	recs := []Record{{Value: make([]byte, 50)}, {Value: make([]byte, 101)}}
	_, err := l.Append(context.Background(), recs)
	assert.ErrorIs(t, err, ErrRecordTooLarge)
	errc := make(chan error, 1)
	l.AppendAsync(recs, func(_ int64, err error) { errc <- err })
	assert.ErrorIs(t, <-errc, ErrRecordTooLarge)
	assert.Equal(t, int64(1), l.NextOffset(), "all or nothing")
	appendN(t, l, 1, 1)
}

// TestEncodedSize: a record that EncodedSize puts exactly at
// MaxRecordSize is accepted, one byte more is not, and the log grows by the
// entry plus the wal's one-byte length prefix.
func TestEncodedSize(t *testing.T) {
	r := Record{Key: []byte("k"), Value: make([]byte, 100), Timestamp: time.Unix(1700000000, 0),
		Headers: []Header{{Key: "h", Value: []byte("v")}}}
	n := EncodedSize(&r)
	l := openT(t, t.TempDir(), &Options{MaxRecordSize: n})
	_, err := l.Append(context.Background(), []Record{r})
	require.NoError(t, err)
	// The batch field of a batch of one takes one byte; EncodedSize counts
	// it at its largest, maxBatchField.
	assert.Equal(t, int64(n+1-(maxBatchField-1)), l.Size())
	r.Value = append(r.Value, 0)
	_, err = l.Append(context.Background(), []Record{r})
	assert.ErrorIs(t, err, ErrRecordTooLarge)
	zero := Record{Value: make([]byte, 100)}
	// version 1, checksum 4, batch field at most 5, timestamp at most 10,
	// three one-byte lengths, value 100
	assert.Equal(t, 123, EncodedSize(&zero), "a zero timestamp counts at its largest")
}

func TestClosed(t *testing.T) {
	l, err := Open(t.TempDir(), nil)
	require.NoError(t, err)
	appendN(t, l, 0, 3)
	ch := l.Notify()
	require.NoError(t, l.Close())
	require.NoError(t, l.Close(), "Close twice is fine")
	<-ch // closed by Close

	_, err = l.Append(context.Background(), []Record{rec(0)})
	assert.ErrorIs(t, err, ErrClosed)
	_, err = l.Append(context.Background(), nil)
	assert.ErrorIs(t, err, ErrClosed)
	called := 0
	l.AppendAsync([]Record{rec(0)}, func(first int64, err error) {
		called++
		assert.Equal(t, int64(-1), first)
		assert.ErrorIs(t, err, ErrClosed)
	})
	assert.Equal(t, 1, called)
	_, err = l.Read(0, 0, 0)
	assert.ErrorIs(t, err, ErrClosed)
	assert.ErrorIs(t, l.Sync(), ErrClosed)
	_, err = l.TruncateFront(1)
	assert.ErrorIs(t, err, ErrClosed)
	_, err = l.OffsetForTime(time.Now())
	assert.ErrorIs(t, err, ErrClosed)
	<-l.Notify()
	assert.Equal(t, int64(3), l.NextOffset())
}

func TestNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for _, p := range []SyncPolicy{SyncAlways, SyncInterval, SyncNever} {
		l, err := Open(t.TempDir(), &Options{Sync: p, SyncInterval: time.Millisecond})
		require.NoError(t, err)
		appendN(t, l, 0, 10)
		_, err = l.Read(0, 0, 0)
		require.NoError(t, err)
		require.NoError(t, l.Close())
	}
	// A goroutine that has closed writerDone may take a moment to exit.
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	if !assert.LessOrEqual(t, runtime.NumGoroutine(), before) {
		buf := make([]byte, 1<<20)
		t.Logf("%s", buf[:runtime.Stack(buf, true)])
	}
}

func TestLocked(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, nil)
	_, err := Open(dir, nil)
	assert.ErrorIs(t, err, ErrLocked)
	require.NoError(t, l.Close())
	l2 := openT(t, dir, nil)
	require.NoError(t, l2.Close())
}

func TestAppendContext(t *testing.T) {
	l := openT(t, t.TempDir(), nil)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := l.Append(ctx, []Record{rec(0)})
	assert.ErrorIs(t, err, context.Canceled)
	assert.Equal(t, int64(0), l.NextOffset())
}

func TestAppendSetsOffsetsAndTimestamps(t *testing.T) {
	l := openT(t, t.TempDir(), nil)
	before := time.Now()
	recs := []Record{{Value: []byte("a")}, {Value: []byte("b"), Timestamp: time.Unix(5, 6)}}
	first, err := l.Append(context.Background(), recs)
	require.NoError(t, err)
	assert.Equal(t, int64(0), first)
	assert.Equal(t, []int64{0, 1}, []int64{recs[0].Offset, recs[1].Offset})
	assert.False(t, recs[0].Timestamp.Before(before))
	got, err := l.Read(0, 0, 0)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, recs[0].Timestamp.UnixNano(), got[0].Timestamp.UnixNano())
	assert.Equal(t, int64(5_000_000_006), got[1].Timestamp.UnixNano())
}

// TestTimestampSetAtCommit checks that zero timestamps are set by the time
// Append returns or AppendAsync's done runs, and that the size limit is
// exact for a record with a zero timestamp.
func TestTimestampSetAtCommit(t *testing.T) {
	const limit = 100
	l := openT(t, t.TempDir(), &Options{MaxRecordSize: limit})
	before := time.Now()
	probe := Record{Timestamp: before}
	fit := make([]byte, limit-encodedSize(&probe)) // exactly at the limit
	recs := []Record{{Value: fit}}
	_, err := l.Append(context.Background(), recs)
	require.NoError(t, err)
	assert.False(t, recs[0].Timestamp.Before(before))
	_, err = l.Append(context.Background(), []Record{{Value: append(fit, 0)}})
	assert.ErrorIs(t, err, ErrRecordTooLarge)

	async := []Record{{Value: []byte("a")}, {Value: []byte("b")}}
	done := make(chan time.Time, 1)
	l.AppendAsync(async, func(_ int64, err error) {
		assert.NoError(t, err)
		assert.Equal(t, async[0].Timestamp, async[1].Timestamp, "one clock read per commit")
		done <- async[0].Timestamp
	})
	ts := <-done
	assert.False(t, ts.Before(recs[0].Timestamp))
	assert.False(t, time.Now().Before(ts))
	got, err := l.Read(1, 0, 0)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, ts.UnixNano(), got[0].Timestamp.UnixNano())
}

// TestReturnedSlicesAreOwned mutates what Append took and what Read
// returned, and checks that the log is not affected.
func TestReturnedSlicesAreOwned(t *testing.T) {
	for _, cache := range []int{0, 1} { // default cache; no cache (file reads)
		l := openT(t, t.TempDir(), &Options{CacheBytes: cache})
		recs := []Record{rec(0), rec(1)}
		_, err := l.Append(context.Background(), recs)
		require.NoError(t, err)
		recs[0].Value[0] = 'X'
		got, err := l.Read(0, 0, 0)
		require.NoError(t, err)
		requireRecs(t, got, 0)
		for i := range got {
			clear(got[i].Value)
			clear(got[i].Key)
			got[i].Headers[0].Value[0] = 99
		}
		got, err = l.Read(0, 0, 0)
		require.NoError(t, err)
		requireRecs(t, got, 0)
	}
}

func TestNotify(t *testing.T) {
	l := openT(t, t.TempDir(), nil)
	ch := l.Notify()
	select {
	case <-ch:
		t.Fatal("notified before any append")
	default:
	}
	done := make(chan int64)
	go func() { // a tail reader
		pos := int64(0)
		for pos < 5 {
			ch := l.Notify()
			if l.NextOffset() > pos {
				recs, err := l.Read(pos, 0, 0)
				assert.NoError(t, err)
				pos += int64(len(recs))
				continue
			}
			<-ch
		}
		done <- pos
	}()
	for i := 0; i < 5; i++ {
		appendN(t, l, i, 1)
	}
	assert.Equal(t, int64(5), <-done)
	<-ch
}

func TestOffsetForTime(t *testing.T) {
	dir := t.TempDir()
	l := openT(t, dir, &Options{SegmentSize: 64})
	ts := []int64{10, 20, 15, 30, 25, 40, 5, 50, 45, 60, 55, 70}
	for i, v := range ts {
		_, err := l.Append(context.Background(), []Record{{Value: []byte{byte(i)}, Timestamp: time.Unix(0, v)}})
		require.NoError(t, err)
	}
	want := func(target int64) int64 {
		for i, v := range ts {
			if v >= target {
				return int64(i)
			}
		}
		return int64(len(ts))
	}
	check := func(l *Log) {
		for target := int64(0); target <= 75; target++ {
			got, err := l.OffsetForTime(time.Unix(0, target))
			require.NoError(t, err)
			assert.Equal(t, want(target), got, "t=%d", target)
		}
	}
	check(l)
	require.NoError(t, l.Close())
	l = openT(t, dir, &Options{SegmentSize: 64})
	require.Greater(t, len(segFiles(t, dir)), 2)
	check(l) // sealed segments indexed lazily
}

func TestEmptyLog(t *testing.T) {
	l := openT(t, t.TempDir(), nil)
	assert.Equal(t, int64(0), l.FirstOffset())
	assert.Equal(t, int64(0), l.NextOffset())
	recs, err := l.Read(0, 0, 0)
	assert.NoError(t, err)
	assert.Nil(t, recs)
	off, err := l.OffsetForTime(time.Now())
	assert.NoError(t, err)
	assert.Equal(t, int64(0), off)
	first, err := l.TruncateFront(10)
	assert.NoError(t, err)
	assert.Equal(t, int64(0), first)
	require.NoError(t, l.Sync())
}

func TestInvalidOptions(t *testing.T) {
	_, err := Open(t.TempDir(), &Options{SegmentSize: -1})
	assert.Error(t, err)
	_, err = Open(t.TempDir(), &Options{Sync: 9})
	assert.Error(t, err)
	assert.False(t, errors.Is(err, ErrClosed))
}

// TestAsyncOrder mixes AppendAsync and Append from one goroutine: offsets
// follow call order and callbacks come in order.
func TestAsyncOrder(t *testing.T) {
	l := openT(t, t.TempDir(), nil)
	var got []int64
	done := make(chan struct{})
	const n = 200
	for i := 0; i < n; i++ {
		if i%3 == 0 {
			first, err := l.Append(context.Background(), []Record{rec(i)})
			require.NoError(t, err)
			assert.Equal(t, int64(i), first)
			continue
		}
		l.AppendAsync([]Record{rec(i)}, func(first int64, err error) {
			assert.NoError(t, err)
			got = append(got, first) // callbacks are serialized
			if first == n-1 {
				close(done)
			}
		})
	}
	<-done
	for i := 1; i < len(got); i++ {
		assert.Less(t, got[i-1], got[i])
	}
	requireRecs(t, readAll(t, l, 0), 0)
}
