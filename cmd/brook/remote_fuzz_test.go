package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

// FuzzRemoteAnswers feeds arbitrary answers of a server to --server's
// client: it returns errors, never panics.
func FuzzRemoteAnswers(f *testing.F) {
	var body atomic.Value
	var status atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(int(status.Load()))
		_, _ = w.Write(body.Load().([]byte))
	}))
	f.Cleanup(srv.Close)
	r, err := newRemote(srv.URL, "")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(200, []byte(`[{"name":"t","partitions":[{"partition":0,"first_offset":0,"next_offset":3,"bytes":75}],"sync":"always"}]`))
	f.Add(200, []byte(`{"id":"g","generation":1,"members":[{"id":"m","topics":["t"],"assigned":[{"topic":"t","partition":0}]}],"partitions":[{"topic":"t","partition":0,"committed":-1,"end":3,"lag":3}]}`))
	f.Add(200, []byte(`[{"id":"g"},{"id":""}]`))
	f.Add(404, []byte(`{"error":"brook: unknown topic"}`))
	f.Add(401, []byte(`not json`))
	f.Add(200, []byte(`null`))
	f.Fuzz(func(t *testing.T, code int, answer []byte) {
		if code < 200 || code > 599 {
			return
		}
		status.Store(int32(code))
		body.Store(answer)
		ctx := context.Background()
		_, _ = r.TopicStats(ctx)
		_, _ = r.Topic(ctx, "t")
		_, _ = r.Groups(ctx)
		gs, err := r.GroupStats(ctx, "g")
		if err == nil {
			_, _ = describeGroup(ctx, r, gs.ID)
		}
	})
}
