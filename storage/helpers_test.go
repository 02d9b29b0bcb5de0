package storage

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// openT opens a log in dir and closes it at the end of the test.
func openT(t testing.TB, dir string, o *Options) *Log {
	t.Helper()
	l, err := Open(dir, o)
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	return l
}

// rec builds a test record whose value identifies offset i.
func rec(i int) Record {
	return Record{
		Key:       []byte(fmt.Sprintf("k%d", i)),
		Value:     []byte(fmt.Sprintf("value-%08d-%s", i, "payload")),
		Headers:   []Header{{Key: "h", Value: []byte{byte(i)}}},
		Timestamp: time.Unix(1700000000, int64(i)),
	}
}

func appendN(t testing.TB, l *Log, from, n int) {
	t.Helper()
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = rec(from + i)
	}
	first, err := l.Append(context.Background(), recs)
	require.NoError(t, err)
	require.Equal(t, int64(from), first)
}

// readAll reads [from, NextOffset()).
func readAll(t testing.TB, l *Log, from int64) []Record {
	t.Helper()
	var out []Record
	for from < l.NextOffset() {
		recs, err := l.Read(from, 0, 0)
		require.NoError(t, err)
		require.NotEmpty(t, recs)
		out = append(out, recs...)
		from = recs[len(recs)-1].Offset + 1
	}
	return out
}

func requireRecs(t testing.TB, recs []Record, from int) {
	t.Helper()
	for i, r := range recs {
		want := rec(from + i)
		require.Equal(t, int64(from+i), r.Offset)
		require.Equal(t, want.Key, r.Key)
		require.Equal(t, want.Value, r.Value, "offset %d", r.Offset)
		require.Equal(t, want.Headers, r.Headers)
		require.Equal(t, want.Timestamp.UnixNano(), r.Timestamp.UnixNano())
	}
}

// segFiles lists the segment files of dir, sorted.
func segFiles(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		if _, ok := parseSegmentName(e.Name()); ok {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out
}
