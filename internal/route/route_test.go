package route

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	tests := []struct {
		name, pattern, key string
		want               bool
	}{
		{"exact", "stock.nyse.ibm", "stock.nyse.ibm", true},
		{"exact differs", "stock.nyse.ibm", "stock.nyse.msft", false},
		{"star one word", "stock.*.ibm", "stock.nyse.ibm", true},
		{"star not zero words", "stock.*.ibm", "stock.ibm", false},
		{"star not two words", "stock.*.ibm", "stock.a.b.ibm", false},
		{"hash zero words", "stock.#", "stock", true},
		{"hash one word", "stock.#", "stock.nyse", true},
		{"hash many words", "stock.#", "stock.nyse.ibm.x", true},
		{"hash alone matches all", "#", "a.b.c", true},
		{"hash alone matches empty key", "#", "", true},
		{"hash in middle", "a.#.z", "a.z", true},
		{"hash in middle many", "a.#.z", "a.b.c.z", true},
		{"hash in middle wrong end", "a.#.z", "a.b.c", false},
		{"two hashes", "#.b.#", "a.b.c", true},
		{"two hashes absent", "#.b.#", "a.c", false},
		{"star and hash", "*.#", "a", true},
		{"two stars need two words", "*.*", "a", false},
		{"the empty key is one empty word", "*", "", true},
		{"wildcard only as whole word", "a*", "ab", false},
		{"wildcard only as whole word literal", "a*", "a*", true},
		{"empty words", "a..b", "a..b", true},
		{"star matches empty word", "a.*.b", "a..b", true},
		{"rabbitmq quick.orange.rabbit", "*.orange.*", "quick.orange.rabbit", true},
		{"rabbitmq lazy.#", "lazy.#", "lazy.orange.male.rabbit", true},
		{"rabbitmq *.*.rabbit", "*.*.rabbit", "quick.orange.male.rabbit", false},
		{"rabbitmq orange", "*.orange.*", "orange", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Match(tt.pattern, tt.key))
			assert.Equal(t, tt.want, naiveMatch(Split(tt.pattern), Split(tt.key)))
		})
	}
}

func TestHasWildcard(t *testing.T) {
	assert.True(t, HasWildcard("a.*"))
	assert.True(t, HasWildcard("#"))
	assert.False(t, HasWildcard("a*.b#"))
}

func TestLookupPrecedence(t *testing.T) {
	tests := []struct {
		name     string
		patterns []string
		key      string
		want     string // "" for no match
	}{
		{"exact beats star", []string{"a.*", "a.b"}, "a.b", "a.b"},
		{"star beats hash", []string{"a.#", "a.*"}, "a.b", "a.*"},
		{"exact beats hash", []string{"#", "a.b"}, "a.b", "a.b"},
		{"leftmost word decides", []string{"*.b.c", "a.#"}, "a.b.c", "a.#"},
		{"falls back when exact fails deeper", []string{"a.x", "*.b"}, "a.b", "*.b"},
		{"hash covering fewer words wins", []string{"#.c", "#"}, "c", "#.c"},
		{"no match", []string{"a.*", "b.#"}, "c.d", ""},
		{"hash matches zero at end", []string{"a.#"}, "a", "a.#"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var tr Trie[string]
			for _, p := range tt.patterns {
				tr.Insert(p, "v:"+p)
			}
			v, p, ok := tr.Lookup(tt.key)
			if tt.want == "" {
				assert.False(t, ok)
				return
			}
			require.True(t, ok)
			assert.Equal(t, tt.want, p)
			assert.Equal(t, "v:"+tt.want, v)
		})
	}
}

func TestTrieInsertGetDelete(t *testing.T) {
	var tr Trie[int]
	_, replaced := tr.Insert("a.*.c", 1)
	assert.False(t, replaced)
	old, replaced := tr.Insert("a.*.c", 2)
	assert.True(t, replaced)
	assert.Equal(t, 1, old)
	tr.Insert("a.#", 3)
	tr.Insert("a", 4)
	assert.Equal(t, 3, tr.Len())
	assert.Equal(t, []string{"a", "a.#", "a.*.c"}, tr.Patterns())
	v, ok := tr.Get("a.*.c")
	assert.True(t, ok)
	assert.Equal(t, 2, v)
	_, ok = tr.Get("a.*")
	assert.False(t, ok, "a prefix of a pattern is not held")

	assert.True(t, tr.Delete("a.*.c"))
	assert.False(t, tr.Delete("a.*.c"))
	assert.False(t, tr.Delete("a.*"))
	assert.Equal(t, 2, tr.Len())
	_, p, ok := tr.Lookup("a.b.c")
	require.True(t, ok)
	assert.Equal(t, "a.#", p)
	assert.True(t, tr.Delete("a.#"))
	assert.True(t, tr.Delete("a"))
	assert.Equal(t, 0, tr.Len())
	assert.Empty(t, tr.root.children, "deleting prunes empty nodes")
}

func TestMatchAllEachOnce(t *testing.T) {
	var tr Trie[int]
	for i, p := range []string{"#", "#.#", "a.#", "#.c", "a.*.c", "x"} {
		tr.Insert(p, i)
	}
	var got []string
	tr.MatchAll("a.b.c", func(p string, _ int) bool { got = append(got, p); return true })
	slices.Sort(got)
	assert.Equal(t, []string{"#", "#.#", "#.c", "a.#", "a.*.c"}, got)

	n := 0
	tr.MatchAll("a.b.c", func(string, int) bool { n++; return false })
	assert.Equal(t, 1, n, "returning false stops")
}

// TestManyHashesAreCheap would take exponential time with a backtracking
// matcher.
func TestManyHashesAreCheap(t *testing.T) {
	pattern := strings.Repeat("#.", 40) + "z"
	key := strings.Repeat("a.", 60) + "b"
	assert.False(t, Match(pattern, key))
	var tr Trie[int]
	tr.Insert(pattern, 1)
	_, _, ok := tr.Lookup(key)
	assert.False(t, ok)
	tr.MatchAll(key, func(string, int) bool { t.Fatal("no match expected"); return false })
}

// naiveMatch is the definition, by backtracking: the reference the fuzz
// target compares Match and the Trie with.
func naiveMatch(p, k []string) bool {
	if len(p) == 0 {
		return len(k) == 0
	}
	switch p[0] {
	case Many:
		for i := 0; i <= len(k); i++ {
			if naiveMatch(p[1:], k[i:]) {
				return true
			}
		}
		return false
	case One:
		return len(k) > 0 && naiveMatch(p[1:], k[1:])
	default:
		return len(k) > 0 && k[0] == p[0] && naiveMatch(p[1:], k[1:])
	}
}

// FuzzMatch checks Match and the Trie against naiveMatch. The inputs are
// mapped to short words over a tiny alphabet so that matches are common.
func FuzzMatch(f *testing.F) {
	f.Add([]byte("a.*.c"), []byte("a.b.c"), []byte("#.c"))
	f.Add([]byte("#.#"), []byte("a.b"), []byte("*"))
	f.Add([]byte("a..b"), []byte("a..b"), []byte("a.#"))
	f.Fuzz(func(t *testing.T, p1, key, p2 []byte) {
		toWords := func(b []byte) string {
			if len(b) > 12 {
				b = b[:12]
			}
			words := make([]string, 0, len(b))
			for _, c := range b {
				words = append(words, [...]string{"a", "b", "", One, Many, "a", "b", "c"}[c%8])
			}
			return strings.Join(words, ".")
		}
		ps := []string{toWords(p1), toWords(p2)}
		k := toWords(key)
		var tr Trie[int]
		var want []string
		for i, p := range ps {
			got := Match(p, k)
			if ref := naiveMatch(Split(p), Split(k)); got != ref {
				t.Fatalf("Match(%q, %q) = %v, want %v", p, k, got, ref)
			}
			tr.Insert(p, i)
			if got && !slices.Contains(want, p) {
				want = append(want, p)
			}
		}
		for _, p := range ps {
			if Match(Canonical(p), k) != Match(p, k) {
				t.Fatalf("Canonical(%q) = %q matches %q differently", p, Canonical(p), k)
			}
		}
		if got, ref := tr.Prefix(Split(k)), naivePrefix(ps, Split(k)); got != ref {
			t.Fatalf("Prefix(%q) over %q = %d, want %d", k, ps, got, ref)
		}
		var all []string
		tr.MatchAll(k, func(p string, _ int) bool { all = append(all, p); return true })
		slices.Sort(all)
		slices.Sort(want)
		if !slices.Equal(all, want) {
			t.Fatalf("MatchAll(%q) over %q = %q, want %q", k, ps, all, want)
		}
		_, best, ok := tr.Lookup(k)
		if ok != (len(want) > 0) || (ok && !slices.Contains(want, best)) {
			t.Fatalf("Lookup(%q) over %q = %q %v, want one of %q", k, ps, best, ok, want)
		}
	})
}
