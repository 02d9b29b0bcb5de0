package event

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/internal/route"
)

// Router routes events by their dotted names, as the seed's EventRouter
// does: for "test.return" it finds "test", an included router, and asks it
// for "return". The name given to NewRouter is the router's segment when it
// is included; the root's name is not part of any path.
//
// A bind's pattern may use RabbitMQ's wildcards: "*" matches one segment,
// "#" zero or more. At each segment an exact word beats "*", which beats
// "#"; an included router counts as an exact word. Once a segment names an
// included router, the rest of the name is that router's to match: the
// parent's wildcard binds are not tried again if it finds nothing.
//
// Setup mistakes panic, as http.ServeMux's do: a duplicate pattern (or one
// matching the same names as another, such as "#.*" and "*.#"), a pattern
// whose first segment names an included router, two included routers with
// one name. Run-time misses are values: a *RouteError wrapping ErrNoRoute.
//
// A Router is safe for concurrent use; binding while events are dispatched
// is allowed. Its handlers run with no lock held.
type Router struct {
	name string

	mu       sync.RWMutex
	binds    route.Trie[*binding] // under canonical patterns
	subs     map[string]*Router
	mw       []Middleware
	notFound Handler
}

type binding struct {
	pattern string // as given to Bind
	h       Handler
}

// NewRouter returns an empty router named name, the segment under which a
// parent's Include places it. A root router's name is only a label.
func NewRouter(name string) *Router {
	return &Router{name: name, subs: make(map[string]*Router)}
}

// Name returns the router's name.
func (r *Router) Name() string { return r.name }

// Bind routes the events whose names (after this router's place in the
// walk) match pattern to h. It panics on a nil handler, an empty pattern,
// and a clash: a pattern already bound (or an equivalent one), or one whose
// first segment is an included router's name.
func (r *Router) Bind(pattern string, h Handler) {
	if h == nil {
		panic(fmt.Sprintf("event: router %q: nil handler for %q", r.name, pattern))
	}
	if pattern == "" {
		panic(fmt.Sprintf("event: router %q: empty pattern", r.name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if first := route.Split(pattern)[0]; r.subs[first] != nil {
		panic(fmt.Sprintf("event: router %q: pattern %q clashes with the included router %q", r.name, pattern, first))
	}
	canon := route.Canonical(pattern)
	if old, ok := r.binds.Get(canon); ok {
		panic(fmt.Sprintf("event: router %q: pattern %q duplicates %q", r.name, pattern, old.pattern))
	}
	r.binds.Insert(canon, &binding{pattern: pattern, h: h})
}

// Include places sub under its name: events whose next segment is that
// name are routed by sub with the rest of their name. It panics when sub is
// nil or r itself, when its name is empty, has a dot or is a wildcard, and
// when the name is taken by another included router or by the first
// segment of a bind.
func (r *Router) Include(sub *Router) {
	if sub == nil || sub == r {
		panic(fmt.Sprintf("event: router %q: cannot include nil or itself", r.name))
	}
	name := sub.name
	if name == "" || strings.Contains(name, ".") || name == route.One || name == route.Many {
		panic(fmt.Sprintf("event: router %q: cannot include a router named %q: want one plain segment", r.name, name))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.subs[name] != nil {
		panic(fmt.Sprintf("event: router %q: a router named %q is already included", r.name, name))
	}
	for _, p := range r.binds.Patterns() {
		if route.Split(p)[0] == name {
			b, _ := r.binds.Get(p)
			panic(fmt.Sprintf("event: router %q: including %q clashes with the pattern %q", r.name, name, b.pattern))
		}
	}
	r.subs[name] = sub
}

// Use adds middleware around every handler this router dispatches to,
// included routers' handlers and NotFound among them. A parent's middleware
// runs outside its children's; within one router, the first given is the
// outermost.
func (r *Router) Use(mw ...Middleware) {
	r.mu.Lock()
	r.mw = append(r.mw, mw...)
	r.mu.Unlock()
}

// NotFound sets the handler for events this router (or an included router
// without a NotFound of its own) finds no bind for. Default: none, so
// Dispatch returns a *RouteError.
func (r *Router) NotFound(h Handler) {
	r.mu.Lock()
	r.notFound = h
	r.mu.Unlock()
}

// Dispatch routes e to its handler and returns what the handler returns,
// or a *RouteError (ErrNoRoute) when nothing matches and no NotFound is set.
func (r *Router) Dispatch(ctx context.Context, e *Event) (*Event, error) {
	if e == nil {
		return nil, errors.New("event: dispatch of a nil event")
	}
	h, rerr := r.resolve(e.Name)
	if h == nil {
		return nil, rerr
	}
	return h.HandleEvent(ctx, e)
}

// HandleEvent is Dispatch, so that a Router is a Handler: it can be
// included in Listen, wrapped by middleware, or bound in another router.
func (r *Router) HandleEvent(ctx context.Context, e *Event) (*Event, error) {
	return r.Dispatch(ctx, e)
}

// Handle decodes m and dispatches it, so that a Router is a brook.Handler
// for a plain consumer (Consumer.Run, pubsub's Consume). What the handler
// returns is dropped: replies need Bus.Listen. A message that is not an
// event is a *DecodeError.
func (r *Router) Handle(ctx context.Context, m *brook.Message) error {
	e, err := Decode(m)
	if err != nil {
		return err
	}
	_, err = r.Dispatch(WithCorrelationID(ctx, e.CorrelationID), e)
	return err
}

var _ brook.Handler = (*Router)(nil).Handle

// resolve walks name and returns its handler wrapped in the middleware of
// every router walked, or a nil handler and the RouteError.
func (r *Router) resolve(name string) (Handler, *RouteError) {
	words := route.Split(name)
	var walked []string
	var mws []Middleware
	var notFound Handler
	var h Handler
	var rerr *RouteError
	for cur := r; cur != nil; {
		cur.mu.RLock()
		mws = append(mws, cur.mw...)
		if cur.notFound != nil {
			notFound = cur.notFound
		}
		next := (*Router)(nil)
		if len(words) > 0 {
			next = cur.subs[words[0]]
		}
		if next != nil {
			walked = append(walked, words[0])
			words = words[1:]
		} else if b, _, ok := cur.binds.LookupWords(words); ok {
			h = b.h
		} else {
			n := cur.binds.Prefix(words)
			rerr = &RouteError{Event: name, Walked: append(walked, words[:n]...)}
			if n < len(words) {
				rerr.Missing = words[n]
			}
		}
		cur.mu.RUnlock()
		cur = next
	}
	if h == nil {
		if notFound == nil {
			return nil, rerr
		}
		h = notFound
	}
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h, nil
}
