package route

import "slices"

// Trie holds values under patterns and finds those whose pattern matches a
// key. The zero value is an empty trie ready to use. A Trie is not safe for
// concurrent use; callers that share one guard it.
type Trie[V any] struct {
	root node[V]
	n    int
}

type node[V any] struct {
	children map[string]*node[V] // by word, "*" and "#" included
	pattern  string              // set with has: the pattern ending here
	value    V
	has      bool
}

// Len returns the number of patterns held.
func (t *Trie[V]) Len() int { return t.n }

// Insert sets the value of pattern. It returns the value it replaced and
// whether there was one.
func (t *Trie[V]) Insert(pattern string, v V) (old V, replaced bool) {
	n := &t.root
	for _, w := range Split(pattern) {
		c := n.children[w]
		if c == nil {
			if n.children == nil {
				n.children = make(map[string]*node[V])
			}
			c = &node[V]{}
			n.children[w] = c
		}
		n = c
	}
	old, replaced = n.value, n.has
	n.pattern, n.value, n.has = pattern, v, true
	if !replaced {
		t.n++
	}
	return old, replaced
}

// Get returns the value held under exactly this pattern (no matching).
func (t *Trie[V]) Get(pattern string) (V, bool) {
	n := &t.root
	for _, w := range Split(pattern) {
		if n = n.children[w]; n == nil {
			var zero V
			return zero, false
		}
	}
	return n.value, n.has
}

// Delete removes pattern and reports whether it was held.
func (t *Trie[V]) Delete(pattern string) bool {
	words := Split(pattern)
	path := make([]*node[V], 0, len(words)+1)
	n := &t.root
	for _, w := range words {
		path = append(path, n)
		if n = n.children[w]; n == nil {
			return false
		}
	}
	if !n.has {
		return false
	}
	var zero V
	n.value, n.has, n.pattern = zero, false, ""
	t.n--
	// Prune the nodes that lead nowhere any more.
	for i := len(words) - 1; i >= 0 && !n.has && len(n.children) == 0; i-- {
		delete(path[i].children, words[i])
		n = path[i]
	}
	return true
}

// Patterns returns every pattern held, sorted.
func (t *Trie[V]) Patterns() []string {
	var out []string
	var walk func(n *node[V])
	walk = func(n *node[V]) {
		if n.has {
			out = append(out, n.pattern)
		}
		for _, c := range n.children {
			walk(c)
		}
	}
	walk(&t.root)
	slices.Sort(out)
	return out
}

// Lookup returns the best match for key (see the package doc for the
// order), its pattern, and whether any pattern matched.
func (t *Trie[V]) Lookup(key string) (v V, pattern string, ok bool) {
	return t.LookupWords(Split(key))
}

// LookupWords is Lookup for a key already split into words. Unlike a key
// string, a word slice can be empty: only patterns that match zero words
// ("#", "#.#") match it.
func (t *Trie[V]) LookupWords(words []string) (v V, pattern string, ok bool) {
	m := matcher[V]{key: words, failed: make(map[visit[V]]bool)}
	if n := m.best(&t.root, 0); n != nil {
		return n.value, n.pattern, true
	}
	return v, "", false
}

// Prefix returns the length of the longest run of leading words that the
// beginning of some held pattern matches: len(words) when words could still
// be completed into a match (or already match), 0 when even the first word
// leads nowhere (always, on an empty trie). It tells an error message where
// a key went astray.
func (t *Trie[V]) Prefix(words []string) int {
	type state struct {
		n    *node[V]
		hash bool // n is a "#" node, which may take one more word and stay
	}
	var cur, next []state
	seen := make(map[state]bool)
	add := func(to []state, s state) []state {
		for {
			if seen[s] {
				return to
			}
			seen[s] = true
			to = append(to, s)
			c := s.n.children[Many] // "#" may take no word at all
			if c == nil {
				return to
			}
			s = state{c, true}
		}
	}
	cur = add(cur, state{&t.root, false})
	for i, w := range words {
		clear(seen)
		next = next[:0]
		for _, s := range cur {
			if c := s.n.children[w]; c != nil && w != One && w != Many {
				next = add(next, state{c, false})
			}
			if c := s.n.children[One]; c != nil {
				next = add(next, state{c, false})
			}
			if s.hash {
				next = add(next, s)
			}
		}
		if len(next) == 0 { // pruning leaves no dead-end node below the root
			return i
		}
		cur, next = next, cur
	}
	return len(words)
}

// MatchAll calls fn for every pattern that matches key, each once, in no
// particular order, until fn returns false.
func (t *Trie[V]) MatchAll(key string, fn func(pattern string, v V) bool) {
	m := matcher[V]{key: Split(key), failed: make(map[visit[V]]bool)}
	seen := make(map[*node[V]]bool)
	m.all(&t.root, 0, func(n *node[V]) bool {
		if seen[n] {
			return true
		}
		seen[n] = true
		return fn(n.pattern, n.value)
	})
}

type visit[V any] struct {
	n *node[V]
	i int
}

// matcher walks a trie for one key. failed remembers the (node, word)
// pairs already explored, so that patterns with many "#" cost no more than
// (nodes × words) steps.
type matcher[V any] struct {
	key    []string
	failed map[visit[V]]bool
}

// best returns the first match in precedence order below n for the key's
// words from i on: exact, then "*", then "#" covering 0, 1, ... words.
func (m *matcher[V]) best(n *node[V], i int) *node[V] {
	v := visit[V]{n, i}
	if m.failed[v] {
		return nil
	}
	if i == len(m.key) && n.has {
		return n
	}
	if i < len(m.key) {
		if c := n.children[m.key[i]]; c != nil && m.key[i] != One && m.key[i] != Many {
			if r := m.best(c, i+1); r != nil {
				return r
			}
		}
		if c := n.children[One]; c != nil {
			if r := m.best(c, i+1); r != nil {
				return r
			}
		}
	}
	if c := n.children[Many]; c != nil {
		for j := i; j <= len(m.key); j++ {
			if r := m.best(c, j); r != nil {
				return r
			}
		}
	}
	m.failed[v] = true
	return nil
}

// all calls fn for each matching node below n; it returns false to stop.
func (m *matcher[V]) all(n *node[V], i int, fn func(*node[V]) bool) bool {
	v := visit[V]{n, i}
	if m.failed[v] {
		return true
	}
	m.failed[v] = true // every match below is reported on this first visit
	if i == len(m.key) && n.has && !fn(n) {
		return false
	}
	if i < len(m.key) {
		if c := n.children[m.key[i]]; c != nil && m.key[i] != One && m.key[i] != Many {
			if !m.all(c, i+1, fn) {
				return false
			}
		}
		if c := n.children[One]; c != nil && !m.all(c, i+1, fn) {
			return false
		}
	}
	if c := n.children[Many]; c != nil {
		for j := i; j <= len(m.key); j++ {
			if !m.all(c, j, fn) {
				return false
			}
		}
	}
	return true
}
