package event

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/brookmq/brook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// named is a handler that answers with its own name as Data.
func named(name string) Handler {
	return HandlerFunc(func(_ context.Context, e *Event) (*Event, error) {
		r := e.reply()
		r.Data = json.RawMessage(fmt.Sprintf("%q", name))
		return r, nil
	})
}

func dispatch(t *testing.T, r *Router, name string) (string, error) {
	t.Helper()
	out, err := r.Dispatch(context.Background(), &Event{Name: name})
	if err != nil {
		return "", err
	}
	var who string
	require.NoError(t, out.Decode(&who))
	return who, nil
}

// TestRouterSeedWalk is the seed's example: "test.return" finds the router
// "test", then its bind "return"; the root's name is not in the path.
func TestRouterSeedWalk(t *testing.T) {
	test := NewRouter("test")
	test.Bind("return", named("return_event"))
	root := NewRouter("module")
	root.Include(test)

	got, err := dispatch(t, root, "test.return")
	require.NoError(t, err)
	assert.Equal(t, "return_event", got)

	_, err = dispatch(t, root, "module.test.return")
	assert.ErrorIs(t, err, ErrNoRoute)
}

func TestRouterNestingAndPatterns(t *testing.T) {
	eu := NewRouter("eu")
	eu.Bind("get", named("eu.get"))
	eu.Bind("#", named("eu.#"))
	quote := NewRouter("quote")
	quote.Include(eu)
	quote.Bind("get", named("quote.get"))
	quote.Bind("*", named("quote.*"))
	quote.Bind("*.get", named("quote.*.get"))
	root := NewRouter("root")
	root.Include(quote)
	root.Bind("order.#", named("order.#"))
	root.Bind("order.*.done", named("order.*.done"))
	root.Bind("#.audit", named("#.audit"))
	root.Bind("*.audit", named("*.audit"))

	tests := []struct{ name, event, want string }{
		{"exact in sub", "quote.get", "quote.get"},
		{"star in sub", "quote.put", "quote.*"},
		{"sub of sub exact", "quote.eu.get", "eu.get"},
		{"sub of sub hash", "quote.eu.x.y", "eu.#"},
		{"sub of sub hash zero words", "quote.eu", "eu.#"},
		{"included router beats star", "quote.eu.get", "eu.get"},
		{"star then exact", "quote.us.get", "quote.*.get"},
		{"star beats hash", "order.x.done", "order.*.done"},
		{"hash many", "order.x.y.z", "order.#"},
		{"hash zero", "order", "order.#"},
		{"star beats hash at first word", "billing.audit", "*.audit"},
		{"hash when star cannot", "a.b.audit", "#.audit"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := dispatch(t, root, tt.event)
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestRouterPrecedenceExactStarHash(t *testing.T) {
	r := NewRouter("r")
	r.Bind("#", named("#"))
	for _, tt := range []struct{ bind, want string }{{"*.b", "*.b"}, {"a.b", "a.b"}} {
		r.Bind(tt.bind, named(tt.bind))
		got, err := dispatch(t, r, "a.b")
		require.NoError(t, err)
		assert.Equal(t, tt.want, got, "after binding %q", tt.bind)
	}
}

func TestRouteErrors(t *testing.T) {
	eu := NewRouter("eu")
	eu.Bind("price.get", named("x"))
	quote := NewRouter("quote")
	quote.Include(eu)
	root := NewRouter("root")
	root.Include(quote)
	root.Bind("order.*.done", named("y"))

	tests := []struct {
		name, event string
		walked      []string
		missing     string
	}{
		{"unknown first segment", "billing.x", nil, "billing"},
		{"astray in sub of sub", "quote.eu.price.put", []string{"quote", "eu", "price"}, "put"},
		{"name ends early", "quote.eu.price", []string{"quote", "eu", "price"}, ""},
		{"sub has nothing", "quote.us", []string{"quote"}, "us"},
		{"bind's prefix walked", "order.x.open", []string{"order", "x"}, "open"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := root.Dispatch(context.Background(), &Event{Name: tt.event})
			var re *RouteError
			require.ErrorAs(t, err, &re)
			assert.ErrorIs(t, err, ErrNoRoute)
			assert.Equal(t, tt.event, re.Event)
			assert.Equal(t, tt.walked, re.Walked)
			assert.Equal(t, tt.missing, re.Missing)
			assert.Contains(t, err.Error(), tt.event)
		})
	}
	_, err := root.Dispatch(context.Background(), nil)
	assert.Error(t, err)
}

func TestRouterNotFound(t *testing.T) {
	sub := NewRouter("sub")
	sub.Bind("a", named("a"))
	root := NewRouter("root")
	root.Include(sub)
	root.NotFound(named("root.notfound"))

	got, err := dispatch(t, root, "nothing")
	require.NoError(t, err)
	assert.Equal(t, "root.notfound", got)
	got, err = dispatch(t, root, "sub.b")
	require.NoError(t, err)
	assert.Equal(t, "root.notfound", got, "a sub without NotFound uses its parent's")

	sub.NotFound(named("sub.notfound"))
	got, err = dispatch(t, root, "sub.b")
	require.NoError(t, err)
	assert.Equal(t, "sub.notfound", got, "the deepest NotFound wins")
}

func TestRouterClashesPanic(t *testing.T) {
	h := named("h")
	tests := []struct {
		name  string
		setup func(r *Router)
	}{
		{"duplicate", func(r *Router) { r.Bind("a.b", h); r.Bind("a.b", h) }},
		{"equivalent wildcards", func(r *Router) { r.Bind("a.#.*", h); r.Bind("a.*.#", h) }},
		{"hash run", func(r *Router) { r.Bind("#", h); r.Bind("#.#", h) }},
		{"bind over include", func(r *Router) { r.Include(NewRouter("a")); r.Bind("a.x", h) }},
		{"bind equal to include", func(r *Router) { r.Include(NewRouter("a")); r.Bind("a", h) }},
		{"include over bind", func(r *Router) { r.Bind("a.*", h); r.Include(NewRouter("a")) }},
		{"two includes", func(r *Router) { r.Include(NewRouter("a")); r.Include(NewRouter("a")) }},
		{"include itself", func(r *Router) { r.Include(r) }},
		{"include nil", func(r *Router) { r.Include(nil) }},
		{"include dotted", func(r *Router) { r.Include(NewRouter("a.b")) }},
		{"include wildcard", func(r *Router) { r.Include(NewRouter("*")) }},
		{"include unnamed", func(r *Router) { r.Include(NewRouter("")) }},
		{"nil handler", func(r *Router) { r.Bind("a", nil) }},
		{"empty pattern", func(r *Router) { r.Bind("", h) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Panics(t, func() { tt.setup(NewRouter("r")) })
		})
	}
	// Not clashes: precedence decides between these.
	assert.NotPanics(t, func() {
		r := NewRouter("r")
		r.Include(NewRouter("a"))
		r.Bind("*.x", h)
		r.Bind("#", h)
		r.Bind("b.*", h)
		r.Bind("b.#", h)
		r.Bind("b.x", h)
	})
}

func TestRouterMiddlewareOrder(t *testing.T) {
	var mu sync.Mutex
	var trace []string
	mw := func(name string) Middleware {
		return func(next Handler) Handler {
			return HandlerFunc(func(ctx context.Context, e *Event) (*Event, error) {
				mu.Lock()
				trace = append(trace, name)
				mu.Unlock()
				return next.HandleEvent(ctx, e)
			})
		}
	}
	sub := NewRouter("sub")
	sub.Use(mw("sub"))
	sub.Bind("x", named("x"))
	root := NewRouter("root")
	root.Use(mw("root1"), mw("root2"))
	root.Include(sub)
	root.NotFound(named("nf"))

	_, err := dispatch(t, root, "sub.x")
	require.NoError(t, err)
	assert.Equal(t, []string{"root1", "root2", "sub"}, trace)

	trace = nil
	_, err = dispatch(t, root, "other")
	require.NoError(t, err)
	assert.Equal(t, []string{"root1", "root2"}, trace, "NotFound is wrapped too")
}

func TestRouterErrorsPassThrough(t *testing.T) {
	boom := errors.New("boom")
	r := NewRouter("r")
	r.Bind("fail", HandlerFunc(func(context.Context, *Event) (*Event, error) { return nil, boom }))
	_, err := r.Dispatch(context.Background(), &Event{Name: "fail"})
	assert.ErrorIs(t, err, boom)
}

func TestRouterIsAHandler(t *testing.T) {
	inner := NewRouter("inner")
	inner.Bind("x", named("inner.x"))
	outer := NewRouter("outer")
	outer.Bind("wrapped.#", inner) // a router bound as a plain handler sees the whole name
	_, err := dispatch(t, outer, "wrapped.x")
	assert.ErrorIs(t, err, ErrNoRoute, "bound, not included: the name is not shortened")

	var got *Event
	var gotID string
	r := NewRouter("r")
	r.Bind("order.placed", HandlerFunc(func(ctx context.Context, e *Event) (*Event, error) {
		got = e
		gotID, _ = CorrelationIDFrom(ctx)
		return nil, nil
	}))
	var h brook.Handler = r.Handle
	require.NoError(t, h(context.Background(), &brook.Message{Value: []byte(`{"correlation_id":"c9","event":"order.placed"}`)}))
	require.NotNil(t, got)
	assert.Equal(t, "c9", gotID)
	var de *DecodeError
	assert.ErrorAs(t, h(context.Background(), &brook.Message{Value: []byte(`nope`)}), &de)
	assert.ErrorIs(t, h(context.Background(), &brook.Message{Value: []byte(`{"event":"nobody"}`)}), ErrNoRoute)
}

func TestTyped(t *testing.T) {
	type req struct{ Qty int }
	type resp struct{ Total int }
	h := Typed(func(_ context.Context, in req) (resp, error) {
		if in.Qty < 0 {
			return resp{}, &ErrorInfo{Code: "negative", Message: "qty < 0"}
		}
		return resp{Total: in.Qty * 10}, nil
	})
	out, err := h.HandleEvent(context.Background(), &Event{CorrelationID: "c", Name: "q", Data: json.RawMessage(`{"Qty":3}`)})
	require.NoError(t, err)
	assert.Equal(t, "c", out.CorrelationID)
	assert.Equal(t, "q", out.Name)
	assert.JSONEq(t, `{"Total":30}`, string(out.Data))

	_, err = h.HandleEvent(context.Background(), &Event{Name: "q", Data: json.RawMessage(`{"Qty":"x"}`)})
	var info *ErrorInfo
	require.ErrorAs(t, err, &info)
	assert.Equal(t, CodeBadRequest, info.Code)

	_, err = h.HandleEvent(context.Background(), &Event{Name: "q", Data: json.RawMessage(`{"Qty":-1}`)})
	require.ErrorAs(t, err, &info)
	assert.Equal(t, "negative", info.Code)

	bad := Typed(func(context.Context, req) (chan int, error) { return make(chan int), nil })
	_, err = bad.HandleEvent(context.Background(), &Event{Name: "q"})
	assert.ErrorContains(t, err, "encode q reply")
}

func TestRouterConcurrentBindAndDispatch(t *testing.T) {
	r := NewRouter("r")
	r.Bind("#", named("#"))
	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 200 {
			r.Bind(fmt.Sprintf("k%d", i), named("k"))
		}
	})
	for range 200 {
		_, err := dispatch(t, r, "k5")
		require.NoError(t, err)
	}
	wg.Wait()
}

func TestContextValues(t *testing.T) {
	ctx := context.Background()
	_, ok := CorrelationIDFrom(ctx)
	assert.False(t, ok)
	_, ok = CorrelationIDFrom(WithCorrelationID(ctx, ""))
	assert.False(t, ok, "an empty id is no id")
	id, ok := CorrelationIDFrom(WithCorrelationID(ctx, "abc"))
	assert.True(t, ok)
	assert.Equal(t, "abc", id)
	_, ok = TraceparentFrom(ctx)
	assert.False(t, ok)
	tp, ok := TraceparentFrom(WithTraceparent(ctx, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
	assert.True(t, ok)
	assert.Equal(t, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tp)
}
