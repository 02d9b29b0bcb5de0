package console

import (
	"errors"
	"sync"
	"time"

	"github.com/brookmq/brook"
)

// History is the lag of every group over the last minutes: the answer of
// /api/lag/history. Samples are oldest first; a group missing from a
// sample did not exist then.
type History struct {
	IntervalSeconds float64  `json:"interval_seconds"`
	Samples         []Sample `json:"samples"`
}

// Sample is the total lag of each group at one time.
type Sample struct {
	Time int64            `json:"time"` // milliseconds since the Unix epoch, as JavaScript's Date takes
	Lag  map[string]int64 `json:"lag"`  // group ID to total lag
}

// sampler records the total lag of every group every interval, keeping
// the last max samples. Its goroutine runs until stop.
type sampler struct {
	b        *brook.Broker
	interval time.Duration
	max      int
	done     chan struct{}
	stopped  chan struct{}
	once     sync.Once

	mu      sync.Mutex
	samples []Sample
}

func startSampler(b *brook.Broker, interval time.Duration, max int) *sampler {
	s := &sampler{b: b, interval: interval, max: max, done: make(chan struct{}), stopped: make(chan struct{})}
	s.sample()
	go s.run()
	return s
}

func (s *sampler) run() {
	defer close(s.stopped)
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		select {
		case <-s.done:
			return
		case <-t.C:
			s.sample()
		}
	}
}

func (s *sampler) stop() {
	s.once.Do(func() { close(s.done) })
	<-s.stopped
}

// sample records one sample; a closed broker records nothing.
func (s *sampler) sample() {
	ids, err := s.b.Groups()
	if err != nil {
		return
	}
	smp := Sample{Time: time.Now().UnixMilli(), Lag: make(map[string]int64, len(ids))}
	for _, id := range ids {
		gs, err := s.b.GroupStats(id)
		if errors.Is(err, brook.ErrUnknownGroup) {
			continue
		}
		if err != nil {
			return
		}
		var lag int64
		for _, p := range gs.Partitions {
			lag += p.Lag
		}
		smp.Lag[id] = lag
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, smp)
	if over := len(s.samples) - s.max; over > 0 {
		s.samples = append(s.samples[:0], s.samples[over:]...)
	}
}

// history returns a copy of the samples.
func (s *sampler) history() History {
	s.mu.Lock()
	defer s.mu.Unlock()
	h := History{IntervalSeconds: s.interval.Seconds(), Samples: make([]Sample, len(s.samples))}
	copy(h.Samples, s.samples) // each sample's map is never changed once recorded
	return h
}
