package storage

import (
	"slices"
	"sync"
)

// maxOpenSegments bounds the read handles one Log keeps open on its segment
// files. Reading history opens segments one after another; without a bound
// every segment read would keep a descriptor until Close (1,500 segments
// read, 1,500 descriptors). Readers that lag in different segments each
// need one, so a few suffice, as bbolt and Kafka keep few.
const maxOpenSegments = 4

// handleCache remembers which segments have an open read handle, most
// recently used last, and evicts the oldest past maxOpenSegments. A handle
// in use is closed only when its last reader releases it (segment.evict).
type handleCache struct {
	mu   sync.Mutex
	segs []*segment
}

// touch records a use of s and returns the segment to evict, if any.
func (c *handleCache) touch(s *segment) *segment {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i := slices.Index(c.segs, s); i >= 0 {
		c.segs = slices.Delete(c.segs, i, i+1)
	}
	c.segs = append(c.segs, s)
	if len(c.segs) <= maxOpenSegments {
		return nil
	}
	victim := c.segs[0]
	c.segs = slices.Delete(c.segs, 0, 1)
	return victim
}

// acquire returns s's read handle for one reader, who calls s.release when
// done, and keeps the number of open handles bounded.
func (l *Log) acquire(s *segment) (File, error) {
	f, err := s.acquire(l.fs)
	if err != nil {
		return nil, err
	}
	if victim := l.handles.touch(s); victim != nil {
		victim.evict()
	}
	return f, nil
}
