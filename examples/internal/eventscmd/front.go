package eventscmd

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/brookmq/brook/event"
	"github.com/brookmq/brook/event/eventhttp"
)

// front is the HTTP service: POST /quote becomes a "pricing.quote.get"
// request event on the topic "pricing", answered by the pricing service
// through request/reply. The generic routes of eventhttp (/events,
// /requests, /results) are served beside it.
type front struct {
	bus     *event.Bus
	timeout time.Duration
}

// quoteAnswer is the body of a 200 from POST /quote.
type quoteAnswer struct {
	CorrelationID string             `json:"correlation_id"`
	Quote         quote              `json:"quote"`
	Hops          []event.AuditEntry `json:"hops"`
}

// handler returns the front's routes, inside the Correlation middleware.
func (f *front) handler(store *event.Store) (http.Handler, error) {
	generic, err := eventhttp.NewHandler(f.bus, eventhttp.Options{
		Topics: []string{pricingTopic}, Store: store, MaxTimeout: 30 * time.Second,
	})
	if err != nil {
		return nil, err
	}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /quote", f.quote)
	mux.HandleFunc("/quote", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Allow", http.MethodPost)
		writeError(w, http.StatusMethodNotAllowed, "use POST")
	})
	mux.Handle("/", generic)
	return eventhttp.Correlation(mux), nil
}

func (f *front) quote(w http.ResponseWriter, r *http.Request) {
	var in quoteRequest
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	if err := dec.Decode(&in); err != nil {
		writeError(w, http.StatusBadRequest, "want {\"sku\": \"B-17\", \"qty\": 3}: "+err.Error())
		return
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		writeError(w, http.StatusBadRequest, "the body holds more than one JSON value")
		return
	}
	e, err := event.New("pricing.quote.get", in)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), f.timeout)
	defer cancel()
	reply, err := f.bus.Request(ctx, pricingTopic, e) // the id comes from X-Correlation-ID, through ctx
	var remote *event.RemoteError
	switch {
	case errors.As(err, &remote) && remote.Code == "unknown_sku":
		writeError(w, http.StatusNotFound, remote.Message)
		return
	case errors.As(err, &remote) && remote.Code == "bad_qty":
		writeError(w, http.StatusBadRequest, remote.Message)
		return
	case errors.Is(err, context.DeadlineExceeded):
		writeError(w, http.StatusGatewayTimeout, "the pricing service did not answer in time; GET /results/"+e.CorrelationID+" may have it later")
		return
	case err != nil:
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	var q quote
	if err := reply.Decode(&q); err != nil {
		writeError(w, http.StatusBadGateway, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, quoteAnswer{CorrelationID: reply.CorrelationID, Quote: q, Hops: reply.AuditLog})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
