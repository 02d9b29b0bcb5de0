package event

import (
	"container/list"
	"context"
	"errors"
	"sync"
	"time"
)

// FullPolicy says what Store.Put does when the store holds MaxEvents.
type FullPolicy int

const (
	// DropOldest evicts the oldest event to make room (counted in
	// StoreStats.Evicted).
	DropOldest FullPolicy = iota
	// Block makes Put wait until a taker makes room, an event expires, or
	// its context ends.
	Block
)

// StoreOptions configure a Store. Zero fields mean their defaults.
type StoreOptions struct {
	// MaxEvents bounds the events held. Default: 10,000.
	MaxEvents int
	// MaxAge evicts events held longer than this (counted in
	// StoreStats.Evicted). Default: none, events wait until taken.
	MaxAge time.Duration
	// Full is what Put does when MaxEvents are held. Default: DropOldest.
	Full FullPolicy
}

// StoreStats are a Store's counters.
type StoreStats struct {
	Evicted int64 // events dropped by DropOldest or MaxAge
	Waiting int64 // Receive and Consume calls blocked now
}

// Store is the seed's consumer storage: events kept by correlation id and
// in arrival order, for code that takes them when it wants them rather than
// in a handler. Feed it with Put, or make it the handler of Bus.Listen, or
// the Store of Bus Options to keep replies that came after their Request
// gave up.
//
// Each event goes to exactly one taker: a Consume waiting for its id first,
// then a Receive, otherwise the store, where Poll, Receive, Consume or
// ConsumeAll will find it. Putting an event into a Store lets Listen commit
// it, so what a Store holds is lost if the process stops: at-most-once
// across a crash. Durable work belongs in a Listen handler (a Router).
//
// A Store starts no goroutine and needs no Close. It is safe for concurrent
// use.
type Store struct {
	max    int
	maxAge time.Duration
	full   FullPolicy
	now    func() time.Time // time.Now; tests move it

	mu        sync.Mutex
	order     list.List                  // of *stored, oldest first
	byID      map[string][]*list.Element // the same elements, per correlation id, oldest first
	consumers map[string]*list.List      // of *waiter, per id, oldest first
	receivers list.List                  // of *waiter, oldest first
	waiting   int64
	blocked   int           // Puts waiting for room
	room      chan struct{} // closed (and replaced) when room is made while Puts wait
	evicted   int64
}

type stored struct {
	e  *Event
	at time.Time
}

// waiter is a blocked Receive or Consume. A taker hands it one event under
// the store's lock: it sets done and sends to ch, which has room for one.
type waiter struct {
	ch   chan *Event
	done bool
	el   *list.Element // in receivers or consumers[id]
	id   string        // "" for a Receive
}

// NewStore returns an empty store.
func NewStore(o StoreOptions) *Store {
	if o.MaxEvents <= 0 {
		o.MaxEvents = 10_000
	}
	return &Store{
		max: o.MaxEvents, maxAge: o.MaxAge, full: o.Full, now: time.Now,
		byID: make(map[string][]*list.Element), consumers: make(map[string]*list.List),
		room: make(chan struct{}),
	}
}

// Put hands e to a waiting Consume for its id, else to a waiting Receive,
// else keeps it. When the store is full it evicts the oldest event
// (DropOldest) or waits for room (Block), returning ctx.Err() if ctx ends
// first.
func (s *Store) Put(ctx context.Context, e *Event) error {
	if e == nil {
		return errors.New("event: Put of a nil event")
	}
	s.mu.Lock()
	for {
		now := s.now()
		s.expire(now)
		if w := s.takeWaiter(e.CorrelationID); w != nil {
			w.ch <- e
			s.mu.Unlock()
			return nil
		}
		if s.order.Len() >= s.max && s.full == DropOldest {
			s.remove(s.order.Front())
			s.evicted++
		}
		if s.order.Len() < s.max {
			el := s.order.PushBack(&stored{e: e, at: now})
			s.byID[e.CorrelationID] = append(s.byID[e.CorrelationID], el)
			s.mu.Unlock()
			return nil
		}
		if err := s.waitRoom(ctx, now); err != nil {
			return err
		}
	}
}

// waitRoom waits, with s.mu released, until room may have been made: a
// take, the oldest event's expiry, or ctx's end. It returns with s.mu held,
// or with it released and ctx's error.
func (s *Store) waitRoom(ctx context.Context, now time.Time) error {
	room := s.room
	s.blocked++
	var expiry <-chan time.Time
	if s.maxAge > 0 {
		oldest := s.order.Front().Value.(*stored)
		t := time.NewTimer(oldest.at.Add(s.maxAge).Sub(now))
		defer t.Stop()
		expiry = t.C
	}
	s.mu.Unlock()
	var err error
	select {
	case <-room:
	case <-expiry:
	case <-ctx.Done():
		err = ctx.Err()
	}
	s.mu.Lock()
	s.blocked--
	if err != nil {
		s.mu.Unlock()
	}
	return err
}

// HandleEvent puts e into the store and returns no reply, so that a Store
// can be the handler of Bus.Listen.
func (s *Store) HandleEvent(ctx context.Context, e *Event) (*Event, error) {
	return nil, s.Put(ctx, e)
}

// Poll takes the oldest event without waiting, and reports whether there
// was one.
func (s *Store) Poll() (*Event, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.now())
	if s.order.Len() == 0 {
		return nil, false
	}
	return s.remove(s.order.Front()), true
}

// Receive takes the oldest event, waiting for one if the store is empty.
// It returns ctx.Err() if ctx ends first.
func (s *Store) Receive(ctx context.Context) (*Event, error) {
	s.mu.Lock()
	s.expire(s.now())
	if s.order.Len() > 0 {
		e := s.remove(s.order.Front())
		s.mu.Unlock()
		return e, nil
	}
	w := &waiter{ch: make(chan *Event, 1)}
	w.el = s.receivers.PushBack(w)
	return s.wait(ctx, w)
}

// Consume takes the oldest event whose correlation id is id, waiting for
// one if there is none: the seed's consume(correlation_id). It returns
// ctx.Err() if ctx ends first.
func (s *Store) Consume(ctx context.Context, id string) (*Event, error) {
	s.mu.Lock()
	s.expire(s.now())
	if els := s.byID[id]; len(els) > 0 {
		e := s.remove(els[0])
		s.mu.Unlock()
		return e, nil
	}
	w := &waiter{ch: make(chan *Event, 1), id: id}
	l := s.consumers[id]
	if l == nil {
		l = list.New()
		s.consumers[id] = l
	}
	w.el = l.PushBack(w)
	return s.wait(ctx, w)
}

// wait blocks a registered waiter; s.mu is held on entry and released.
func (s *Store) wait(ctx context.Context, w *waiter) (*Event, error) {
	s.waiting++
	s.mu.Unlock()
	select {
	case e := <-w.ch:
		return e, nil
	case <-ctx.Done():
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if w.done { // handed an event while ctx ended: it is ours, or it would be lost
		return <-w.ch, nil
	}
	s.unregister(w)
	return nil, ctx.Err()
}

// ConsumeAll takes every event held, oldest first. Unlike the seed's dict,
// repeated correlation ids are all kept.
func (s *Store) ConsumeAll() []*Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.now())
	out := make([]*Event, 0, s.order.Len())
	for s.order.Len() > 0 {
		out = append(out, s.remove(s.order.Front()))
	}
	return out
}

// Len returns the number of events held (not yet taken or expired).
func (s *Store) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expire(s.now())
	return s.order.Len()
}

// Stats returns the store's counters.
func (s *Store) Stats() StoreStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return StoreStats{Evicted: s.evicted, Waiting: s.waiting}
}

// takeWaiter removes and returns the waiter that gets an event with id: the
// oldest Consume for id, else the oldest Receive, else nil.
func (s *Store) takeWaiter(id string) *waiter {
	var el *list.Element
	if l := s.consumers[id]; l != nil {
		el = l.Front()
	}
	if el == nil {
		el = s.receivers.Front()
	}
	if el == nil {
		return nil
	}
	w := el.Value.(*waiter)
	s.unregister(w)
	w.done = true
	return w
}

func (s *Store) unregister(w *waiter) {
	s.waiting--
	if w.id == "" {
		s.receivers.Remove(w.el)
		return
	}
	l := s.consumers[w.id]
	l.Remove(w.el)
	if l.Len() == 0 {
		delete(s.consumers, w.id)
	}
}

// remove takes el out of the store and returns its event.
func (s *Store) remove(el *list.Element) *Event {
	st := s.order.Remove(el).(*stored)
	id := st.e.CorrelationID
	els := s.byID[id]
	for i, x := range els {
		if x == el {
			els = append(els[:i], els[i+1:]...)
			break
		}
	}
	if len(els) == 0 {
		delete(s.byID, id)
	} else {
		s.byID[id] = els
	}
	if s.blocked > 0 {
		close(s.room)
		s.room = make(chan struct{})
	}
	return st.e
}

// expire evicts the events older than MaxAge.
func (s *Store) expire(now time.Time) {
	if s.maxAge <= 0 {
		return
	}
	for el := s.order.Front(); el != nil; el = s.order.Front() {
		if now.Sub(el.Value.(*stored).at) <= s.maxAge {
			return
		}
		s.remove(el)
		s.evicted++
	}
}
