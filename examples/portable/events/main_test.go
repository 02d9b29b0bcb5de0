package main

import (
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/brookmq/brook/examples/portable/internal/xproctest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAcrossProcesses runs seed 002's two services as separate processes
// through a Kafka listener over Brook, as the README's terminals do: the
// pricing service in one, the HTTP front in another. A POST /quote to the
// front is answered by the other process through request/reply (its audit
// log shows both services' hops), errors included.
func TestAcrossProcesses(t *testing.T) {
	url := xproctest.Serve(t)
	bin := xproctest.Build(t, ".")

	pricing := xproctest.Start(t, nil, bin, "-url", url, "-role", "pricing")
	pricing.WaitFor(t, regexp.MustCompile(`pricing: listening to "pricing"`), xproctest.Step)
	front := xproctest.Start(t, nil, bin, "-url", url, "-role", "front", "-addr", "127.0.0.1:0", "-timeout", xproctest.Step.String())
	addr := front.WaitFor(t, regexp.MustCompile(`front: http://(127\.0\.0\.1:\d+) `), xproctest.Step)[1]
	client := &http.Client{Timeout: xproctest.Step + 5*time.Second}
	defer client.CloseIdleConnections()

	status, body := postQuote(t, client, addr, `{"sku":"B-17","qty":12}`, "q-1")
	require.Equal(t, http.StatusOK, status, "%s\nfront:\n%s\npricing:\n%s", body, front.Output(), pricing.Output())
	var got struct {
		CorrelationID string         `json:"correlation_id"`
		Quote         map[string]any `json:"quote"`
		Hops          []struct {
			Service, Action, Topic string
		} `json:"hops"`
	}
	require.NoError(t, json.Unmarshal(body, &got), "%s", body)
	assert.Equal(t, "q-1", got.CorrelationID)
	assert.Equal(t, map[string]any{"sku": "B-17", "qty": 12.0, "unit_cents": 1250.0, "discount_pct": 5.0, "total_cents": 14250.0}, got.Quote)
	var hops []string
	for _, h := range got.Hops {
		hops = append(hops, h.Service+" "+h.Action+" "+h.Topic)
	}
	assert.Equal(t, []string{"front publish pricing", "pricing handle pricing", "pricing publish front.replies"}, hops)

	// An error the pricing service raises crosses back as the front's 404.
	status, body = postQuote(t, client, addr, `{"sku":"Z-0","qty":1}`, "q-2")
	assert.Equal(t, http.StatusNotFound, status, "%s", body)
	assert.Contains(t, string(body), `no SKU \"Z-0\"`)

	front.Interrupt(t)
	pricing.Interrupt(t)
	assert.NoError(t, front.Wait(t, xproctest.Step), "%s:\n%s", front, front.Output())
	assert.NoError(t, pricing.Wait(t, xproctest.Step), "%s:\n%s", pricing, pricing.Output())
}

// postQuote posts body to the front's /quote with a correlation id and
// returns the status and the response body.
func postQuote(t *testing.T, client *http.Client, addr, body, id string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, "http://"+addr+"/quote", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("X-Correlation-ID", id)
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}
