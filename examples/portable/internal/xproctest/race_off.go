//go:build !race

package xproctest

// raceEnabled is whether this binary was built with -race.
const raceEnabled = false
