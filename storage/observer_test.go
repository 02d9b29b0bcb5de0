package storage

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// countingObserver records what a Log reports.
type countingObserver struct {
	mu               sync.Mutex
	commits, records int
	bytes            int
	syncs            int
	negative         bool
}

func (o *countingObserver) ObserveAppend(records, bytes int, d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.commits++
	o.records += records
	o.bytes += bytes
	o.negative = o.negative || d < 0
}

func (o *countingObserver) ObserveSync(d time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.syncs++
	o.negative = o.negative || d < 0
}

func (o *countingObserver) snapshot() countingObserver {
	o.mu.Lock()
	defer o.mu.Unlock()
	return countingObserver{commits: o.commits, records: o.records, bytes: o.bytes, syncs: o.syncs, negative: o.negative}
}

func TestObserverSeesCommitsAndSyncs(t *testing.T) {
	tests := []struct {
		name      string
		sync      SyncPolicy
		wantSyncs func(commits int) int // syncs reported before Sync and Close
	}{
		{"always", SyncAlways, func(c int) int { return c }},
		{"never", SyncNever, func(int) int { return 0 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &countingObserver{}
			l, err := Open(t.TempDir(), &Options{Sync: tt.sync, Observer: obs})
			require.NoError(t, err)
			appendN(t, l, 0, 3)
			appendN(t, l, 3, 2)
			got := obs.snapshot()
			assert.Equal(t, 2, got.commits, "one report per group commit")
			assert.Equal(t, 5, got.records)
			assert.EqualValues(t, l.Size(), got.bytes, "encoded bytes of the records written")
			assert.Equal(t, tt.wantSyncs(got.commits), got.syncs)

			require.NoError(t, l.Sync())
			assert.Equal(t, tt.wantSyncs(got.commits)+1, obs.snapshot().syncs, "Sync is reported")
			require.NoError(t, l.Close())
			final := obs.snapshot()
			assert.Equal(t, tt.wantSyncs(got.commits)+2, final.syncs, "Close's fsync is reported")
			assert.False(t, final.negative)
		})
	}
}

// An Observer may call the Log: it runs with no lock of the Log held.
func TestObserverMayCallTheLog(t *testing.T) {
	var l *Log
	calls := make(chan int64, 16)
	obs := observerFunc(func() { calls <- l.NextOffset() })
	l = openT(t, t.TempDir(), &Options{Observer: obs})
	appendN(t, l, 0, 1)
	require.NoError(t, l.Sync())
	assert.Len(t, calls, 3) // commit fsync, append, Sync
}

type observerFunc func()

func (f observerFunc) ObserveAppend(int, int, time.Duration) { f() }
func (f observerFunc) ObserveSync(time.Duration)             { f() }
