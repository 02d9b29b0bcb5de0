package event

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type quoteIn struct {
	SKU string `json:"sku"`
	Qty int    `json:"qty"`
}

type quoteOut struct {
	SKU   string `json:"sku"`
	Total int    `json:"total"`
}

// pricingRouter is the seed's shape: a root router including "pricing",
// which includes "quote", which binds "get".
func pricingRouter() *Router {
	quote := NewRouter("quote")
	quote.Bind("get", Typed(func(_ context.Context, in quoteIn) (quoteOut, error) {
		if in.Qty <= 0 {
			return quoteOut{}, &ErrorInfo{Code: "bad_qty", Message: fmt.Sprintf("qty %d", in.Qty)}
		}
		return quoteOut{SKU: in.SKU, Total: 10 * in.Qty}, nil
	}))
	quote.Bind("fail", HandlerFunc(func(context.Context, *Event) (*Event, error) { return nil, errors.New("disk on fire") }))
	pricing := NewRouter("pricing")
	pricing.Include(quote)
	root := NewRouter("service")
	root.Include(pricing)
	return root
}

func TestRequestReplyThroughRouter(t *testing.T) {
	c := memClient(t, map[string]int{"pricing": 4})
	front := newBus(t, c, Options{Service: "front"})
	back := newBus(t, c, Options{Service: "pricing"})
	listen(t, back, "pricing", []string{"pricing"}, pricingRouter())

	req, err := New("pricing.quote.get", quoteIn{SKU: "B-17", Qty: 3})
	require.NoError(t, err)
	ctx := WithTraceparent(within(t, 10*time.Second), "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	reply, err := front.Request(ctx, "pricing", req)
	require.NoError(t, err)

	var out quoteOut
	require.NoError(t, reply.Decode(&out))
	assert.Equal(t, quoteOut{SKU: "B-17", Total: 30}, out)
	assert.Equal(t, req.CorrelationID, reply.CorrelationID)
	assert.NotEmpty(t, req.CorrelationID)
	assert.Equal(t, "front.replies", req.ReplyTo)
	assert.Empty(t, reply.ReplyTo)

	// One entry per hop: the request's publish, its handle, the reply's publish.
	require.Len(t, reply.AuditLog, 3)
	hops := []AuditEntry{reply.AuditLog[0], reply.AuditLog[1], reply.AuditLog[2]}
	assert.Equal(t, []string{"front/publish/pricing", "pricing/handle/pricing", "pricing/publish/front.replies"},
		[]string{hopName(hops[0]), hopName(hops[1]), hopName(hops[2])})
	assert.Equal(t, hops[0].Partition, hops[1].Partition)
	assert.Equal(t, hops[0].Offset, hops[1].Offset)
	assert.Equal(t, req.AuditLog, reply.AuditLog[:1], "the requester's copy has the same first hop")
	assert.Equal(t, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", string(reply.via.traceparent),
		"traceparent passed through to the reply")

	st := front.Stats()
	assert.Equal(t, BusStats{Pending: 0, LateReplies: 0, Published: 1, Handled: 0}, st)
	assert.Equal(t, int64(1), back.Stats().Handled)
	// The reply can reach the requester before the responder's Publish
	// returns and counts it.
	require.Eventually(t, func() bool { return back.Stats().Published == 1 }, 5*time.Second, time.Millisecond)
}

func hopName(a AuditEntry) string { return a.Service + "/" + a.Action + "/" + a.Topic }

func TestRemoteErrors(t *testing.T) {
	c := memClient(t, map[string]int{"pricing": 1})
	front := newBus(t, c, Options{Service: "front"})
	back := newBus(t, c, Options{Service: "pricing"})
	listen(t, back, "pricing", []string{"pricing"}, pricingRouter())

	tests := []struct {
		name, event string
		data        any
		code        string
	}{
		{"handler's own code", "pricing.quote.get", quoteIn{Qty: 0}, "bad_qty"},
		{"bad request data", "pricing.quote.get", "not an object", CodeBadRequest},
		{"plain error", "pricing.quote.fail", nil, CodeInternal},
		{"no route", "pricing.order.get", nil, CodeNoRoute},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := New(tt.event, tt.data)
			require.NoError(t, err)
			_, err = front.Request(within(t, 10*time.Second), "pricing", req)
			var re *RemoteError
			require.ErrorAs(t, err, &re)
			assert.Equal(t, tt.code, re.Code)
			assert.NotEmpty(t, re.Message)
			require.NotNil(t, re.Event)
			require.Len(t, re.Event.AuditLog, 3)
			assert.NotEmpty(t, re.Event.AuditLog[1].Error, "the failed handle is marked")
		})
	}
}

// TestThousandRequestsOutOfOrder makes 1,000 concurrent requests that the
// responder collects in a Store and answers in a shuffled order: each
// requester gets its own answer.
func TestThousandRequestsOutOfOrder(t *testing.T) {
	const n = 1000
	c := memClient(t, map[string]int{"work": 8})
	front := newBus(t, c, Options{Service: "front", ReplyPartitions: 4})
	back := newBus(t, c, Options{Service: "worker"})
	inbox := NewStore(StoreOptions{})
	listen(t, back, "workers", []string{"work"}, inbox) // returns no reply: answered below

	ctx := within(t, 60*time.Second)
	errs := make(chan error, n)
	for i := range n {
		go func() {
			req, err := New("square", i)
			if err != nil {
				errs <- err
				return
			}
			reply, err := front.Request(ctx, "work", req)
			if err != nil {
				errs <- err
				return
			}
			var got [2]int
			if err := reply.Decode(&got); err != nil {
				errs <- err
			} else if got != [2]int{i, i * i} {
				errs <- fmt.Errorf("request %d got the reply %v", i, got)
			} else {
				errs <- nil
			}
		}()
	}

	var reqs []*Event
	for len(reqs) < n {
		e, err := inbox.Receive(ctx)
		require.NoError(t, err)
		reqs = append(reqs, e)
	}
	assert.Equal(t, int64(n), front.Stats().Pending)
	rand.Shuffle(len(reqs), func(i, j int) { reqs[i], reqs[j] = reqs[j], reqs[i] })
	for _, r := range reqs {
		var i int
		require.NoError(t, r.Decode(&i))
		reply, err := New(r.Name, [2]int{i, i * i})
		require.NoError(t, err)
		require.NoError(t, back.Reply(ctx, r, reply))
	}
	for range n {
		assert.NoError(t, <-errs)
	}
	st := front.Stats()
	assert.Zero(t, st.Pending)
	assert.Zero(t, st.LateReplies)
}

func TestRequestTimeoutThenLateReply(t *testing.T) {
	c := memClient(t, map[string]int{"slow": 1})
	late := NewStore(StoreOptions{})
	front := newBus(t, c, Options{Service: "front", Store: late})
	back := newBus(t, c, Options{Service: "slow"})

	req, err := New("slow.op", nil)
	require.NoError(t, err)
	short, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = front.Request(short, "slow", req)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Zero(t, front.Stats().Pending, "a request that gave up leaves no waiter")

	// The responder comes up now: its reply finds nobody waiting.
	listen(t, back, "slow", []string{"slow"}, HandlerFunc(func(_ context.Context, e *Event) (*Event, error) {
		return e, nil
	}))
	got, err := late.Consume(within(t, 10*time.Second), req.CorrelationID)
	require.NoError(t, err)
	assert.Equal(t, "slow.op", got.Name)
	assert.Equal(t, int64(1), front.Stats().LateReplies)
}

func TestRequestCancelledByCaller(t *testing.T) {
	c := memClient(t, map[string]int{"void": 1})
	front := newBus(t, c, Options{Service: "front"})
	ctx, cancel := context.WithCancel(context.Background())
	done := pendingRequest(ctx, t, front, &Event{Name: "x"})
	cancel()
	assert.ErrorIs(t, <-done, context.Canceled)
	assert.Zero(t, front.Stats().Pending)
}

// TestResponderRestartedMidRequest stops the responder while its handler
// holds the request; the request is not committed, so the restarted
// responder answers it and the requester, still waiting, gets the reply.
func TestResponderRestartedMidRequest(t *testing.T) {
	c := memClient(t, map[string]int{"jobs": 1})
	front := newBus(t, c, Options{Service: "front"})
	back := newBus(t, c, Options{Service: "jobs", Consumer: pubsub.SubscribeOptions{MaxAttempts: 1}})

	started := make(chan struct{})
	stop := listen(t, back, "jobs", []string{"jobs"}, HandlerFunc(func(ctx context.Context, e *Event) (*Event, error) {
		close(started)
		<-ctx.Done() // the process goes down mid-request
		return nil, ctx.Err()
	}))
	ctx := within(t, 20*time.Second)
	type result struct {
		e   *Event
		err error
	}
	res := make(chan result, 1)
	go func() {
		req, _ := New("jobs.run", "payload")
		e, err := front.Request(ctx, "jobs", req)
		res <- result{e, err}
	}()
	select {
	case <-started:
	case <-ctx.Done():
		t.Fatal("the first responder never got the request")
	}
	require.NoError(t, stop())

	listen(t, back, "jobs", []string{"jobs"}, HandlerFunc(func(_ context.Context, e *Event) (*Event, error) {
		r := e.reply()
		r.Data = json.RawMessage(`"done"`)
		return r, nil
	}))
	r := <-res
	require.NoError(t, r.err)
	assert.JSONEq(t, `"done"`, string(r.e.Data))
	assert.Zero(t, front.Stats().LateReplies, "the first responder sent nothing")
	handles := 0
	for _, a := range r.e.AuditLog {
		if a.Action == ActionHandle {
			handles++
		}
	}
	assert.Equal(t, 1, handles, "the reply comes from the second handle only")
}

// TestInstancesShareReplyTopic runs two buses of one service on one reply
// topic: each gets its own replies and ignores the other's.
func TestInstancesShareReplyTopic(t *testing.T) {
	c := memClient(t, map[string]int{"echo": 2})
	a := newBus(t, c, Options{Service: "front", ReplyTopic: "front.shared"})
	b := newBus(t, c, Options{Service: "front", ReplyTopic: "front.shared"})
	back := newBus(t, c, Options{Service: "echo"})
	listen(t, back, "echo", []string{"echo"}, HandlerFunc(func(_ context.Context, e *Event) (*Event, error) { return e, nil }))

	ctx := within(t, 10*time.Second)
	var wg sync.WaitGroup
	for _, bus := range []*Bus{a, b} {
		for i := range 20 {
			wg.Go(func() {
				e, err := New("echo", i)
				require.NoError(t, err)
				r, err := bus.Request(ctx, "echo", e)
				if assert.NoError(t, err) {
					assert.Equal(t, e.CorrelationID, r.CorrelationID)
					assert.Equal(t, fmt.Sprint(i), string(r.Data))
				}
			})
		}
	}
	wg.Wait()
	assert.Zero(t, a.Stats().LateReplies, "b's replies are neither stored nor counted by a")
	assert.Zero(t, b.Stats().LateReplies)
}

// TestReplyToAnotherAttemptIsLate: a reply carrying the sequence number of
// an earlier request with the same id does not answer the current one.
func TestReplyToAnotherAttemptIsLate(t *testing.T) {
	c := memClient(t, map[string]int{"q": 1})
	front := newBus(t, c, Options{Service: "front"})
	back := newBus(t, c, Options{Service: "q"})
	inbox := NewStore(StoreOptions{})
	listen(t, back, "q", []string{"q"}, inbox)

	short, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
	defer cancel()
	_, err := front.Request(short, "q", &Event{CorrelationID: "same", Name: "q"})
	require.ErrorIs(t, err, context.DeadlineExceeded)

	ctx := within(t, 10*time.Second)
	res := make(chan error, 1)
	go func() {
		r, err := front.Request(ctx, "q", &Event{CorrelationID: "same", Name: "q"})
		if err == nil && string(r.Data) != `"second"` {
			err = fmt.Errorf("got the reply %s", r.Data)
		}
		res <- err
	}()
	first, err := inbox.Receive(ctx)
	require.NoError(t, err)
	second, err := inbox.Receive(ctx)
	require.NoError(t, err)
	require.NoError(t, back.Reply(ctx, first, &Event{Name: "q", Data: json.RawMessage(`"first"`)}))
	require.NoError(t, back.Reply(ctx, second, &Event{Name: "q", Data: json.RawMessage(`"second"`)}))
	require.NoError(t, <-res)
	require.Eventually(t, func() bool { return front.Stats().LateReplies == 1 }, 5*time.Second, time.Millisecond)
}

func TestPendingRequestSameID(t *testing.T) {
	c := memClient(t, map[string]int{"void": 1})
	front := newBus(t, c, Options{Service: "front"})
	ctx, cancel := context.WithCancel(context.Background())
	done := pendingRequest(ctx, t, front, &Event{CorrelationID: "dup", Name: "x"})
	_, err := front.Request(WithCorrelationID(ctx, "dup"), "void", &Event{Name: "x"})
	assert.ErrorIs(t, err, ErrPendingRequest, "the id from ctx is the same")
	cancel()
	<-done
}

func TestPublishAndListen(t *testing.T) {
	c := memClient(t, map[string]int{"orders": 2})
	shop := newBus(t, c, Options{Service: "shop"})
	seen := make(chan *Event, 2)
	var gotID string
	listen(t, shop, "audit", []string{"orders"}, HandlerFunc(func(ctx context.Context, e *Event) (*Event, error) {
		gotID, _ = CorrelationIDFrom(ctx)
		if e.Name == "order.placed" {
			// What a handler publishes stays in the conversation.
			if err := shop.Publish(ctx, "orders", &Event{Name: "order.confirmed"}); err != nil {
				return nil, err
			}
		}
		seen <- e
		return nil, nil
	}))
	e, err := New("order.placed", map[string]int{"n": 1})
	require.NoError(t, err)
	require.NoError(t, shop.Publish(WithCorrelationID(context.Background(), "order-7"), "orders", e))
	assert.Equal(t, "order-7", e.CorrelationID)
	require.Len(t, e.AuditLog, 1)
	assert.Equal(t, ActionPublish, e.AuditLog[0].Action)
	assert.Equal(t, "orders", e.AuditLog[0].Topic)
	assert.Equal(t, brook.KeyPartition([]byte("order-7"), 2), e.AuditLog[0].Partition, "keyed by correlation id")

	first, second := <-seen, <-seen
	assert.Equal(t, "order.placed", first.Name)
	assert.Equal(t, "order.confirmed", second.Name)
	assert.Equal(t, "order-7", second.CorrelationID)
	assert.Equal(t, "order-7", gotID)
	assert.Equal(t, int64(2), shop.Stats().Handled)

	fresh := &Event{Name: "order.placed"}
	require.NoError(t, shop.Publish(context.Background(), "orders", fresh))
	assert.NotEmpty(t, fresh.CorrelationID, "a new id when neither event nor ctx has one")
	<-seen
	<-seen
}

func TestBusClose(t *testing.T) {
	c := memClient(t, map[string]int{"void": 1})
	b, err := NewBus(context.Background(), c, Options{Service: "front"})
	require.NoError(t, err)
	inbox := NewStore(StoreOptions{})
	listenDone := make(chan error, 1)
	go func() { listenDone <- b.Listen(context.Background(), "g", []string{"void"}, inbox) }()
	reqDone := pendingRequest(context.Background(), t, b, &Event{Name: "x"})
	require.Eventually(t, func() bool { return inbox.Len() == 1 }, 5*time.Second, time.Millisecond, "Listen is running")
	require.NoError(t, b.Close())
	assert.ErrorIs(t, <-reqDone, brook.ErrClosed)
	assert.NoError(t, <-listenDone)
	require.NoError(t, b.Close(), "idempotent")
	assert.ErrorIs(t, b.Publish(context.Background(), "void", &Event{Name: "x"}), brook.ErrClosed)
	_, err = b.Request(context.Background(), "void", &Event{Name: "x"})
	assert.ErrorIs(t, err, brook.ErrClosed)
	assert.ErrorIs(t, b.Listen(context.Background(), "g", []string{"void"}, NewStore(StoreOptions{})), brook.ErrClosed)
}

func TestClientClosedUnderBus(t *testing.T) {
	c, err := pubsub.Open(context.Background(), "mem://")
	require.NoError(t, err)
	require.NoError(t, c.CreateTopic(context.Background(), "void", 1))
	b, err := NewBus(context.Background(), c, Options{Service: "front"})
	require.NoError(t, err)
	defer b.Close()
	reqDone := pendingRequest(context.Background(), t, b, &Event{Name: "x"})
	require.NoError(t, c.Close())
	assert.ErrorIs(t, <-reqDone, brook.ErrClosed, "the reply consumer stopped: pending requests end")
}

func TestNewBusErrors(t *testing.T) {
	c := memClient(t, map[string]int{"x.replies": 3})
	_, err := NewBus(context.Background(), c, Options{})
	assert.ErrorIs(t, err, brook.ErrInvalidConfig, "Service is required")
	_, err = NewBus(context.Background(), c, Options{Service: "x"})
	assert.ErrorIs(t, err, brook.ErrTopicExists, "the reply topic has 3 partitions, not 1")
	_, err = NewBus(context.Background(), noOffsetsClient(t), Options{Service: "y"})
	assert.ErrorIs(t, err, errors.ErrUnsupported)
	b := newBus(t, c, Options{Service: "x", ReplyPartitions: 3})
	assert.Equal(t, "x.replies", b.ReplyTopic())
	assert.Equal(t, "x", b.Service())
	assert.Error(t, b.Reply(context.Background(), &Event{Name: "not-a-request"}, &Event{Name: "r"}))
	assert.ErrorIs(t, b.Publish(context.Background(), "x.replies", nil), brook.ErrNilMessage)
	assert.ErrorContains(t, b.Publish(context.Background(), "x.replies", &Event{}), "needs a name")
}

// pendingRequest starts a Request to the topic "void", which nobody
// answers, and returns once the bus counts it pending; the channel gets
// Request's error.
func pendingRequest(ctx context.Context, t *testing.T, b *Bus, e *Event) <-chan error {
	t.Helper()
	before := b.Stats().Pending
	done := make(chan error, 1)
	go func() {
		_, err := b.Request(ctx, "void", e)
		done <- err
	}()
	require.Eventually(t, func() bool { return b.Stats().Pending == before+1 }, 5*time.Second, time.Millisecond)
	return done
}

// TestLateRepliesNeverStall: with a full Store under the Block policy, a
// late reply is dropped (still counted) and the next request is answered.
func TestLateRepliesNeverStall(t *testing.T) {
	c := memClient(t, map[string]int{"q": 1})
	full := NewStore(StoreOptions{MaxEvents: 1, Full: Block})
	require.NoError(t, full.Put(context.Background(), &Event{CorrelationID: "filler", Name: "x"}))
	front := newBus(t, c, Options{Service: "front", Store: full})
	back := newBus(t, c, Options{Service: "q"})
	inbox := NewStore(StoreOptions{})
	listen(t, back, "q", []string{"q"}, inbox)

	short, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, err := front.Request(short, "q", &Event{Name: "late"})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	ctx := within(t, 10*time.Second)
	late, err := inbox.Receive(ctx)
	require.NoError(t, err)
	require.NoError(t, back.Reply(ctx, late, &Event{Name: "late"}))
	require.Eventually(t, func() bool { return front.Stats().LateReplies == 1 }, 5*time.Second, time.Millisecond)

	res := make(chan error, 1)
	go func() {
		_, err := front.Request(ctx, "q", &Event{Name: "next"})
		res <- err
	}()
	next, err := inbox.Receive(ctx)
	require.NoError(t, err)
	require.NoError(t, back.Reply(ctx, next, &Event{Name: "next"}))
	require.NoError(t, <-res)
	assert.Equal(t, 1, full.Len(), "the late reply was dropped, the filler kept")
}
