package eventhttp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/brookmq/brook/event"
	"github.com/brookmq/brook/pubsub"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a front bus behind the HTTP handler and a pricing service
// answering "quote.get" on the topic "pricing".
type fixture struct {
	c     *pubsub.Client
	front *event.Bus
	store *event.Store
	ts    *httptest.Server
}

func newFixture(t *testing.T, o Options) *fixture {
	t.Helper()
	ctx := context.Background()
	c, err := pubsub.Open(ctx, "mem://")
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, c.Close()) })
	for _, topic := range []string{"pricing", "orders", "slow"} {
		require.NoError(t, c.CreateTopic(ctx, topic, 2))
	}
	f := &fixture{c: c, store: event.NewStore(event.StoreOptions{})}
	f.front, err = event.NewBus(ctx, c, event.Options{Service: "front", Store: f.store})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, f.front.Close()) })
	back, err := event.NewBus(ctx, c, event.Options{Service: "pricing"})
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, back.Close()) })

	quote := event.NewRouter("quote")
	quote.Bind("get", event.Typed(func(_ context.Context, in struct{ Qty int }) (map[string]int, error) {
		if in.Qty <= 0 {
			return nil, &event.ErrorInfo{Code: "bad_qty", Message: "qty must be positive"}
		}
		return map[string]int{"total": 10 * in.Qty}, nil
	}))
	root := event.NewRouter("pricing-service")
	root.Include(quote)
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- back.Listen(lctx, "pricing", []string{"pricing"}, root) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })

	if o.Store == nil {
		o.Store = f.store
	}
	h, err := NewHandler(f.front, o)
	require.NoError(t, err)
	f.ts = httptest.NewServer(Correlation(h))
	t.Cleanup(f.ts.Close)
	return f
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
}

// call sends one HTTP call and decodes a JSON answer.
func (f *fixture) call(t *testing.T, ctx context.Context, method, path, ctype, body string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, method, f.ts.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := f.ts.Client().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header}
	if len(raw) > 0 {
		assert.Equal(t, "application/json", resp.Header.Get("Content-Type"), "%s %s: %s", method, path, raw)
		require.NoError(t, json.Unmarshal(raw, &a.body), "%s", raw)
	}
	return a
}

const jsonType = "application/json"

func TestRoutesAndStatuses(t *testing.T) {
	f := newFixture(t, Options{Topics: []string{"pricing", "orders", "slow", "ghost"}, MaxBodyBytes: 256, MaxTimeout: 5 * time.Second})
	ctx := context.Background()
	big := `{"event":"x","data":"` + strings.Repeat("a", 300) + `"}`
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		errPart                         string
	}{
		{"publish", "POST", "/events/orders", jsonType, `{"event":"order.placed","data":{"n":1}}`, 202, ""},
		{"publish with charset", "POST", "/events/orders", "application/json; charset=utf-8", `{"event":"order.placed"}`, 202, ""},
		{"topic not allowed", "POST", "/events/secret", jsonType, `{"event":"x"}`, 403, "not allowed"},
		{"internal topic", "POST", "/events/__brook_exchanges", jsonType, `{"event":"x"}`, 403, "not allowed"},
		{"reply_to not allowed", "POST", "/events/orders", jsonType, `{"event":"x","reply_to":"secret"}`, 403, "reply_to"},
		{"unknown topic", "POST", "/events/ghost", jsonType, `{"event":"x"}`, 404, "unknown topic"},
		{"not json", "POST", "/events/orders", "text/plain", `{"event":"x"}`, 415, "application/json"},
		{"no content type", "POST", "/events/orders", "", `{"event":"x"}`, 415, "application/json"},
		{"bad json", "POST", "/events/orders", jsonType, `{"event":`, 400, "not an event"},
		{"no name", "POST", "/events/orders", jsonType, `{"data":1}`, 400, "no name"},
		{"two values", "POST", "/events/orders", jsonType, `{"event":"a"} {"event":"b"}`, 400, "more than one"},
		{"too large", "POST", "/events/orders", jsonType, big, 413, "over 256 bytes"},
		{"wrong method", "GET", "/events/orders", "", "", 405, "use POST"},
		{"no route", "GET", "/nowhere", "", "", 404, "no route"},
		{"request bad timeout", "POST", "/requests/pricing?timeout=soon", jsonType, `{"event":"quote.get"}`, 400, "timeout"},
		{"request negative timeout", "POST", "/requests/pricing?timeout=-1s", jsonType, `{"event":"quote.get"}`, 400, "negative"},
		{"request remote error", "POST", "/requests/pricing", jsonType, `{"event":"quote.get","data":{"Qty":0}}`, 502, "positive"},
		{"request no route", "POST", "/requests/pricing", jsonType, `{"event":"nothing"}`, 502, "no route"},
		{"request timeout", "POST", "/requests/slow?timeout=50ms", jsonType, `{"event":"x"}`, 504, "no reply"},
		{"request timeout in seconds", "POST", "/requests/slow?timeout=0.05", jsonType, `{"event":"x"}`, 504, "no reply"},
		{"request wrong method", "GET", "/requests/pricing", "", "", 405, "use POST"},
		{"results nothing", "GET", "/results/nobody?wait=10ms", "", "", 204, ""},
		{"results bad wait", "GET", "/results/nobody?wait=x", "", "", 400, "wait"},
		{"results wrong method", "POST", "/results/x", jsonType, `{}`, 405, "use GET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := f.call(t, ctx, tt.method, tt.path, tt.ctype, tt.body)
			assert.Equal(t, tt.status, a.status, "%v", a.body)
			if tt.errPart != "" {
				assert.Contains(t, a.body["error"], tt.errPart)
			}
			if tt.status == 405 {
				assert.NotEmpty(t, a.header.Get("Allow"))
			}
		})
	}
}

func TestPublishAnswer(t *testing.T) {
	f := newFixture(t, Options{Topics: []string{"orders"}})
	a := f.call(t, context.Background(), "POST", "/events/orders", jsonType, `{"event":"order.placed"}`,
		HeaderCorrelationID, "order-42")
	require.Equal(t, 202, a.status)
	assert.Equal(t, "order-42", a.body["correlation_id"], "the id comes from the header, through ctx")
	assert.Equal(t, "orders", a.body["topic"])
	assert.Contains(t, []any{0.0, 1.0}, a.body["partition"])
	assert.Equal(t, 0.0, a.body["offset"])
	assert.Equal(t, "order-42", a.header.Get(HeaderCorrelationID), "echoed")

	a = f.call(t, context.Background(), "POST", "/events/orders", jsonType, `{"event":"order.placed","correlation_id":"own"}`)
	require.Equal(t, 202, a.status)
	assert.Equal(t, "own", a.body["correlation_id"], "the body's own id wins")
	assert.NotEmpty(t, a.header.Get(HeaderCorrelationID), "a new id is made for the call")
}

func TestRequestAnswer(t *testing.T) {
	f := newFixture(t, Options{AllowAllTopics: true})
	a := f.call(t, context.Background(), "POST", "/requests/pricing?timeout=5s", jsonType, `{"event":"quote.get","data":{"Qty":4}}`,
		HeaderCorrelationID, "q-1", "traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
	require.Equal(t, 200, a.status, "%v", a.body)
	assert.Equal(t, "q-1", a.body["correlation_id"])
	assert.Equal(t, map[string]any{"total": 40.0}, a.body["data"])
	assert.Len(t, a.body["audit_log"], 3)

	a = f.call(t, context.Background(), "POST", "/requests/pricing", jsonType, `{"event":"quote.get","data":{"Qty":-1}}`)
	require.Equal(t, 502, a.status)
	assert.Equal(t, "bad_qty", a.body["code"])
	assert.NotNil(t, a.body["reply"])
}

func TestResults(t *testing.T) {
	f := newFixture(t, Options{Topics: []string{"slow"}})
	ctx := context.Background()
	got := make(chan answer, 1)
	go func() { got <- f.call(t, ctx, "GET", "/results/r-1?wait=5s", "", "") }()
	require.Eventually(t, func() bool { return f.store.Stats().Waiting == 1 }, 5*time.Second, time.Millisecond)
	require.NoError(t, f.store.Put(ctx, &event.Event{CorrelationID: "r-1", Name: "done"}))
	a := <-got
	require.Equal(t, 200, a.status)
	assert.Equal(t, "done", a.body["event"])

	require.NoError(t, f.store.Put(ctx, &event.Event{CorrelationID: "r-2", Name: "kept"}))
	a = f.call(t, ctx, "GET", "/results/r-2", "", "")
	assert.Equal(t, 200, a.status, "no wait: what is stored already")
	a = f.call(t, ctx, "GET", "/results/r-2", "", "")
	assert.Equal(t, 204, a.status, "taken once")
}

// TestLateReplyToResults: a request that timed out over HTTP is answered
// later; the reply lands in the Store, where /results finds it.
func TestLateReplyToResults(t *testing.T) {
	f := newFixture(t, Options{Topics: []string{"slow"}})
	ctx := context.Background()
	a := f.call(t, ctx, "POST", "/requests/slow?timeout=20ms", jsonType, `{"event":"x","correlation_id":"late-1"}`)
	require.Equal(t, 504, a.status)
	responder, err := event.NewBus(ctx, f.c, event.Options{Service: "slow"})
	require.NoError(t, err)
	defer responder.Close()
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() {
		done <- responder.Listen(lctx, "slow", []string{"slow"}, event.HandlerFunc(func(_ context.Context, e *event.Event) (*event.Event, error) {
			return e, nil
		}))
	}()
	defer func() { cancel(); <-done }()
	a = f.call(t, ctx, "GET", "/results/late-1?wait=5s", "", "")
	require.Equal(t, 200, a.status)
	assert.Equal(t, "late-1", a.body["correlation_id"])
}

func TestNoStoreNoResults(t *testing.T) {
	c, err := pubsub.Open(context.Background(), "mem://")
	require.NoError(t, err)
	defer c.Close()
	bus, err := event.NewBus(context.Background(), c, event.Options{Service: "s"})
	require.NoError(t, err)
	defer bus.Close()
	h, err := NewHandler(bus, Options{Topics: []string{"t"}})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/results/x", nil))
	assert.Equal(t, 404, rec.Code)
	assert.Contains(t, rec.Body.String(), "no Store")

	require.NoError(t, bus.Close())
	rec = httptest.NewRecorder()
	req := httptest.NewRequest("POST", "/events/t", strings.NewReader(`{"event":"x"}`))
	req.Header.Set("Content-Type", jsonType)
	h.ServeHTTP(rec, req)
	assert.Equal(t, 503, rec.Code, "a closed bus")
}

func TestNewHandlerOptions(t *testing.T) {
	c, err := pubsub.Open(context.Background(), "mem://")
	require.NoError(t, err)
	defer c.Close()
	bus, err := event.NewBus(context.Background(), c, event.Options{Service: "s"})
	require.NoError(t, err)
	defer bus.Close()
	for _, o := range []Options{{}, {Topics: []string{"__brook_x"}}, {AllowAllTopics: true, MaxBodyBytes: -1}} {
		_, err := NewHandler(bus, o)
		assert.Error(t, err, "%+v", o)
	}
	_, err = NewHandler(nil, Options{AllowAllTopics: true})
	assert.Error(t, err)
}

func TestPendingConflictAndDisconnect(t *testing.T) {
	f := newFixture(t, Options{Topics: []string{"slow"}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		req, _ := http.NewRequestWithContext(ctx, "POST", f.ts.URL+"/requests/slow?timeout=30s",
			bytes.NewReader([]byte(`{"event":"x","correlation_id":"dup"}`)))
		req.Header.Set("Content-Type", jsonType)
		resp, err := f.ts.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			err = errors.New("the call was answered: " + resp.Status)
		}
		done <- err
	}()
	require.Eventually(t, func() bool { return f.front.Stats().Pending == 1 }, 5*time.Second, time.Millisecond)

	a := f.call(t, context.Background(), "POST", "/requests/slow", jsonType, `{"event":"x","correlation_id":"dup"}`)
	assert.Equal(t, 409, a.status)

	cancel() // the caller goes away
	assert.ErrorIs(t, <-done, context.Canceled)
	require.Eventually(t, func() bool { return f.front.Stats().Pending == 0 }, 5*time.Second, time.Millisecond,
		"a client that disconnects leaves no pending request")
}

func TestCorrelationMiddleware(t *testing.T) {
	var seen string
	h := Correlation(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		seen, _ = event.CorrelationIDFrom(r.Context())
	}))
	tests := []struct {
		name, in string
		kept     bool
	}{
		{"taken", "abc-123", true},
		{"none", "", false},
		{"too long", strings.Repeat("x", 129), false},
		{"control character", "a\tb", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			req := httptest.NewRequest("GET", "/", nil)
			if tt.in != "" {
				req.Header.Set(HeaderCorrelationID, tt.in)
			}
			h.ServeHTTP(rec, req)
			out := rec.Header().Get(HeaderCorrelationID)
			assert.Equal(t, seen, out, "the id in ctx is the one echoed")
			if tt.kept {
				assert.Equal(t, tt.in, out)
			} else {
				assert.NotEmpty(t, out)
				assert.NotEqual(t, tt.in, out)
			}
		})
	}
}

// FuzzDecodeEvent feeds the body decoder arbitrary bytes: it returns an
// event with a name, or an error, and never panics.
func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"event":"quote.get","data":{"Qty":4}}`))
	f.Add([]byte(`{"event":"a","correlation_id":"c","reply_to":"r","audit_log":[{"service":"x"}]}`))
	f.Add([]byte(`{"event":"a"} trailing`))
	f.Add([]byte(`{"event":"a\u0000"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		e, err := decodeEvent(bytes.NewReader(body))
		if err != nil {
			return
		}
		if e.Name == "" || e.AuditLog != nil || e.Error != nil {
			t.Fatalf("decoded %+v from %q", e, body)
		}
		if _, err := json.Marshal(e); err != nil {
			t.Fatalf("a decoded event does not encode: %v", err)
		}
	})
}
