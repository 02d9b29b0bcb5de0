package brook

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// TestStalledForSamples checks the watchdog's view of a handler: a handler
// found running at two samples with no progress in between counts as stuck
// since the first of them; any progress, or no handler running, is healthy.
func TestStalledForSamples(t *testing.T) {
	l := &partLoop{}
	t0 := time.Now()
	at := func(d time.Duration) time.Time { return t0.Add(d) }

	assert.Zero(t, l.stalledFor(at(0)), "idle")
	l.progress.Add(1) // a handler starts
	assert.Zero(t, l.stalledFor(at(10*time.Millisecond)), "first seen running")
	assert.Equal(t, 30*time.Millisecond, l.stalledFor(at(40*time.Millisecond)), "still the same call")
	assert.Equal(t, 90*time.Millisecond, l.stalledFor(at(100*time.Millisecond)))

	l.progress.Add(2) // it returned and the next one started
	assert.Zero(t, l.stalledFor(at(110*time.Millisecond)), "progress since the last sample")
	assert.Equal(t, 10*time.Millisecond, l.stalledFor(at(120*time.Millisecond)))

	l.progress.Add(1) // returned: idle
	assert.Zero(t, l.stalledFor(at(130*time.Millisecond)))
	assert.Zero(t, l.stalledFor(at(500*time.Millisecond)), "idle however long")
}
