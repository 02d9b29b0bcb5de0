package storage

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// stressRecord is record seq of appender g: its value and optional header
// are derived from (g, seq), so that a reader can check every byte.
func stressRecord(g, seq int) Record {
	n := 8 + (seq*7+g*13)%150
	v := make([]byte, n)
	binary.BigEndian.PutUint32(v, uint32(g))
	binary.BigEndian.PutUint32(v[4:], uint32(seq))
	for i := 8; i < n; i++ {
		v[i] = byte(g*131 + seq*7 + i)
	}
	r := Record{Key: v[:4], Value: v}
	if seq%3 == 0 {
		r.Headers = []Header{{Key: "s", Value: v[4:8]}}
	}
	return r
}

// checkStressRecord reports how r differs from what stressRecord wrote.
func checkStressRecord(r Record) error {
	if len(r.Value) < 8 {
		return fmt.Errorf("offset %d: value of %d bytes", r.Offset, len(r.Value))
	}
	g := int(binary.BigEndian.Uint32(r.Value))
	seq := int(binary.BigEndian.Uint32(r.Value[4:]))
	want := stressRecord(g, seq)
	if !bytes.Equal(r.Value, want.Value) || !bytes.Equal(r.Key, want.Key) ||
		len(r.Headers) != len(want.Headers) ||
		len(r.Headers) == 1 && (r.Headers[0].Key != "s" || !bytes.Equal(r.Headers[0].Value, want.Headers[0].Value)) {
		return fmt.Errorf("offset %d: record (%d, %d) damaged: %+v", r.Offset, g, seq, r)
	}
	return nil
}

// TestTailCacheRecycleStress hunts use-after-recycle of tail cache blocks:
// with a cache of a few group commits, blocks are evicted and recycled for
// new commits all the time while many tail readers copy records out of
// them (Read and ReadInto, in small and large steps). Every reader checks
// every byte of what it gets, and checks again the records of its
// previous call after the next one, so that a block (or a read buffer)
// reused under a reader shows up even when the race detector does not
// see it.
func TestTailCacheRecycleStress(t *testing.T) {
	const appenders, perAppender, readers = 6, 1500, 10
	l := openT(t, t.TempDir(), &Options{SegmentSize: 32 << 10, CacheBytes: 2 << 10, Sync: SyncNever})
	var wg sync.WaitGroup
	for g := 0; g < appenders; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var pending sync.WaitGroup
			defer pending.Wait()
			for seq := 0; seq < perAppender; {
				recs := make([]Record, 0, 1+(seq+g)%9)
				for len(recs) < cap(recs) && seq < perAppender {
					recs = append(recs, stressRecord(g, seq))
					seq++
				}
				if g%3 != 2 {
					if _, err := l.Append(context.Background(), recs); err != nil {
						t.Error(err)
						return
					}
					continue
				}
				pending.Add(1)
				l.AppendAsync(recs, func(_ int64, err error) {
					defer pending.Done()
					if err != nil {
						t.Error(err)
					}
				})
			}
		}()
	}
	end := int64(appenders * perAppender)
	var read atomic.Int64
	var rwg sync.WaitGroup
	for i := 0; i < readers; i++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			read.Add(int64(stressReader(t, l, i, end)))
		}()
	}
	wg.Wait()
	rwg.Wait()
	require.False(t, t.Failed())
	require.Equal(t, end, l.NextOffset())
	require.Greater(t, read.Load(), int64(readers)*end/2)
	all := readAll(t, l, 0)
	require.Len(t, all, int(end))
	for _, r := range all {
		require.NoError(t, checkStressRecord(r))
	}
}

// stressReader follows the log from its start to end. Reader i uses
// ReadInto when i is odd and varies its limits with i.
func stressReader(t *testing.T, l *Log, i int, end int64) int {
	maxRecords := []int{1, 3, 50, 0}[i%4]
	maxBytes := []int{64, 700, 0}[i%3]
	var buf, kept []Record
	last := map[int]int{}
	pos := int64(0)
	n := 0
	for pos < end {
		ch := l.Notify()
		if l.NextOffset() <= pos {
			<-ch
			continue
		}
		var recs []Record
		var err error
		if i%2 == 1 {
			recs, err = l.ReadInto(buf, pos, maxRecords, maxBytes)
			buf = recs
		} else {
			recs, err = l.Read(pos, maxRecords, maxBytes)
		}
		if err != nil || len(recs) == 0 {
			t.Errorf("reader %d at %d: %d records, %v", i, pos, len(recs), err)
			return n
		}
		for k, r := range kept { // the previous call's records are intact
			if err := checkStressRecord(r); err != nil {
				t.Errorf("reader %d, kept record %d: %v", i, k, err)
				return n
			}
		}
		for k, r := range recs {
			if r.Offset != pos+int64(k) {
				t.Errorf("reader %d: offset %d at %d", i, r.Offset, pos+int64(k))
				return n
			}
			if err := checkStressRecord(r); err != nil {
				t.Errorf("reader %d: %v", i, err)
				return n
			}
			g := int(binary.BigEndian.Uint32(r.Value))
			seq := int(binary.BigEndian.Uint32(r.Value[4:]))
			if prev, ok := last[g]; ok && seq != prev+1 {
				t.Errorf("reader %d: appender %d: seq %d after %d", i, g, seq, prev)
				return n
			}
			last[g] = seq
		}
		kept = append(kept[:0], recs...) // copies of the Record values
		pos += int64(len(recs))
		n += len(recs)
	}
	return n
}

// TestReadInto checks that ReadInto reuses dst's capacity, never the
// bytes of records it returned before, and returns dst[:0] on error.
func TestReadInto(t *testing.T) {
	for _, cache := range []int{0, 1} { // default cache; no cache (file reads)
		l := openT(t, t.TempDir(), &Options{CacheBytes: cache})
		appendN(t, l, 0, 20)
		dst := make([]Record, 3, 64)
		got, err := l.ReadInto(dst, 0, 10, 0)
		require.NoError(t, err)
		require.Len(t, got, 10)
		require.Same(t, &dst[0], &got[0], "capacity reused")
		requireRecs(t, got, 0)
		kept := append([]Record(nil), got...)
		got, err = l.ReadInto(got, 10, 0, 0)
		require.NoError(t, err)
		require.Same(t, &dst[0], &got[0])
		requireRecs(t, got, 10)
		requireRecs(t, kept, 0) // their bytes were not reused

		got, err = l.ReadInto(got, 20, 0, 0)
		require.NoError(t, err)
		require.Empty(t, got)
		got, err = l.ReadInto(dst, 21, 0, 0)
		require.True(t, errors.Is(err, ErrOffsetOutOfRange), "%v", err)
		require.Empty(t, got)
		got, err = l.ReadInto(make([]Record, 0, 1), 5, 0, 0) // grows
		require.NoError(t, err)
		requireRecs(t, got, 5)
		require.Len(t, got, 15)
	}
}
