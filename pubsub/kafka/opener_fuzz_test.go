package kafka

import (
	"errors"
	"net/url"
	"testing"

	"github.com/brookmq/brook/pubsub"
)

// FuzzURL checks that any kafka:// URL either gives options or an error
// wrapping pubsub.ErrBadURL, and never panics.
func FuzzURL(f *testing.F) {
	for _, s := range []string{"kafka://h1:9092,h2:9092?client_id=x&acks=all&linger=5ms", "kafka://", "kafka:", "kafka://h?acks=0&commit_interval=1s", "kafka://,,?linger=-1s"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := url.Parse(raw)
		if err != nil {
			return
		}
		opts, err := urlOpts(u)
		if err != nil {
			if !errors.Is(err, pubsub.ErrBadURL) {
				t.Fatalf("%q: %v does not wrap ErrBadURL", raw, err)
			}
			return
		}
		if len(opts) < 3 {
			t.Fatalf("%q: %d options, want the seeds, partitioner and retries at least", raw, len(opts))
		}
	})
}
