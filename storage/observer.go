package storage

import "time"

// Observer receives the latencies of a log's writes, for metrics. A Log
// calls it from whichever goroutine committed (the writer, or an Append
// committing its own batch), after releasing its locks, so an Observer may
// take its own locks. It is called before the commit's appenders are
// acknowledged (so when Append returns, its commit has been reported) and
// must return quickly. Calls can come from several goroutines at once, so
// an Observer must be safe for concurrent use. A nil Options.Observer (the
// default) costs nothing: no clock is read for it.
type Observer interface {
	// ObserveAppend reports one group commit: the records it wrote, their
	// bytes as they take room on disk (what Size counts), and how long the
	// write took, including the fsync under SyncAlways. Commits that fail
	// are not reported.
	ObserveAppend(records, bytes int, d time.Duration)

	// ObserveSync reports one successful fsync of the log (the per-commit
	// fsync of SyncAlways, the background one of SyncInterval, Sync and
	// Close) and how long it took, the directory fsync included.
	ObserveSync(d time.Duration)
}

// observation is what a commit or sync measured for the Observer, kept
// under walMu until the lock is released.
type observation struct {
	appended       bool
	records, bytes int
	appendDur      time.Duration
	synced         bool
	syncDur        time.Duration
}

// takeObservation returns and clears what was measured. Called with walMu
// held.
func (l *Log) takeObservation() observation {
	o := l.pending
	l.pending = observation{}
	return o
}

// report passes o to the Observer. Called with no lock held.
func (l *Log) report(o observation) {
	obs := l.opts.Observer
	if obs == nil {
		return
	}
	if o.synced {
		obs.ObserveSync(o.syncDur)
	}
	if o.appended {
		obs.ObserveAppend(o.records, o.bytes, o.appendDur)
	}
}
