package eventhttp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/brookmq/brook/event"
)

// Options configure NewHandler. Zero fields mean their defaults.
type Options struct {
	// Topics lists the topics callers may publish and send requests to.
	// Required unless AllowAllTopics. Topics starting with "__" (Brook's
	// internal ones) are always refused.
	Topics []string
	// AllowAllTopics lets callers use any topic but the internal ones.
	// Default: false.
	AllowAllTopics bool
	// MaxBodyBytes bounds a request body (http.MaxBytesReader); a larger
	// one is answered 413. Default: 1 MiB.
	MaxBodyBytes int64
	// DefaultTimeout is how long POST /requests waits for a reply when the
	// call gives no ?timeout=. Default: 10s.
	DefaultTimeout time.Duration
	// MaxTimeout caps ?timeout= and ?wait=. Default: 60s.
	MaxTimeout time.Duration
	// Store is where GET /results takes events from; without one that
	// route answers 404. Default: none.
	Store *event.Store
}

// handler serves the routes for one bus.
type handler struct {
	bus     *event.Bus
	o       Options
	allowed map[string]bool
	mux     *http.ServeMux
}

// NewHandler returns the HTTP front of bus. It returns an error when
// Options name neither Topics nor AllowAllTopics, list an internal topic,
// or hold a negative size or duration.
func NewHandler(bus *event.Bus, o Options) (http.Handler, error) {
	if bus == nil {
		return nil, errors.New("eventhttp: nil bus")
	}
	if len(o.Topics) == 0 && !o.AllowAllTopics {
		return nil, errors.New("eventhttp: Options.Topics is empty and AllowAllTopics is false: no topic would be allowed")
	}
	if o.MaxBodyBytes < 0 || o.DefaultTimeout < 0 || o.MaxTimeout < 0 {
		return nil, errors.New("eventhttp: negative MaxBodyBytes, DefaultTimeout or MaxTimeout")
	}
	if o.MaxBodyBytes == 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.DefaultTimeout == 0 {
		o.DefaultTimeout = 10 * time.Second
	}
	if o.MaxTimeout == 0 {
		o.MaxTimeout = 60 * time.Second
	}
	h := &handler{bus: bus, o: o, allowed: make(map[string]bool), mux: http.NewServeMux()}
	for _, t := range o.Topics {
		if internal(t) {
			return nil, fmt.Errorf("eventhttp: %q is an internal topic: it cannot be allowed", t)
		}
		h.allowed[t] = true
	}
	h.route("/events/{topic}", http.MethodPost, h.publish)
	h.route("/requests/{topic}", http.MethodPost, h.request)
	h.route("/results/{correlation_id}", http.MethodGet, h.result)
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no route for "+r.URL.Path)
	})
	return h.mux, nil
}

// route serves path for method with fn, and answers 405 in JSON for any
// other method (ServeMux's own 405 is plain text).
func (h *handler) route(path, method string, fn http.HandlerFunc) {
	h.mux.HandleFunc(method+" "+path, fn)
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", method)
		writeError(w, http.StatusMethodNotAllowed, r.Method+" not allowed, use "+method)
	})
}

func internal(topic string) bool { return strings.HasPrefix(topic, "__") }

// topic returns the call's topic, or answers 403 and returns "".
func (h *handler) topic(w http.ResponseWriter, r *http.Request) string {
	t := r.PathValue("topic")
	if internal(t) || (!h.o.AllowAllTopics && !h.allowed[t]) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("topic %q is not allowed", t))
		return ""
	}
	return t
}

// callContext returns the call's context with its traceparent, if it has one.
func callContext(r *http.Request) context.Context {
	ctx := r.Context()
	if tp := r.Header.Get("traceparent"); tp != "" {
		ctx = event.WithTraceparent(ctx, tp)
	}
	return ctx
}

// publishAnswer is the body of a 202.
type publishAnswer struct {
	CorrelationID string `json:"correlation_id"`
	Topic         string `json:"topic"`
	Partition     int    `json:"partition"`
	Offset        int64  `json:"offset"`
}

func (h *handler) publish(w http.ResponseWriter, r *http.Request) {
	topic := h.topic(w, r)
	if topic == "" {
		return
	}
	e, ok := h.body(w, r)
	if !ok {
		return
	}
	if err := h.bus.Publish(callContext(r), topic, e); err != nil {
		writeBusError(w, err)
		return
	}
	last := e.AuditLog[len(e.AuditLog)-1]
	writeJSON(w, http.StatusAccepted, publishAnswer{
		CorrelationID: e.CorrelationID, Topic: topic, Partition: last.Partition, Offset: last.Offset,
	})
}

func (h *handler) request(w http.ResponseWriter, r *http.Request) {
	topic := h.topic(w, r)
	if topic == "" {
		return
	}
	timeout, ok := h.duration(w, r, "timeout", h.o.DefaultTimeout)
	if !ok {
		return
	}
	e, ok := h.body(w, r)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(callContext(r), timeout)
	defer cancel()
	reply, err := h.bus.Request(ctx, topic, e)
	if err != nil {
		writeBusError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

func (h *handler) result(w http.ResponseWriter, r *http.Request) {
	if h.o.Store == nil {
		writeError(w, http.StatusNotFound, "results are not kept here (no Store)")
		return
	}
	wait, ok := h.duration(w, r, "wait", 0)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), wait)
	defer cancel()
	e, err := h.o.Store.Consume(ctx, r.PathValue("correlation_id"))
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, e)
	case errors.Is(err, context.DeadlineExceeded) && r.Context().Err() == nil:
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusServiceUnavailable, "wait cut short: "+err.Error())
	}
}

// duration reads the query key as a Go duration ("5s", "500ms") or a
// number of seconds, capped at MaxTimeout, or answers 400.
func (h *handler) duration(w http.ResponseWriter, r *http.Request, key string, def time.Duration) (time.Duration, bool) {
	v := r.URL.Query().Get(key)
	if v == "" {
		return min(def, h.o.MaxTimeout), true
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		secs, ferr := strconv.ParseFloat(v, 64)
		if ferr != nil || math.IsNaN(secs) || math.IsInf(secs, 0) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("%s=%q: want a duration such as 5s or 500ms", key, v))
			return 0, false
		}
		d = time.Duration(min(secs, h.o.MaxTimeout.Seconds()) * float64(time.Second))
	}
	if d < 0 {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("%s=%q: negative", key, v))
		return 0, false
	}
	return min(d, h.o.MaxTimeout), true
}

// body reads the call's event, or answers 415, 413 or 400.
func (h *handler) body(w http.ResponseWriter, r *http.Request) (*event.Event, bool) {
	if mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type")); err != nil || mt != "application/json" {
		writeError(w, http.StatusUnsupportedMediaType, "the body must be application/json")
		return nil, false
	}
	e, err := decodeEvent(http.MaxBytesReader(w, r.Body, h.o.MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is over %d bytes", tooLarge.Limit))
		return nil, false
	case err != nil:
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	if e.ReplyTo != "" && (internal(e.ReplyTo) || (!h.o.AllowAllTopics && !h.allowed[e.ReplyTo])) {
		writeError(w, http.StatusForbidden, fmt.Sprintf("reply_to %q is not allowed", e.ReplyTo))
		return nil, false
	}
	return e, true
}

// decodeEvent reads one event's JSON from r: the fields a caller sets
// (correlation_id, event, data, reply_to); an audit log or error in the
// body are not the caller's to set and are dropped.
func decodeEvent(r io.Reader) (*event.Event, error) {
	dec := json.NewDecoder(r)
	var e event.Event
	if err := dec.Decode(&e); err != nil {
		return nil, fmt.Errorf("the body is not an event's JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return nil, err
		}
		return nil, errors.New("the body holds more than one JSON value")
	}
	if e.Name == "" {
		return nil, errors.New(`the event has no name ("event")`)
	}
	if slices.ContainsFunc([]byte(e.Name), func(c byte) bool { return c < 0x20 || c == 0x7f }) {
		return nil, errors.New("the event name holds control characters")
	}
	return &event.Event{CorrelationID: e.CorrelationID, Name: e.Name, Data: e.Data, ReplyTo: e.ReplyTo}, nil
}
