package brook

import "encoding/binary"

// murmur2 returns the 32-bit MurmurHash2 of data with the seed 0x9747b28c,
// the hash that Kafka's clients use to pick a partition for a key (the Java
// client's Utils.murmur2). The four-byte blocks are read little-endian, and
// the result is the same bit pattern as the Java int. It is safe for
// concurrent use and never allocates.
func murmur2(data []byte) int32 {
	const (
		seed = 0x9747b28c
		m    = 0x5bd1e995
		r    = 24
	)
	h := uint32(seed) ^ uint32(len(data))
	blocks := len(data) &^ 3
	for i := 0; i < blocks; i += 4 {
		k := binary.LittleEndian.Uint32(data[i:])
		k *= m
		k ^= k >> r
		k *= m
		h = h*m ^ k
	}
	tail := data[blocks:]
	switch len(tail) {
	case 3:
		h ^= uint32(tail[2]) << 16
		fallthrough
	case 2:
		h ^= uint32(tail[1]) << 8
		fallthrough
	case 1:
		h ^= uint32(tail[0])
		h *= m
	}
	h ^= h >> 13
	h *= m
	h ^= h >> 15
	return int32(h)
}

// KeyPartition returns the partition, in [0, n), that Kafka's default
// partitioner picks for a record with a non-nil key among n partitions:
// toPositive(murmur2(key)) % n, where toPositive clears the sign bit, so a
// Brook producer and a Kafka producer send the same key to the same partition.
// Records without a key are not hashed: Kafka spreads those (sticky or round
// robin), and so must the caller. It is safe for concurrent use. It panics if
// n is not positive; the callers pass a topic's partition count.
func KeyPartition(key []byte, n int) int {
	if n <= 0 {
		panic("brook: KeyPartition needs a positive partition count")
	}
	return int(uint32(murmur2(key))&0x7fffffff) % n
}
