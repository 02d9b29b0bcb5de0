package brook

import (
	"os"
	"sync"
)

// groupScan is the set of groups on disk, not loaded, whose committed
// offsets a DeleteTopic is changing without holding b.mu (opening each
// group's offsets is file I/O, and a broker may hold thousands of groups on
// disk: holding b.mu through it would stall every topic lookup, so every
// publish). A group in the set is neither loaded nor deleted until the scan
// ends, and Close waits for it. Its fields are guarded by b.mu.
type groupScan struct {
	busy map[string]struct{}
	done *sync.Cond // on &b.mu; broadcast when a scan ends
}

// beginScan lists the groups on disk in dir that are not loaded, once no
// other scan holds any of them, and marks them as scanned. The caller
// changes their offsets, then calls endScanLocked with the names.
func (b *Broker) beginScan(dir string) ([]string, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	for {
		if b.closed {
			return nil, ErrClosed
		}
		// Listed under b.mu: no group is loaded or deleted meanwhile.
		entries, err := os.ReadDir(dir)
		var names []string
		busy := false
		for _, e := range entries {
			name := e.Name()
			if _, loaded := b.groups[name]; loaded || !e.IsDir() || !validName(name) {
				continue
			}
			_, scanned := b.scan.busy[name]
			busy = busy || scanned
			names = append(names, name)
		}
		if !busy {
			if len(names) > 0 && b.scan.busy == nil {
				b.scan.busy = make(map[string]struct{})
			}
			for _, name := range names {
				b.scan.busy[name] = struct{}{}
			}
			return names, err
		}
		b.scanDone().Wait() // another DeleteTopic holds some of them
	}
}

// endScanLocked ends the scan of names. The caller holds b.mu.
func (b *Broker) endScanLocked(names []string) {
	for _, name := range names {
		delete(b.scan.busy, name)
	}
	if len(names) > 0 {
		b.scanDone().Broadcast()
	}
}

// waitScanLocked waits until no scan holds group id (any group, for id
// ""). The caller holds b.mu, which the wait releases and takes again.
func (b *Broker) waitScanLocked(id string) {
	for {
		_, busy := b.scan.busy[id]
		if !busy && (id != "" || len(b.scan.busy) == 0) {
			return
		}
		b.scanDone().Wait()
	}
}

// scanDone returns the condition a scan's end broadcasts. The caller holds
// b.mu.
func (b *Broker) scanDone() *sync.Cond {
	if b.scan.done == nil {
		b.scan.done = sync.NewCond(&b.mu)
	}
	return b.scan.done
}
