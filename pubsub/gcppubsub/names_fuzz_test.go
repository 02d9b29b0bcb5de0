package gcppubsub

import (
	"bytes"
	"errors"
	"testing"
	"time"

	"github.com/brookmq/brook"
)

// FuzzAttributes checks that what Publish puts in a Pub/Sub message (the
// ordering key and the attributes) decodes back to the same key, headers
// and millisecond timestamp, and that decoding any attributes from the
// wire never panics.
func FuzzAttributes(f *testing.F) {
	f.Add([]byte("order-1"), "h", []byte("v"), int64(1700000000123))
	f.Add([]byte{0, 0xff}, "brook.gcp.ts", []byte("x"), int64(-1))
	f.Add([]byte(nil), "", []byte{0xc3}, int64(0))
	f.Fuzz(func(t *testing.T, key []byte, hk string, hv []byte, ms int64) {
		ts := time.UnixMilli(ms)
		in := &brook.Message{Key: key, Headers: []brook.Header{{Key: hk, Value: hv}}, Timestamp: ts}
		ok, b64 := encodeKey(key)
		attrs, err := attributes(in, b64)
		if err != nil {
			if !errors.Is(err, errors.ErrUnsupported) {
				t.Fatalf("attributes: %v", err)
			}
			return
		}
		var out brook.Message
		decode(&out, ok, attrs, time.Time{})
		if len(key) > 0 && !bytes.Equal(out.Key, key) {
			t.Fatalf("key %q came back as %q", key, out.Key)
		}
		if !out.Timestamp.Equal(ts) {
			t.Fatalf("timestamp %v came back as %v", ts, out.Timestamp)
		}
		if len(out.Headers) != 1 || out.Headers[0].Key != hk || !bytes.Equal(out.Headers[0].Value, hv) {
			t.Fatalf("header %q=%q came back as %v", hk, hv, out.Headers)
		}
		// Attributes from another publisher: anything goes, nothing panics.
		decode(&out, string(hv), map[string]string{hk: string(hv), attrTimestamp: hk, attrKeyBase64: "1"}, ts)
	})
}
