package metrics_test

import (
	"testing"

	"github.com/brookmq/brook"
	"github.com/brookmq/brook/metrics"
)

// BenchmarkObserverPublish measures what the Observer costs a producer in
// the worst case: one synchronous Publish per group commit, without fsync,
// so that every message is one ObserveAppend.
func BenchmarkObserverPublish(b *testing.B) {
	for _, tc := range []struct {
		name string
		obs  brook.Observer
	}{
		{"observer=none", nil},
		{"observer=metrics", metrics.NewObserver(nil)},
	} {
		b.Run(tc.name, func(b *testing.B) {
			br, err := brook.Open(b.TempDir(), &brook.Options{Sync: brook.SyncNever, Observer: tc.obs})
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			if _, err := br.CreateNewTopic("bench", 1); err != nil {
				b.Fatal(err)
			}
			p := br.CreateProducer("bench")
			value := make([]byte, 100)
			b.ReportAllocs()
			b.SetBytes(int64(len(value)))
			for b.Loop() {
				if err := p.Publish("bench", &brook.Message{Value: value}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
