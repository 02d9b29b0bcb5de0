package eventscmd

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// TestMain points the process-wide broker at a scratch directory.
func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "events-example-")
	if err != nil {
		panic(err)
	}
	os.Setenv("BROOK_DATA_DIR", dir)
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startApp runs the example with cfg until the returned stop is called;
// stop returns run's error.
func startApp(t *testing.T, cfg config) (addr string, stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan string, 1)
	done := make(chan error, 1)
	var out bytes.Buffer
	go func() { done <- Command{}.run(ctx, cfg, &out, ready) }()
	select {
	case addr = <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("run ended before listening: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("the front did not listen within 10 s")
	}
	stopped := false
	var err error
	stop = func() error {
		if !stopped {
			stopped = true
			cancel()
			err = <-done
		}
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return addr, stop
}

func post(t *testing.T, url, ctype, body string, hdr ...string) (int, map[string]any, http.Header) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	require.NoError(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v), "%s", raw)
	return resp.StatusCode, v, resp.Header
}

func testConfig() config {
	return config{Addr: "127.0.0.1:0", URL: "mem://", Role: "all", Partitions: 4, Timeout: 5 * time.Second}
}

// TestQuoteFlow drives the example as the README's curl lines do.
func TestQuoteFlow(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	addr, stop := startApp(t, testConfig())
	base := "http://" + addr

	status, body, hdr := post(t, base+"/quote", "", `{"sku":"B-17","qty":12}`, "X-Correlation-ID", "quote-1")
	require.Equal(t, 200, status, "%v", body)
	assert.Equal(t, "quote-1", body["correlation_id"])
	assert.Equal(t, "quote-1", hdr.Get("X-Correlation-ID"))
	assert.Equal(t, map[string]any{"sku": "B-17", "qty": 12.0, "unit_cents": 1250.0, "discount_pct": 5.0, "total_cents": 14250.0},
		body["quote"])
	hops := body["hops"].([]any)
	require.Len(t, hops, 3)
	var path []string
	for _, h := range hops {
		m := h.(map[string]any)
		path = append(path, m["service"].(string)+" "+m["action"].(string)+" "+m["topic"].(string))
	}
	assert.Equal(t, []string{"front publish pricing", "pricing handle pricing", "pricing publish front.replies"}, path)

	status, body, _ = post(t, base+"/quote", "", `{"sku":"Z-0","qty":1}`)
	assert.Equal(t, 404, status)
	assert.Contains(t, body["error"], "no SKU")
	status, _, _ = post(t, base+"/quote", "", `{"sku":"B-17","qty":0}`)
	assert.Equal(t, 400, status)
	status, _, _ = post(t, base+"/quote", "", `not json`)
	assert.Equal(t, 400, status)

	// The generic routes of eventhttp, beside /quote.
	status, body, _ = post(t, base+"/requests/pricing?timeout=5s", "application/json", `{"event":"pricing.ping"}`)
	require.Equal(t, 200, status, "%v", body)
	assert.Equal(t, "pong", body["data"])
	status, body, _ = post(t, base+"/requests/pricing", "application/json", `{"event":"pricing.quote.delete"}`)
	assert.Equal(t, 502, status)
	assert.Equal(t, "unsupported", body["code"], "the quote router's \"*\"")
	status, _, _ = post(t, base+"/events/pricing", "application/json", `{"event":"pricing.ping"}`)
	assert.Equal(t, 202, status)

	resp, err := http.Get(base + "/quote")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 405, resp.StatusCode)

	require.NoError(t, stop())
	http.DefaultClient.CloseIdleConnections()
}

// TestTwoRoles runs the front and the pricing service as two run calls
// sharing the process-wide broker (brook://, on TestMain's directory), as
// two processes share a backend.
func TestTwoRoles(t *testing.T) {
	cfg := testConfig()
	cfg.URL = "brook://"
	pricing := cfg
	pricing.Role = "pricing"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Command{}.run(ctx, pricing, io.Discard, nil) }()
	defer func() { cancel(); assert.NoError(t, <-done) }()

	front := cfg
	front.Role = "front"
	addr, stop := startApp(t, front)
	status, body, _ := post(t, "http://"+addr+"/quote", "", `{"sku":"K-9","qty":100}`)
	require.Equal(t, 200, status, "%v", body)
	assert.Equal(t, 1161000.0, body["quote"].(map[string]any)["total_cents"])
	require.NoError(t, stop())
	http.DefaultClient.CloseIdleConnections()
}

func TestConfigChecks(t *testing.T) {
	for _, tt := range []struct {
		name string
		edit func(*config)
	}{
		{"unknown role", func(c *config) { c.Role = "both" }},
		{"mem with a role", func(c *config) { c.Role = "front" }},
		{"not loopback", func(c *config) { c.Addr = "0.0.0.0:8080" }},
		{"bad addr", func(c *config) { c.Addr = "8080" }},
		{"no partitions", func(c *config) { c.Partitions = 0 }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := testConfig()
			tt.edit(&cfg)
			assert.Error(t, Command{}.run(context.Background(), cfg, io.Discard, nil))
		})
	}
}
