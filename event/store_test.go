package event

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ev(id string) *Event { return &Event{CorrelationID: id, Name: "n." + id} }

// waitFor polls cond until it holds, failing the test after 5 s.
func waitFor(t *testing.T, cond func() bool, msg string) {
	t.Helper()
	require.Eventually(t, cond, 5*time.Second, time.Millisecond, msg)
}

func TestStoreFourVerbs(t *testing.T) {
	ctx := context.Background()
	s := NewStore(StoreOptions{})
	_, ok := s.Poll()
	assert.False(t, ok, "Poll on an empty store")

	for _, id := range []string{"a", "b", "a", "c"} {
		require.NoError(t, s.Put(ctx, ev(id)))
	}
	assert.Equal(t, 4, s.Len())

	e, ok := s.Poll()
	require.True(t, ok)
	assert.Equal(t, "a", e.CorrelationID, "Poll takes the oldest")

	e, err := s.Consume(ctx, "a")
	require.NoError(t, err)
	assert.Equal(t, "a", e.CorrelationID, "the second a")
	assert.Equal(t, 2, s.Len())

	e, err = s.Receive(ctx)
	require.NoError(t, err)
	assert.Equal(t, "b", e.CorrelationID)

	require.NoError(t, s.Put(ctx, ev("d")))
	require.NoError(t, s.Put(ctx, ev("d")))
	all := s.ConsumeAll()
	require.Len(t, all, 3)
	assert.Equal(t, []string{"c", "d", "d"}, []string{all[0].CorrelationID, all[1].CorrelationID, all[2].CorrelationID},
		"arrival order, repeated ids kept")
	assert.Zero(t, s.Len())
	assert.Empty(t, s.ConsumeAll())
}

func TestStoreWaitersFirst(t *testing.T) {
	ctx := context.Background()
	s := NewStore(StoreOptions{})
	byID := make(chan *Event, 1)
	anyone := make(chan *Event, 1)
	go func() { e, _ := s.Consume(ctx, "x"); byID <- e }()
	waitFor(t, func() bool { return s.Stats().Waiting == 1 }, "Consume waiting")
	go func() { e, _ := s.Receive(ctx); anyone <- e }()
	waitFor(t, func() bool { return s.Stats().Waiting == 2 }, "Receive waiting")

	require.NoError(t, s.Put(ctx, ev("y")))
	require.NoError(t, s.Put(ctx, ev("x")))
	assert.Equal(t, "x", (<-byID).CorrelationID, "the Consume for its id gets it, though a Receive waited")
	assert.Equal(t, "y", (<-anyone).CorrelationID)
	assert.Zero(t, s.Len(), "both were handed over, none stored")
	assert.Zero(t, s.Stats().Waiting)
}

func TestStoreWaitEndsWithContext(t *testing.T) {
	s := NewStore(StoreOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	_, err := s.Receive(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	_, err = s.Consume(ctx, "x")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Zero(t, s.Stats().Waiting)
	require.NoError(t, s.Put(context.Background(), ev("x")))
	assert.Equal(t, 1, s.Len(), "a gone waiter takes nothing")
}

// TestStoreExactlyOneTaker puts 2,000 events while 8 receivers and a
// consumer per id compete with ctx cancellations: each event is taken once.
func TestStoreExactlyOneTaker(t *testing.T) {
	const n = 2000
	s := NewStore(StoreOptions{MaxEvents: n})
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	seen := make(map[string]int)
	take := func(e *Event) {
		mu.Lock()
		seen[e.CorrelationID]++
		mu.Unlock()
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for {
				short, c := context.WithTimeout(ctx, time.Millisecond)
				e, err := s.Receive(short)
				c()
				if err == nil {
					take(e)
				} else if ctx.Err() != nil {
					return
				}
			}
		})
	}
	for i := 0; i < n; i += 10 {
		wg.Go(func() {
			if e, err := s.Consume(ctx, fmt.Sprint(i)); err == nil {
				take(e)
			}
		})
	}
	for i := range n {
		require.NoError(t, s.Put(ctx, ev(fmt.Sprint(i))))
	}
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)+s.Len() == n && s.Len() == 0
	}, "every event taken")
	cancel()
	wg.Wait()
	for _, e := range s.ConsumeAll() {
		take(e)
	}
	assert.Len(t, seen, n)
	for id, k := range seen {
		assert.Equal(t, 1, k, "event %s taken %d times", id, k)
	}
}

func TestStoreDropOldest(t *testing.T) {
	ctx := context.Background()
	s := NewStore(StoreOptions{MaxEvents: 3})
	for i := range 5 {
		require.NoError(t, s.Put(ctx, ev(fmt.Sprint(i))))
	}
	assert.Equal(t, 3, s.Len())
	assert.Equal(t, int64(2), s.Stats().Evicted)
	e, _ := s.Poll()
	assert.Equal(t, "2", e.CorrelationID)
	_, err := s.Consume(canceled(), "0")
	assert.ErrorIs(t, err, context.Canceled, "an evicted id is gone")
}

func TestStoreBlock(t *testing.T) {
	ctx := context.Background()
	s := NewStore(StoreOptions{MaxEvents: 2, Full: Block})
	require.NoError(t, s.Put(ctx, ev("a")))
	require.NoError(t, s.Put(ctx, ev("b")))

	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	assert.ErrorIs(t, s.Put(short, ev("c")), context.DeadlineExceeded, "full: Put waits, then gives up")

	done := make(chan error, 1)
	go func() { done <- s.Put(ctx, ev("c")) }()
	waitFor(t, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.blocked == 1
	}, "Put blocked")
	select {
	case err := <-done:
		t.Fatalf("Put returned %v while the store was full", err)
	default:
	}
	e, ok := s.Poll()
	require.True(t, ok)
	assert.Equal(t, "a", e.CorrelationID)
	require.NoError(t, <-done, "a take made room")
	assert.Equal(t, 2, s.Len())
	assert.Zero(t, s.Stats().Evicted, "Block drops nothing")
}

func TestStoreMaxAge(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := NewStore(StoreOptions{MaxAge: time.Minute})
	s.now = func() time.Time { return now }
	require.NoError(t, s.Put(ctx, ev("old")))
	now = now.Add(40 * time.Second)
	require.NoError(t, s.Put(ctx, ev("new")))
	assert.Equal(t, 2, s.Len())
	now = now.Add(30 * time.Second)
	assert.Equal(t, 1, s.Len(), "old is 70 s old")
	assert.Equal(t, int64(1), s.Stats().Evicted)
	e, ok := s.Poll()
	require.True(t, ok)
	assert.Equal(t, "new", e.CorrelationID)
}

func TestStoreBlockUntilExpiry(t *testing.T) {
	s := NewStore(StoreOptions{MaxEvents: 1, Full: Block, MaxAge: 20 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, s.Put(ctx, ev("a")))
	require.NoError(t, s.Put(ctx, ev("b")), "a expires, which makes room")
	e, ok := s.Poll()
	require.True(t, ok)
	assert.Equal(t, "b", e.CorrelationID)
}

func TestStoreAsHandler(t *testing.T) {
	s := NewStore(StoreOptions{})
	out, err := s.HandleEvent(context.Background(), ev("h"))
	require.NoError(t, err)
	assert.Nil(t, out, "no reply")
	assert.Equal(t, 1, s.Len())
	assert.Error(t, s.Put(context.Background(), nil))
}

func canceled() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
