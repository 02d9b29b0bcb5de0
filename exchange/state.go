package exchange

import (
	"maps"
	"slices"

	"github.com/brookmq/brook/internal/route"
)

// Binding is one binding window of a queue: the queue takes the messages
// of Exchange that Key matches and whose offsets lie in [Since, Until),
// partition by partition. Since holds the exchange topic's end offsets when
// the binding was made; Until, nil while the binding stands, those when it
// was removed (by QueueUnbind or ExchangeDelete). Binding the same key
// again after an unbind opens a new window.
type Binding struct {
	Exchange string
	Key      string
	Since    []int64
	Until    []int64
}

// window is a Binding as the state keeps it: with the kind of the exchange
// it was made on, so a window keeps matching as it did even after the
// exchange is deleted and declared again with another kind.
type window struct {
	Exchange string  `json:"exchange"`
	Kind     Kind    `json:"kind"`
	Key      string  `json:"key"`
	Since    []int64 `json:"since,omitempty"`
	Until    []int64 `json:"until,omitempty"`
	Closed   bool    `json:"closed,omitempty"`
}

// contains reports whether offset off of partition p lies in the window.
// A partition the offsets do not cover (the topic grew) starts at 0 and
// has no end.
func (w *window) contains(p int, off int64) bool {
	if p < len(w.Since) && off < w.Since[p] {
		return false
	}
	if w.Closed && p < len(w.Until) && off >= w.Until[p] {
		return false
	}
	return true
}

type exchangeDecl struct {
	Name       string `json:"name"`
	Kind       Kind   `json:"kind"`
	Partitions int    `json:"partitions"`
}

type queueState struct {
	defaultSince []int64 // the window of the default exchange's binding, never closed
	windows      []window
}

// state is every declaration, as applied from the declarations log. It is
// not safe for concurrent use: Conn guards it.
type state struct {
	exchanges map[string]exchangeDecl
	queues    map[string]*queueState
	index     map[string]*routeIndex // open bindings by exchange; nil when stale
}

// routeIndex holds an exchange's open bindings for Publish: whether any
// queue takes a routing key.
type routeIndex struct {
	direct map[string]int // key → open bindings
	topic  route.Trie[int]
	open   int
}

func newState() *state {
	return &state{exchanges: map[string]exchangeDecl{}, queues: map[string]*queueState{}}
}

// apply applies one delta record. Records that do not apply (a bind to a
// queue that is gone, a second declaration) change nothing: the first
// writer wins, and writers check the outcome after their record is applied.
func (s *state) apply(r *record) {
	s.index = nil
	switch r.Op {
	case opExchangeDeclare:
		if _, ok := s.exchanges[r.Exchange]; !ok {
			s.exchanges[r.Exchange] = exchangeDecl{Name: r.Exchange, Kind: r.Kind, Partitions: r.Partitions}
		}
	case opExchangeDelete:
		if _, ok := s.exchanges[r.Exchange]; !ok {
			return
		}
		delete(s.exchanges, r.Exchange)
		for _, q := range s.queues {
			for i := range q.windows {
				if w := &q.windows[i]; w.Exchange == r.Exchange && !w.Closed {
					w.Closed, w.Until = true, slices.Clone(r.Offsets)
				}
			}
			q.dropEmpty()
		}
	case opQueueDeclare:
		if _, ok := s.queues[r.Queue]; !ok {
			s.queues[r.Queue] = &queueState{defaultSince: slices.Clone(r.Offsets)}
		}
	case opQueueDelete:
		delete(s.queues, r.Queue)
	case opBind:
		q, e := s.queues[r.Queue], s.exchanges[r.Exchange]
		if q == nil || e.Name == "" || q.open(r.Exchange, r.Key) != nil {
			return
		}
		q.windows = append(q.windows, window{Exchange: r.Exchange, Kind: e.Kind, Key: r.Key, Since: slices.Clone(r.Offsets)})
	case opUnbind:
		if q := s.queues[r.Queue]; q != nil {
			if w := q.open(r.Exchange, r.Key); w != nil {
				w.Closed, w.Until = true, slices.Clone(r.Offsets)
				q.dropEmpty()
			}
		}
	}
}

// open returns the queue's open window for (exchange, key), or nil.
func (q *queueState) open(exchange, key string) *window {
	for i := range q.windows {
		if w := &q.windows[i]; !w.Closed && w.Exchange == exchange && w.Key == key {
			return w
		}
	}
	return nil
}

// dropEmpty forgets the closed windows that hold no offset (nothing was
// published while they stood), so that bind and unbind cycles on a quiet
// exchange do not grow the state.
func (q *queueState) dropEmpty() {
	q.windows = slices.DeleteFunc(q.windows, func(w window) bool {
		if !w.Closed || len(w.Until) == 0 {
			return false
		}
		for p, u := range w.Until {
			if p >= len(w.Since) || u > w.Since[p] {
				return false
			}
		}
		return true
	})
}

// matches reports whether queue takes the message of exchange (the default
// exchange is "") with routing key key at partition p, offset off.
func (s *state) matches(queue, exchange, key string, p int, off int64) bool {
	q := s.queues[queue]
	if q == nil {
		return false
	}
	if exchange == "" {
		return key == queue && (p >= len(q.defaultSince) || off >= q.defaultSince[p])
	}
	for i := range q.windows {
		w := &q.windows[i]
		if w.Exchange == exchange && w.contains(p, off) && w.Kind.matches(w.Key, key) {
			return true
		}
	}
	return false
}

// routable reports whether a message published now to exchange with key
// reaches at least one queue.
func (s *state) routable(exchange, key string) bool {
	if exchange == "" {
		_, ok := s.queues[key]
		return ok
	}
	e, ok := s.exchanges[exchange]
	if !ok {
		return false
	}
	ix := s.routes(exchange)
	switch e.Kind {
	case Fanout:
		return ix.open > 0
	case Topic:
		_, _, ok := ix.topic.Lookup(key)
		return ok
	}
	return ix.direct[key] > 0
}

// routes returns exchange's index of open bindings, rebuilding the whole
// index after a change: declarations are rare, publishes are not.
func (s *state) routes(exchange string) *routeIndex {
	if s.index == nil {
		s.index = map[string]*routeIndex{}
		for _, q := range s.queues {
			for i := range q.windows {
				w := &q.windows[i]
				if w.Closed {
					continue
				}
				ix := s.index[w.Exchange]
				if ix == nil {
					ix = &routeIndex{direct: map[string]int{}}
					s.index[w.Exchange] = ix
				}
				ix.open++
				ix.direct[w.Key]++
				n, _ := ix.topic.Get(w.Key)
				ix.topic.Insert(w.Key, n+1)
			}
		}
	}
	if ix := s.index[exchange]; ix != nil {
		return ix
	}
	return &routeIndex{}
}

// topics returns the exchange topics queue reads, sorted: the default
// exchange's and those of every window, open or closed (a closed window
// still holds messages a lagging consumer must deliver).
func (s *state) topics(queue string) []string {
	q := s.queues[queue]
	if q == nil {
		return nil
	}
	set := map[string]bool{defaultTopic: true}
	for _, w := range q.windows {
		set[exchangeTopic(w.Exchange)] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// bindings returns copies of queue's windows, oldest first.
func (s *state) bindings(queue string) []Binding {
	q := s.queues[queue]
	if q == nil {
		return nil
	}
	out := make([]Binding, 0, len(q.windows))
	for _, w := range q.windows {
		b := Binding{Exchange: w.Exchange, Key: w.Key, Since: slices.Clone(w.Since)}
		if w.Closed {
			b.Until = slices.Clone(w.Until)
			if b.Until == nil {
				b.Until = []int64{}
			}
		}
		out = append(out, b)
	}
	return out
}

// snapshot returns the whole state, sorted so that equal states encode
// equally.
func (s *state) snapshot() *snapshot {
	snap := &snapshot{Exchanges: []exchangeDecl{}, Queues: []queueSnap{}}
	for _, name := range slices.Sorted(maps.Keys(s.exchanges)) {
		snap.Exchanges = append(snap.Exchanges, s.exchanges[name])
	}
	for _, name := range slices.Sorted(maps.Keys(s.queues)) {
		q := s.queues[name]
		snap.Queues = append(snap.Queues, queueSnap{Name: name, DefaultSince: slices.Clone(q.defaultSince), Bindings: slices.Clone(q.windows)})
	}
	return snap
}

// stateFrom returns the state a snapshot describes.
func stateFrom(snap *snapshot) *state {
	s := newState()
	for _, e := range snap.Exchanges {
		s.exchanges[e.Name] = e
	}
	for _, q := range snap.Queues {
		s.queues[q.Name] = &queueState{defaultSince: slices.Clone(q.DefaultSince), windows: slices.Clone(q.Bindings)}
	}
	return s
}
