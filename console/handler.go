package console

import (
	"crypto/subtle"
	"embed"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/metrics"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

//go:embed static
var staticFiles embed.FS

// cookieName holds the token for the browser console.
const cookieName = "brook_console_token"

// Options configure a Handler. The zero value of every field means its
// default.
type Options struct {
	// Token, when set, is required on every path but /metrics, as an
	// "Authorization: Bearer <token>" header or the console's cookie.
	// Default: "", no authentication (listen on loopback only).
	Token string

	// AllowWrites enables the mutating endpoints: DELETE of a group, POST
	// of a group's offset reset, PATCH of a topic's configuration.
	// Default: false, they answer 403.
	AllowWrites bool

	// Gatherer serves /metrics. Default: a registry holding a
	// metrics.Collector over the broker (add the broker's metrics.Observer
	// to your own registry and pass it here to export latencies too).
	Gatherer prometheus.Gatherer

	// SampleInterval is how often the lag of every group is sampled for
	// the history chart. Default: 5s.
	SampleInterval time.Duration

	// Refresh is how often the console page reloads what it shows.
	// Default: 2s.
	Refresh time.Duration

	// History is how far back the lag history reaches. Default: 10 minutes.
	History time.Duration

	// Logger receives request errors (a broker failing a read).
	// Default: none.
	Logger *slog.Logger
}

// Handler is the admin HTTP surface of one broker: an http.Handler that
// also owns the goroutine sampling lag for the history chart, which Close
// stops. It is safe for concurrent use.
type Handler struct {
	b       *brook.Broker
	o       Options
	mux     *http.ServeMux
	sampler *sampler
}

// NewHandler returns the handler for b and starts sampling lag. Call Close
// when done with it.
func NewHandler(b *brook.Broker, o Options) *Handler {
	if o.SampleInterval <= 0 {
		o.SampleInterval = 5 * time.Second
	}
	if o.Refresh <= 0 {
		o.Refresh = 2 * time.Second
	}
	if o.History <= 0 {
		o.History = 10 * time.Minute
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Gatherer == nil {
		reg := prometheus.NewRegistry()
		reg.MustRegister(metrics.NewCollector(b))
		o.Gatherer = reg
	}
	h := &Handler{b: b, o: o, mux: http.NewServeMux()}
	h.sampler = startSampler(b, o.SampleInterval, int(o.History/o.SampleInterval)+1)
	h.routes()
	return h
}

// Close stops the lag sampler and waits for it. The handler still serves
// afterwards, with a history that no longer grows. It returns nil.
func (h *Handler) Close() error {
	h.sampler.stop()
	return nil
}

func (h *Handler) routes() {
	static, _ := fs.Sub(staticFiles, "static")
	files := http.FileServerFS(static)
	h.mux.Handle("GET /metrics", promhttp.HandlerFor(h.o.Gatherer, promhttp.HandlerOpts{}))
	h.mux.Handle("GET /static/", h.auth(http.StripPrefix("/static/", files)))
	h.mux.Handle("GET /{$}", h.auth(http.HandlerFunc(h.index)))
	h.mux.Handle("GET /api/info", h.auth(h.api(h.info)))
	h.mux.Handle("GET /api/overview", h.auth(h.api(h.overview)))
	h.mux.Handle("GET /api/topics", h.auth(h.api(h.topics)))
	h.mux.Handle("GET /api/topics/{topic}", h.auth(h.api(h.topic)))
	h.mux.Handle("GET /api/topics/{topic}/partitions", h.auth(h.api(h.partitions)))
	h.mux.Handle("GET /api/groups", h.auth(h.api(h.groups)))
	h.mux.Handle("GET /api/groups/{group}", h.auth(h.api(h.group)))
	h.mux.Handle("GET /api/groups/{group}/members", h.auth(h.api(h.members)))
	h.mux.Handle("GET /api/groups/{group}/lag", h.auth(h.api(h.lag)))
	h.mux.Handle("GET /api/lag/history", h.auth(h.api(h.history)))
	h.mux.Handle("DELETE /api/groups/{group}", h.auth(h.write(h.deleteGroup)))
	h.mux.Handle("POST /api/groups/{group}/reset", h.auth(h.write(h.resetGroup)))
	h.mux.Handle("PATCH /api/topics/{topic}", h.auth(h.write(h.alterTopic)))
	h.mux.Handle("GET /api/", h.auth(h.api(func(*http.Request) (any, error) { return nil, errNotFound })))
}

// write is api for a mutating endpoint: it also refuses cross-origin
// requests from browsers (http.CrossOriginProtection), so that a page of
// another site cannot make the user's browser change the broker.
func (h *Handler) write(f func(*http.Request) (any, error)) http.Handler {
	return http.NewCrossOriginProtection().Handler(h.api(f))
}

// ServeHTTP serves the console, the API and /metrics.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("X-Frame-Options", "DENY")
	w.Header().Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'")
	h.mux.ServeHTTP(w, r)
}

// index serves the console page. Opened with ?token=..., it stores the
// token in a cookie and redirects to the clean address, so the token
// leaves the address bar and history.
func (h *Handler) index(w http.ResponseWriter, r *http.Request) {
	if tok := r.URL.Query().Get("token"); tok != "" && h.o.Token != "" {
		if subtle.ConstantTimeCompare([]byte(tok), []byte(h.o.Token)) != 1 {
			writeError(w, http.StatusUnauthorized, "wrong token")
			return
		}
		http.SetCookie(w, &http.Cookie{
			Name: cookieName, Value: tok, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode,
		})
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	page, err := staticFiles.ReadFile("static/index.html")
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(page)
}

// auth requires the token, when one is set. It lets the page with a
// ?token= through to index, which checks that token itself.
func (h *Handler) auth(next http.Handler) http.Handler {
	if h.o.Token == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/" && r.URL.Query().Get("token") != "" {
			next.ServeHTTP(w, r)
			return
		}
		if !h.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Bearer realm="brook"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong token")
			return
		}
		next.ServeHTTP(w, r)
	})
}

func (h *Handler) authorized(r *http.Request) bool {
	var got string
	if a := r.Header.Get("Authorization"); a != "" {
		got, _ = strings.CutPrefix(a, "Bearer ")
	} else if c, err := r.Cookie(cookieName); err == nil {
		got = c.Value
	}
	return subtle.ConstantTimeCompare([]byte(got), []byte(h.o.Token)) == 1
}
