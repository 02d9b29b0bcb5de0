package eventhttp

import (
	"crypto/rand"
	"net/http"

	"github.com/brookmq/brook/event"
)

// HeaderCorrelationID is the HTTP header Correlation reads and echoes.
const HeaderCorrelationID = "X-Correlation-ID"

// maxIDLen bounds a correlation id taken from a caller.
const maxIDLen = 128

// Correlation is middleware that gives every call a correlation id: the
// caller's X-Correlation-ID when it sends a usable one (up to 128 printable
// ASCII characters), else a new random id. The id is echoed in the
// response's X-Correlation-ID and put in the request's context, where
// event.CorrelationIDFrom finds it and Bus.Publish gives it to events
// that have none, as Watermill's middleware.CorrelationID does for
// messages.
func Correlation(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(HeaderCorrelationID)
		if !usableID(id) {
			id = rand.Text()
		}
		w.Header().Set(HeaderCorrelationID, id)
		next.ServeHTTP(w, r.WithContext(event.WithCorrelationID(r.Context(), id)))
	})
}

func usableID(id string) bool {
	if id == "" || len(id) > maxIDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] <= ' ' || id[i] > '~' {
			return false
		}
	}
	return true
}
