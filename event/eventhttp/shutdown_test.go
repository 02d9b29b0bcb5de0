package eventhttp

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/brookmq/brook/event"
	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestShutdownOrder runs the documented lifecycle with a request waiting
// for a reply and a call waiting for a result: Shutdown ends both at once
// (503), then the bus closes (its Listen returns), then the client; no
// goroutine is left.
func TestShutdownOrder(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	ctx := context.Background()
	c, err := pubsub.Open(ctx, "mem://")
	require.NoError(t, err)
	require.NoError(t, c.CreateTopic(ctx, "slow", 1))
	store := event.NewStore(event.StoreOptions{})
	bus, err := event.NewBus(ctx, c, event.Options{Service: "front", Store: store})
	require.NoError(t, err)
	h, err := NewHandler(bus, Options{Topics: []string{"slow"}, Store: store})
	require.NoError(t, err)

	base, cancelBase := context.WithCancel(ctx)
	srv := &http.Server{
		Handler:           Correlation(h),
		BaseContext:       func(net.Listener) context.Context { return base },
		ReadHeaderTimeout: 5 * time.Second,
	}
	srv.RegisterOnShutdown(cancelBase)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	// A responder that takes requests and never answers.
	listened := make(chan error, 1)
	go func() {
		listened <- bus.Listen(ctx, "slow", []string{"slow"}, event.HandlerFunc(func(context.Context, *event.Event) (*event.Event, error) {
			return nil, nil
		}))
	}()

	client := &http.Client{Transport: &http.Transport{}}
	defer client.CloseIdleConnections()
	url := "http://" + ln.Addr().String()
	statuses := make(chan int, 2)
	call := func(method, path, body string) {
		req, err := http.NewRequest(method, url+path, strings.NewReader(body))
		if err != nil {
			statuses <- -1
			return
		}
		req.Header.Set("Content-Type", jsonType)
		resp, err := client.Do(req)
		if err != nil {
			statuses <- -2
			return
		}
		defer resp.Body.Close()
		var b errorBody
		if json.NewDecoder(resp.Body).Decode(&b) != nil || b.Error == "" {
			statuses <- -3
			return
		}
		statuses <- resp.StatusCode
	}
	go call("POST", "/requests/slow?timeout=60s", `{"event":"x"}`)
	go call("GET", "/results/nobody?wait=60s", "")
	require.Eventually(t, func() bool {
		return bus.Stats().Pending == 1 && store.Stats().Waiting == 1 && bus.Stats().Handled == 1
	}, 10*time.Second, time.Millisecond)

	// 1. The HTTP server: no new calls; those waiting end now, not in 60 s.
	start := time.Now()
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	require.NoError(t, srv.Shutdown(sctx))
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.ErrorIs(t, <-served, http.ErrServerClosed)
	assert.Equal(t, http.StatusServiceUnavailable, <-statuses)
	assert.Equal(t, http.StatusServiceUnavailable, <-statuses)
	assert.Zero(t, bus.Stats().Pending)
	assert.Zero(t, store.Stats().Waiting)

	// 2. The bus: its Listen returns.
	require.NoError(t, bus.Close())
	require.NoError(t, <-listened)

	// 3. The client.
	require.NoError(t, c.Close())
	client.CloseIdleConnections()
	goleak.VerifyNone(t, ignore)
	_, err = net.Dial("tcp", ln.Addr().String())
	assert.Error(t, err, "the listener is closed")
}
