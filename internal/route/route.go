// Package route matches dotted routing keys against AMQP topic patterns, the
// matcher shared by package exchange (topic exchanges, bindings) and package
// event (the event router).
//
// A key is a string of words separated by dots ("stock.nyse.ibm"); a word may
// be empty ("a..b" has three words, and "" is one empty word). A pattern is a key in which a word may
// also be "*", which matches exactly one word, or "#", which matches zero or
// more words, as RabbitMQ's topic exchange defines them. "*" and "#" are
// wildcards only as whole words: "a*" is an ordinary word.
//
// When several patterns match one key, the best is decided word by word from
// the left: at the first word where they differ, an exact word beats "*", and
// "*" beats "#"; between two ways for "#" to match, the one that covers fewer
// words wins. Trie.Lookup returns that best match.
//
// Matching costs O(len(pattern) × len(key)) words, whatever the number of "#"
// in the pattern; a Trie lookup visits each (node, word) pair at most once.
package route

import "strings"

// The wildcard words.
const (
	One  = "*" // exactly one word
	Many = "#" // zero or more words
)

// Split returns the words of a key or pattern.
func Split(s string) []string { return strings.Split(s, ".") }

// Match reports whether key matches pattern.
func Match(pattern, key string) bool { return matchWords(Split(pattern), Split(key)) }

// matchWords is the dynamic program over (pattern word, key word): ok[j]
// says whether the pattern words seen so far match the first j key words.
func matchWords(p, k []string) bool {
	ok := make([]bool, len(k)+1)
	next := make([]bool, len(k)+1)
	ok[0] = true
	for _, w := range p {
		clear(next)
		switch w {
		case Many:
			reach := false
			for j := range ok {
				reach = reach || ok[j]
				next[j] = reach
			}
		case One:
			for j := 1; j <= len(k); j++ {
				next[j] = ok[j-1]
			}
		default:
			for j := 1; j <= len(k); j++ {
				next[j] = ok[j-1] && k[j-1] == w
			}
		}
		ok, next = next, ok
	}
	return ok[len(k)]
}

// HasWildcard reports whether pattern has a "*" or "#" word.
func HasWildcard(pattern string) bool {
	for _, w := range Split(pattern) {
		if w == One || w == Many {
			return true
		}
	}
	return false
}

// Canonical returns pattern with each run of consecutive wildcard words
// rewritten as its "*" words followed by one "#" if the run had any: "#.*.#"
// becomes "*.#", "#.#" becomes "#". A run of k "*" and at least one "#"
// matches k or more words wherever the "#" stand, so two patterns with the
// same canonical form match exactly the same keys: a router can refuse the
// second as a duplicate of the first.
func Canonical(pattern string) string {
	words := Split(pattern)
	out := make([]string, 0, len(words))
	stars, hash := 0, false
	flush := func() {
		for ; stars > 0; stars-- {
			out = append(out, One)
		}
		if hash {
			out = append(out, Many)
		}
		hash = false
	}
	for _, w := range words {
		switch w {
		case One:
			stars++
		case Many:
			hash = true
		default:
			flush()
			out = append(out, w)
		}
	}
	flush()
	return strings.Join(out, ".")
}
