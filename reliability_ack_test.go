package brook

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReliabilityMixedPublishAcks publishes to one partition from
// synchronous and asynchronous producers at once, so that group commits
// mix both kinds, and checks that every acknowledgement is true: each
// acknowledged offset holds the acknowledged message, no offset is
// acknowledged twice, and nothing acknowledged is missing after a reopen.
//
// It reproduces a storage defect: a synchronous Append that commits a
// batch itself (storage.(*Log).commitOnce with try set) reads the requests
// of that batch after handing its AppendAsync requests to the writer
// goroutine, which may already have run their callbacks and recycled them
// into reqPool, where a new Append can pick them up. Under -race this is
// reported as a race between commitOnce and putReq.
func TestReliabilityMixedPublishAcks(t *testing.T) {
	dir := t.TempDir()
	b, err := Open(dir, nil)
	require.NoError(t, err)
	mustTopic(t, b, "t", 1)
	const syncWriters, perWriter, asyncN = 4, 150, 1200
	var mu sync.Mutex
	acked := map[int64]string{}
	var problems []string
	ack := func(m *Message) {
		mu.Lock()
		defer mu.Unlock()
		if prev, dup := acked[m.Offset]; dup {
			problems = append(problems, fmt.Sprintf("offset %d acknowledged for %s and %s", m.Offset, prev, m.Value))
		}
		acked[m.Offset] = string(m.Value)
	}
	var wg sync.WaitGroup
	for w := 0; w < syncWriters; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := b.CreateProducer(fmt.Sprint("sync", w))
			for i := 0; i < perWriter; i++ {
				m := CreateMessage("t", fmt.Appendf(nil, "s%d-%d", w, i), 0)
				if assert.NoError(t, p.Publish("t", m)) {
					ack(m)
				}
			}
		}()
	}
	ap := b.CreateProducer("async")
	for i := 0; i < asyncN; i++ {
		ap.PublishAsync("t", CreateMessage("t", fmt.Appendf(nil, "a-%d", i), 0), func(m *Message, err error) {
			if assert.NoError(t, err) {
				ack(m)
			}
		})
	}
	flush(t, ap)
	waitGroup(t, &wg, "the producers")
	require.NoError(t, b.Close())

	b, err = Open(dir, nil)
	require.NoError(t, err)
	defer b.Close()
	stored := readAll(t, b, "t", 0)
	mu.Lock()
	defer mu.Unlock()
	assert.Empty(t, problems)
	assert.Len(t, acked, syncWriters*perWriter+asyncN, "every publish acknowledged once")
	assert.Len(t, stored, syncWriters*perWriter+asyncN, "every publish stored once")
	for off, v := range acked {
		if assert.Less(t, off, int64(len(stored)), "%s acknowledged at %d, past the end", v, off) {
			assert.Equal(t, v, string(stored[off].Value), "offset %d", off)
		}
	}
}
