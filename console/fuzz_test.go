package console_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/console"
	"github.com/stretchr/testify/require"
)

// FuzzHandler sends arbitrary methods, paths, queries and bodies: the handler
// never panics and never answers 500, whatever the request names.
func FuzzHandler(f *testing.F) {
	b, err := brook.Open(f.TempDir(), nil)
	require.NoError(f, err)
	f.Cleanup(func() { b.Close() })
	_, err = b.CreateNewTopic("orders", 2)
	require.NoError(f, err)
	h := console.NewHandler(b, console.Options{AllowWrites: true, Token: "tok"})
	f.Cleanup(func() { h.Close() })

	for _, seed := range []struct{ method, path, query, body string }{
		{"GET", "/api/topics/orders", "", ""},
		{"GET", "/api/groups/g/lag", "", ""},
		{"DELETE", "/api/groups/g", "confirm=g", ""},
		{"DELETE", "/api/groups/..", "confirm=..", ""},
		{"GET", "/api/topics/%2e%2e/partitions", "", ""},
		{"GET", "/", "token=tok", ""},
		{"POST", "/metrics", "", ""},
		{"GET", "/static/../handler.go", "", ""},
		{"POST", "/api/groups/g/reset", "", `{"confirm":"g","topic":"orders","partitions":[1],"offset":3}`},
		{"POST", "/api/groups/g/reset", "", `{"confirm":"g","topic":"orders","time":"2026-12-01T09:00:00Z"}`},
		{"PATCH", "/api/topics/orders", "", `{"retention_ms":60000,"sync":"never","max_message_bytes":0}`},
	} {
		f.Add(seed.method, seed.path, seed.query, seed.body, true)
	}
	f.Fuzz(func(t *testing.T, method, path, query, body string, withToken bool) {
		if !validMethod(method) {
			return
		}
		u := &url.URL{Path: "/" + path, RawQuery: query}
		req, err := http.NewRequest(method, "http://127.0.0.1"+u.RequestURI(), strings.NewReader(body))
		if err != nil {
			return
		}
		if withToken {
			req.Header.Set("Authorization", "Bearer tok")
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", method, u.RequestURI(), rec.Code, rec.Body.String())
		}
	})
}

func validMethod(m string) bool {
	if m == "" || len(m) > 16 {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}
