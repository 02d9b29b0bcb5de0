package storage

import (
	"os"
	"runtime"
	"sync"
	"syscall"
	"time"
)

// PROTOTYPE: a process-wide fsync round for SyncAlways appends, switched on
// by BROOK_FSYNC_ROUND=par|seq for an A/B measurement.
var roundMode = os.Getenv("BROOK_FSYNC_ROUND")

type syncRound struct {
	mu       sync.Mutex
	logs     []*Log
	npend    int
	wake     chan struct{}
	lastReqs int
	lastDur  time.Duration
	once     sync.Once
	fsFile   *os.File
}

var theRound = &syncRound{wake: make(chan struct{}, 1)}

func (g *syncRound) submit(l *Log) {
	g.once.Do(func() { go g.run() })
	g.mu.Lock()
	if !l.inRound {
		l.inRound = true
		g.logs = append(g.logs, l)
	}
	g.npend++
	g.mu.Unlock()
	select {
	case g.wake <- struct{}{}:
	default:
	}
}

func (g *syncRound) run() {
	for range g.wake {
		for g.roundOnce() {
		}
	}
}

func (g *syncRound) gather() {
	wait := min(maxGatherWait, g.lastDur/2)
	if g.lastReqs < 2 || wait <= 0 {
		return
	}
	start := time.Now()
	for {
		g.mu.Lock()
		n := g.npend
		g.mu.Unlock()
		if n == 0 || n >= g.lastReqs || time.Since(start) >= wait {
			return
		}
		runtime.Gosched()
	}
}

type roundPart struct {
	l    *Log
	reqs []*appendReq
	blk  *block
	off  int64
	ok   bool
	err  error
}

var RoundStats struct{ N, Gather, Write, Sync, Ack, Idle time.Duration }

func (g *syncRound) roundOnce() bool {
	t0 := time.Now()
	g.gather()
	RoundStats.Gather += time.Since(t0)
	g.mu.Lock()
	logs := g.logs
	g.logs = nil
	for _, l := range logs {
		l.inRound = false
	}
	g.npend = 0
	g.mu.Unlock()
	if len(logs) == 0 {
		return false
	}
	start := time.Now()
	parts := make([]roundPart, 0, len(logs))
	for _, l := range logs {
		l.walMu.Lock()
		if l.walClosed {
			l.walMu.Unlock()
			continue
		}
		reqs := l.q.take()
		if len(reqs) == 0 {
			l.walMu.Unlock()
			continue
		}
		p := roundPart{l: l, reqs: reqs}
		p.blk, p.off, p.ok = l.commitWrite(reqs)
		parts = append(parts, p)
	}
	t1 := time.Now()
	RoundStats.Write += t1.Sub(start)
	if roundMode == "syncfs" && len(parts) > 0 {
		if g.fsFile == nil {
			g.fsFile, _ = os.Open(parts[0].l.dir)
		}
		_, _, e := syscall.Syscall(306 /* SYS_SYNCFS amd64 */, g.fsFile.Fd(), 0, 0)
		for i := range parts {
			if p := &parts[i]; p.ok {
				if e != 0 {
					p.err = p.l.timedSync()
				} else {
					p.l.unsynced, p.l.dirDirty = false, false
				}
			}
		}
	} else if roundMode == "seq" {
		for i := range parts {
			if p := &parts[i]; p.ok && p.l.syncPolicy() == SyncAlways {
				p.err = p.l.timedSync()
			}
		}
	} else {
		var wg sync.WaitGroup
		for i := range parts {
			p := &parts[i]
			if !p.ok || p.l.syncPolicy() != SyncAlways {
				continue
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				p.err = p.l.timedSync()
			}()
		}
		wg.Wait()
	}
	t2 := time.Now()
	RoundStats.Sync += t2.Sub(t1)
	n := 0
	for i := range parts {
		p := &parts[i]
		l := p.l
		if p.err != nil {
			failAll(p.reqs, p.err)
		} else if p.ok {
			l.commitPublish(p.blk, p.off)
		}
		reqs, async := l.q.complete(p.reqs)
		if async {
			l.q.signal()
		}
		gs := &l.gatherSt
		gs.lastReqs, gs.lastSyncs = len(p.reqs), len(reqs)
		gs.commits++
		gs.reqs += uint64(len(p.reqs))
		n += len(reqs)
		o := l.takeObservation()
		l.walMu.Unlock()
		l.report(o)
		for _, r := range reqs {
			r.ch <- struct{}{}
		}
		l.q.recycle(reqs)
	}
	g.lastReqs, g.lastDur = n, time.Since(start)
	RoundStats.Ack += time.Since(t2)
	RoundStats.N++
	return true
}
