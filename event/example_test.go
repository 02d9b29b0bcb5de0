package event_test

import (
	"context"
	"fmt"

	"github.com/brookmq/brook/event"
	"github.com/brookmq/brook/pubsub"
)

// The seed's flow: a router "module" includes the router "test", whose
// bind "return" answers; a service listens with it, and another produces
// "test.return" and waits for the reply with the same correlation id.
func Example() {
	ctx := context.Background()
	client, _ := pubsub.Open(ctx, "mem://") // or brook://, or kafka://… where registered
	defer client.Close()
	_ = client.CreateTopic(ctx, "SomeModule", 4)

	// app/test: test_router.bind_event("return")
	test := event.NewRouter("test")
	test.Bind("return", event.Typed(func(ctx context.Context, in map[string]int) (map[string]int, error) {
		return map[string]int{"doubled": 2 * in["n"]}, nil
	}))
	// app: event_router.include_binder(test_router)
	router := event.NewRouter("module")
	router.Include(test)

	// The consumer side: init_consumer, with the router as its handler.
	service, _ := event.NewBus(ctx, client, event.Options{Service: "SomeModule"})
	defer service.Close()
	lctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- service.Listen(lctx, "SomeModule", []string{"SomeModule"}, router) }()
	defer func() { stop(); <-done }()

	// The caller: produce, then await consume(correlation_id).
	caller, _ := event.NewBus(ctx, client, event.Options{Service: "caller"})
	defer caller.Close()
	req, _ := event.New("test.return", map[string]int{"n": 21})
	reply, err := caller.Request(ctx, "SomeModule", req)
	if err != nil {
		fmt.Println(err)
		return
	}
	var out map[string]int
	_ = reply.Decode(&out)
	fmt.Println(out["doubled"], reply.CorrelationID == req.CorrelationID)
	for _, hop := range reply.AuditLog {
		fmt.Println(hop.Service, hop.Action, hop.Topic)
	}
	// Output:
	// 42 true
	// caller publish SomeModule
	// SomeModule handle SomeModule
	// SomeModule publish caller.replies
}

// The seed's consumer_storage: events kept until code takes them.
func ExampleStore() {
	ctx := context.Background()
	store := event.NewStore(event.StoreOptions{MaxEvents: 100})
	_ = store.Put(ctx, &event.Event{CorrelationID: "a", Name: "order.placed"})
	_ = store.Put(ctx, &event.Event{CorrelationID: "b", Name: "order.paid"})
	_ = store.Put(ctx, &event.Event{CorrelationID: "c", Name: "order.shipped"})

	e, _ := store.Consume(ctx, "b") // consume(correlation_id): waits if it has not come yet
	fmt.Println("consume:", e.Name)
	e, _ = store.Receive(ctx) // receive(): the oldest, waiting if there is none
	fmt.Println("receive:", e.Name)
	for _, e := range store.ConsumeAll() { // consume_all(): everything, in arrival order
		fmt.Println("all:", e.Name)
	}
	_, ok := store.Poll() // poll(): never waits
	fmt.Println("poll:", ok)
	// Output:
	// consume: order.paid
	// receive: order.placed
	// all: order.shipped
	// poll: false
}
