package route

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanonical(t *testing.T) {
	tests := []struct{ name, pattern, want string }{
		{"no wildcard", "a.b.c", "a.b.c"},
		{"stars kept", "a.*.*.b", "a.*.*.b"},
		{"hashes merged", "#.#", "#"},
		{"hash before star", "#.*", "*.#"},
		{"mixed run", "a.#.*.#.*.b", "a.*.*.#.b"},
		{"two runs", "#.a.*.#", "#.a.*.#"},
		{"empty words kept", "a..#.#", "a..#"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Canonical(tt.pattern))
		})
	}
}

func TestLookupWordsEmpty(t *testing.T) {
	var tr Trie[int]
	tr.Insert("a", 1)
	_, _, ok := tr.LookupWords(nil)
	assert.False(t, ok, "no word: only a pattern matching zero words would do")
	tr.Insert("#", 2)
	v, p, ok := tr.LookupWords(nil)
	require.True(t, ok)
	assert.Equal(t, "#", p)
	assert.Equal(t, 2, v)
	v, _, ok = tr.LookupWords([]string{"a"})
	require.True(t, ok)
	assert.Equal(t, 1, v)
}

func TestPrefix(t *testing.T) {
	var tr Trie[int]
	assert.Equal(t, 0, tr.Prefix([]string{"a"}), "empty trie")
	tr.Insert("quote.get", 1)
	tr.Insert("quote.*.eu", 2)
	tr.Insert("order.#.done", 3)
	tests := []struct {
		name string
		key  string
		want int
	}{
		{"full match", "quote.get", 2},
		{"second word astray", "quote.put", 2}, // "*" takes "put", then the key ends
		{"third word astray", "quote.put.us", 2},
		{"first word astray", "price.get", 0},
		{"hash absorbs", "order.a.b.c", 4},
		{"hash then end", "order.a.done", 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tr.Prefix(Split(tt.key)))
			assert.Equal(t, tt.want, naivePrefix(tr.Patterns(), Split(tt.key)))
		})
	}
}

// naivePrefix is Prefix's definition: the longest i for which k[:i] matches
// some pattern's first j words.
func naivePrefix(patterns []string, k []string) int {
	best := 0
	for _, p := range patterns {
		words := Split(p)
		for i := len(k); i > best; i-- {
			for j := 0; j <= len(words); j++ {
				if naiveMatch(words[:j], k[:i]) {
					best = i
					break
				}
			}
		}
	}
	return best
}
