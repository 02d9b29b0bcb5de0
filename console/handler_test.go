package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	neturl "net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/console"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixture: topic "orders" with 3+2 messages, group "billing" with a
// running member that has handled them all, and group "audit" with no
// members and offset 1 committed in "orders"/0.
type fixture struct {
	b   *brook.Broker
	srv *httptest.Server
}

func newFixture(t *testing.T, o console.Options) *fixture {
	t.Helper()
	b, err := brook.Open(t.TempDir(), nil)
	require.NoError(t, err)
	t.Cleanup(func() { b.Close() })
	_, err = b.CreateNewTopic("orders", 2)
	require.NoError(t, err)
	p := b.CreateProducer("shop")
	for i, part := range []int{0, 0, 0, 1, 1} {
		require.NoError(t, p.Publish("orders", brook.CreateMessage("orders", fmt.Appendf(nil, "order-%d", i), part)))
	}
	audit := b.CreateConsumer("auditor", "audit")
	require.NoError(t, audit.Subscribe("orders"))
	_, err = audit.Poll(context.Background())
	require.NoError(t, err)
	require.NoError(t, audit.Close())

	c := b.CreateConsumer("biller", "billing")
	require.NoError(t, c.Subscribe("orders"))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		_ = c.Run(ctx, func(context.Context, *brook.Message) error { return nil })
	}()
	t.Cleanup(func() { cancel(); wg.Wait(); c.Close() })
	require.Eventually(t, func() bool {
		gs, err := b.GroupStats("billing")
		return err == nil && len(gs.Members) == 1 && len(gs.Partitions) == 2 && gs.Partitions[0].Lag+gs.Partitions[1].Lag == 0
	}, 10*time.Second, 5*time.Millisecond, "billing catches up")

	h := console.NewHandler(b, o)
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return &fixture{b: b, srv: srv}
}

// do sends a request with an optional bearer token and returns the status
// and body.
func (f *fixture) do(t *testing.T, method, path, token string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, body
}

func decode[T any](t *testing.T, body []byte) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	require.NoError(t, dec.Decode(&v), "body: %s", body)
	return v
}

func TestEndpointsShapes(t *testing.T) {
	f := newFixture(t, console.Options{})

	code, body := f.do(t, "GET", "/api/info", "")
	require.Equal(t, http.StatusOK, code)
	info := decode[console.Info](t, body)
	assert.Equal(t, console.Info{APIVersion: 1, ReadOnly: true, SampleIntervalSeconds: 5, RefreshSeconds: 2}, info)

	code, body = f.do(t, "GET", "/api/topics", "")
	require.Equal(t, http.StatusOK, code)
	topics := decode[[]console.Topic](t, body)
	require.Len(t, topics, 1)
	assert.Equal(t, "orders", topics[0].Name)
	assert.EqualValues(t, 5, topics[0].Messages)
	assert.Equal(t, "always", topics[0].Sync)
	require.Len(t, topics[0].Partitions, 2)
	assert.Equal(t, console.Partition{Partition: 0, FirstOffset: 0, NextOffset: 3, Bytes: topics[0].Partitions[0].Bytes}, topics[0].Partitions[0])
	assert.Positive(t, topics[0].Partitions[0].Bytes)
	assert.Equal(t, topics[0].Partitions[0].Bytes+topics[0].Partitions[1].Bytes, topics[0].Bytes)

	code, body = f.do(t, "GET", "/api/topics/orders", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, topics[0], decode[console.Topic](t, body))

	code, body = f.do(t, "GET", "/api/topics/orders/partitions", "")
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, topics[0].Partitions, decode[[]console.Partition](t, body))

	code, body = f.do(t, "GET", "/api/groups", "")
	require.Equal(t, http.StatusOK, code)
	groups := decode[[]console.GroupSummary](t, body)
	require.Len(t, groups, 2)
	assert.Equal(t, console.GroupSummary{ID: "audit", Generation: groups[0].Generation, Members: 0, Lag: 4}, groups[0])
	assert.Equal(t, "billing", groups[1].ID)
	assert.Equal(t, 1, groups[1].Members)
	assert.Zero(t, groups[1].Lag)

	code, body = f.do(t, "GET", "/api/groups/audit", "")
	require.Equal(t, http.StatusOK, code)
	audit := decode[console.Group](t, body)
	assert.Equal(t, "audit", audit.ID)
	assert.EqualValues(t, 4, audit.Lag)
	assert.Equal(t, []console.Member{}, audit.Members, "an empty list, not null")
	require.Len(t, audit.Partitions, 2)
	// The auditor polled one message of either partition, then its Close
	// committed where it stood in both.
	var committed int64
	for i, p := range audit.Partitions {
		assert.Equal(t, console.TopicPartition{Topic: "orders", Partition: i}, console.TopicPartition{Topic: p.Topic, Partition: p.Partition})
		assert.Empty(t, p.Owner)
		assert.Equal(t, []int64{3, 2}[i], p.End)
		assert.Equal(t, p.End-p.Committed, p.Lag)
		committed += p.Committed
	}
	assert.EqualValues(t, 1, committed)

	code, body = f.do(t, "GET", "/api/groups/billing/members", "")
	require.Equal(t, http.StatusOK, code)
	members := decode[[]console.Member](t, body)
	require.Len(t, members, 1)
	assert.Equal(t, []string{"orders"}, members[0].Topics)
	assert.Equal(t, []console.TopicPartition{{Topic: "orders", Partition: 0}, {Topic: "orders", Partition: 1}}, members[0].Assigned)

	code, body = f.do(t, "GET", "/api/groups/billing/lag", "")
	require.Equal(t, http.StatusOK, code)
	lag := decode[[]console.GroupPartition](t, body)
	require.Len(t, lag, 2)
	for _, p := range lag {
		assert.Equal(t, members[0].ID, p.Owner)
		assert.Zero(t, p.Lag)
		assert.Equal(t, p.End, p.Committed)
	}

	code, body = f.do(t, "GET", "/api/lag/history", "")
	require.Equal(t, http.StatusOK, code)
	hist := decode[map[string]any](t, body)
	assert.Contains(t, hist, "interval_seconds")
	assert.NotEmpty(t, hist["samples"], "a sample is taken when the handler starts")

	code, body = f.do(t, "GET", "/api/overview", "")
	require.Equal(t, http.StatusOK, code)
	ov := decode[map[string]json.RawMessage](t, body)
	assert.ElementsMatch(t, []string{"info", "topics", "groups", "history", "time"}, keys(ov))
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestEndpointErrors(t *testing.T) {
	f := newFixture(t, console.Options{})
	tests := []struct {
		name, method, path string
		want               int
	}{
		{"unknown topic", "GET", "/api/topics/nope", http.StatusNotFound},
		{"unknown topic partitions", "GET", "/api/topics/nope/partitions", http.StatusNotFound},
		{"unknown group", "GET", "/api/groups/nope", http.StatusNotFound},
		{"invalid group id", "GET", "/api/groups/bad%20id", http.StatusBadRequest},
		{"unknown api path", "GET", "/api/nothing", http.StatusNotFound},
		{"wrong method", "POST", "/api/topics", http.StatusMethodNotAllowed},
		{"wrong method on metrics", "DELETE", "/metrics", http.StatusMethodNotAllowed},
		{"read-only delete", "DELETE", "/api/groups/audit?confirm=audit", http.StatusForbidden},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body := f.do(t, tt.method, tt.path, "")
			assert.Equal(t, tt.want, code, "body: %s", body)
			if tt.want != http.StatusMethodNotAllowed {
				assert.NotEmpty(t, decode[map[string]string](t, body)["error"])
			}
		})
	}
	_, err := f.b.GroupStats("audit")
	assert.NoError(t, err, "the read-only handler deleted nothing")
}

func TestDeleteGroup(t *testing.T) {
	f := newFixture(t, console.Options{AllowWrites: true})
	code, body := f.do(t, "GET", "/api/info", "")
	require.Equal(t, http.StatusOK, code)
	assert.False(t, decode[console.Info](t, body).ReadOnly)

	code, _ = f.do(t, "DELETE", "/api/groups/audit", "")
	assert.Equal(t, http.StatusBadRequest, code, "no confirmation")
	code, _ = f.do(t, "DELETE", "/api/groups/audit?confirm=billing", "")
	assert.Equal(t, http.StatusBadRequest, code, "confirmation of another group")
	code, _ = f.do(t, "DELETE", "/api/groups/billing?confirm=billing", "")
	assert.Equal(t, http.StatusConflict, code, "a group with members")
	code, _ = f.do(t, "DELETE", "/api/groups/nope?confirm=nope", "")
	assert.Equal(t, http.StatusNotFound, code)

	code, body = f.do(t, "DELETE", "/api/groups/audit?confirm=audit", "")
	require.Equal(t, http.StatusOK, code, "body: %s", body)
	assert.Equal(t, map[string]string{"deleted": "audit"}, decode[map[string]string](t, body))
	_, err := f.b.GroupStats("audit")
	assert.ErrorIs(t, err, brook.ErrUnknownGroup)
	code, _ = f.do(t, "GET", "/api/groups/audit", "")
	assert.Equal(t, http.StatusNotFound, code)
}

func TestToken(t *testing.T) {
	const token = "s3cret"
	f := newFixture(t, console.Options{Token: token})
	for _, path := range []string{"/", "/static/app.js", "/api/info", "/api/topics", "/api/groups/billing", "/api/lag/history"} {
		code, _ := f.do(t, "GET", path, "")
		assert.Equal(t, http.StatusUnauthorized, code, "%s without a token", path)
		code, _ = f.do(t, "GET", path, "wrong")
		assert.Equal(t, http.StatusUnauthorized, code, "%s with a wrong token", path)
		code, _ = f.do(t, "GET", path, token)
		assert.Equal(t, http.StatusOK, code, "%s with the token", path)
	}
	code, body := f.do(t, "GET", "/metrics", "")
	assert.Equal(t, http.StatusOK, code, "/metrics needs no token")
	assert.Contains(t, string(body), `brook_group_members{group="audit"} 0`)

	code, _ = f.do(t, "GET", "/?token=wrong", "")
	assert.Equal(t, http.StatusUnauthorized, code)

	// The browser's way in: ?token= once sets the cookie, then the page
	// and the API answer without a header.
	jar := &cookieJar{}
	client := &http.Client{Jar: jar}
	resp, err := client.Get(f.srv.URL + "/?token=" + token)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, f.srv.URL+"/", resp.Request.URL.String(), "redirected to the clean address")
	resp, err = client.Get(f.srv.URL + "/api/topics")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}

// cookieJar keeps every cookie for every URL: enough for one test server.
type cookieJar struct {
	mu      sync.Mutex
	cookies []*http.Cookie
}

func (j *cookieJar) SetCookies(_ *neturl.URL, cookies []*http.Cookie) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.cookies = append(j.cookies, cookies...)
}

func (j *cookieJar) Cookies(*neturl.URL) []*http.Cookie {
	j.mu.Lock()
	defer j.mu.Unlock()
	return append([]*http.Cookie(nil), j.cookies...)
}

func TestConsolePage(t *testing.T) {
	f := newFixture(t, console.Options{})
	for path, want := range map[string]string{
		"/":                 `<script src="/static/app.js"`,
		"/static/app.js":    "/api/overview",
		"/static/style.css": "font:",
	} {
		code, body := f.do(t, "GET", path, "")
		assert.Equal(t, http.StatusOK, code, path)
		assert.Contains(t, string(body), want, path)
	}
	code, _ := f.do(t, "GET", "/static/missing.js", "")
	assert.Equal(t, http.StatusNotFound, code)
}

func TestLagHistoryGrows(t *testing.T) {
	f := newFixture(t, console.Options{SampleInterval: 10 * time.Millisecond, History: 50 * time.Millisecond})
	var hist console.History
	require.Eventually(t, func() bool {
		_, body := f.do(t, "GET", "/api/lag/history", "")
		require.NoError(t, json.Unmarshal(body, &hist))
		return len(hist.Samples) == 6
	}, 10*time.Second, 5*time.Millisecond, "the history fills up to History/SampleInterval+1 samples")
	assert.Equal(t, 0.01, hist.IntervalSeconds)
	last := hist.Samples[len(hist.Samples)-1]
	assert.Equal(t, map[string]int64{"audit": 4, "billing": 0}, last.Lag)
	for range 3 {
		_, body := f.do(t, "GET", "/api/lag/history", "")
		require.NoError(t, json.Unmarshal(body, &hist))
		assert.LessOrEqual(t, len(hist.Samples), 6, "the history is bounded")
	}
}
