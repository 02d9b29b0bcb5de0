package pubsub

import (
	"errors"
	"testing"

	"github.com/brookmq/brook"
)

// FuzzParseURL feeds arbitrary URLs to the parsing that Registry.Open and
// the built-in openers do before they open anything: it must never panic,
// and whatever it accepts must be options brook.Open takes.
func FuzzParseURL(f *testing.F) {
	for _, s := range []string{"mem://", "brook", "brook://", "brook:///var/lib/x?sync=never", "brook://./data?commit_interval=50ms&segment_size=65536",
		"kafka://h1:9092,h2:9092?acks=all", "brook://%zz", "mem://?sync=interval&sync=always", "", "::", "brook://?x=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := parseURL(raw)
		if err != nil {
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("parseURL(%q): %v is not ErrBadURL", raw, err)
			}
			return
		}
		if u.Scheme == "" {
			t.Fatalf("parseURL(%q) accepted a URL without a scheme", raw)
		}
		o, err := brokerOptions(u.Query(), brook.SyncNever)
		if err != nil {
			if !errors.Is(err, ErrBadURL) {
				t.Fatalf("brokerOptions(%q): %v is not ErrBadURL", raw, err)
			}
			return
		}
		if o.Sync > brook.SyncNever || o.CommitInterval < 0 || o.SegmentSize < 0 {
			t.Fatalf("brokerOptions(%q) accepted %+v", raw, *o)
		}
	})
}
