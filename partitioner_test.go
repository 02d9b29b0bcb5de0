package brook

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// kafkaPartitionsFile holds partitions that Kafka's default partitioner chose
// for known keys, relative to the package directory.
const kafkaPartitionsFile = "testdata/kafka-murmur2-partitions.json"

// kafkaCase is one record of kafkaPartitionsFile.
type kafkaCase struct {
	Key        string `json:"key"`
	Partitions int    `json:"partitions"`
	Partition  int    `json:"partition"`
}

// loadKafkaCases reads kafkaPartitionsFile; a missing or empty file fails
// the test rather than skipping it.
func loadKafkaCases(tb testing.TB) []kafkaCase {
	tb.Helper()
	data, err := os.ReadFile(kafkaPartitionsFile)
	require.NoError(tb, err, "the Kafka reference partitions are required")
	var cases []kafkaCase
	require.NoError(tb, json.Unmarshal(data, &cases))
	require.NotEmpty(tb, cases)
	return cases
}

// TestKeyPartitionMatchesKafka checks KeyPartition against the partitions
// that Kafka's Java client chose for the keys of kafkaPartitionsFile.
func TestKeyPartitionMatchesKafka(t *testing.T) {
	for _, c := range loadKafkaCases(t) {
		assert.Equal(t, c.Partition, KeyPartition([]byte(c.Key), c.Partitions),
			"key %q over %d partitions", c.Key, c.Partitions)
	}
}

// TestMurmur2 checks that murmur2 is deterministic and covers every tail length.
func TestMurmur2(t *testing.T) {
	tests := []struct {
		name string
		data []byte
	}{
		{name: "empty", data: []byte{}},
		{name: "nil", data: nil},
		{name: "one byte", data: []byte("a")},
		{name: "two bytes", data: []byte("ab")},
		{name: "three bytes", data: []byte("abc")},
		{name: "one block", data: []byte("abcd")},
		{name: "block and tail", data: []byte("abcde")},
		{name: "high bytes", data: []byte{0xff, 0x80, 0x7f, 0x00, 0xfe}},
	}
	seen := make(map[int32]string)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := murmur2(tt.data)
			assert.Equal(t, h, murmur2(append([]byte(nil), tt.data...)), "same bytes, same hash")
			if len(tt.data) > 0 {
				other, dup := seen[h]
				assert.False(t, dup, "same hash as %s", other)
				seen[h] = tt.name
			}
		})
	}
	assert.Equal(t, murmur2(nil), murmur2([]byte{}), "nil and empty hash alike")
}

// TestKeyPartitionPanicsWithoutPartitions checks the panic on n <= 0.
func TestKeyPartitionPanicsWithoutPartitions(t *testing.T) {
	tests := []struct {
		name string
		n    int
	}{
		{name: "zero", n: 0},
		{name: "negative", n: -3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Panics(t, func() { KeyPartition([]byte("k"), tt.n) })
		})
	}
}

// FuzzKeyPartition checks that KeyPartition returns a partition in [0, n),
// the same one each time, seeded with the Kafka reference keys.
func FuzzKeyPartition(f *testing.F) {
	for _, c := range loadKafkaCases(f) {
		f.Add([]byte(c.Key), c.Partitions)
	}
	f.Add([]byte{}, 1)
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, 0xff}, 1<<31-1)
	f.Fuzz(func(t *testing.T, key []byte, n int) {
		if n < 0 {
			n = -(n + 1) // fold the negative ints onto [0, MaxInt]
		}
		n = max(n, 1)
		p := KeyPartition(key, n)
		if p < 0 || p >= n {
			t.Fatalf("KeyPartition(%q, %d) = %d, outside [0, %d)", key, n, p, n)
		}
		if again := KeyPartition(append([]byte(nil), key...), n); again != p {
			t.Fatalf("KeyPartition(%q, %d) gave %d, then %d", key, n, p, again)
		}
	})
}

// BenchmarkKeyPartition measures hashing keys of a few sizes.
func BenchmarkKeyPartition(b *testing.B) {
	for _, size := range []int{8, 64, 1024} {
		b.Run(fmt.Sprintf("key=%dB", size), func(b *testing.B) {
			key := make([]byte, size)
			for i := range key {
				key[i] = byte(i * 31)
			}
			b.SetBytes(int64(size))
			b.ReportAllocs()
			for b.Loop() {
				KeyPartition(key, 12)
			}
		})
	}
}
