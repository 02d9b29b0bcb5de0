package storage

import "sync/atomic"

// block holds the encoded entries of one group commit, base..base+len(ends)-1.
// Entry i is buf[ends[i-1]:ends[i]] (ends[-1] = 0). A block is immutable
// once published, so readers may use it after releasing Log.mu.
type block struct {
	base int64
	buf  []byte
	ends []int
	refs atomic.Int32 // readers using the block outside Log.mu
}

// release ends a reader's use of a block taken by snapshot.
func (b *block) release() { b.refs.Add(-1) }

func (b *block) start(i int) int {
	if i == 0 {
		return 0
	}
	return b.ends[i-1]
}

// tailCache keeps the most recent group commits in memory, contiguous and
// ending at NextOffset, within a byte limit. Guarded by Log.mu.
//
// Evicted blocks that no reader is using are recycled for later group
// commits (free), which saves the writer an allocation and the zeroing of
// it: readers take a reference (refs) only under Log.mu's read lock, and
// eviction happens under its write lock, so a block evicted with no
// reference can get none any more.
type tailCache struct {
	blocks []*block
	head   int // blocks[head:] are live
	bytes  int
	limit  int
	free   []*block
}

// first returns the first cached offset, or -1 when empty.
func (c *tailCache) first() int64 {
	if c.head == len(c.blocks) {
		return -1
	}
	return c.blocks[c.head].base
}

// add appends b, which must start at the cache's end, evicting the oldest
// blocks beyond the limit. A block larger than the limit empties the cache.
func (c *tailCache) add(b *block) {
	if len(b.buf) > c.limit {
		for _, old := range c.blocks[c.head:] {
			c.recycle(old)
		}
		clear(c.blocks)
		c.blocks, c.head, c.bytes = c.blocks[:0], 0, 0
		c.recycle(b)
		return
	}
	c.blocks = append(c.blocks, b)
	c.bytes += len(b.buf)
	for c.bytes > c.limit {
		old := c.blocks[c.head]
		c.bytes -= len(old.buf)
		c.blocks[c.head] = nil
		c.head++
		c.recycle(old)
	}
	if c.head > 64 && c.head > len(c.blocks)/2 { // compact
		n := copy(c.blocks, c.blocks[c.head:])
		clear(c.blocks[n:])
		c.blocks, c.head = c.blocks[:n], 0
	}
}

func (c *tailCache) recycle(b *block) {
	if b.refs.Load() == 0 && len(c.free) < 4 && cap(b.buf) <= 2*maxBatchBytes {
		c.free = append(c.free, b)
	}
}

// takeFree returns a recycled block, or nil.
func (c *tailCache) takeFree() *block {
	n := len(c.free)
	if n == 0 {
		return nil
	}
	b := c.free[n-1]
	c.free[n-1] = nil
	c.free = c.free[:n-1]
	return b
}

// snapshot returns the blocks needed to read from offset from (which must
// be cached), about maxBytes worth. The caller must release each of them.
func (c *tailCache) snapshot(from int64, maxBytes int) []*block {
	live := c.blocks[c.head:]
	lo, hi := 0, len(live)
	for lo < hi { // first block whose end is after from
		m := int(uint(lo+hi) >> 1)
		if live[m].base+int64(len(live[m].ends)) <= from {
			lo = m + 1
		} else {
			hi = m
		}
	}
	var out []*block
	n := 0
	for _, b := range live[lo:] {
		b.refs.Add(1)
		out = append(out, b)
		if n += len(b.buf); n >= maxBytes {
			break
		}
	}
	return out
}

// readBlocks decodes records from q.from out of blocks. Entries are copied
// into a fresh buffer per block first, since blocks are shared (the copy
// is made by append, which does not clear memory it overwrites).
//
// Their checksums are not checked: a block holds the very bytes that the
// writer encoded in this process and handed to the wal (wal.Batch.Write
// copies them), never bytes read back from a file, and it is immutable
// once published. Structure is still checked by decoding. Entries read
// from segment files are always verified.
func readBlocks(blocks []*block, q *readReq) error {
	for _, b := range blocks {
		i := int(max(q.from-b.base, 0))
		j := i
		n := 0
		for j < len(b.ends) && len(q.out)+(j-i) < q.maxRecords && (j == i && len(q.out) == 0 || q.nbytes+n < q.maxBytes) {
			n += b.ends[j] - b.start(j)
			j++
		}
		if j == i {
			return nil
		}
		shift := b.start(i)
		own := append([]byte(nil), b.buf[shift:b.ends[j-1]]...)
		q.grow(j - i)
		for k := i; k < j; k++ {
			if err := q.addEntry(own[b.start(k)-shift:b.ends[k]-shift], b.base+int64(k), "(cache)", false); err != nil {
				return err
			}
		}
		q.from = b.base + int64(j)
		if q.full() {
			return nil
		}
	}
	return nil
}
