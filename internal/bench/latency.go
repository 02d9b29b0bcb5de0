package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"time"

	"github.com/brookmq/brook"
)

// latency is one distribution, in milliseconds.
type latency struct {
	P50 float64 `json:"p50_ms"`
	P99 float64 `json:"p99_ms"`
	Max float64 `json:"max_ms"`
	N   int     `json:"samples"`

	// Ack is the p99 of publish to acknowledgement (the done callback),
	// for Brook's rows; Open is, for the raw row, the p99 counted from
	// each write's scheduled start (see rawLatency).
	Ack  float64 `json:"ack_p99_ms,omitempty"`
	Open float64 `json:"open_p99_ms,omitempty"`
}

func summarize(ds []time.Duration) latency {
	if len(ds) == 0 {
		return latency{}
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	ms := func(d time.Duration) float64 { return float64(d) / 1e6 }
	return latency{P50: ms(s[len(s)/2]), P99: ms(s[(len(s)*99)/100]), Max: ms(s[len(s)-1]), N: len(s)}
}

func (l latency) String() string {
	s := fmt.Sprintf("p50 %.3f ms, p99 %.3f ms, max %.3f ms (%d samples)", l.P50, l.P99, l.Max, l.N)
	if l.Ack > 0 {
		s += fmt.Sprintf("; publish→ack p99 %.3f ms", l.Ack)
	}
	return s
}

// latency is workload 5: end-to-end latency, from the PublishAsync call to
// the handler of a one-member group, at LatencyRate messages per second on
// one partition, under SyncNever and under the default SyncAlways; and,
// alternately with them, the raw WAL's latency of writing and fsyncing one
// entry at the same rate (the floor of the durable figure).
func (r *runner) latency(ctx context.Context) error {
	c := r.cfg
	for rep := 1; rep <= c.Reps; rep++ {
		dir, cleanup, err := r.rawCeilingDir()
		if err != nil {
			return err
		}
		service, open, err := rawLatency(ctx, dir, c.LatencyRate, c.LatencyDuration, c.RecordSize, c.SegmentSize)
		cleanup()
		if err != nil {
			return err
		}
		raw := summarize(service)
		raw.Open = summarize(open).P99
		r.res.rawLat = append(r.res.rawLat, raw)
		r.logf("5 raw wal write+fsync of 1 entry, %d/s rep %d/%d: %s; from schedule p99 %.3f ms",
			c.LatencyRate, rep, c.Reps, raw, raw.Open)
		for _, policy := range []brook.SyncPolicy{brook.SyncNever, brook.SyncAlways} {
			l, err := r.latencyOnce(ctx, policy)
			if err != nil {
				return err
			}
			if policy == brook.SyncNever {
				r.res.w5never = append(r.res.w5never, l)
			} else {
				r.res.w5always = append(r.res.w5always, l)
			}
			r.logf("5 end-to-end latency, Sync%s, %d msgs/s rep %d/%d: %s", policyName(policy), c.LatencyRate, rep, c.Reps, l)
		}
	}
	return nil
}

func policyName(p brook.SyncPolicy) string {
	if p == brook.SyncNever {
		return "Never"
	}
	return "Always"
}

// Message layout of the latency workload: the publish time (nanoseconds
// since the workload's base time, negative for warm-up messages) and the
// message's index.
const (
	stampAt = 0
	indexAt = 8
)

// probe records workload 5's latencies: publish to handler (lats) and
// publish to acknowledgement (acks), indexed by message.
type probe struct {
	base       time.Time
	n          int
	lats, acks []time.Duration
	got, warm  atomic.Int64
	done       chan struct{} // closed when n messages were handled
}

func newProbe(n int) *probe {
	return &probe{base: time.Now(), n: n, lats: make([]time.Duration, n), acks: make([]time.Duration, n),
		done: make(chan struct{})}
}

// since returns the time since base, in nanoseconds.
func (pr *probe) since() int64 { return int64(time.Since(pr.base)) }

// elapsed decodes a message's stamp: its index and the time since it was
// published (ok is false for warm-up messages).
func (pr *probe) elapsed(v []byte) (i int, d time.Duration, ok bool) {
	sent := int64(binary.LittleEndian.Uint64(v[stampAt:]))
	if sent < 0 {
		return 0, 0, false
	}
	return int(binary.LittleEndian.Uint64(v[indexAt:])), time.Duration(pr.since() - sent), true
}

func (pr *probe) handle(_ context.Context, m *brook.Message) error {
	i, d, ok := pr.elapsed(m.Value)
	if !ok {
		pr.warm.Add(1)
		return nil
	}
	pr.lats[i] = d
	if pr.got.Add(1) == int64(pr.n) {
		close(pr.done)
	}
	return nil
}

func (pr *probe) ack(m *brook.Message, err error) {
	if i, d, ok := pr.elapsed(m.Value); ok && err == nil {
		pr.acks[i] = d
	}
}

// latencyOnce measures one repetition of workload 5 under policy.
func (r *runner) latencyOnce(ctx context.Context, policy brook.SyncPolicy) (latency, error) {
	c := r.cfg
	b, done, err := r.scratchBroker("latency", policy)
	if err != nil {
		return latency{}, err
	}
	defer done()
	if _, err := b.CreateNewTopic("latency", 1); err != nil {
		return latency{}, err
	}
	pr := newProbe(max(int(c.LatencyDuration*time.Duration(c.LatencyRate)/time.Second), 1))
	runCtx, cancel := context.WithCancel(ctx)
	stop, errc := runGroup(runCtx, b, "latency", "latency", 1, func(int, *brook.Consumer) brook.Handler { return pr.handle })
	p := b.CreateProducer("latency")
	err = r.publishPaced(ctx, p, pr)
	if err == nil {
		err = waitFor(ctx, pr.done, consumeTimeout, "the latency messages")
	}
	if err == nil {
		err = p.Flush(ctx) // every ack recorded
	}
	cancel()
	err = errors.Join(err, stop(), drainErr(errc), p.Close())
	l := summarize(pr.lats)
	l.Ack = summarize(pr.acks).P99
	return l, err
}

// publishPaced warms up, then publishes pr.n stamped messages at the
// configured rate with PublishAsync.
func (r *runner) publishPaced(ctx context.Context, p *brook.Producer, pr *probe) error {
	size := r.cfg.RecordSize
	if err := warmUp(ctx, p, &pr.warm, size); err != nil {
		return err
	}
	slab := make([]byte, pr.n*size)
	msgs := make([]brook.Message, pr.n)
	ack := pr.ack
	return pace(ctx, r.cfg.LatencyRate, pr.n, func(i int) error {
		v := slab[i*size : (i+1)*size : (i+1)*size]
		binary.LittleEndian.PutUint64(v[indexAt:], uint64(i))
		m := &msgs[i]
		*m = brook.Message{Topic: "latency", Value: v}
		binary.LittleEndian.PutUint64(v[stampAt:], uint64(pr.since()))
		p.PublishAsync("latency", m, ack)
		return nil
	})
}

// warmUp publishes warm-up messages until the consumer has handled one, so
// that the measurement starts with the group formed and the partition read
// from its tail.
func warmUp(ctx context.Context, p *brook.Producer, warm *atomic.Int64, size int) error {
	deadline := time.Now().Add(30 * time.Second)
	for warm.Load() < 10 {
		v := make([]byte, size)
		binary.LittleEndian.PutUint64(v[stampAt:], uint64(1)<<63)
		if err := p.PublishContext(ctx, "latency", &brook.Message{Topic: "latency", Value: v}); err != nil {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the consumer handled no warm-up message in 30s")
		}
		time.Sleep(5 * time.Millisecond)
	}
	return nil
}
