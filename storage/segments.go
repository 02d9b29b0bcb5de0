package storage

// SegmentOffsets returns the first offset of each segment of the log,
// oldest first: the last is the tail's. Reads stop at the end of the
// segment where they meet damage (a *CorruptError), so a tool that wants
// to read past damage (brook check) goes on from the next segment's first
// offset, which SegmentOffsets gives without knowing how segment files are
// named.
func (l *Log) SegmentOffsets() []int64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make([]int64, len(l.segs))
	for i, s := range l.segs {
		out[i] = s.base
	}
	return out
}
